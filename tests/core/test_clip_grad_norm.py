"""Gradient clipping by global norm: ``clip_grad_norm`` is ``torch.nn.utils.clip_grad_norm_``, and
``max_grad_norm=`` on every optimizer equals torch's ``clip_grad_norm_`` before ``opt.step()`` over 60 steps
(float64, rtol 1e-10), on the fast path and on the readable one. The network's own gradients are left as
backprop made them; the optimizer (and the ledger) see the clipped ones. A clipping worked out by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core import fast
from glassnet.core.optimizers import OPTIMIZERS, SGD, Adam, AdamW, RMSprop, clip_grad_norm
from tests.core.test_optimizers import compare, problem
from tests.core.torch_reference import torch_loss, torch_params

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py

CASES = {
    "sgd": (SGD, torch.optim.SGD, dict(lr=0.1)),
    "sgd-momentum": (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "sgd-nesterov": (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (Adam, torch.optim.Adam, dict(lr=0.01)),
    "adam-decay": (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.05)),
    "rmsprop": (RMSprop, torch.optim.RMSprop, dict(lr=0.005, momentum=0.5)),
    "adamw": (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}


@pytest.fixture(params=["fast", "readable"])
def path(request, monkeypatch):
    monkeypatch.setattr(fast, "enabled", request.param == "fast")
    return request.param


def test_clip_grad_norm_by_hand():
    grads = {"0.W": np.array([[3.0, 0.0]]), "0.b": np.array([4.0])}  # one vector (3, 0, 4): norm 5
    total = clip_grad_norm(grads, 1.0)
    assert total == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_array_equal(grads["0.W"], [[3.0 * coef, 0.0]])
    np.testing.assert_array_equal(grads["0.b"], [4.0 * coef])
    assert math.hypot(3.0 * coef, 4.0 * coef) == pytest.approx(1.0, abs=1e-6)  # about max_norm long
    under = {"0.W": np.array([[3.0, 0.0]]), "0.b": np.array([4.0])}
    assert clip_grad_norm(under, 10.0) == 5.0
    np.testing.assert_array_equal(under["0.b"], [4.0])  # under the limit: untouched


@pytest.mark.parametrize("max_norm", [0.05, 1.0, 7.0, 20.0])
def test_clip_grad_norm_is_torchs(max_norm):
    rng = np.random.default_rng(0)
    grads = {"0.W": rng.normal(size=(4, 3)), "0.b": rng.normal(size=3), "1.W": rng.normal(size=(3, 2)) * 2}
    tensors = [torch.tensor(g) for g in grads.values()]
    for t in tensors:
        t.grad = t.clone()
    total_t = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    total = clip_grad_norm(grads, max_norm)
    assert total == pytest.approx(float(total_t), rel=1e-13)
    for (key, g), t in zip(grads.items(), tensors):
        compare(key, g, t.grad.numpy())


def test_a_norm_just_under_the_limit_is_scaled_as_torch_scales_it():
    """torch's factor is max_norm / (total + 1e-6), clamped at 1: a total within 1e-6 under max_norm is scaled."""
    g = {"w": np.array([1.0 - 5e-7])}
    t = torch.tensor(g["w"])
    t.grad = t.clone()
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    clip_grad_norm(g, 1.0)
    assert g["w"][0] < 1.0 - 5e-7
    compare("w", g["w"], t.grad.numpy())


@pytest.mark.parametrize("case", CASES)
def test_clipped_steps_match_torch_after_every_one_of_60(case, path):
    ours_cls, torch_cls, settings = CASES[case]
    net, X, y = problem("relu-bce")
    params = torch_params(net)
    max_norm = 0.1
    ours = ours_cls(**settings, max_grad_norm=max_norm)
    theirs = torch_cls(list(params.values()), **settings)
    clipped = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", gn.FastFormWarning)
        for step in range(60):
            rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
            loss = net.step(X[rows], y[rows], ours)
            theirs.zero_grad()
            _, loss_t = torch_loss(net, params, X[rows], y[rows])
            loss_t.backward()
            total_t = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
            theirs.step()
            assert ours.last_grad_norm == pytest.approx(float(total_t), rel=1e-10), step
            clipped += float(total_t) > max_norm
            compare(f"loss at step {step + 1}", np.array(loss), np.array(loss_t.item()))
            for key, p in net.parameters().items():
                compare(f"{key} after step {step + 1}", p, params[key].detach().numpy())
    assert clipped >= 20, "the limit should bite on many steps, or this test checks nothing"


@pytest.mark.parametrize("case", ["sgd-momentum", "adam", "adamw"])
def test_fit_with_clipping_matches_torch_and_the_readable_path(case, monkeypatch):
    ours_cls, torch_cls, settings = CASES[case]
    net, X, y = problem("tanh-ce-l2", n=20)
    params = torch_params(net)
    theirs = torch_cls(list(params.values()), **settings)
    net.fit(X, y, epochs=15, optimizer=ours_cls(**settings, max_grad_norm=0.3), batch_size=6, shuffle=False,
            monitor=False)
    for _ in range(15):
        for start in range(0, 20, 6):
            theirs.zero_grad()
            torch_loss(net, params, X[start:start + 6], y[start:start + 6])[1].backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), 0.3)
            theirs.step()
    for key, p in net.parameters().items():
        compare(f"{key} after fit", p, params[key].detach().numpy())
    for dtype, check in (("float64", np.testing.assert_array_equal),
                         ("float32", lambda a, b, err_msg: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6,
                                                                                       err_msg=err_msg))):
        runs = []
        for enabled in (True, False):
            monkeypatch.setattr(fast, "enabled", enabled)
            twin = gn.Network.from_sizes([3, 5, 3], activation="tanh", loss="cross_entropy", l2=0.05, seed=1,
                                         dtype=dtype)
            twin.fit(X, y, epochs=15, optimizer=ours_cls(**settings, max_grad_norm=0.3), batch_size=6, shuffle=False,
                     monitor=False)
            runs.append(twin.parameters())
        for key in runs[0]:
            check(runs[0][key], runs[1][key], err_msg=f"{key} ({dtype}): fast vs readable")


def test_the_networks_gradients_stay_unclipped_and_the_optimizer_gets_clipped_copies(path):
    net, X, y = problem("tanh-mse")
    expected = net.gradients(X, y)
    total = math.sqrt(sum(float(np.sum(g * g)) for g in expected.values()))
    opt = SGD(0.1, max_grad_norm=total / 4)
    before = {k: p.copy() for k, p in net.parameters().items()}
    net.step(X, y, opt)
    assert opt.last_grad_norm == pytest.approx(total, rel=1e-12)
    coef = (total / 4) / (opt.last_grad_norm + 1e-6)
    for i, layer in enumerate(net.layers):
        for name, g in layer.grads.items():
            np.testing.assert_allclose(g, expected[f"{i}.{name}"], rtol=1e-12, atol=1e-15)  # as backprop made it
            moved = before[f"{i}.{name}"] - net.parameters()[f"{i}.{name}"]
            np.testing.assert_allclose(moved, 0.1 * coef * expected[f"{i}.{name}"], rtol=1e-9, atol=1e-15)


def test_the_ledger_shows_the_clipped_gradient_and_says_so():
    net = gn.Network([gn.Dense(1, 1, "identity", init=([[1.0]], [0.0]))], loss="mse")
    X, y = np.array([[1.0]]), np.array([[0.0]])  # dL/dw = dL/db = 2: total norm sqrt(8)
    trace = gn.explain(net, X, y, optimizer=SGD(0.1, max_grad_norm=1.0))
    coef = 1.0 / (math.sqrt(8.0) + 1e-6)
    line = trace.find("w^(1)_{1,1}", kind="update")
    assert line.expression == "w^(1)_{1,1} - lr*clip(dL/dw^(1)_{1,1})"
    assert line.value == pytest.approx(1.0 - 0.1 * 2.0 * coef, rel=1e-14)
    assert "clipped by global norm" in line.note and f"{coef:.6g}" in line.note
    assert trace.step.updates["0.W"].grad[0, 0] == pytest.approx(2.0 * coef, rel=1e-15)  # what the rule received
    assert trace.gradients["0.W"][0, 0] == 2.0  # the gradient backprop made, as the gradient lines show it
    unclipped = gn.explain(net, X, y, optimizer=SGD(0.1, max_grad_norm=10.0)).find("w^(1)_{1,1}", kind="update")
    assert unclipped.expression == "w^(1)_{1,1} - lr*dL/dw^(1)_{1,1}" and "not clipped" in unclipped.note


@pytest.mark.parametrize("cls", OPTIMIZERS.classes(), ids=lambda c: c.name)
@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), "1", True])
def test_bad_max_grad_norm_is_refused_by_every_optimizer(cls, bad):
    with pytest.raises(gn.ConfigError, match=rf"{cls.__name__}: max_grad_norm must be a positive number"):
        cls(max_grad_norm=bad)


def test_clip_grad_norm_refuses_a_bad_limit():
    with pytest.raises(gn.ConfigError, match="max_norm must be a positive number"):
        clip_grad_norm({"w": np.ones(2)}, 0.0)


def test_max_grad_norm_is_in_the_config_but_not_in_torchs_kwargs():
    opt = RMSprop(0.01, max_grad_norm=2.0)
    assert opt.config()["max_grad_norm"] == 2.0 and "max_grad_norm" not in opt.torch_kwargs()
    assert OPTIMIZERS.from_config(opt.config()).max_grad_norm == 2.0
    assert "max_grad_norm" not in SGD().config()  # left out when off
