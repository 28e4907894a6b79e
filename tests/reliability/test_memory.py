"""Resource limits: the peak memory of fit does not grow with the number of epochs, history aside
(checked with tracemalloc, which sees NumPy's allocations too), with and without checkpoints."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import glassnet as gn

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 5))
Y = (X[:, 0] * X[:, 1] > 0).astype(int)


def peak_minus_history(epochs: int, **options) -> int:
    """Peak bytes allocated during fit, less the bytes the returned history still holds."""
    net = gn.Network.from_sizes([5, 16, 1], "tanh", loss="bce", seed=0)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        history = net.fit(X, Y, epochs=epochs, optimizer="adam", lr=0.01, batch_size=32,
                          validation_data=(X[:8], Y[:8]), **options)
        with_history, peak = tracemalloc.get_traced_memory()
        assert history.epochs == epochs
        del history
        gc.collect()
        without_history = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (peak - start) - (with_history - without_history)


@pytest.mark.parametrize("checkpointing", [False, True])
def test_peak_memory_is_flat_from_1000_to_2000_epochs(tmp_path, checkpointing):
    def options(name: str) -> dict:
        return {"checkpoint": tmp_path / name, "checkpoint_every": 50} if checkpointing else {}

    peak_minus_history(3, **options("warm.ckpt"))  # first-call allocations (imports, caches) happen here
    # From 800 steps on, fit(monitor=True)'s record of the layers (history.layers, verify/inside.py) holds its bound of
    # about 108 samples, whatever the number of epochs: what a checkpoint write makes of it stays the same size.
    small = peak_minus_history(1000, **options("small.ckpt"))
    large = peak_minus_history(2000, **options("large.ckpt"))
    # A leak of one float per epoch would add ~24 kB over 1000 epochs (a Python float takes 24 bytes).
    # Writing a checkpoint briefly holds the history as five float64 arrays (5 * 8 bytes per epoch) and a
    # copy of one of them being hashed: that is the history again, in another form (measured: ~48 bytes/epoch).
    allowed = 8 * 1024 + (56 * 1000 if checkpointing else 0)
    assert large - small < allowed, (small, large)


def test_the_layer_record_costs_a_bounded_amount_at_any_length(tmp_path):
    # The record has 100 to 120 samples from 800 steps on: its share of the peak is the same for 1000 and 3000 epochs.
    def record_cost(epochs: int) -> int:
        return (peak_minus_history(epochs, checkpoint=tmp_path / f"on{epochs}.ckpt", checkpoint_every=50)
                - peak_minus_history(epochs, checkpoint=tmp_path / f"off{epochs}.ckpt", checkpoint_every=50,
                                     monitor=False))

    peak_minus_history(3)
    assert abs(record_cost(3000) - record_cost(1000)) < 32 * 1024
