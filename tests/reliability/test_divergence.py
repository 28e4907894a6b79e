"""Divergence, for every optimizer: a learning rate far too large raises TrainingDiverged naming the
epoch and step, and leaves parameters and optimizer state exactly as after the last finite step
(compared with a reference run stopped one step earlier)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import glassnet as gn

RNG = np.random.default_rng(3)
X = RNG.normal(size=(10, 2)) * 3
Y = X @ np.array([[2.0], [-1.0]]) + 0.5

OPTIMIZERS = {  # SGD diverges on the first step of epoch 2, the others within epoch 1
    "sgd": lambda: gn.SGD(1e3),
    "momentum": lambda: gn.SGD(1e5, momentum=0.9),
    "nesterov": lambda: gn.SGD(1e5, momentum=0.9, nesterov=True),
    "adam": lambda: gn.Adam(1e200),
}


class StopAfter(Exception):
    pass


class StopAtStep:
    """Stops training (by raising) right after global step ``n``."""

    def __init__(self, n: int) -> None:
        self.n, self.count = n, 0

    def on_batch_end(self, net, epoch, step, loss) -> None:
        self.count += 1
        if self.count == self.n:
            raise StopAfter


def network() -> gn.Network:
    return gn.Network.from_sizes([2, 4, 1], "identity", loss="mse", seed=0)


def train(optimizer: str, callbacks=()):
    net, opt = network(), OPTIMIZERS[optimizer]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow on the way to inf is expected here
        try:
            net.fit(X, Y, epochs=50, optimizer=opt, batch_size=3, callbacks=callbacks)
        except (gn.TrainingDiverged, StopAfter) as exc:
            return net, opt, exc
    return net, opt, None


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_divergence_keeps_the_last_finite_step(optimizer):
    net, opt, error = train(optimizer)
    assert isinstance(error, gn.TrainingDiverged), "this learning rate must make training diverge"
    assert error.epoch >= 1 and error.step >= 1
    assert f"training diverged at epoch {error.epoch}, step {error.step}" in str(error)
    assert "Try a smaller learning rate" in str(error)
    steps_per_epoch = math.ceil(len(X) / 3)
    diverged_at = (error.epoch - 1) * steps_per_epoch + error.step
    assert diverged_at >= 2, "diverging on the very first step would not test 'the last finite step'"

    reference, ref_opt, stopped = train(optimizer, callbacks=[StopAtStep(diverged_at - 1)])
    assert isinstance(stopped, StopAfter)
    for key, value in reference.parameters().items():
        assert np.isfinite(value).all()
        assert np.array_equal(net.parameters()[key], value), key
    assert opt.state.keys() == ref_opt.state.keys()
    for name, entries in ref_opt.state.items():
        for key, value in entries.items():
            assert np.array_equal(opt.state[name][key], value), (name, key)
    if error.step > 1:  # within one epoch both drew the same shuffling order, and nothing since
        assert net.rng.bit_generator.state == reference.rng.bit_generator.state


def test_step_diverging_changes_nothing():
    net = network()
    opt = gn.Adam(0.1)
    net.step(X, Y, optimizer=opt)
    before = {k: v.copy() for k, v in net.parameters().items()}
    state = {name: {k: np.copy(v) for k, v in entries.items()} for name, entries in opt.state.items()}
    with pytest.raises(gn.TrainingDiverged), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        net.step(X * 1e200, Y, optimizer=opt)
    assert all(np.array_equal(before[k], v) for k, v in net.parameters().items())
    assert all(np.array_equal(state[n][k], opt.state[n][k]) for n in state for k in state[n])
