"""``EarlyStopping`` with Keras' semantics: scripted sequences of logged values worked out by hand, then real fits.

The scripted cases drive the callback's hooks directly with a fake network whose one "weight" is the epoch number,
so the weights put back say which epoch they came from. Each expected outcome is Keras 3's rule
(``keras/src/callbacks/early_stopping.py``) applied by hand; the comment beside each case shows the steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.callbacks import EarlyStopping


class FakeNet:
    """One parameter holding the number of the epoch just trained, one buffer holding ten times it."""

    def __init__(self) -> None:
        self.w = np.zeros(1)
        self.b = np.zeros(1)

    def parameters(self):
        return {"0.W": self.w}

    def buffers(self):
        return {"1.running_mean": self.b}


def script(values, key="val_loss", **settings):
    """Run ``EarlyStopping(key, **settings)`` over ``values`` (one per epoch); returns it, the net and the epochs run."""
    stopper, net = EarlyStopping(key, **settings), FakeNet()
    stopper.on_train_begin(net, {"epochs_done": 0})
    ran = 0
    for epoch, value in enumerate(values, start=1):
        net.w[0], net.b[0] = epoch, 10 * epoch
        ran = epoch
        if stopper.on_epoch_end(net, epoch, {"loss": 0.0, key: value}):
            break
    stopper.on_train_end(net, None)
    return stopper, net, ran


def test_patience_counts_epochs_without_improvement():
    # e1 best 1.0 | e2 0.9 < 1.0: best, wait 0 | e3 wait 1 | e4 wait 2 >= patience 2: stop after epoch 4
    stopper, net, ran = script([1.0, 0.9, 0.95, 0.92, 0.91, 0.89, 0.5], patience=2)
    assert (ran, stopper.stopped_epoch, stopper.best_epoch, stopper.best, stopper.wait) == (4, 4, 2, 0.9, 2)
    assert net.w[0] == 4  # restore_best_weights is off: the last weights stay


def test_min_delta_must_be_beaten():
    # e1 best 1.0 | e2 0.96 + 0.05 < 1.0? no, wait 1 | e3 0.94 + 0.05 = 0.99 < 1.0: best 0.94, wait 0 |
    # e4 0.90 + 0.05 < 0.94? no, wait 1 | e5 0.86 + 0.05 = 0.91 < 0.94: best, wait 0 | completes
    stopper, _, ran = script([1.0, 0.96, 0.94, 0.90, 0.86], patience=2, min_delta=-0.05)  # the sign is ignored
    assert (ran, stopper.stopped_epoch, stopper.best_epoch, stopper.best, stopper.wait) == (5, 0, 5, 0.86, 0)


def test_accuracy_is_maximised_and_equal_is_no_improvement():
    # auto -> max | e1 best 0.5 | e2 0.6 > 0.5: best | e3 0.6 > 0.6? no, wait 1 >= 1: stop
    stopper, _, ran = script([0.5, 0.6, 0.6, 0.9], key="val_accuracy", patience=1)
    assert (ran, stopper.stopped_epoch, stopper.best_epoch) == (3, 3, 2)


def test_patience_zero_never_stops_at_the_first_epoch():
    # e1 is always an improvement; e2 1.1 is not, wait 1 >= 0 and it is not the first epoch: stop
    assert script([1.0, 1.1, 0.1], patience=0)[2] == 2
    assert script([1.0], patience=0)[0].stopped_epoch == 0


def test_a_baseline_not_beaten_keeps_the_count_running():
    # baseline 0.5: e1 best 0.9, wait 1 (not reset: 0.9 does not beat 0.5) | e2 0.8 best, wait 2 (improved: no check) |
    # e3 0.85 wait 3 >= 2: stop. Without the baseline: waits 0, 0, 1 and then e4 improves: no stop.
    stopper, _, ran = script([0.9, 0.8, 0.85, 0.7], patience=2, baseline=0.5)
    assert (ran, stopper.stopped_epoch, stopper.best_epoch, stopper.wait) == (3, 3, 2, 3)
    assert script([0.9, 0.8, 0.85, 0.7], patience=2)[0].stopped_epoch == 0
    # beating the baseline (and the best) resets it
    stopper, _, ran = script([0.9, 0.4, 0.45, 0.46, 0.47], patience=2, baseline=0.5)
    assert (ran, stopper.stopped_epoch, stopper.best_epoch) == (4, 4, 2)


def test_start_from_epoch_skips_the_warm_up():
    # e1, e2 not watched | e3 best 1.0 | e4 wait 1 >= 1: stop. Watched from the start: e2 stops it.
    stopper, _, ran = script([0.5, 0.6, 1.0, 1.1, 1.2], patience=1, start_from_epoch=2)
    assert (ran, stopper.stopped_epoch, stopper.best_epoch) == (4, 4, 3)
    assert script([0.5, 0.6, 1.0, 1.1, 1.2], patience=1)[2] == 2


def test_best_weights_and_buffers_come_back_when_stopping_and_when_training_completes():
    stopper, net, ran = script([1.0, 0.9, 0.95, 0.92, 0.91], patience=2, restore_best_weights=True)
    assert (ran, net.w[0], net.b[0], stopper.weights_epoch) == (4, 2, 20, 2)
    # run to the end without stopping (Keras 3 restores then too)
    stopper, net, ran = script([1.0, 0.5, 0.7, 0.8], patience=5, restore_best_weights=True)
    assert (ran, stopper.stopped_epoch, net.w[0], net.b[0]) == (4, 0, 2, 20)


def test_one_instance_runs_twice_from_a_clean_start():
    stopper, net = EarlyStopping("loss", patience=1), FakeNet()
    for _ in range(2):
        stopper.on_train_begin(net, {"epochs_done": 0})
        assert not stopper.on_epoch_end(net, 1, {"loss": 1.0})
        assert stopper.on_epoch_end(net, 2, {"loss": 2.0})
        assert stopper.best == 1.0


def test_a_resumed_run_replays_its_history():
    history = gn.History(loss=[1.0, 0.9, 0.95], epochs=3)
    stopper = EarlyStopping("loss", patience=2)
    stopper.on_train_begin(FakeNet(), {"epochs_done": 3, "history": history})
    assert (stopper.best, stopper.best_epoch, stopper.wait) == (0.9, 2, 1)
    assert stopper.on_epoch_end(FakeNet(), 4, {"loss": 0.92})  # wait 2: as an uninterrupted run would


def test_a_missing_metric_names_the_logged_ones():
    stopper = EarlyStopping("val_loss")
    stopper.on_train_begin(FakeNet(), {})
    with pytest.raises(gn.ConfigError, match=r"'val_loss', which is not in the logs \(val_loss and val_accuracy need "
                                             r"validation_data\); the logs hold accuracy, loss"):
        stopper.on_epoch_end(FakeNet(), 1, {"loss": 1.0, "accuracy": 0.5})


@pytest.mark.parametrize("settings, words", [
    (dict(monitor="f1_macro"), "cannot tell whether 'f1_macro' should go down or up; pass mode='min'"),
    (dict(mode="lowest"), "mode must be 'auto', 'min'"),
    (dict(patience=-1), "patience must be an integer >= 0"),
    (dict(patience=2.5), "patience must be an integer >= 0"),
    (dict(min_delta=float("nan")), "min_delta must be a finite number"),
    (dict(restore_best_weights="yes"), "restore_best_weights must be True or False"),
])
def test_bad_settings_say_what_is_wrong(settings, words):
    with pytest.raises(gn.GlassnetError) as info:
        EarlyStopping(**settings)
    assert words in str(info.value)


def test_mode_auto_and_explicit():
    assert not EarlyStopping("val_loss").highest and EarlyStopping("val_accuracy").highest
    assert EarlyStopping("val_score").highest and EarlyStopping("f1", mode="max").highest


# ------------------------------------------------------------------------------------------------- real fits
def noisy_data(seed=0):
    X, y = gn.datasets.get_dataset("moons", n=120, noise=0.35, seed=seed)
    return X[:80], y[:80], X[80:], y[80:]


class Snapshots:
    observes_only = True

    def __init__(self) -> None:
        self.after: list[dict[str, np.ndarray]] = []

    def on_epoch_end(self, net, epoch, logs):
        self.after.append({k: p.copy() for k, p in {**net.parameters(), **net.buffers()}.items()})


@pytest.mark.parametrize("layers", ["dense", "batchnorm"])
def test_a_real_fit_stops_by_keras_rule_and_restores_the_best_epoch(layers):
    X, y, X_val, y_val = noisy_data()
    middle = [gn.BatchNorm1d(), ] if layers == "batchnorm" else []
    net = gn.Network([gn.Dense(2, 32, "tanh"), *middle, gn.Dense(32, 32, "tanh"), gn.Dense(32, 1, "sigmoid")],
                     loss="bce", seed=0)
    snaps, stopper = Snapshots(), EarlyStopping("val_loss", patience=4, restore_best_weights=True)
    history = net.fit(X, y, epochs=400, optimizer="adam", lr=0.05, batch_size=16, validation_data=(X_val, y_val),
                      callbacks=[snaps, stopper], monitor=False)
    assert history.stopped == "callback" and history.epochs == stopper.stopped_epoch < 400
    best = int(np.argmin(history.val_loss)) + 1  # min_delta 0: the first lowest value
    assert stopper.best_epoch == best and stopper.best == history.val_loss[best - 1]
    assert stopper.stopped_epoch - best == 4  # patience epochs with no improvement, then stop
    now = {**net.parameters(), **net.buffers()}
    for key, value in snaps.after[best - 1].items():
        np.testing.assert_array_equal(now[key], value)


def test_val_loss_without_validation_data_is_a_clear_error():
    X, y, _, _ = noisy_data()
    net = gn.Network.from_sizes([2, 4, 1], loss="bce", seed=0)
    with pytest.raises(gn.ConfigError, match="need validation_data.*the logs hold accuracy, loss"):
        net.fit(X, y, epochs=5, callbacks=[EarlyStopping()], monitor=False)


def test_monitoring_the_training_loss_needs_no_validation():
    X, y, _, _ = noisy_data()
    net = gn.Network.from_sizes([2, 4, 1], loss="bce", seed=0)
    stopper = EarlyStopping("loss", patience=1, min_delta=1.0)  # nothing improves by 1.0: stops at epoch 2
    history = net.fit(X, y, epochs=50, callbacks=[stopper], monitor=False)
    assert (history.epochs, history.stopped, stopper.stopped_epoch, stopper.best_epoch) == (2, "callback", 2, 1)


# ------------------------------------------------------------------------------------- the scikit-learn estimators
class Rates:
    """Records the optimizer's rate at each epoch's end (after the schedules before it in the list)."""

    observes_only = True

    def on_train_begin(self, net, info):
        self.opt, self.rates = info["optimizer"], []

    def on_epoch_end(self, net, epoch, logs):
        self.rates.append(self.opt.lr)
        self.keys = sorted(logs)


def test_estimators_take_callbacks_early_stopping_and_schedules():
    from sklearn.base import clone

    from glassnet.sklearn import GlassClassifier

    X, y, _, _ = noisy_data()
    rates = Rates()
    est = GlassClassifier((16,), solver="sgd", learning_rate_init=0.1, max_iter=6, random_state=0,
                          callbacks=[gn.StepLR(2, 0.5), rates])
    with pytest.warns(Warning):  # scikit-learn's ConvergenceWarning: max_iter reached
        est.fit(X, y)
    assert rates.rates == [0.1, 0.05, 0.05, 0.025, 0.025, 0.0125] and rates.keys == ["accuracy", "loss"]
    # Keras' rule on the held-out rows' score; scikit-learn's own rule (n_iter_no_change=100) never fires first
    stopper = EarlyStopping("val_score", patience=3)
    est = GlassClassifier((16,), learning_rate_init=0.05, max_iter=300, early_stopping=True, n_iter_no_change=100,
                          random_state=0, callbacks=[stopper, rates])
    est.fit(X, y)
    assert rates.keys == ["accuracy", "loss", "val_accuracy", "val_loss", "val_score"]
    assert est.n_iter_ == stopper.stopped_epoch == stopper.best_epoch + 3 < 300
    assert est.validation_scores_[stopper.best_epoch - 1] == stopper.best == max(est.validation_scores_)
    copy = clone(est)
    assert copy.callbacks is not est.callbacks and isinstance(copy.callbacks[0], EarlyStopping)


def test_estimator_callbacks_must_be_a_list():
    from glassnet.sklearn import GlassRegressor

    X, y, _, _ = noisy_data()
    with pytest.raises(gn.GlassnetTypeError, match="callbacks must be a list"):
        GlassRegressor(callbacks=EarlyStopping("loss")).fit(X, y)
