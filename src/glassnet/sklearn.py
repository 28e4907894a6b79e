"""scikit-learn estimators backed by a glassnet :class:`~glassnet.Network`: ``GlassClassifier`` and ``GlassRegressor``.

They take the parameter names of ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` and work in
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``; they pass ``check_estimator``. After ``fit`` the
trained network is ``estimator.network_``: every weight, gradient and activation can be inspected with
the rest of glassnet (``network_.gradients(X, y)``, ``network_.summary()``, ``glassnet.viz.plots``, ...).

How the settings map onto glassnet (``MLPClassifier`` semantics are kept wherever they exist):

* ``activation``: ``"identity"``, ``"logistic"`` (sigmoid), ``"tanh"``, ``"relu"`` for the hidden layers.
* outputs: two classes -> one sigmoid unit + ``bce``; more -> softmax + ``cross_entropy``;
  regression -> identity units + ``mse`` (one per target column).
* ``alpha``: scikit-learn adds ``alpha / (2 * n_batch) * sum(W**2)`` to each batch's mean loss. glassnet's
  penalty is ``(l2 / 2) * sum(W**2)``, so every step here uses ``l2 = alpha / n_batch`` with ``n_batch``
  that batch's row count: the classifier minimises exactly MLPClassifier's objective (tests compare
  single SGD steps to 1e-12). The regressor: MLPRegressor's gradient is that of
  ``sum((p - y)**2) / (2 * n_batch)`` (summed over the ``k`` outputs), while glassnet's ``mse`` is the mean
  over samples *and* outputs. With ``l2 = 2 * alpha / (k * n_batch)`` glassnet's objective is exactly
  ``2 / k`` times MLPRegressor's, so Adam takes the same steps (it is scale-free up to ``epsilon``) and
  SGD needs ``learning_rate_init * k / 2`` to match. ``loss_curve_`` is on MLPRegressor's scale.
* ``solver``: ``"adam"`` (``beta_1``, ``beta_2``, ``epsilon``) or ``"sgd"`` (``momentum``, ``nesterovs_momentum``)
  with the constant ``learning_rate_init``. SGD with (Nesterov) momentum takes exactly scikit-learn's steps
  (PyTorch's formulation is the same update); Adam is ``torch.optim.Adam``, whose ``epsilon`` sits after the
  bias correction rather than before it as in scikit-learn (a difference of order ``epsilon``).
* training is ``Network.fit`` (on the fast path, like any other glassnet training), with one callback
  (``_Schedule``) for the per-batch ``alpha``, the loss curve on scikit-learn's scale and the stopping rules;
  a full batch is not reshuffled (its rows are the same whatever their order).
* ``batch_size="auto"`` is ``min(200, n_samples)``; ``max_iter`` counts epochs; ``tol``,
  ``n_iter_no_change``, ``early_stopping`` and ``validation_fraction`` stop training exactly as in
  scikit-learn; ``warm_start`` continues from the current weights with a new optimizer, ``partial_fit``
  does one epoch and keeps the optimizer.
* weights start as glassnet's Glorot uniform and biases at zero (scikit-learn also draws the biases).
* ``callbacks`` (glassnet's own addition, default none): ``Network.fit`` callbacks run after the estimator's, e.g.
  a learning-rate schedule (``glassnet.StepLR(10, 0.5)``) or Keras-style early stopping with the best weights
  restored (``glassnet.EarlyStopping("val_loss", patience=5, restore_best_weights=True)``). With
  ``early_stopping=True`` the held-out rows are also ``fit``'s ``validation_data``, so the logs hold ``val_loss``,
  ``val_accuracy`` (classifier) and ``val_score`` (the score scikit-learn's rule watches: accuracy or R^2);
  without it the logs hold ``loss`` (and ``accuracy``). scikit-learn's own ``tol`` / ``n_iter_no_change`` rule
  stays in force beside them; whichever stops first ends training.

Next read: ``glassnet/torch.py`` (moving a trained network to PyTorch).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_bool, check_callbacks, check_inputs
from glassnet.core.layers import Dense
from glassnet.core.network import Network
from glassnet.core.optimizers import SGD, Adam, Optimizer
from glassnet.datasets.split import train_test_split
from glassnet.errors import ConfigError, DataError, GlassnetTypeError, require

require("sklearn", "sklearn", "glassnet.sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets, type_of_target  # noqa: E402
from sklearn.utils.validation import check_is_fitted, check_random_state, column_or_1d, validate_data  # noqa: E402

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
SOLVERS = ("sgd", "adam")


class _Schedule:
    """The ``Network.fit`` callback that trains the way scikit-learn's MLP does (see the module docstring).

    * ``on_batch_begin``: the L2 weight of this batch, ``net.l2 = scale * alpha / n_batch``; the penalty is
      ``alpha / (2 n_batch) * sum(W**2)`` in scikit-learn, so it changes with the batch's row count.
    * ``on_batch_end``: the batch loss on scikit-learn's scale (for the regressor: half the mean squared error
      plus MLPRegressor's own penalty), summed into this epoch's entry of ``loss_curve_``.
    * ``on_epoch_end``: ``n_iter_``, the verbose line, and (``stops``) scikit-learn's stopping rule on the
      training loss or, with ``early_stopping``, on the score of ``validation`` (``(X_val, y_val)``).
    """

    # It changes only the value of net.l2, which the fast path reads every step; it never hooks or replaces a part.
    observes_only = True

    def __init__(self, estimator: _GlassMLP, n_rows: int, n_outputs: int, validation: tuple[Any, Any] | None,
                 stops: bool) -> None:
        self.estimator, self.n_rows, self.validation, self.stops = estimator, n_rows, validation, stops
        self.regressor = estimator._regressor
        # The regressor's objective is 2/k times MLPRegressor's (module docstring), so its penalty is too.
        self.scale = 2.0 / n_outputs if self.regressor else 1.0
        self.total = 0.0  # this epoch's sum of batch loss * batch rows
        self.rows = 0  # rows of the current batch
        self.penalty = 0.0  # the current batch's L2 term, as the network adds it to the loss

    def on_batch_begin(self, net: Network, epoch: int, step: int, X: NDArray[np.floating], Y: NDArray[np.floating]) -> None:
        self.rows = X.shape[0]
        net.l2 = self.scale * self.estimator.alpha / self.rows  # scikit-learn's alpha / (2 n_batch) * ||W||^2
        if self.regressor:  # the network's own penalty term, on the weights this step starts from
            self.penalty = net._penalty()

    def on_batch_end(self, net: Network, epoch: int, step: int, loss: float) -> None:
        if self.regressor:  # report MLPRegressor's loss: half the mean squared error + its own penalty
            loss = 0.5 * (loss - self.penalty) + self.penalty / self.scale
        self.total += loss * self.rows

    def on_epoch_end(self, net: Network, epoch: int, logs: dict[str, float]) -> bool:
        est = self.estimator
        est.loss_curve_.append(self.total / self.n_rows)
        self.total = 0.0
        est.n_iter_ += 1
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_curve_[-1]:.8f}")
        score = est._score_raw(*self.validation) if self.validation is not None else None
        if score is not None:
            logs["val_score"] = score  # for the user's callbacks, which run after this one (e.g. EarlyStopping)
        return self.stops and est._stop(score)


class _GlassMLP(BaseEstimator):
    """The parameters and the training loop shared by :class:`GlassClassifier` and :class:`GlassRegressor`."""

    _regressor = False

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *, solver: str = "adam",
                 alpha: float = 0.0001, batch_size: int | str = "auto", learning_rate_init: float = 0.001,
                 max_iter: int = 200, shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 callbacks: Any = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks

    # ------------------------------------------------------------------ checks
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        try:
            sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        except TypeError:
            sizes = [None]
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0:
                raise ConfigError("hidden_layer_sizes must be positive integers, e.g. (100,) or (64, 32); "
                                  f"got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        def number(name: str, low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
            if not ok:
                side = ("(" if low_open else "[") + f"{low}, {high}" + (")" if high_open else "]")
                raise ConfigError(f"{type(self).__name__}: {name} must be a number in {side}, got {v!r}")

        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"{type(self).__name__}: activation must be one of {', '.join(ACTIVATIONS)}; "
                              f"got {self.activation!r}")
        if self.solver not in SOLVERS:
            raise ConfigError(f"{type(self).__name__}: solver must be 'adam' or 'sgd' (glassnet has no 'lbfgs'); "
                              f"got {self.solver!r}")
        number("alpha", 0.0)
        number("learning_rate_init", 0.0, low_open=True)
        number("tol", 0.0)
        number("momentum", 0.0, 1.0, high_open=True)
        number("validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
        number("beta_1", 0.0, 1.0, high_open=True)
        number("beta_2", 0.0, 1.0, high_open=True)
        number("epsilon", 0.0, low_open=True)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            check_bool(getattr(self, name), f"{type(self).__name__}: {name}")  # "no" is truthy: it would mean yes
        if not isinstance(self.verbose, (bool, np.bool_)) and (not isinstance(self.verbose, numbers.Integral)
                                                               or self.verbose < 0):
            raise GlassnetTypeError(f"{type(self).__name__}: verbose must be True, False or an integer >= 0 (as in "
                                    f"scikit-learn), got {self.verbose!r} ({type(self.verbose).__name__})")
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ConfigError(f"{type(self).__name__}: {name} must be a positive integer, got {v!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, numbers.Integral)
                                          or self.batch_size < 1):
            raise ConfigError(f"{type(self).__name__}: batch_size must be 'auto' or a positive integer, got {self.batch_size!r}")
        self._hidden_sizes()
        check_callbacks(self.callbacks)

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if int(self.batch_size) > n:
            warnings.warn(f"batch_size {self.batch_size} is larger than the {n} samples; using {n}", UserWarning, stacklevel=3)
        return min(int(self.batch_size), n)

    # ------------------------------------------------------------------ the network and its training
    def _build(self, n_in: int, n_out: int, seed: int) -> Network:
        sizes = [n_in, *self._hidden_sizes(), n_out]
        out_act, loss = self._output()
        layers = [Dense(a, b, self.activation if i < len(sizes) - 2 else out_act)
                  for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
        return Network(layers, loss=loss, seed=seed)

    def _output(self) -> tuple[str, str]:
        raise NotImplementedError

    def _new_optimizer(self) -> Optimizer:
        if self.solver == "adam":
            return Adam(self.learning_rate_init, (self.beta_1, self.beta_2), self.epsilon)
        return SGD(self.learning_rate_init, self.momentum, self.nesterovs_momentum and self.momentum > 0)

    def _start(self, n_in: int, n_out: int) -> None:
        """A fresh network (seeded from ``random_state``) and fresh records of training."""
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.network_ = self._build(n_in, n_out, seed)
        self.n_iter_ = 0
        self.loss_curve_: list[float] = []
        self.best_loss_: float | None = math.inf
        self.validation_scores_: list[float] | None = None
        self.best_validation_score_: float | None = None
        self._no_improvement_count = 0

    def _train(self, X: NDArray[np.floating], Y: NDArray[np.floating], y_raw: Any, incremental: bool) -> None:
        """Epochs of mini-batch steps on ``(X, Y)`` with scikit-learn's stopping rules (``Y`` already encoded).

        The steps are ``Network.fit``'s (so the fast path of ``core/fast.py``), with a :class:`_Schedule`
        callback for what scikit-learn does differently: the L2 weight of each batch, the loss curve on
        scikit-learn's scale and the stopping rule.
        """
        fitted = hasattr(self, "network_")
        if not fitted or not incremental and not self.warm_start:
            self._start(X.shape[1], Y.shape[1])
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._new_optimizer()
        net = self.network_
        early = self.early_stopping and not incremental
        validation = validation_data = None
        callbacks = check_callbacks(self.callbacks)
        if early:
            rows = np.arange(len(X))
            train_rows, val_rows = train_test_split(rows, rows, test_size=self.validation_fraction,
                                                    seed=int(net.rng.integers(2**31)),
                                                    stratify=y_raw if isinstance(self, ClassifierMixin) else None)[:2]
            validation = (X[val_rows], y_raw[val_rows])
            if callbacks:  # fit's own val_loss (and val_accuracy) for them; costs a forward pass per epoch
                validation_data = (X[val_rows], Y[val_rows])
            X, Y = X[train_rows], Y[train_rows]
            if self.validation_scores_ is None:
                self.validation_scores_, self.best_validation_score_ = [], -math.inf
        self._best_params: dict[str, NDArray[np.floating]] | None = None
        schedule = _Schedule(self, len(X), Y.shape[1], validation, stops=not incremental)
        try:
            # monitor=False: like MLPClassifier the estimator trains without comment (a grid search fits it many times).
            history = net.fit(X, Y, epochs=1 if incremental else int(self.max_iter), optimizer=self._optimizer,
                              batch_size=self._batch_size(len(X)), shuffle=bool(self.shuffle),
                              callbacks=[schedule, *callbacks], validation_data=validation_data, monitor=False)
            if history.stopped == "interrupted":  # Ctrl-C: fit ended after a whole step; MLPClassifier also warns
                warnings.warn(f"{type(self).__name__}: training interrupted by the user after {self.n_iter_} "
                              "epochs.", UserWarning, stacklevel=3)
            elif history.stopped == "completed" and not incremental:
                warnings.warn(f"{type(self).__name__}: stochastic optimizer: maximum iterations ({self.max_iter}) "
                              "reached and the optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        finally:
            net.l2 = 0.0  # the penalty depends on the batch size; network_ itself carries none
            for layer in net.layers:  # drop the last batch's cached activations (they would be pickled too)
                layer.cache = {}
            best = self.__dict__.pop("_best_params", None)
        if early:
            self.best_loss_ = None
            if best is not None:  # keep the weights of the best validation score, like scikit-learn
                net.set_parameters(best)

    def _stop(self, score: float | None) -> bool:
        """scikit-learn's rule: stop once the loss (or validation score) failed to improve by ``tol``
        more than ``n_iter_no_change`` epochs in a row."""
        if score is not None and self.validation_scores_ is not None and self.best_validation_score_ is not None:
            self.validation_scores_.append(score)
            improved = score >= self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = {k: p.copy() for k, p in self.network_.parameters().items()}
        else:
            loss, best = self.loss_curve_[-1], self.best_loss_ if self.best_loss_ is not None else math.inf
            improved = loss <= best - self.tol
            self.best_loss_ = min(loss, best)
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if self.verbose:
            what = "Validation score" if score is not None else "Training loss"
            print(f"{what} did not improve more than tol={self.tol} for {self.n_iter_no_change} consecutive epochs. Stopping.")
        return True

    def _score_raw(self, X: NDArray[np.floating], y: Any) -> float:
        raise NotImplementedError

    def _forward(self, X: Any) -> NDArray[np.floating]:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with self.network_.evaluating():  # predictions and scores evaluate (Dropout off, running statistics)
            return self.network_.forward(check_inputs(X, self.network_.n_in, np.float64))

    @property
    def coefs_(self) -> list[NDArray[np.floating]]:
        """Weight matrices, one per layer, shape ``(n_in, n_out)``: the same convention as MLPClassifier."""
        return [layer.params["W"] for layer in self.network_.layers]

    @property
    def intercepts_(self) -> list[NDArray[np.floating]]:
        """Bias vectors, one per layer, shape ``(n_out,)``."""
        return [layer.params["b"] for layer in self.network_.layers]

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")


class GlassClassifier(ClassifierMixin, _GlassMLP):
    """A multi-layer perceptron classifier trained by glassnet (the module docstring maps every setting).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        Hidden-layer activation.
    solver : {"adam", "sgd"}, default "adam"
    alpha : float, default 1e-4
        L2 penalty ``alpha / (2 * n_batch) * sum(W**2)``, as in MLPClassifier.
    batch_size : int or "auto", default "auto" (``min(200, n_samples)``)
    learning_rate_init : float, default 1e-3
    max_iter : int, default 200
        Maximum number of epochs.
    shuffle, random_state, tol, verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
    validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change
        As in ``sklearn.neural_network.MLPClassifier``.
    callbacks : list, optional
        ``Network.fit`` callbacks (schedules, ``glassnet.EarlyStopping``, your own), run after the estimator's own
        each epoch; see the module docstring for the logs they see. Each ``fit`` is one training run for them;
        each ``partial_fit`` too (one epoch), so a schedule starts again and early stopping counts afresh there.

    A loss or gradient that becomes NaN/inf raises :class:`glassnet.TrainingDiverged` (MLPClassifier
    would carry on with NaN weights); lower ``learning_rate_init``.

    Attributes
    ----------
    classes_ : array of shape (n_classes,)
    network_ : glassnet.Network
    loss_curve_ : list of float, the mean training loss per epoch (with the penalty)
    n_iter_ : int, epochs run
    n_features_in_ : int
    """

    classes_: NDArray[Any]

    def _output(self) -> tuple[str, str]:
        return ("sigmoid", "bce") if len(self.classes_) == 2 else ("softmax", "cross_entropy")

    def _encode(self, y: NDArray[Any]) -> NDArray[np.floating]:
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return index.reshape(-1, 1).astype(np.float64)
        Y = np.zeros((len(y), len(self.classes_)))
        Y[np.arange(len(y)), index] = 1.0
        return Y

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[NDArray[np.floating], NDArray[Any]]:
        self._check_params()
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ConfigError(f"{type(self).__name__} needs one class label per row; got a {type_of_target(y)} target")
        return X, y

    def fit(self, X: Any, y: Any) -> GlassClassifier:
        """Train on ``X`` of shape ``(n_samples, n_features)`` and class labels ``y`` of shape ``(n_samples,)``."""
        X, y = self._validate(X, y, reset=True)
        classes = np.unique(y)
        if len(classes) < 2:
            raise DataError(f"{type(self).__name__}: y has one class ({classes[0]!r}); a classifier needs at least two "
                              "classes to tell apart")
        if self.warm_start and hasattr(self, "classes_") and not np.array_equal(classes, self.classes_):
            raise ConfigError(f"warm_start=True: y has classes {classes.tolist()} but the network was trained on "
                              f"{self.classes_.tolist()}; use warm_start=False to start over")
        self.classes_ = classes
        self._train(X, self._encode(y), y, incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> GlassClassifier:
        """One epoch over ``(X, y)``. The first call needs ``classes``: every label that will ever appear."""
        first = not hasattr(self, "network_")
        X, y = self._validate(X, y, reset=first)
        if first:
            if classes is None:
                raise ConfigError(f"{type(self).__name__}.partial_fit: the first call needs classes=[...] (every label "
                                  "that will ever appear), because the output layer is sized from them")
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ConfigError(f"{type(self).__name__}.partial_fit: classes has one class; a classifier needs at least two")
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ConfigError(f"classes={list(classes)} differs from the first call's {self.classes_.tolist()}")
        unseen = np.setdiff1d(y, self.classes_)
        if len(unseen):
            raise ConfigError(f"y has label(s) {unseen.tolist()} that are not in classes {self.classes_.tolist()}")
        self._train(X, self._encode(y), y, incremental=True)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.floating]:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        A = self._forward(X)
        return np.hstack([1.0 - A, A]) if A.shape[1] == 1 else A

    def predict_log_proba(self, X: Any) -> NDArray[np.floating]:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class of each row, shape ``(n_samples,)``."""
        index = self.predict_proba(X).argmax(axis=1)
        return self.classes_[index]

    def _score_raw(self, X: NDArray[np.floating], y: Any) -> float:
        return float(accuracy_score(y, self.predict(X)))


class GlassRegressor(RegressorMixin, _GlassMLP):
    """A multi-layer perceptron regressor trained by glassnet (identity outputs, mean squared error).

    ``y`` may have several columns (one output unit each). Parameters and attributes as
    :class:`GlassClassifier` (without ``classes_``), with ``MLPRegressor``'s meaning.
    """

    _regressor = True

    def _output(self) -> tuple[str, str]:
        return "identity", "mse"

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        self._check_params()
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64, multi_output=True, y_numeric=True)
        if not reset and hasattr(self, "network_") and (1 if y.ndim == 1 else y.shape[1]) != self.network_.n_out:
            raise ConfigError(f"y has {1 if y.ndim == 1 else y.shape[1]} column(s) but the network has "
                              f"{self.network_.n_out} outputs")
        return X, np.asarray(y, dtype=np.float64)

    def fit(self, X: Any, y: Any) -> GlassRegressor:
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, n_outputs)."""
        X, y = self._validate(X, y, reset=not (self.warm_start and hasattr(self, "network_")))
        self._train(X, y.reshape(len(y), -1), y, incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any) -> GlassRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state."""
        X, y = self._validate(X, y, reset=not hasattr(self, "network_"))
        self._train(X, y.reshape(len(y), -1), y, incremental=True)
        return self

    def predict(self, X: Any) -> NDArray[np.floating]:
        """Predictions, shape ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        A = self._forward(X)
        return A[:, 0] if A.shape[1] == 1 else A

    def _score_raw(self, X: NDArray[np.floating], y: Any) -> float:
        return float(r2_score(y, self.predict(X)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["GlassClassifier", "GlassRegressor"]
