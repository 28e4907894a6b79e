"""Activations against PyTorch in float64: GELU (added by issue 13 as one class in ``core/activations.py``),
and, for every registered activation and loss, what the rest of glassnet reads from the class.

GELU is ``torch.nn.GELU()`` (the exact erf form): forward and derivative entry by entry, and a whole training
trajectory of a network with GELU hidden layers, step by step against ``torch.optim``. The registry tests take
their cases from ``ACTIVATIONS.classes()`` and ``LOSSES.classes()``, so a class added tomorrow is covered the day
it is registered: its torch twin computes its forward, its config rebuilds it with its settings, and a network
using it survives save/load and the trip to PyTorch and back.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import glassnet as gn
from glassnet.core.activations import ACTIVATIONS, GELU, Activation
from glassnet.core.losses import LOSSES, Loss
from tests.core.torch_reference import assert_matches_torch

torch.set_default_dtype(torch.float64)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def compare(name: str, ours: np.ndarray, theirs: np.ndarray, rtol: float = 1e-10, atol: float = 1e-13) -> None:
    assert_matches_torch(name, ours, theirs, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- GELU, entry by entry
Z_GRID = np.concatenate([np.linspace(-12.0, 12.0, 481), [0.0, -0.0, 1e-300, -1e-300, 1e-9, -1e-9, 40.0, -40.0]])


def test_gelu_forward_and_derivative_equal_torch_gelu_in_float64():
    Z = Z_GRID.reshape(-1, 1)
    dA = np.random.default_rng(0).normal(size=Z.shape)  # a random upstream gradient, not just ones
    z = torch.tensor(Z, requires_grad=True)
    module = torch.nn.GELU()
    assert module.approximate == "none"  # the exact form
    out = module(z)
    out.backward(torch.tensor(dA))
    gelu = GELU()
    A = gelu.forward(Z)
    # 1 + erf(z / sqrt 2) cancels for negative z in both libraries alike: absolute agreement to 1e-15 there.
    compare("GELU forward", A, out.detach().numpy(), rtol=1e-12, atol=1e-15)
    compare("GELU dZ = dA * f'(z)", gelu.backward(Z, A, dA), z.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_gelu_by_hand():
    """``f(z) = z Phi(z)``, ``f'(z) = Phi(z) + z phi(z)``: at 0, 1 and -1, from math.erf directly."""
    gelu = GELU()
    Z = np.array([[0.0, 1.0, -1.0]])
    phi = 0.5 * (1 + math.erf(1 / math.sqrt(2)))                   # Phi(1) = 0.8413447...
    density = math.exp(-0.5) / math.sqrt(2 * math.pi)             # phi(1) = 0.2419707...
    np.testing.assert_allclose(gelu.forward(Z), [[0.0, phi, -(1 - phi)]], rtol=1e-15)
    np.testing.assert_allclose(gelu.backward(Z, gelu.forward(Z), np.ones_like(Z)),
                               [[0.5, phi + density, (1 - phi) - density]], rtol=1e-15)


def test_gelu_keeps_float32_and_round_trips_through_the_torch_bridge():
    from glassnet.torch import from_torch, to_torch

    assert GELU().forward(np.ones((2, 2), np.float32)).dtype == np.float32
    net = gn.Network.from_sizes([3, 4, 2], activation="gelu", output_activation="identity", loss="mse", seed=0)
    module = to_torch(net)
    assert isinstance(module[1], torch.nn.GELU) and module[1].approximate == "none"
    X = np.random.default_rng(1).normal(size=(5, 3))
    compare("forward through torch", module(torch.from_numpy(X)).detach().numpy(), net.forward(X), rtol=1e-12)
    back = from_torch(module)
    assert isinstance(back.layers[0].activation, GELU)
    with pytest.raises(gn.ConfigError, match="exact erf form"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU(approximate="tanh")))


# ----------------------------------------------------------------------------- GELU, a training trajectory
def torch_gelu_loss(params: dict[str, torch.Tensor], X: np.ndarray, y: np.ndarray, loss: str, n_layers: int):
    """The network written out in PyTorch, GELU hidden layers, glassnet's orientation (``Z = A @ W + b``)."""
    A = torch.from_numpy(X)
    for i in range(n_layers):
        Z = A @ params[f"{i}.W"] + params[f"{i}.b"]
        A = F.gelu(Z) if i < n_layers - 1 else Z  # the output layer: logits (identity for mse)
    if loss == "mse":
        return F.mse_loss(A, torch.from_numpy(y))
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(A, torch.from_numpy(y))
    return F.cross_entropy(A, torch.from_numpy(y))


TRAJECTORIES = {  # loss -> output activation glassnet needs, optimizer pair
    "mse-sgd": ("mse", "identity", lambda: gn.SGD(0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "bce-adam": ("bce", "sigmoid", lambda: gn.Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "ce-adam": ("cross_entropy", "softmax", lambda: gn.Adam(0.02), lambda p: torch.optim.Adam(p, lr=0.02)),
}


@pytest.mark.parametrize("case", TRAJECTORIES)
def test_gelu_network_trains_like_torch_step_by_step(case):
    loss, output, ours_f, theirs_f = TRAJECTORIES[case]
    rng = np.random.default_rng(3)
    n_out = 3 if loss == "cross_entropy" else 2
    net = gn.Network.from_sizes([3, 6, 5, n_out], activation="gelu", output_activation=output, loss=loss, seed=4)
    for p in net.parameters().values():
        p[...] = rng.normal(size=p.shape) * 0.7  # non-zero biases: every bias gradient off zero
    X = rng.normal(size=(24, 3)) * 1.5
    y = {"mse": lambda: rng.normal(size=(24, n_out)), "bce": lambda: rng.integers(0, 2, (24, n_out)).astype(float),
         "cross_entropy": lambda: rng.integers(0, n_out, 24)}[loss]()
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in net.parameters().items()}
    ours, theirs = ours_f(), theirs_f(list(params.values()))
    for step in range(60):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        value = net.step(X[rows], y[rows], ours)
        theirs.zero_grad()
        value_t = torch_gelu_loss(params, X[rows], y[rows], loss, len(net.layers))
        value_t.backward()
        theirs.step()
        compare(f"loss at step {step + 1}", np.array(value), np.array(value_t.item()))
        for key, p in net.parameters().items():
            compare(f"{key} after step {step + 1}", p, params[key].detach().numpy())


def test_gelu_fit_follows_the_same_trajectory_as_torch():
    rng = np.random.default_rng(5)
    net = gn.Network.from_sizes([2, 8, 1], activation="gelu", output_activation="identity", loss="mse", seed=1)
    X, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in net.parameters().items()}
    opt = torch.optim.Adam(list(params.values()), lr=0.01)
    net.fit(X, y, epochs=15, optimizer="adam", lr=0.01, batch_size=6, shuffle=False, monitor=False)
    for _ in range(15):
        for start in range(0, 20, 6):
            opt.zero_grad()
            torch_gelu_loss(params, X[start:start + 6], y[start:start + 6], "mse", 2).backward()
            opt.step()
    for key, p in net.parameters().items():
        compare(f"{key} after fit", p, params[key].detach().numpy())


# ----------------------------------------------------------------------------- every class, from the registries
def with_settings_changed(cls: type) -> object:
    """An instance with every numeric setting away from its default (so a setting lost on the way shows)."""
    changed = {name: p.default * 1.7 + 0.1 for name, p in inspect.signature(cls).parameters.items()
               if isinstance(p.default, float)}
    return cls(**changed)


ACTIVATION_CLASSES = ACTIVATIONS.classes()
LOSS_CLASSES = LOSSES.classes()
PROBE = np.linspace(-3.0, 2.5, 12).reshape(3, 4) * np.array([1.0, -0.7, 0.4, 1.3])


@pytest.mark.parametrize("cls", ACTIVATION_CLASSES, ids=lambda c: c.name)
def test_every_activation_has_a_torch_twin_and_a_config_that_rebuild_it(cls):
    activation: Activation = with_settings_changed(cls)  # type: ignore[assignment]
    config = activation.config()
    assert config["name"] == cls.name
    again = ACTIVATIONS.from_config(config)
    assert type(again) is cls and again.config() == config, "config() must list every setting"
    np.testing.assert_array_equal(again.forward(PROBE), activation.forward(PROBE))
    if activation.torch_name is None:  # no module: the identity
        np.testing.assert_array_equal(activation.forward(PROBE), PROBE)
        return
    module = getattr(torch.nn, activation.torch_name)(**activation.torch_kwargs())
    compare(f"{cls.name} vs torch.nn.{activation.torch_name}", activation.forward(PROBE),
            module(torch.from_numpy(PROBE)).detach().numpy(), rtol=1e-12)
    back = cls.from_torch(module)
    assert type(back) is cls and back.config() == config, "from_torch must read back every setting"
    for text in (activation.formula("z"), activation.derivative("a", "z")):
        assert isinstance(text, str)


@pytest.mark.parametrize("cls", LOSS_CLASSES, ids=lambda c: c.name)
def test_every_loss_has_a_torch_twin_and_a_config_that_rebuild_it(cls):
    loss: Loss = with_settings_changed(cls)  # type: ignore[assignment]
    config = loss.config()
    assert config["name"] == cls.name
    again = LOSSES.from_config(config)
    assert type(again) is cls and again.config() == config, "config() must list every setting"
    assert loss.torch_name and hasattr(torch.nn, loss.torch_name)
    module = getattr(torch.nn, loss.torch_name)(**loss.torch_kwargs())
    for key, value in loss.torch_kwargs().items():
        assert getattr(module, key) == value


def pairs() -> list[tuple[type[Activation], type[Loss]]]:
    """Every (output activation, loss) pair that makes sense: a fused loss with its own activation only."""
    return [(a, loss) for a in ACTIVATION_CLASSES for loss in LOSS_CLASSES
            if loss.fused_activation is None or issubclass(a, loss.fused_activation)]


def targets(loss: Loss, rng: np.random.Generator, n: int, n_out: int) -> np.ndarray:
    if loss.targets == "classes":
        return rng.integers(0, n_out, n)
    if loss.targets == "binary":
        return rng.integers(0, 2, (n, n_out)).astype(float)
    return rng.normal(size=(n, n_out)) * 2  # wide enough that Huber sees both of its pieces


@pytest.mark.parametrize("act_cls, loss_cls", pairs(), ids=lambda c: c.name)
def test_every_activation_and_loss_pair_survives_save_load_and_the_torch_bridge(act_cls, loss_cls, tmp_path):
    """A network with the activation (hidden, when it may be, and output) and the loss, both with changed
    settings: saved and loaded it is the same network; to PyTorch and back too; and torch's loss (``torch_name``)
    on the module's outputs (logits for a fused loss) is glassnet's loss, with the same gradients."""
    from glassnet.torch import from_torch, to_torch, torch_loss

    activation, loss = with_settings_changed(act_cls), with_settings_changed(loss_cls)
    hidden = activation if activation.elementwise else "tanh"  # a coupling activation is for the output only
    layers = [gn.Dense(3, 4, hidden), gn.Dense(4, 3, activation)]
    net = gn.Network(layers, loss=loss, seed=0)
    rng = np.random.default_rng(0)
    for p in net.parameters().values():
        p[...] = rng.normal(size=p.shape)
    X, y = rng.normal(size=(6, 3)), targets(loss, rng, 6, 3)

    net.save(tmp_path / "m.npz")
    back = gn.load(tmp_path / "m.npz")
    assert [layer.config() for layer in back.layers] == [layer.config() for layer in net.layers]
    assert back.loss_fn.config() == loss.config()
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert back.loss(X, y) == net.loss(X, y)

    fused = loss.fused_activation is not None
    module = to_torch(net, include_output_activation=not fused)
    out = module(torch.from_numpy(X))
    y_t = torch.from_numpy(y) if loss.targets == "classes" else torch.from_numpy(y.astype(np.float64))
    value = torch_loss(net)(out, y_t)
    value.backward()
    compare(f"{loss_cls.name} loss: torch.nn.{loss.torch_name}", np.array(net.loss(X, y)), np.array(value.item()))
    grads = net.gradients(X, y)
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(linears):  # the one transpose: weight is W.T
        compare(f"{i}.W", grads[f"{i}.W"], linear.weight.grad.numpy().T)
        compare(f"{i}.b", grads[f"{i}.b"], linear.bias.grad.numpy())

    again = from_torch(module, loss=loss)
    assert [layer.config() for layer in again.layers] == [layer.config() for layer in net.layers]
    assert again.loss_fn.config() == loss.config()
    np.testing.assert_array_equal(again.forward(X), net.forward(X))
