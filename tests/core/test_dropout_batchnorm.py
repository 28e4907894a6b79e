"""Dropout and BatchNorm1d against PyTorch in float64 (rtol 1e-10) and against steps worked out by hand.

``torch.nn.BatchNorm1d`` is the reference for the normalisation, every gradient (a whole network's, by autograd) and
the running statistics; ``torch.nn.Dropout`` for the dropout rule, with glassnet's mask fed into torch (a random
mask cannot be shared otherwise). The trajectories train a glassnet network and the same ``torch.nn.Sequential``
step by step (SGD with momentum, Adam), copying each step's Dropout masks from glassnet's cache into torch, and
compare every parameter, running statistic and loss after every step. The modes (``train`` / ``eval``) are checked
as ``torch.nn.Module`` defines them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import glassnet as gn
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from tests.core.torch_reference import assert_matches_torch

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def close(ours, theirs, what: str, scale: float = 0.0) -> None:
    """rtol 1e-10, with an absolute floor at 1e-10 of the array's own scale, or of ``scale`` when larger: entries that
    are 0 up to rounding (the gradient of a bias a BatchNorm after it cancels is a sum of rounding errors)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    scale = max(float(np.max(np.abs(theirs), initial=0.0)), scale, 1e-300)
    assert_matches_torch(what, ours, theirs, rtol=1e-10, atol=1e-10 * scale)


# ------------------------------------------------------------------------------- the same network in torch
class GivenMask(torch.nn.Module):
    """``torch.nn.Dropout``'s rule (``x * (mask / (1 - p))`` in training, ``x`` in evaluation) with a given mask."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * (self.mask / (1 - self.p))


ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
               "identity": torch.nn.Identity, "softmax": torch.nn.Identity}  # softmax: logits into F.cross_entropy


def torch_model(net: gn.Network) -> tuple[torch.nn.Sequential, dict[str, torch.Tensor]]:
    """``net`` as a torch Sequential with the same values, and glassnet's names for torch's tensors."""
    modules: list[torch.nn.Module] = []
    names: dict[str, torch.Tensor] = {}
    for i, layer in enumerate(net.layers):
        if isinstance(layer, gn.Dense):
            linear = torch.nn.Linear(layer.n_in, layer.n_out)
            with torch.no_grad():  # glassnet's W is (n_in, n_out), torch's weight (n_out, n_in)
                linear.weight.copy_(torch.tensor(layer.params["W"].T))
                linear.bias.copy_(torch.tensor(layer.params["b"]))
            modules += [linear, ACTIVATIONS[layer.activation.name]()]
            names[f"{i}.W"], names[f"{i}.b"] = linear.weight, linear.bias
        elif isinstance(layer, BatchNorm1d):
            bn = torch.nn.BatchNorm1d(layer.n_in, eps=layer.eps, momentum=layer.momentum)
            with torch.no_grad():
                bn.weight.copy_(torch.tensor(layer.params["gamma"]))
                bn.bias.copy_(torch.tensor(layer.params["beta"]))
                bn.running_mean.copy_(torch.tensor(layer.buffers["running_mean"]))
                bn.running_var.copy_(torch.tensor(layer.buffers["running_var"]))
            modules.append(bn)
            names[f"{i}.gamma"], names[f"{i}.beta"] = bn.weight, bn.bias
            names[f"{i}.running_mean"], names[f"{i}.running_var"] = bn.running_mean, bn.running_var
        else:
            modules.append(GivenMask(layer.p))
    return torch.nn.Sequential(*modules), names


def copy_masks(net: gn.Network, model: torch.nn.Sequential) -> None:
    """The masks glassnet's Dropout layers drew in their last forward pass, into the torch model."""
    masks = [torch.tensor(layer.cache["mask"].astype(np.float64)) for layer in net.layers if isinstance(layer, Dropout)]
    for module, mask in zip([m for m in model if isinstance(m, GivenMask)], masks, strict=True):
        module.mask = mask


def torch_loss(net: gn.Network, out: torch.Tensor, names: dict[str, torch.Tensor], y) -> torch.Tensor:
    if net.loss_fn.name == "cross_entropy":
        loss = F.cross_entropy(out, torch.tensor(np.asarray(y), dtype=torch.long))
    else:
        loss = F.mse_loss(out, torch.tensor(np.asarray(y, dtype=np.float64).reshape(out.shape)))
    if net.l2:  # glassnet's penalty: Dense weights only (BatchNorm's gamma and beta are not penalized)
        loss = loss + net.l2 / 2 * sum((t ** 2).sum() for key, t in names.items() if key.endswith(".W"))
    return loss


def as_glassnet(key: str, t: torch.Tensor) -> np.ndarray:
    value = t.detach().numpy()
    return value.T if key.endswith(".W") else value


def classifier(seed: int = 3, p: float = 0.3, l2: float = 0.0) -> gn.Network:
    return gn.Network([gn.Dense(4, 6, "relu"), BatchNorm1d(), Dropout(p), gn.Dense(6, 3, "softmax")],
                      loss="cross_entropy", l2=l2, seed=seed)


def regressor(seed: int = 5, l2: float = 0.0) -> gn.Network:
    """BatchNorm first (normalising the inputs), and with other settings after a tanh layer, before a Dropout."""
    return gn.Network([BatchNorm1d(4, momentum=0.2), gn.Dense(4, 5, "tanh"), BatchNorm1d(eps=1e-3), Dropout(0.5),
                       gn.Dense(5, 2, "identity")], loss="mse", l2=l2, seed=seed)


def linear_then_batchnorm(seed: int = 2, l2: float = 0.0) -> gn.Network:
    """A Dense layer without activation before a BatchNorm, whose shift makes that layer's bias redundant: its
    gradient is 0 up to rounding (Adam would turn that rounding into steps, so no trajectory uses this one)."""
    return gn.Network([gn.Dense(4, 5, "identity"), BatchNorm1d(), gn.Dense(5, 2, "sigmoid")], loss="mse", l2=l2,
                      seed=seed)


def data(n: int = 48, n_in: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)) * [1.0, 3.0, 0.5, 2.0][:n_in] + [0.5, -2.0, 1.0, 0.0][:n_in]
    return X, rng.integers(0, 3, n), rng.normal(size=(n, 2))


# ------------------------------------------------------------------------------- worked out by hand
def test_batchnorm_forward_backward_and_running_statistics_by_hand():
    # x = 0, 0, 3: mean 1, biased variance (1 + 1 + 4) / 3 = 2, unbiased 6 / 2 = 3; s = 1 / sqrt(2 + eps).
    bn = BatchNorm1d(1, eps=1e-5)
    s = 1 / math.sqrt(2 + 1e-5)
    A = bn.forward(np.array([[0.0], [0.0], [3.0]]))
    np.testing.assert_allclose(A[:, 0], [-s, -s, 2 * s], rtol=1e-15)
    np.testing.assert_allclose(bn.buffers["running_mean"], [0.9 * 0 + 0.1 * 1], rtol=1e-15)
    np.testing.assert_allclose(bn.buffers["running_var"], [0.9 * 1 + 0.1 * 3], rtol=1e-15)
    # dA = (1, 0, 0): dgamma = sum dA * x_hat = -s, dbeta = 1, and with dx_hat = dA (gamma = 1), sum dx_hat = 1 and
    # sum dx_hat * x_hat = -s: dx = s/3 * (3 dx_hat - 1 - x_hat * (-s)) = s/3 * ((2, -1, -1) + s^2 (-1, -1, 2)).
    dX = bn.backward(np.array([[1.0], [0.0], [0.0]]))
    np.testing.assert_allclose(bn.grads["gamma"], [-s], rtol=1e-15)
    np.testing.assert_allclose(bn.grads["beta"], [1.0], rtol=1e-15)
    x_hat = s * np.array([-1.0, -1.0, 2.0])
    expected = s / 3 * (np.array([3.0, 0.0, 0.0]) - 1 - x_hat * (-s))
    np.testing.assert_allclose(dX[:, 0], expected, rtol=1e-14)
    assert abs(dX.sum()) < 1e-15  # the gradient through a batch mean sums to zero over the batch
    # Evaluation mode: the running statistics, constants: x_hat = (x - 0.1) / sqrt(1.2 + eps), dx = dA / sqrt(...).
    bn.training = False
    A = bn.forward(np.array([[1.1]]))
    np.testing.assert_allclose(A, [[1.0 / math.sqrt(1.2 + 1e-5)]], rtol=1e-15)
    np.testing.assert_allclose(bn.backward(np.array([[2.0]])), [[2.0 / math.sqrt(1.2 + 1e-5)]], rtol=1e-15)


def test_dropout_forward_and_backward_by_hand():
    layer = Dropout(0.25, n=3)
    layer.initialize(np.random.default_rng(11))
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = np.random.default_rng(11).random((2, 3)) >= 0.25  # the rule: keep where u >= p
    A = layer.forward(X)
    np.testing.assert_array_equal(layer.cache["mask"], mask)
    np.testing.assert_array_equal(A, np.where(mask, X / 0.75, 0.0))
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), np.where(mask, 1 / 0.75, 0.0))
    layer.training = False
    np.testing.assert_array_equal(layer.forward(X), X)
    np.testing.assert_array_equal(layer.backward(np.full((2, 3), 2.0)), np.full((2, 3), 2.0))
    assert layer.cache["mask"].all() and layer.cache["keep"] == 1


# ------------------------------------------------------------------------------- the rules against torch
def test_torch_dropout_is_the_rule_glassnet_feeds_its_mask_into():
    # torch.nn.Dropout with its own mask: every output is 0 or x / (1 - p), so x * (mask / (1 - p)) with
    # mask = (output != 0) reproduces it exactly; the kept fraction is about 1 - p.
    torch.manual_seed(0)
    X = torch.rand(400, 50) + 0.5  # no zeros, so output == 0 means dropped
    out = torch.nn.Dropout(0.3).train()(X)
    mask = (out != 0).to(torch.float64)
    torch.testing.assert_close(out, X * (mask / (1 - 0.3)), rtol=0, atol=0)
    assert abs(mask.mean().item() - 0.7) < 0.01
    ours = Dropout(0.3, n=50)
    ours.initialize(np.random.default_rng(1))
    ours.forward(X.numpy())
    assert abs(ours.cache["mask"].mean() - 0.7) < 0.01
    ours.cache["mask"] = mask.numpy().astype(bool)  # torch's mask into glassnet's backward
    g = torch.rand(400, 50)
    X.requires_grad_(True)
    (X * (mask / (1 - 0.3)) * g).sum().backward()
    close(ours.backward(g.numpy()), X.grad.numpy(), "dX")


@pytest.mark.parametrize("eps, momentum", [(1e-5, 0.1), (1e-2, 0.5)])
def test_batchnorm_equals_torch_forward_gradients_running_statistics_and_evaluation(eps, momentum):
    rng = np.random.default_rng(4)
    ours = BatchNorm1d(3, eps=eps, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(3, eps=eps, momentum=momentum)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    ours.params["gamma"][...], ours.params["beta"][...] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    for step in range(60):  # running statistics after many batches (of changing size)
        X = rng.normal(size=(5 + step % 7, 3)) * [1.0, 10.0, 0.1] + [3.0, -1.0, 0.0]
        dA = rng.normal(size=X.shape)
        Xt = torch.tensor(X, requires_grad=True)
        out = theirs.train()(Xt)
        (out * torch.tensor(dA)).sum().backward()
        close(ours.forward(X), out.detach().numpy(), f"A, step {step}")
        close(ours.backward(dA), Xt.grad.numpy(), f"dX, step {step}")
        close(ours.grads["gamma"], theirs.weight.grad.numpy(), f"dgamma, step {step}")
        close(ours.grads["beta"], theirs.bias.grad.numpy(), f"dbeta, step {step}")
        theirs.weight.grad = theirs.bias.grad = None
        close(ours.buffers["running_mean"], theirs.running_mean.numpy(), f"running_mean, step {step}")
        close(ours.buffers["running_var"], theirs.running_var.numpy(), f"running_var, step {step}")
    X = rng.normal(size=(4, 3))
    dA = rng.normal(size=X.shape)
    Xt = torch.tensor(X, requires_grad=True)
    out = theirs.eval()(Xt)
    (out * torch.tensor(dA)).sum().backward()
    ours.training = False
    before = {k: b.copy() for k, b in ours.buffers.items()}
    close(ours.forward(X), out.detach().numpy(), "A (evaluation)")
    close(ours.backward(dA), Xt.grad.numpy(), "dX (evaluation)")
    close(ours.grads["gamma"], theirs.weight.grad.numpy(), "dgamma (evaluation)")
    for k, b in ours.buffers.items():
        np.testing.assert_array_equal(b, before[k])  # evaluation never changes the running statistics


@pytest.mark.parametrize("build", [classifier, regressor, linear_then_batchnorm])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_whole_networks_gradients_equal_torch_autograd(build, mode):
    X, labels, targets = data()
    y = labels if build is classifier else targets
    net = build(l2=0.01)
    for _ in range(3):  # running statistics away from 0 and 1
        net.forward(X[:16])
    getattr(net, mode)()
    model, names = torch_model(net)
    grads = net.gradients(X, y)  # in training mode this draws a mask: copied into torch below
    assert set(grads) == {k for k in names if "running" not in k}
    copy_masks(net, model)
    getattr(model, mode)()
    out = model(torch.tensor(X))
    loss = torch_loss(net, out, names, y)
    loss.backward()
    close(net._loss_value(net._targets(y, len(X))), loss.item(), "loss")
    largest = max(float(np.abs(g).max()) for g in grads.values())
    for key, g in grads.items():
        close(g, as_glassnet(key, names[key].grad), f"gradient of {key} ({mode})", scale=largest)
    for key, b in net.buffers().items():
        close(b, as_glassnet(key, names[key]), key)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("build", [classifier, regressor])
def test_a_trajectory_of_60_steps_equals_torch_step_by_step(build, optimizer):
    X, labels, targets = data(n=64)
    y = labels if build is classifier else targets
    net = build(l2=0.001)
    model, names = torch_model(net)
    params = [t for k, t in names.items() if "running" not in k]
    if optimizer == "sgd":
        ours, theirs = gn.SGD(0.05, momentum=0.9), torch.optim.SGD(params, lr=0.05, momentum=0.9)
    else:
        ours, theirs = gn.Adam(0.01), torch.optim.Adam(params, lr=0.01)
    rng = np.random.default_rng(9)
    for step in range(60):
        rows = rng.choice(len(X), 16, replace=False)
        loss = net.step(X[rows], y[rows], ours)
        copy_masks(net, model)
        theirs.zero_grad()
        model.train()
        torch_value = torch_loss(net, model(torch.tensor(X[rows])), names, y[rows])
        torch_value.backward()
        theirs.step()
        close(loss, torch_value.item(), f"loss at step {step}")
        for key, t in names.items():
            live = net.parameters().get(key, net.buffers().get(key))
            close(live, as_glassnet(key, t), f"{key} after step {step}")
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor(X)).numpy()
    if build is classifier:
        close(net.predict_proba(X), torch.softmax(torch.tensor(out), dim=1).numpy(), "predict_proba (evaluation)")
    else:
        close(net.predict(X), out, "predict (evaluation)")


def test_fit_trains_in_training_mode_exactly_as_torch_with_a_ragged_last_batch():
    X, labels, _ = data(n=50)  # batches of 16, 16, 16 and 2 rows, shuffled by the network's generator
    net = classifier(p=0.4)
    model, names = torch_model(net)
    params = [t for k, t in names.items() if "running" not in k]
    theirs = torch.optim.Adam(params, lr=0.01)

    class Follow:  # the torch step after each glassnet step, with the rows and the masks glassnet used
        observes_only = True

        def on_batch_begin(self, net, epoch, step, Xb, Yb):
            self.X, self.y = Xb.copy(), Yb.argmax(axis=1)

        def on_batch_end(self, net, epoch, step, loss):
            copy_masks(net, model)
            theirs.zero_grad()
            value = torch_loss(net, model.train()(torch.tensor(self.X)), names, self.y)
            value.backward()
            theirs.step()
            close(loss, value.item(), f"loss at epoch {epoch}, step {step}")

    net.fit(X, labels, epochs=15, optimizer=gn.Adam(0.01), batch_size=16, callbacks=[Follow()], monitor=False)
    for key, t in names.items():
        close(net.parameters().get(key, net.buffers().get(key)), as_glassnet(key, t), key)


def test_l2_covers_the_dense_weights_only():
    net = classifier(l2=0.5)
    X, labels, _ = data(n=8)
    net.eval()
    plain = classifier(l2=0.0).eval()
    penalty = 0.25 * sum(float((layer.params["W"] ** 2).sum()) for layer in net.layers if isinstance(layer, gn.Dense))
    assert net.loss(X, labels) == pytest.approx(plain.loss(X, labels) + penalty, rel=1e-14)
    g, g0 = net.gradients(X, labels), plain.gradients(X, labels)
    for key in ("1.gamma", "1.beta", "0.b", "3.b"):
        np.testing.assert_array_equal(g[key], g0[key])
    np.testing.assert_allclose(g["0.W"], g0["0.W"] + 0.5 * net.parameters()["0.W"], rtol=1e-14)
    assert BatchNorm1d.penalized == () and Dropout.penalized == ()


# ------------------------------------------------------------------------------- modes
def test_modes_switch_as_torch_defines_them():
    net = classifier()
    assert net.training and all(layer.training for layer in net.layers)  # a new network trains
    assert net.eval() is net and not net.training and not any(layer.training for layer in net.layers)
    assert net.train() is net and net.training and all(layer.training for layer in net.layers)
    assert net.train(False) is net and not net.training
    net.train()
    with net.evaluating() as same:
        assert same is net and not any(layer.training for layer in net.layers)
    assert all(layer.training for layer in net.layers)
    with pytest.raises(RuntimeError), net.evaluating():
        raise RuntimeError("inside")
    assert net.training and all(layer.training for layer in net.layers)  # restored after an error too
    with pytest.raises(GlassnetTypeError, match="mode must be True or False"):
        net.train("no")  # type: ignore[arg-type]


def test_forward_follows_the_mode_and_predict_always_evaluates():
    X, labels, _ = data(n=20)
    net = classifier()
    bn = net.layers[1]
    state, stats = net.rng.bit_generator.state, bn.buffers["running_mean"].copy()
    net.predict(X)
    net.predict_proba(X)
    assert net.training  # predict leaves the mode alone
    assert net.rng.bit_generator.state == state  # ... draws no mask
    np.testing.assert_array_equal(bn.buffers["running_mean"], stats)  # ... and changes no running statistic
    evaluated = net.eval().forward(X)
    np.testing.assert_array_equal(net.predict_proba(X), evaluated)
    assert net.rng.bit_generator.state == state
    net.train()
    trained = net.forward(X)  # training mode: a mask drawn, running statistics updated
    assert net.rng.bit_generator.state != state
    assert not np.array_equal(bn.buffers["running_mean"], stats)
    assert not np.array_equal(trained, evaluated)
    assert not net.layers[2].cache["mask"].all()


def test_fit_and_step_train_validate_in_evaluation_mode_and_restore_the_mode():
    X, labels, _ = data(n=40)
    net = classifier().eval()
    net.fit(X, labels, epochs=2, batch_size=10, monitor=False)
    assert not net.training and not any(layer.training for layer in net.layers)
    net.step(X[:10], labels[:10], "adam")
    assert not net.training and not any(layer.training for layer in net.layers)
    net.train()
    net.step(X[:10], labels[:10])
    assert net.training

    seen = []

    class Look:
        def on_batch_end(self, net, epoch, step, loss):
            seen.append(net.training)

        def on_epoch_end(self, net, epoch, logs):
            seen.append(net.training)

    net.eval().fit(X, labels, epochs=2, batch_size=20, callbacks=[Look()], validation_data=(X, labels))
    assert seen == [True] * 6 and not net.training

    # Validation in evaluation mode: no mask drawn and no running statistic changed, so a run with validation_data
    # is the run without it; its val_loss is the evaluation-mode loss.
    a, b = classifier(), classifier()
    history = a.fit(X, labels, epochs=5, batch_size=10, optimizer="adam", lr=0.01, validation_data=(X[:12], labels[:12]))
    b.fit(X, labels, epochs=5, batch_size=10, optimizer="adam", lr=0.01)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    for key in a.parameters():
        np.testing.assert_array_equal(a.parameters()[key], b.parameters()[key])
    for key in a.buffers():
        np.testing.assert_array_equal(a.buffers()[key], b.buffers()[key])
    assert history.val_loss[-1] == a.eval().loss(X[:12], labels[:12])


def test_the_health_monitor_looks_without_changing_the_run():
    X, labels, _ = data(n=40)
    watched, plain = classifier(), classifier()
    watched.fit(X, labels, epochs=9, batch_size=10, monitor=True)
    plain.fit(X, labels, epochs=9, batch_size=10, monitor=False)
    assert watched.rng.bit_generator.state == plain.rng.bit_generator.state
    for key, b in plain.buffers().items():
        np.testing.assert_array_equal(watched.buffers()[key], b)
    for key, p in plain.parameters().items():
        np.testing.assert_array_equal(watched.parameters()[key], p)


def test_the_seed_gives_the_same_masks_and_another_seed_others():
    X, labels, _ = data(n=30)

    def masks(seed: int) -> list[np.ndarray]:
        net = classifier(seed=seed)
        kept = []

        class Keep:
            def on_batch_end(self, net, epoch, step, loss):
                kept.append(net.layers[2].cache["mask"].copy())

        net.fit(X, labels, epochs=3, batch_size=10, callbacks=[Keep()], monitor=False)
        return kept

    first, again, other = masks(1), masks(1), masks(2)
    assert len(first) == 9
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert all(m.shape == (10, 6) and m.dtype == bool for m in first)


# ------------------------------------------------------------------------------- float32
def test_float32_trains_and_stays_float32_close_to_float64():
    X, labels, _ = data(n=32)
    runs = {}
    for dtype in ("float32", "float64"):
        net = gn.Network([gn.Dense(4, 6, "relu"), BatchNorm1d(), Dropout(0.2), gn.Dense(6, 3, "softmax")],
                         loss="cross_entropy", seed=3, dtype=dtype)
        net.fit(X, labels, epochs=10, batch_size=8, optimizer="adam", lr=0.01, monitor=False)
        runs[dtype] = net
        assert all(b.dtype == np.dtype(dtype) for b in net.buffers().values())
        assert all(p.dtype == np.dtype(dtype) for p in net.parameters().values())
        assert net.predict_proba(X).dtype == np.dtype(dtype)
        assert net.layers[2].cache["A"].dtype == np.dtype(dtype)
    for key, b in runs["float64"].buffers().items():
        np.testing.assert_allclose(runs["float32"].buffers()[key], b, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(runs["float32"].predict_proba(X), runs["float64"].predict_proba(X), atol=1e-3)


# ------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, math.nan, "0.5", True, None])
def test_dropout_refuses_a_p_outside_0_1(p):
    with pytest.raises(ConfigError, match=r"Dropout: p .* must be a number in \[0, 1\)"):
        Dropout(p)  # type: ignore[arg-type]


@pytest.mark.parametrize("settings, what", [({"eps": 0.0}, "eps"), ({"eps": -1.0}, "eps"), ({"eps": math.inf}, "eps"),
                                             ({"momentum": 0.0}, "momentum"), ({"momentum": 1.5}, "momentum"),
                                             ({"momentum": "0.1"}, "momentum")])
def test_batchnorm_refuses_bad_settings(settings, what):
    with pytest.raises(ConfigError, match=f"BatchNorm1d: {what} must be"):
        BatchNorm1d(3, **settings)


def test_wrong_widths_and_a_batch_of_one_row_are_clear_errors():
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(3\) got input with 2 features; expected 3"):
        BatchNorm1d(3).forward(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"Dropout\(p=0.5, 3\) got input with 2 features; expected 3"):
        Dropout(0.5, n=3).forward(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="batch of 1 row in training mode.*batch_size >= 2.*net.eval"):
        BatchNorm1d(3).forward(np.zeros((1, 3)))
    net = classifier()
    with pytest.raises(ShapeError, match="batch of 1 row"):
        net.step(np.zeros((1, 4)), [0])
    net.eval()
    assert net.forward(np.zeros((1, 4))).shape == (1, 3)  # evaluation mode: one row is fine
    with pytest.raises(ConfigError, match="layers do not chain"):
        gn.Network([gn.Dense(2, 3), BatchNorm1d(4), gn.Dense(4, 1)])


def test_a_last_batch_of_one_row_is_refused_before_training_starts():
    X, labels, _ = data(n=33)
    net = classifier()
    before = {k: p.copy() for k, p in net.parameters().items()}
    message = (r"batch_size=16 leaves a last batch of 1 row\(s\) out of n_rows=33, but layer 1 \(BatchNorm1d\(6\)\) "
               r"needs at least 2 rows per batch in training mode .* Use batch_size=15")
    with pytest.raises(ConfigError, match=message):
        net.fit(X, labels, epochs=3, batch_size=16)
    assert all(np.array_equal(p, before[k]) for k, p in net.parameters().items())  # nothing trained
    assert net.fit(X, labels, epochs=1, batch_size=15).epochs == 1  # the suggestion works
    with pytest.raises(ConfigError, match=r"needs at least 2 rows per batch in training mode, but the data has 1 row"):
        classifier().fit(X[:1], labels[:1], epochs=1)
    with pytest.raises(ConfigError, match=r"batch_size=1 gives batches of 1 row\(s\).* Use batch_size=2"):
        classifier().fit(X[:4], labels[:4], epochs=1, batch_size=1)
    gn.Network([gn.Dense(4, 3, "softmax")], loss="cross_entropy").fit(X, labels, epochs=1, batch_size=16)  # Dense: fine


def test_dropout_or_batchnorm_last_under_a_fused_loss_is_the_usual_clear_error():
    for last in (Dropout(0.5), BatchNorm1d()):
        with pytest.raises(ConfigError, match=r"loss 'bce' needs a sigmoid output layer.* uses no activation"):
            gn.Network([gn.Dense(2, 3, "sigmoid"), last], loss="bce")
    with pytest.raises(ConfigError, match=r"loss 'cross_entropy' needs a softmax output layer"):
        gn.Network([gn.Dense(2, 3, "relu"), BatchNorm1d()], loss="cross_entropy")


def test_batchnorm_as_the_last_layer_under_mse_equals_torch():
    X, _, targets = data(n=12)
    net = gn.Network([gn.Dense(4, 2, "tanh"), BatchNorm1d()], loss="mse", seed=1)
    model, names = torch_model(net)
    for step in range(5):
        loss = net.step(X, targets, gn.SGD(0.1))
        torch_value = torch_loss(net, model.train()(torch.tensor(X)), names, targets)
        torch_value.backward()
        with torch.no_grad():
            for key, t in names.items():
                if "running" not in key:
                    t -= 0.1 * t.grad
                    t.grad = None
        close(loss, torch_value.item(), f"loss at step {step}")
    for key, t in names.items():
        close(net.parameters().get(key, net.buffers().get(key)), as_glassnet(key, t), key)


# ------------------------------------------------------------------------------- the README's example
def test_the_readmes_dropout_and_batchnorm_example_prints_what_it_shows(tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Dropout, BatchNorm and the two modes", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    shown = [m[1] for m in re.finditer(r"^print\(.*?\)\s+# ([^:\s]+(?: [^:\s]+)*?)(?::|$)", block, flags=re.M)]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed == shown
