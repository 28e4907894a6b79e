"""A checkpoint keeps what its callbacks need: their settings (a resume under others is refused) and their state
(early stopping's best weights), so a resumed run ends bit for bit as an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn


def data():
    X, y = gn.datasets.moons(n=120, noise=0.3, seed=0)
    return X[:80], y[:80], X[80:], y[80:]


def network():
    return gn.Network([gn.Dense(2, 8, "tanh"), gn.BatchNorm1d(), gn.Dropout(0.2), gn.Dense(8, 1, "sigmoid")],
                      loss="bce", seed=3)


def run(epochs, checkpoint=None, resume=False, net=None, schedule=None):
    X, y, X_val, y_val = data()
    net = net or network()
    stop = gn.EarlyStopping("val_loss", patience=100, restore_best_weights=True)
    callbacks = [schedule or gn.StepLR(10, 0.5), stop]
    net.fit(X, y, epochs=epochs, optimizer=gn.SGD(1.5), batch_size=16, validation_data=(X_val, y_val),
            callbacks=callbacks, checkpoint=checkpoint, resume=resume, monitor=False)
    return net, stop


def test_restore_best_weights_after_a_resume_is_the_uninterrupted_runs(tmp_path):
    whole, stop = run(60)
    assert 1 < stop.best_epoch < 50  # the best epoch lies before the resumption below, and is not the last
    path = tmp_path / "run.ckpt"
    first, _ = run(stop.best_epoch + 2, checkpoint=path)
    resumed, again = run(60, checkpoint=path, resume=True, net=network())
    assert (again.best_epoch, again.weights_epoch) == (stop.best_epoch, stop.best_epoch)
    for key, p in whole.parameters().items():
        np.testing.assert_array_equal(resumed.parameters()[key], p, err_msg=key)
    for key, b in whole.buffers().items():
        np.testing.assert_array_equal(resumed.buffers()[key], b, err_msg=key)


@pytest.mark.parametrize("other", [gn.StepLR(5, 0.5), gn.CosineAnnealingLR(60), gn.ExponentialLR(0.9)])
def test_a_resume_under_another_schedule_is_refused(tmp_path, other):
    path = tmp_path / "run.ckpt"
    run(5, checkpoint=path)
    with pytest.raises(gn.errors.ConfigError, match="belongs to a different run.*callbacks"):
        run(10, checkpoint=path, resume=True, net=network(), schedule=other)


def test_a_resume_without_the_callbacks_it_had_is_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    run(5, checkpoint=path)
    X, y, X_val, y_val = data()
    with pytest.raises(gn.errors.ConfigError, match="callbacks"):
        network().fit(X, y, epochs=10, optimizer=gn.SGD(1.5), batch_size=16, validation_data=(X_val, y_val),
                      checkpoint=path, resume=True, monitor=False)


def test_the_cli_refuses_a_longer_cosine_on_resume(cli, tmp_path):
    # --schedule cosine runs over the epochs asked for: more epochs is another curve, not the same one continued.
    path = tmp_path / "run.ckpt"
    args = ("train", "--data", "moons", "--layers", "2,4,1", "--schedule", "cosine", "--checkpoint", str(path))
    code, out, err = cli(*args, "--epochs", "10", "--out", str(tmp_path / "a.npz"))
    assert code == 0, err
    code, out, err = cli(*args, "--epochs", "20", "--resume", "--out", str(tmp_path / "b.npz"))
    assert code == 2 and "different run" in err and "T_max" in err, err


def test_a_callback_that_refuses_to_begin_leaves_the_rate_and_the_checkpoint_free(tmp_path):
    X, y = gn.datasets.xor()
    optimizer = gn.SGD(0.3)

    class Refuses:
        def on_train_begin(self, net, info):
            raise gn.errors.ConfigError("not today")

    path = tmp_path / "run.ckpt"
    with pytest.raises(gn.errors.ConfigError, match="not today"):
        gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0).fit(
            X, y, epochs=5, optimizer=optimizer, callbacks=[gn.LinearWarmup(0.25, total_iters=3), Refuses()],
            checkpoint=path)
    assert optimizer.lr == 0.3  # the schedule put its base rate back
    gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0).fit(X, y, epochs=2, checkpoint=path)  # the lock is free
