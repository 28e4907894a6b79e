"""``glassnet train``'s training controls and ``glassnet lr-find``: each option reaches the object it names.

A command line's model is compared bit for bit with the same training written in Python, so an option wired to the
wrong setting (or not at all) fails; the rates of each epoch are checked against values worked out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import train_test_split

TRAIN = ["train", "--data", "xor", "--layers", "2,3,1", "--no-progress", "--print-every", "0"]


def test_a_step_schedule_sets_each_epochs_rate(cli, tmp_path):
    model = tmp_path / "m.npz"
    code, out, err = cli(*TRAIN, "--lr", "0.5", "--epochs", "5", "--schedule", "step", "--step-size", "2", "--gamma", "0.5",
                         "--out", str(model))
    assert code == 0, err
    assert "learning rate StepLR(step_size=2, gamma=0.5)" in out
    assert gn.load(model).metadata["history"]["lr"] == [0.5, 0.5, 0.25, 0.25, 0.125]


def test_a_warm_up_then_cosine(cli, tmp_path):
    model = tmp_path / "m.npz"
    code, _, err = cli(*TRAIN, "--lr", "0.4", "--epochs", "7", "--warmup", "3", "--schedule", "cosine", "--eta-min",
                       "0.1", "--out", str(model))
    assert code == 0, err
    # epochs 1-3: 0.4 * e / 4; then cosine from 0.4 to 0.1 over the 4 epochs left: 0.1 + 0.3 * (1 + cos(pi t / 4)) / 2
    expected = [0.1, 0.2, 0.3] + [0.1 + 0.3 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)]
    np.testing.assert_allclose(gn.load(model).metadata["history"]["lr"], expected, rtol=1e-14)


def test_weight_decay_and_clipping_reach_the_optimizer(cli, tmp_path):
    model = tmp_path / "m.npz"
    code, out, err = cli(*TRAIN, "--optimizer", "adamw", "--lr", "0.05", "--weight-decay", "0.2", "--max-grad-norm",
                         "0.01", "--epochs", "30", "--loss", "bce", "--out", str(model))
    assert code == 0, err
    assert "AdamW(" in out and "weight_decay=0.2" in out and "max_grad_norm=0.01" in out
    net = gn.Network.from_sizes([2, 3, 1], activation="sigmoid", loss="bce", seed=0)
    net.fit(*gn.datasets.xor(), epochs=30, optimizer=gn.core.optimizers.AdamW(0.05, weight_decay=0.2, max_grad_norm=0.01),
            monitor=False)
    ours = gn.load(model).parameters()
    for key, p in net.parameters().items():
        np.testing.assert_array_equal(ours[key], p, err_msg=key)


def test_dropout_and_batchnorm_layers(cli, tmp_path):
    model = tmp_path / "m.npz"
    code, out, err = cli("train", "--data", "moons", "--layers", "2,8,8,1", "--activation", "relu", "--batchnorm",
                         "--dropout", "0.25", "--epochs", "5", "--batch-size", "20", "--lr", "0.05", "--no-progress",
                         "--out", str(model))
    assert code == 0, err
    saved = gn.load(model)
    assert [type(layer).__name__ for layer in saved.layers] == ["Dense", "BatchNorm1d", "Dropout", "Dense", "BatchNorm1d",
                                                                 "Dropout", "Dense"]
    assert saved.layers[2].p == 0.25
    X, y = gn.datasets.get_dataset("moons")
    net = gn.Network([gn.Dense(2, 8, "relu"), gn.BatchNorm1d(), gn.Dropout(0.25), gn.Dense(8, 8, "relu"),
                      gn.BatchNorm1d(), gn.Dropout(0.25), gn.Dense(8, 1, "sigmoid")], loss="bce", seed=0)
    net.fit(X, y, epochs=5, batch_size=20, lr=0.05, monitor=False)
    for key, value in {**net.parameters(), **net.buffers()}.items():
        np.testing.assert_array_equal({**saved.parameters(), **saved.buffers()}[key], value, err_msg=key)


def test_early_stopping_stops_and_keeps_the_best_weights(cli, tmp_path):
    model = tmp_path / "m.npz"
    code, out, err = cli("train", "--data", "moons", "--noise", "0.4", "--layers", "2,32,32,1", "--activation", "tanh",
                         "--optimizer", "adam", "--lr", "0.05", "--batch-size", "16", "--epochs", "500", "--val-split",
                         "0.3", "--early-stopping", "5", "--restore-best", "--no-progress", "--print-every", "0",
                         "--out", str(model))
    assert code == 0, err
    saved = gn.load(model)
    val_loss = saved.metadata["history"]["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    assert len(val_loss) == best + 5 < 500
    assert f"stopped early: val_loss did not improve for 5 epochs after epoch {best}" in out
    assert f"kept the weights of epoch {best}" in out
    data = gn.datasets.get_dataset("moons", noise=0.4)
    _, X_val, _, y_val = train_test_split(data.X, data.y, test_size=0.3, seed=0, stratify=data.y)
    assert math.isclose(saved.loss(X_val, y_val), val_loss[best - 1], rel_tol=1e-12)


@pytest.mark.parametrize("options, words", [
    (["--early-stopping", "5"], "--early-stopping watches the validation loss: hold out rows for it with --val-split"),
    (["--restore-best"], "--restore-best goes with --early-stopping PATIENCE"),
    (["--gamma", "0.5"], "--gamma is a setting of --schedule step or exponential, and no --schedule was given"),
    (["--schedule", "cosine", "--step-size", "3"], "--step-size is a setting of --schedule step, and --schedule cosine "
                                                   "does not use it"),
    (["--schedule", "step"], "--schedule step needs --step-size N"),
    (["--schedule", "exponential"], "--schedule exponential needs --gamma"),
    (["--warmup", "9"], "--warmup must be a number of epochs from 1 to --epochs - 1 (4)"),
    (["--schedule", "step", "--step-size", "2", "--gamma", "nan"], "--gamma must be a finite number, got nan"),
    (["--dropout", "1"], "Dropout: p (the probability of dropping an input) must be a number in [0, 1)"),
    (["--early-stopping", "-1", "--val-split", "0.5"], "patience must be an integer >= 0"),
    (["--weight-decay", "-1"], "weight_decay must be a number >= 0"),
])
def test_wrong_controls_are_one_clear_line(cli, options, words):
    code, out, err = cli(*TRAIN, "--epochs", "5", *options)
    assert code == 2 and words in err and "Traceback" not in err, err


def test_an_unknown_schedule_gets_the_nearest_name(cli, capsys):
    with pytest.raises(SystemExit) as info:
        cli(*TRAIN, "--schedule", "cosin")
    assert info.value.code == 2 and "did you mean cosine? (choose from step, exponential, cosine)" in capsys.readouterr().err


def test_lr_find_suggests_the_rate_python_finds_and_draws_it(cli, tmp_path):
    plot = tmp_path / "lr.png"
    code, out, err = cli("lr-find", "--data", "moons", "--layers", "2,8,1", "--activation", "tanh", "--optimizer", "adam",
                         "--batch-size", "32", "--plot", str(plot))
    assert code == 0, err
    X, y = gn.datasets.get_dataset("moons")
    net = gn.Network.from_sizes([2, 8, 1], activation="tanh", loss="bce", seed=0)
    result = gn.lr_finder(net, X, y, optimizer="adam", batch_size=32)
    assert f"suggested learning rate: {result.suggestion:.3g} ({result.rule})" in out and "valley" in result.rule
    assert (f"glassnet train --data moons --layers 2,8,1 --activation tanh --optimizer adam --batch-size 32 "
            f"--lr {result.suggestion:.3g}") in out
    assert f"valley    {result.suggestions['valley']:.3g}" in out
    assert plot.stat().st_size > 1000


def test_lr_find_other_rule_and_a_run_too_short(cli):
    code, out, err = cli("lr-find", "--data", "xor", "--layers", "2,3,1", "--rule", "minimum")
    assert code == 0, err
    assert "(minimum / 10: a tenth of the rate with the lowest smoothed loss); train with" in out
    code, out, err = cli("lr-find", "--data", "xor", "--layers", "2,3,1", "--num-steps", "2")
    assert code == 0, err
    assert "no suggestion: only 2 step(s)" in out
