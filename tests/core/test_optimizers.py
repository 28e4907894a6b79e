"""Optimizers against ``torch.optim`` in float64, parameter by parameter after every step (rtol 1e-10).

RMSprop is the one added by issue 13 as a single class in ``core/optimizers.py``: these tests show that it
is ``torch.optim.RMSprop``, with and without momentum, through ``Network.step`` and through ``fit``, and that
its state buffers are torch's. A step worked out by hand pins the equations themselves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core.optimizers import OPTIMIZERS, RMSprop
from tests.core.torch_reference import assert_matches_torch, torch_loss, torch_params

torch.set_default_dtype(torch.float64)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


RTOL, ATOL = 1e-10, 1e-13
SETTINGS = {  # glassnet RMSprop(**s) and torch.optim.RMSprop(params, **s): the same names, the same meaning
    "defaults": dict(lr=0.01),
    "alpha-eps": dict(lr=0.005, alpha=0.9, eps=1e-6),
    "momentum": dict(lr=0.003, momentum=0.9),
    "momentum-alpha": dict(lr=0.002, alpha=0.95, eps=1e-7, momentum=0.5),
}
SETUPS = {
    "tanh-mse": dict(sizes=[3, 5, 2], activation="tanh", loss="mse"),
    "relu-bce": dict(sizes=[3, 6, 4, 1], activation="relu", loss="bce"),
    "tanh-ce-l2": dict(sizes=[3, 5, 3], activation="tanh", loss="cross_entropy", l2=0.05),
}


def compare(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    assert_matches_torch(name, ours, theirs, rtol=RTOL, atol=ATOL)


def problem(setup: str, n: int = 24, seed: int = 2) -> tuple[gn.Network, np.ndarray, np.ndarray]:
    config = dict(SETUPS[setup])
    net = gn.Network.from_sizes(config.pop("sizes"), seed=1, **config)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if config["loss"] == "cross_entropy":
        y = rng.integers(0, 3, size=n)
    elif config["loss"] == "bce":
        y = rng.integers(0, 2, size=(n, 1)).astype(float)
    else:
        y = rng.normal(size=(n, net.n_out))
    return net, X, y


def torch_step(opt: torch.optim.Optimizer, net: gn.Network, params: dict[str, torch.Tensor], X, y) -> float:
    opt.zero_grad()
    _, loss = torch_loss(net, params, X, y)
    loss.backward()
    opt.step()
    return loss.item()


def steps_match_torch(net: gn.Network, X, y, ours, theirs: torch.optim.Optimizer, params: dict[str, torch.Tensor],
                      steps: int) -> None:
    """``steps`` steps of ``net`` with ``ours`` and of the torch twin ``params`` with ``theirs``, on three mini-batches
    of 8 rows in turn; the loss and every parameter compared after each one."""
    for step in range(steps):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        loss = net.step(X[rows], y[rows], ours)
        loss_t = torch_step(theirs, net, params, X[rows], y[rows])
        compare(f"loss at step {step + 1}", np.array(loss), np.array(loss_t))
        for key, p in net.parameters().items():
            compare(f"{key} after step {step + 1}", p, params[key].detach().numpy())


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize("settings", SETTINGS)
def test_rmsprop_steps_match_torch_after_every_one_of_200(setup, settings):
    net, X, y = problem(setup)
    params = torch_params(net)
    ours = RMSprop(**SETTINGS[settings])
    theirs = torch.optim.RMSprop(list(params.values()), **SETTINGS[settings])
    steps_match_torch(net, X, y, ours, theirs, params, 200)
    # The state, buffer by buffer, under torch's own names.
    for key, tensor in params.items():
        state_t = theirs.state[tensor]
        compare(f"{key} square_avg", ours.state[key]["square_avg"], state_t["square_avg"].numpy())
        if ours.momentum:
            compare(f"{key} momentum_buffer", ours.state[key]["momentum_buffer"], state_t["momentum_buffer"].numpy())
        else:
            assert "momentum_buffer" not in ours.state[key]
        assert ours.state[key]["t"] == int(state_t["step"]) == 200


@pytest.mark.parametrize("setup", ["tanh-mse", "tanh-ce-l2"])
@pytest.mark.parametrize("settings", ["defaults", "momentum"])
def test_rmsprop_fit_matches_torch_and_the_step_loop_bit_for_bit(setup, settings):
    net, X, y = problem(setup, n=20)
    twin = gn.Network.from_sizes(net.sizes, activation=SETUPS[setup]["activation"], loss=SETUPS[setup]["loss"],
                                 l2=SETUPS[setup].get("l2", 0.0), seed=1)
    params = torch_params(net)
    theirs = torch.optim.RMSprop(list(params.values()), **SETTINGS[settings])
    history = net.fit(X, y, epochs=40, optimizer=RMSprop(**SETTINGS[settings]), batch_size=6, shuffle=False,
                      monitor=False)
    stepper = RMSprop(**SETTINGS[settings])
    for _ in range(40):
        for start in range(0, 20, 6):  # batches of 6, 6, 6 and a ragged 2
            torch_step(theirs, twin, params, X[start:start + 6], y[start:start + 6])
            twin.step(X[start:start + 6], y[start:start + 6], stepper)
    assert history.steps == 160
    for key, p in net.parameters().items():
        compare(f"{key} after fit", p, params[key].detach().numpy())
        assert np.array_equal(p, twin.parameters()[key]), f"{key}: fit and the step loop differ"


@pytest.mark.parametrize("settings", ["defaults", "momentum-alpha"])
def test_rmsprop_readable_rule_alone_matches_torch(settings, monkeypatch):
    """With the fast path off, ``update_one`` (the rule as the docstring writes it) runs: the same trajectory."""
    from glassnet.core import fast

    monkeypatch.setattr(fast, "enabled", False)
    net, X, y = problem("tanh-mse")
    params = torch_params(net)
    ours = RMSprop(**SETTINGS[settings])
    theirs = torch.optim.RMSprop(list(params.values()), **SETTINGS[settings])
    for step in range(100):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        net.step(X[rows], y[rows], ours)
        torch_step(theirs, net, params, X[rows], y[rows])
        for key, p in net.parameters().items():
            compare(f"{key} after step {step + 1}", p, params[key].detach().numpy())


def test_rmsprop_two_steps_by_hand():
    """One weight, targets chosen so the gradients are easy: the equations of the docstring, number by number."""
    net = gn.Network([gn.Dense(1, 1, "identity", init=([[1.0]], [0.0]))], loss="mse")
    X, y = np.array([[1.0]]), np.array([[0.0]])  # a = w; L = w**2; dL/dw = 2w, dL/db = 2w
    alpha, lr, eps = 0.9, 0.1, 1e-8
    opt = RMSprop(lr, alpha=alpha, eps=eps)
    net.step(X, y, opt)
    g1 = 2.0                                      # at w = 1
    s1 = (1 - alpha) * g1**2                      # 0.4
    w1 = 1.0 - lr * g1 / (math.sqrt(s1) + eps)    # 1 - 0.1 * 2 / 0.632... = 0.68377...
    assert net.parameters()["0.W"][0, 0] == pytest.approx(w1, rel=1e-15)
    assert opt.state["0.W"]["square_avg"][0, 0] == pytest.approx(s1, rel=1e-15)
    b1 = 0.0 - lr * g1 / (math.sqrt(s1) + eps)    # the bias has the same gradient: the same step
    net.step(X, y, opt)
    g2 = 2.0 * (w1 + b1)                          # a = w + b now
    s2 = alpha * s1 + (1 - alpha) * g2**2
    w2 = w1 - lr * g2 / (math.sqrt(s2) + eps)
    assert net.parameters()["0.W"][0, 0] == pytest.approx(w2, rel=1e-14)


def test_rmsprop_momentum_step_by_hand():
    net = gn.Network([gn.Dense(1, 1, "identity", init=([[1.0]], [0.0]))], loss="mse")
    X, y = np.array([[1.0]]), np.array([[0.0]])
    opt = RMSprop(0.1, alpha=0.5, eps=1e-8, momentum=0.9)
    net.step(X, y, opt)
    s1 = 0.5 * 4.0                                # (1 - alpha) * g**2 with g = 2
    u1 = 2.0 / (math.sqrt(s1) + 1e-8)             # u starts at 0: mu * 0 + g / denom
    assert opt.state["0.W"]["momentum_buffer"][0, 0] == pytest.approx(u1, rel=1e-15)
    assert net.parameters()["0.W"][0, 0] == pytest.approx(1.0 - 0.1 * u1, rel=1e-15)


@pytest.mark.parametrize("cls", OPTIMIZERS.classes(), ids=lambda c: c.name)
def test_every_optimizer_names_its_torch_twin_with_the_same_settings(cls):
    """``torch_name`` and ``torch_kwargs()`` build the torch optimizer; its settings are glassnet's (a new
    optimizer class is covered the day it is registered)."""
    optimizer = cls()
    assert optimizer.torch_name and hasattr(torch.optim, optimizer.torch_name), cls
    kwargs = optimizer.torch_kwargs()
    assert "lr" not in kwargs and "name" not in kwargs
    twin = getattr(torch.optim, optimizer.torch_name)([torch.zeros(1, requires_grad=True)], lr=optimizer.lr, **kwargs)
    group = twin.param_groups[0]
    assert group["lr"] == optimizer.lr
    for key, value in kwargs.items():
        assert group[key] == (tuple(value) if isinstance(value, list) else value), key
    # config() rebuilds the same optimizer
    again = OPTIMIZERS.from_config(optimizer.config())
    assert type(again) is cls and again.config() == optimizer.config()


def test_rmsprop_refuses_bad_settings():
    for settings, words in [(dict(lr=0.0), "learning rate"), (dict(alpha=1.0), "alpha must be a number in [0, 1)"),
                            (dict(momentum=-0.1), "momentum must be"), (dict(eps=0.0), "eps must be a positive")]:
        with pytest.raises(gn.ConfigError, match=words.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
            RMSprop(**settings)
