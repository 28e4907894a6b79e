"""Training (core/training.py): whole trajectories against torch.optim after every step, Ctrl-C during fit,
float32 training, the validation history and each batch's accuracy.

Whole training trajectories against torch.optim, parameters compared after every step (rtol 1e-9)."""

from __future__ import annotations

import signal

import numpy as np
import pytest
import torch

import glassnet as gn
from tests.core.torch_reference import torch_loss, torch_params

OPTIMIZERS = {
    "sgd": (lambda: gn.SGD(0.3), lambda p: torch.optim.SGD(p, lr=0.3)),
    "momentum": (lambda: gn.SGD(0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "nesterov": (lambda: gn.SGD(0.1, momentum=0.8, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
    "adam": (lambda: gn.Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-betas": (lambda: gn.Adam(0.05, betas=(0.8, 0.99), eps=1e-6),
                   lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
}


SETUPS = {
    "sigmoid-mse": dict(sizes=[3, 5, 2], activation="tanh", output_activation="sigmoid", loss="mse"),
    "relu-bce": dict(sizes=[3, 6, 4, 1], activation="relu", loss="bce"),
    "tanh-ce-l2": dict(sizes=[3, 5, 3], activation="tanh", loss="cross_entropy", l2=0.05),
    "sigmoid-mse-l2": dict(sizes=[3, 4, 1], activation="sigmoid", loss="mse", l2=0.1),
}


def data(setup, rng, n=24):
    X = rng.normal(size=(n, 3))
    if setup["loss"] == "cross_entropy":
        return X, rng.integers(0, 3, size=n)
    if setup["loss"] == "bce":
        return X, rng.integers(0, 2, size=(n, 1)).astype(float)
    return X, rng.uniform(size=(n, setup["sizes"][-1]))


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_50_steps_match_torch_optim_after_every_step(setup, opt):
    config = dict(SETUPS[setup])
    sizes = config.pop("sizes")
    net = gn.Network.from_sizes(sizes, seed=1, **config)
    X, y = data(SETUPS[setup], np.random.default_rng(2))
    params = torch_params(net)
    ours, theirs = OPTIMIZERS[opt][0](), OPTIMIZERS[opt][1](list(params.values()))
    for step in range(50):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)  # three mini-batches of 8, in turn
        loss = net.step(X[rows], y[rows], ours)
        theirs.zero_grad()
        _, loss_t = torch_loss(net, params, X[rows], y[rows])
        loss_t.backward()
        theirs.step()
        np.testing.assert_allclose(loss, loss_t.item(), rtol=1e-9, err_msg=f"loss at step {step}")
        for key, p in net.parameters().items():
            np.testing.assert_allclose(p, params[key].detach().numpy(), rtol=1e-9, atol=1e-13,
                                       err_msg=f"{key} after step {step + 1}: glassnet vs torch")


def test_fit_without_shuffle_follows_the_same_trajectory_as_torch():
    net = gn.Network.from_sizes([3, 4, 1], activation="tanh", loss="bce", seed=3)
    X, y = data({"loss": "bce"}, np.random.default_rng(4), n=20)
    params = torch_params(net)
    opt = torch.optim.Adam(list(params.values()), lr=0.02)
    history = net.fit(X, y, epochs=5, optimizer="adam", lr=0.02, batch_size=6, shuffle=False)
    for _ in range(5):
        for start in range(0, 20, 6):  # batches of 6, 6, 6 and a ragged 2
            opt.zero_grad()
            torch_loss(net, params, X[start:start + 6], y[start:start + 6])[1].backward()
            opt.step()
    for key, p in net.parameters().items():
        np.testing.assert_allclose(p, params[key].detach().numpy(), rtol=1e-9, err_msg=key)
    assert history.steps == 20


def test_ctrl_c_during_fit_stops_after_a_whole_step_and_keeps_history():
    class PressCtrlC:
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 3:
                signal.raise_signal(signal.SIGINT)

    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    X, y = gn.datasets.xor()
    # Python's own handler, as in a terminal (a shell's background job starts with SIGINT ignored)
    outside = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        history = net.fit(X, y, epochs=100, lr=0.5, callbacks=[PressCtrlC()])
        restored = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, outside)
    assert history.stopped == "interrupted" and history.epochs == 3 and len(history.loss) == 3
    reference = gn.Network.from_sizes([2, 3, 1], seed=0)
    reference.fit(X, y, epochs=3, lr=0.5)
    for key, value in net.parameters().items():
        assert np.array_equal(value, reference.parameters()[key])
    assert restored is signal.default_int_handler  # fit put back the handler it found


def test_float32_training_is_float32_and_close_to_float64():
    X, y = gn.datasets.xor()
    nets = {d: gn.Network.from_sizes([2, 3, 1], seed=0, dtype=d) for d in ("float32", "float64")}
    for net in nets.values():
        net.fit(X, y, epochs=200, lr=0.5)
    assert all(p.dtype == np.float32 for p in nets["float32"].parameters().values())
    for key, value in nets["float64"].parameters().items():
        np.testing.assert_allclose(nets["float32"].parameters()[key], value, rtol=1e-3, atol=1e-4)


def test_history_records_validation_loss_and_accuracy():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 4, 2], activation="tanh", loss="cross_entropy", seed=0)
    history = net.fit(X, y, epochs=5, optimizer="adam", lr=0.1, validation_data=(X, y))
    assert len(history.loss) == len(history.accuracy) == len(history.val_loss) == len(history.val_accuracy) == 5
    # The validation loss after the last epoch is the loss of the final parameters.
    assert history.val_loss[-1] == pytest.approx(net.loss(X, y), rel=1e-12)
    assert history.val_accuracy[-1] == np.mean(net.predict(X) == y)


def test_training_accuracy_is_that_of_each_batch_before_its_update():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    for sizes, loss, y in (([3, 4, 1], "bce", (X[:, 0] > 0).astype(float)),
                           ([3, 4, 3], "cross_entropy", rng.integers(0, 3, size=40))):
        net = gn.Network.from_sizes(sizes, activation="tanh", loss=loss, seed=2)
        expected = np.mean(net.predict(X) == y)  # one full batch: its predictions come before the update
        history = net.fit(X, y, epochs=1, lr=0.5, monitor=False)
        assert 0 < expected < 1 and history.accuracy == [expected]
