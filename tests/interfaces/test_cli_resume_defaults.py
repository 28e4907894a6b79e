"""A run checkpointed by ``Network.fit`` resumes under ``glassnet train`` with nothing but its data, sizes and
checkpoint given, and the other way round: the two share their defaults (learning rate, epochs), and what a
resumed command line leaves out (loss, output activation, seed) is taken from the checkpoint."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import glassnet as gn


def same_parameters(a: gn.Network, b: gn.Network) -> bool:
    return all(np.array_equal(a.parameters()[key], b.parameters()[key]) for key in a.parameters())


@pytest.mark.parametrize("seed", [None, 0, 7])
def test_a_fit_checkpoint_resumes_under_the_cli_bit_for_bit(cli, tmp_path, seed):
    X, y = gn.datasets.xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the health monitor's notes on a short XOR run
        gn.Network.from_sizes([2, 3, 1], seed=seed).fit(X, y, epochs=30, checkpoint=tmp_path / "run.ckpt")
        shutil.copy(tmp_path / "run.ckpt", tmp_path / "copy.ckpt")
        in_python = gn.Network.from_sizes([2, 3, 1], seed=seed)
        in_python.fit(X, y, checkpoint=tmp_path / "copy.ckpt", resume=True)  # fit's default epochs
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--checkpoint", str(tmp_path / "run.ckpt"),
                         "--resume", "--out", str(tmp_path / "m.npz"), "--no-progress")
    assert code == 0, err
    assert "output: sigmoid with loss mse, as in checkpoint" in out and "after epoch 30 of 100" in out
    assert same_parameters(gn.load(tmp_path / "m.npz"), in_python)


def test_a_cli_checkpoint_resumes_under_fit(cli, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "30", "--checkpoint", str(ckpt),
                         "--out", str(tmp_path / "m.npz"), "--no-progress")
    assert code == 0, err
    assert "output: sigmoid with loss bce, chosen for 2 classes" in out
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0)  # the CLI's choice for two classes, its seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X, y, checkpoint=ckpt, resume=True)
    assert history.epochs == 100
