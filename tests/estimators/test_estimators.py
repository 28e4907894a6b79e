"""GlassClassifier / GlassRegressor: exact agreement with MLPClassifier's updates, pipelines, accuracy, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.sklearn import GlassClassifier, GlassRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _same_start(glass, mlp, X, y, **partial):
    """One partial_fit each (to build both networks), then copy glassnet's weights into scikit-learn's."""
    glass.partial_fit(X, y, **partial)
    mlp.partial_fit(X, y, **partial)
    mlp.coefs_ = [W.copy() for W in glass.coefs_]
    mlp.intercepts_ = [b.copy() for b in glass.intercepts_]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sgd_epoch_with_alpha_equals_mlpclassifier(n_classes):
    # Same weights, same batches (no shuffle; 10 rows in batches of 4: the last has 2), plain SGD:
    # the updated weights must agree to rounding, which pins down the alpha -> l2 mapping per batch.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), np.arange(10) % n_classes
    common = dict(hidden_layer_sizes=(5,), activation="tanh", solver="sgd", alpha=0.3, batch_size=4,
                  learning_rate_init=0.1, momentum=0.0, shuffle=False, random_state=0)
    glass, mlp = GlassClassifier(**common), MLPClassifier(**common)
    _same_start(glass, mlp, X, y, classes=np.arange(n_classes))
    glass.partial_fit(X, y)
    mlp.partial_fit(X, y)
    _assert_same(glass, mlp, X)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_epochs_equal_mlpclassifier(nesterov):
    # Velocities carry over between partial_fit calls on both sides: three epochs of six steps must coincide.
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 4)), np.arange(12) % 3
    common = dict(hidden_layer_sizes=(6, 5), activation="relu", solver="sgd", alpha=0.01, batch_size=2,
                  learning_rate_init=0.05, momentum=0.9, nesterovs_momentum=nesterov, shuffle=False, random_state=0)
    glass, mlp = GlassClassifier(**common), MLPClassifier(**common)
    glass.partial_fit(X, y, classes=[0, 1, 2])
    mlp.partial_fit(X, y, classes=[0, 1, 2])
    glass.network_.set_parameters({f"{i}.{k}": v for i, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_))
                                   for k, v in (("W", W), ("b", b))})
    glass._optimizer.state.clear()  # both start the next epochs from zero velocity
    mlp._optimizer.velocities = [np.zeros_like(p) for p in mlp.coefs_ + mlp.intercepts_]
    for _ in range(3):
        glass.partial_fit(X, y)
        mlp.partial_fit(X, y)
    _assert_same(glass, mlp, X)


def _assert_same(glass, mlp, X):
    for ours, theirs in zip(glass.coefs_ + glass.intercepts_, mlp.coefs_ + mlp.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert glass.loss_curve_[-1] == pytest.approx(mlp.loss_curve_[-1], rel=1e-12)
    np.testing.assert_allclose(glass.predict_proba(X), mlp.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("regressor", [False, True])
def test_fit_trains_through_network_fit_on_the_fast_path_and_equals_scikit_learn(monkeypatch, regressor):
    # The whole of fit (several epochs; 10 rows in batches of 4, so each epoch has a ragged last batch and its own
    # alpha / n_batch) must be Network.fit's steps, run by the fast path's Plan.step, and still take exactly
    # scikit-learn's steps from the same start (SGD with Nesterov momentum, fresh at the start of fit on both sides).
    from glassnet.core import fast, training

    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 3))
    y = X @ [1.0, -2.0, 0.5] if regressor else np.arange(10) % 3
    common = dict(hidden_layer_sizes=(5,), activation="tanh", solver="sgd", alpha=0.3, batch_size=4, momentum=0.9,
                  nesterovs_momentum=True, shuffle=False, random_state=0, max_iter=5, tol=0.0, n_iter_no_change=50,
                  warm_start=True)
    if regressor:  # one output: glassnet's objective is 2/k = 2 times MLPRegressor's, so half the learning rate
        glass, mlp = GlassRegressor(learning_rate_init=0.05, **common), MLPRegressor(learning_rate_init=0.1, **common)
        _same_start(glass, mlp, X, y)
    else:
        glass, mlp = GlassClassifier(learning_rate_init=0.1, **common), MLPClassifier(learning_rate_init=0.1, **common)
        _same_start(glass, mlp, X, y, classes=[0, 1, 2])
    fits, steps = [], []
    real_fit, real_step = training.fit, fast.Plan.step

    def spy_fit(net, *args, **kwargs):
        fits.append(kwargs)
        return real_fit(net, *args, **kwargs)

    def spy_step(plan, Xb, Yb, optimizer):
        steps.append(len(Xb))
        return real_step(plan, Xb, Yb, optimizer)

    monkeypatch.setattr(training, "fit", spy_fit)
    monkeypatch.setattr(fast.Plan, "step", spy_step)
    glass.fit(X, y)
    mlp.fit(X, y)
    assert len(fits) == 1 and fits[0]["epochs"] == 5 and fits[0]["monitor"] is False
    assert steps == [4, 4, 2] * 5  # every step of every epoch on the fast path
    for ours, theirs in zip(glass.coefs_ + glass.intercepts_, mlp.coefs_ + mlp.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(glass.loss_curve_[-5:], mlp.loss_curve_[-5:], rtol=1e-12)
    assert glass.network_.l2 == 0.0  # the per-batch penalty weight is put back


def test_ctrl_c_ends_training_after_a_whole_step_with_a_warning(monkeypatch):
    # Network.fit turns the first Ctrl-C into a clean stop; the estimator keeps the weights and warns, as
    # MLPClassifier does ("Training interrupted by user.").
    import os
    import signal

    from glassnet.core import training

    class CtrlCAt:
        def on_batch_end(self, net, epoch, step, loss):
            if (epoch, step) == (2, 1):
                os.kill(os.getpid(), signal.SIGINT)

    real_fit = training.fit
    monkeypatch.setattr(training, "fit", lambda *a, **k: real_fit(*a, **{**k, "callbacks": [*k["callbacks"], CtrlCAt()]}))
    X, y = np.random.default_rng(0).normal(size=(8, 2)), np.arange(8) % 2
    with pytest.warns(UserWarning, match="interrupted by the user after 1 epochs"):
        clf = GlassClassifier(hidden_layer_sizes=(3,), max_iter=10, batch_size=2, random_state=0).fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1 and clf.predict(X).shape == (8,)
    assert clf.network_.l2 == 0.0


@pytest.mark.parametrize("k", [1, 2])
def test_regressor_objective_is_2_over_k_times_mlpregressors(k):
    # With k outputs glassnet's objective is 2/k times MLPRegressor's; SGD with lr * k / 2 takes the same steps.
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(9, 2)), rng.normal(size=(9, k)).squeeze()
    common = dict(hidden_layer_sizes=(4,), activation="logistic", solver="sgd", alpha=0.2, batch_size=5,
                  momentum=0.0, shuffle=False, random_state=0)
    glass, mlp = GlassRegressor(learning_rate_init=0.1 * k / 2, **common), MLPRegressor(learning_rate_init=0.1, **common)
    _same_start(glass, mlp, X, y)
    glass.partial_fit(X, y)
    mlp.partial_fit(X, y)
    for ours, theirs in zip(glass.coefs_ + glass.intercepts_, mlp.coefs_ + mlp.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert glass.loss_curve_[-1] == pytest.approx(mlp.loss_curve_[-1], rel=1e-12)


def test_binary_uses_one_sigmoid_multiclass_softmax_regression_identity():
    X = np.random.default_rng(0).normal(size=(12, 2))
    binary = GlassClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, ["no", "yes"] * 6)
    assert binary.network_.n_out == 1 and binary.network_.loss_fn.name == "bce"
    assert binary.network_.layers[-1].activation.name == "sigmoid"
    assert list(binary.classes_) == ["no", "yes"] and set(binary.predict(X)) <= {"no", "yes"}
    multi = GlassClassifier(hidden_layer_sizes=[3, 4], max_iter=3, random_state=0).fit(X, np.arange(12) % 3)
    assert multi.network_.sizes == [2, 3, 4, 3] and multi.network_.loss_fn.name == "cross_entropy"
    assert multi.predict_proba(X).shape == (12, 3)
    np.testing.assert_allclose(multi.predict_proba(X).sum(axis=1), 1.0)
    reg = GlassRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, np.c_[X[:, 0], X[:, 1] * 2])
    assert reg.network_.layers[-1].activation.name == "identity" and reg.predict(X).shape == (12, 2)
    assert len(multi.loss_curve_) == multi.n_iter_ == 3


def test_early_stopping_and_tol_stop_like_sklearn():
    X, y = gn.datasets.moons(n=200, noise=0.2)
    clf = GlassClassifier(hidden_layer_sizes=(8,), early_stopping=True, n_iter_no_change=3, max_iter=500,
                          learning_rate_init=0.05, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the weights kept are the best epoch's: scoring the same validation rows is not needed; the score is attained
    clf2 = GlassClassifier(hidden_layer_sizes=(8,), tol=10.0, n_iter_no_change=2, max_iter=100, random_state=0).fit(X, y)
    # epoch 1 improves on +inf; then the loss never improves by 10, so it stops when the count exceeds 2, at epoch 4
    assert clf2.n_iter_ == 4
    mlp = MLPClassifier(hidden_layer_sizes=(8,), tol=10.0, n_iter_no_change=2, max_iter=100, random_state=0).fit(X, y)
    assert mlp.n_iter_ == clf2.n_iter_


def test_warm_start_continues_and_partial_fit_keeps_counting():
    X, y = gn.datasets.blobs(n=60, seed=2)
    clf = GlassClassifier(hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    W = clf.coefs_[0].copy()
    net = clf.network_
    clf.fit(X, y)
    assert clf.network_ is net and clf.n_iter_ == 10 and not np.array_equal(W, clf.coefs_[0])
    cold = GlassClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 5
    inc = GlassClassifier(hidden_layer_sizes=(4,), random_state=0)
    for _ in range(3):
        inc.partial_fit(X, y, classes=[0, 1, 2])
    assert inc.n_iter_ == 3


def test_pipeline_grid_search_cross_val_score():
    X, y = gn.datasets.iris()
    pipe = make_pipeline(StandardScaler(), GlassClassifier(max_iter=30, learning_rate_init=0.01, random_state=0))
    grid = GridSearchCV(pipe, {"glassclassifier__hidden_layer_sizes": [(4,), (16,)],
                               "glassclassifier__alpha": [1e-4, 1e-1]}, cv=3).fit(X, y)
    assert grid.best_score_ > 0.85 and len(grid.cv_results_["params"]) == 4
    assert isinstance(grid.best_estimator_[-1].network_, gn.Network)
    scores = cross_val_score(make_pipeline(StandardScaler(), GlassRegressor(max_iter=30, learning_rate_init=0.01,
                                                                       random_state=0)),
                             X[:, :3], X[:, 3], cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and scores.mean() > 0.5


# Settings used on both sides. Small data sets have few test rows per fold (iris: 50, one row = 2 points), so the
# accuracy is averaged over several seeds before comparing; the seeds are the same for both libraries.
SETTINGS = dict(hidden_layer_sizes=(32,), activation="relu", solver="adam", alpha=1e-4, batch_size=64,
                learning_rate_init=0.01, max_iter=40)


@pytest.mark.parametrize("name, seeds", [("iris", 8), ("wine", 8), ("breast_cancer", 4), ("digits", 2)])
def test_accuracy_within_one_point_of_mlpclassifier(name, seeds):
    X, y = gn.datasets.get_dataset(name)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)

    def accuracy(cls):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return np.mean([cross_val_score(make_pipeline(StandardScaler(), cls(random_state=s, **SETTINGS)), X, y,
                                            cv=cv).mean() for s in range(seeds)])

    ours, theirs = accuracy(GlassClassifier), accuracy(MLPClassifier)
    assert ours > 0.9
    assert abs(ours - theirs) <= 0.01, (name, ours, theirs)


def test_bad_input_errors():
    X, y = np.eye(4), [0, 1, 0, 1]
    with pytest.raises(gn.ConfigError, match="solver must be 'adam' or 'sgd'"):
        GlassClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(gn.ConfigError, match="activation must be one of identity, logistic, tanh, relu"):
        GlassClassifier(activation="softmax").fit(X, y)
    with pytest.raises(gn.ConfigError, match="hidden_layer_sizes must be positive integers"):
        GlassClassifier(hidden_layer_sizes=(3, 0)).fit(X, y)
    with pytest.raises(gn.ConfigError, match=r"alpha must be a number in \[0.0"):
        GlassClassifier(alpha=-1).fit(X, y)
    with pytest.raises(gn.ConfigError, match="batch_size must be 'auto' or a positive integer"):
        GlassRegressor(batch_size="big").fit(X, y)
    with pytest.raises(gn.DataError, match="one class"):
        GlassClassifier().fit(X, [1, 1, 1, 1])
    with pytest.raises(gn.ConfigError, match="first call needs classes"):
        GlassClassifier().partial_fit(X, y)
    clf = GlassClassifier(hidden_layer_sizes=(2,)).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(gn.ConfigError, match=r"label\(s\) \[7\] that are not in classes"):
        clf.partial_fit(X, [0, 7, 0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        GlassClassifier().fit(X, [0.5, 1.5, 2.5, 0.1])
    with pytest.raises(ValueError, match="X has 3 features, but GlassClassifier is expecting 4"):
        clf.predict(np.ones((2, 3)))
    with pytest.raises(NotFittedError):
        GlassRegressor().predict(X)
    with pytest.warns(UserWarning, match="batch_size 50 is larger than the 4 samples"):
        GlassRegressor(batch_size=50, max_iter=1).fit(X, [0.0, 1.0, 2.0, 3.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_raised_and_leaves_a_clean_estimator():
    X = np.random.default_rng(0).normal(size=(20, 2))
    reg = GlassRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, learning_rate_init=1e8, alpha=0.1,
                         early_stopping=True, random_state=0)
    with pytest.raises(gn.TrainingDiverged, match="smaller learning rate"):
        reg.fit(X, X[:, 0] * 1e3)
    assert reg.network_.l2 == 0.0 and "_best_params" not in vars(reg)
    assert all(layer.cache == {} for layer in reg.network_.layers)
