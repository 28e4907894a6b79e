"""The report's snapshots of a BatchNorm network evaluate each epoch with that epoch's running statistics."""

from __future__ import annotations

import copy
import warnings

import numpy as np

import glassnet as gn
from glassnet.viz.report import report_data
from glassnet.viz.snapshots import SnapshotRecorder, load_run, save_run


def test_an_early_snapshot_uses_its_own_running_statistics(tmp_path):
    X, y = gn.datasets.moons(n=200, noise=0.2, seed=0)
    net = gn.Network([gn.Dense(2, 8, "tanh"), gn.BatchNorm1d(), gn.Dense(8, 1, "sigmoid")], loss="bce", seed=0)
    untrained = copy.deepcopy(net)
    recorder = SnapshotRecorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y, epochs=30, lr=0.5, batch_size=32, callbacks=[recorder])
    data = report_data(net, X, y, recorder.run)
    data = data[0] if isinstance(data, tuple) else data
    with untrained.evaluating():
        expected = untrained.loss(X, y)  # the network of epoch 0: running mean 0 and variance 1
    assert data["snapshots"]["epochs"][0] == 0
    assert np.isclose(data["snapshots"]["loss"][0], expected, rtol=1e-12)
    path = tmp_path / "run.npz"
    save_run(net, recorder.run, path)
    _, run = load_run(path)
    for key in net.buffers():
        np.testing.assert_array_equal(run.snapshots[0][1][key], recorder.run.snapshots[0][1][key])
