"""Weight decay against ``torch.optim`` in float64 (rtol 1e-10, after every one of 60 steps), on both paths.

Three things that are easy to mix up, each checked here: ``weight_decay`` on SGD, Adam and RMSprop is torch's
*coupled* decay (``g + wd * p`` on every parameter, before the rule); :class:`~glassnet.core.optimizers.AdamW` is
torch's *decoupled* decay (``p * (1 - lr * wd)``, then Adam's step); ``Network(l2=...)`` is a penalty in the loss
on the weights only. Single steps worked out by hand pin the two rules apart (the same numbers give different
weights), and for plain SGD coupled decay is shown to be the L2 penalty's gradient.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core import compiled, fast
from glassnet.core.optimizers import OPTIMIZERS, SGD, Adam, AdamW, RMSprop, get_optimizer
from tests.core.test_optimizers import compare, problem, steps_match_torch, torch_step
from tests.core.test_optimizers_explain import entry_lines, evaluate
from tests.core.torch_reference import torch_params

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py

# name: (glassnet class, torch class, settings both take under the same names)
CASES = {
    "sgd": (SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.1)),
    "sgd-momentum": (SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.9, weight_decay=0.05)),
    "sgd-nesterov": (SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.2)),
    "adam": (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    "adam-betas": (Adam, torch.optim.Adam, dict(lr=0.005, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.03)),
    "rmsprop": (RMSprop, torch.optim.RMSprop, dict(lr=0.005, weight_decay=0.1)),
    "rmsprop-momentum": (RMSprop, torch.optim.RMSprop, dict(lr=0.002, alpha=0.9, momentum=0.5, weight_decay=0.05)),
    "adamw-defaults": (AdamW, torch.optim.AdamW, dict()),
    "adamw": (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.5)),
    "adamw-betas": (AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.85, 0.98), eps=1e-7, weight_decay=0.1)),
}


@pytest.fixture(params=["fast", "compiled", "readable"])
def path(request, monkeypatch):
    """Each test runs on the fast path (what fit and step run: NumPy's in-place forms, and the compiled loop forms of
    glassnet[fast], which these small networks use only when told to) and on the readable ``update_one`` alone."""
    monkeypatch.setattr(fast, "enabled", request.param != "readable")
    monkeypatch.setattr(compiled, "always", request.param == "compiled")
    monkeypatch.setattr(compiled, "enabled", request.param == "compiled")
    return request.param


@pytest.mark.parametrize("setup", ["tanh-mse", "tanh-ce-l2"])
@pytest.mark.parametrize("case", CASES)
def test_weight_decay_steps_match_torch_after_every_one_of_60(case, setup, path):
    ours_cls, torch_cls, settings = CASES[case]
    net, X, y = problem(setup)
    params = torch_params(net)
    ours = ours_cls(**settings)
    theirs = torch_cls(list(params.values()), **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", gn.FastFormWarning)  # the fast form agrees with the readable one
        steps_match_torch(net, X, y, ours, theirs, params, 60)
    names = {"m": "exp_avg", "v": "exp_avg_sq", "velocity": "momentum_buffer", "square_avg": "square_avg",
             "momentum_buffer": "momentum_buffer"}
    for key, tensor in params.items():
        for buffer in ours.buffers():
            compare(f"{key} {buffer}", ours.state[key][buffer], theirs.state[tensor][names[buffer]].numpy())
    if path != "readable":  # the state lives in the fast path's flat buffers: it ran
        assert all(ours.state["0.W"][b].base is not None for b in ours.buffers())
        assert (fast.plan_for(net).opt_states[ours].loop is not None) == (path == "compiled")


@pytest.mark.parametrize("case", ["sgd-nesterov", "adam", "rmsprop-momentum", "adamw"])
def test_fit_matches_torch_and_float32_agrees_with_the_readable_form(case, monkeypatch):
    ours_cls, torch_cls, settings = CASES[case]
    net, X, y = problem("tanh-mse", n=20)
    params = torch_params(net)
    theirs = torch_cls(list(params.values()), **settings)
    net.fit(X, y, epochs=15, optimizer=ours_cls(**settings), batch_size=6, shuffle=False, monitor=False)
    for _ in range(15):
        for start in range(0, 20, 6):  # 60 steps: batches of 6, 6, 6 and a ragged 2
            torch_step(theirs, net, params, X[start:start + 6], y[start:start + 6])
    for key, p in net.parameters().items():
        compare(f"{key} after fit", p, params[key].detach().numpy())
    # float32: the fast path and the readable rule agree to rounding
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(fast, "enabled", enabled)
        twin = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1, dtype="float32")
        with warnings.catch_warnings():
            warnings.simplefilter("error", gn.FastFormWarning)
            twin.fit(X, y, epochs=15, optimizer=ours_cls(**settings), batch_size=6, shuffle=False, monitor=False)
        runs.append(twin.parameters())
    for key in runs[0]:
        assert runs[0][key].dtype == np.float32
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-4, atol=1e-6, err_msg=f"{key}: fast vs readable")


def one_weight(w: float = 1.0) -> tuple[gn.Network, np.ndarray, np.ndarray]:
    """a = w*x + b with x = 1 and target 0: L = (w + b)**2, dL/dw = dL/db = 2 (w + b)."""
    net = gn.Network([gn.Dense(1, 1, "identity", init=([[w]], [0.0]))], loss="mse")
    return net, np.array([[1.0]]), np.array([[0.0]])


def test_adamw_one_step_by_hand_and_how_it_differs_from_adams_coupled_decay():
    lr, wd, eps = 0.1, 0.5, 1e-8
    net, X, y = one_weight()
    opt = AdamW(lr, weight_decay=wd, eps=eps)
    net.step(X, y, opt)
    # g = 2 at w = 1, b = 0. Decoupled: w shrinks first, 1 * (1 - 0.1 * 0.5) = 0.95; m = 0.1 * 2 = 0.2,
    # v = 0.001 * 4 = 0.004; bias-corrected m/(sqrt(v) + eps) = 2 / (2 + 1e-8).
    m, v = 0.2, 0.004
    w = 0.95 - lr / (1 - 0.9) * m / (math.sqrt(v) / math.sqrt(1 - 0.999) + eps)
    assert w == pytest.approx(0.95 - 0.1 * 2 / (2 + 1e-8), rel=1e-15)  # about 0.85
    assert net.parameters()["0.W"][0, 0] == pytest.approx(w, rel=1e-14)
    assert net.parameters()["0.b"][0] == pytest.approx(0.0 - 0.1 * 2 / (2 + 1e-8), rel=1e-14)  # 0 * 0.95 = 0
    assert opt.state["0.W"]["m"][0, 0] == pytest.approx(m, rel=1e-15)  # the plain gradient: m never sees the decay
    assert opt.state["0.W"]["v"][0, 0] == pytest.approx(v, rel=1e-15)
    # Adam's coupled decay with the same numbers: g = 2 + 0.5 * 1 = 2.5, and Adam's step normalises it away
    net, X, y = one_weight()
    coupled = Adam(lr, weight_decay=wd, eps=eps)
    net.step(X, y, coupled)
    assert coupled.state["0.W"]["m"][0, 0] == pytest.approx(0.1 * 2.5, rel=1e-15)
    assert net.parameters()["0.W"][0, 0] == pytest.approx(1.0 - 0.1 * 2.5 / (2.5 + 1e-8), rel=1e-14)  # about 0.9


def test_sgd_weight_decay_one_step_by_hand():
    net, X, y = one_weight()
    net.step(X, y, SGD(0.1, weight_decay=0.5))
    assert net.parameters()["0.W"][0, 0] == pytest.approx(1.0 - 0.1 * (2.0 + 0.5 * 1.0), rel=1e-15)  # 0.75
    assert net.parameters()["0.b"][0] == pytest.approx(0.0 - 0.1 * (2.0 + 0.5 * 0.0), rel=1e-15)  # biases decay too
    net, X, y = one_weight()
    opt = SGD(0.1, momentum=0.9, weight_decay=0.5)
    net.step(X, y, opt)
    assert opt.state["0.W"]["velocity"][0, 0] == pytest.approx(2.5, rel=1e-15)  # the decayed gradient starts v


@pytest.mark.parametrize("path_enabled", [True, False])
def test_for_plain_sgd_coupled_decay_is_the_l2_penalty_when_the_biases_are_frozen(path_enabled, monkeypatch):
    """``l2`` covers the weights, ``weight_decay`` every parameter: with the biases frozen they take the same steps."""
    monkeypatch.setattr(fast, "enabled", path_enabled)
    a, X, y = problem("tanh-mse")
    b = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1, l2=0.1)
    a.freeze("0.b", "1.b")
    b.freeze("0.b", "1.b")
    for step in range(50):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        a.step(X[rows], y[rows], SGD(0.05, weight_decay=0.1))
        b.step(X[rows], y[rows], SGD(0.05))
    for key, p in a.parameters().items():
        np.testing.assert_allclose(p, b.parameters()[key], rtol=1e-12, atol=1e-15, err_msg=key)
    # ...while on the biases they differ: l2 leaves them alone, weight decay does not
    a.unfreeze()
    b.unfreeze()
    for net in (a, b):
        net.set_parameters({"1.b": [0.5, -0.5]})  # frozen at 0 until now, where any decay is 0
    a.step(X, y, SGD(0.05, weight_decay=0.1))
    b.step(X, y, SGD(0.05))
    assert not np.allclose(a.parameters()["1.b"], b.parameters()["1.b"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, weight_decay=0.3), lambda: SGD(0.1, momentum=0.9, weight_decay=0.3),
                                  lambda: SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.3),
                                  lambda: Adam(0.01, weight_decay=0.3), lambda: AdamW(0.01, weight_decay=0.3),
                                  lambda: RMSprop(0.01, weight_decay=0.3), lambda: RMSprop(0.01, momentum=0.9, weight_decay=0.3)],
                         ids=["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "rmsprop-momentum"])
def test_the_decay_is_its_own_term_in_the_explanation_and_the_numbers_compute_the_values(make):
    opt = make()
    for values, lines in entry_lines(opt, steps=3):
        assert lines[-1].value == values.after and lines[-1].symbol == "w"
        text = " ".join(line.expression + " " + line.note for line in lines)
        if isinstance(opt, AdamW):
            assert "*(1 - lr*wd)" in text and "decoupled" in text
        else:
            assert "+ wd*w" in text and "coupled" in text
        for line in lines:
            for numbers in (line.numbers, *line.steps):
                if numbers:
                    assert evaluate(numbers) == pytest.approx(line.value, rel=1e-9, abs=1e-12), line


def test_the_ledger_writes_the_decay_with_the_engines_numbers():
    net, X, y = one_weight()
    trace = gn.explain(net, X, y, optimizer=SGD(0.1, weight_decay=0.5))
    line = trace.find("w^(1)_{1,1}", kind="update")
    assert line.expression == "w^(1)_{1,1} - lr*(dL/dw^(1)_{1,1} + wd*w^(1)_{1,1})"
    assert line.numbers == "1 - 0.1*(2 + 0.5*1)" and line.value == pytest.approx(0.75, rel=1e-15)
    assert "weight decay (coupled" in line.note
    trace = gn.explain(net, X, y, optimizer=AdamW(0.1, weight_decay=0.5))
    line = trace.find("w^(1)_{1,1}", kind="update")
    assert line.expression.startswith("w^(1)_{1,1}*(1 - lr*wd) - lr/(1 - beta1^t)")
    assert line.numbers.startswith("1*(1 - 0.1*0.5) - 0.1/(1 - 0.9^1)")
    assert "decoupled weight decay (AdamW)" in line.note and "0.95" in line.note
    assert trace.optimizer == {"name": "adamw", "lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.5}


def test_adamw_is_registered_and_reaches_torch_with_its_settings():
    from glassnet.torch import torch_optimizer

    assert "adamw" in OPTIMIZERS.names() and OPTIMIZERS.lookup("adamw") is AdamW
    opt = get_optimizer("adamw", 0.01, weight_decay=0.2, max_grad_norm=1.0)
    assert isinstance(opt, AdamW) and opt.weight_decay == 0.2 and opt.max_grad_norm == 1.0
    assert opt.torch_kwargs() == {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.2}  # clipping: its own call
    twin = torch_optimizer(opt, [torch.zeros(2, requires_grad=True)])
    assert isinstance(twin, torch.optim.AdamW) and twin.param_groups[0]["weight_decay"] == 0.2
    assert twin.param_groups[0]["decoupled_weight_decay"] is True
    coupled = torch_optimizer(SGD(0.1, momentum=0.9, weight_decay=0.3), [torch.zeros(2, requires_grad=True)])
    assert isinstance(coupled, torch.optim.SGD) and coupled.param_groups[0]["weight_decay"] == 0.3
    assert OPTIMIZERS.from_config(opt.config()).config() == opt.config()
    # at its default (0) weight decay is left out of the config: configs saved before it existed read the same
    assert SGD(0.1).config() == {"name": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": False}
    assert repr(RMSprop(0.01, momentum=0.5)) == "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, momentum=0.5)"
    assert AdamW().config()["weight_decay"] == 0.01  # AdamW's own default is always written


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop, AdamW])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True, None])
def test_bad_weight_decay_is_refused(cls, bad):
    with pytest.raises(gn.ConfigError, match=rf"{cls.__name__}: weight_decay must be a number >= 0"):
        cls(0.01, weight_decay=bad)


def test_adamw_refuses_bad_betas_and_eps_by_its_own_name():
    with pytest.raises(gn.ConfigError, match=r"AdamW: betas must be two numbers in \[0, 1\)"):
        AdamW(betas=(0.9, 1.0))
    with pytest.raises(gn.ConfigError, match="AdamW: eps must be a positive number"):
        AdamW(eps=0)
    with pytest.raises(gn.ConfigError, match="has no setting"):
        get_optimizer("adamw", 0.01, decay=0.1)
