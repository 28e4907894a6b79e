# ruff: noqa: E501 - one row of the table per line reads best
"""Bad-input rows for the estimators (issue 6), for after that branch is merged.

Not collected by pytest (no ``test_`` prefix) because ``glassnet.sklearn`` is not on this branch yet. To
enable, in ``test_bad_input_table.py``::

    from tests.reliability.bad_inputs_after_merge import estimator_rows
    ROWS = API + FILES + DOCTOR + EXPLAIN + estimator_rows()      # the table's parametrize list

The standardiser test at the end moves into a test file (e.g. tests/reliability/test_numerics.py).
Checked against a trial merge of issue-6 at 7b261ce: every row passes.

The estimators follow scikit-learn's convention (``check_estimator`` requires it): malformed ``X``/``y`` give
scikit-learn's own ``ValueError`` with its message, and an unfitted estimator ``NotFittedError``; their rows
assert those classes, which are still clear one-line errors, not NumPy tracebacks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import glassnet as gn

X, Y = gn.datasets.xor()
def estimator_rows() -> list[tuple[str, Any, type[Exception], str]]:
    from sklearn.exceptions import NotFittedError

    from glassnet.sklearn import GlassClassifier, GlassRegressor

    return [
        ("estimator: one class", lambda t: GlassClassifier(max_iter=5).fit(X, [0, 0, 0, 0]), gn.DataError, "needs at least two classes"),
        ("estimator: negative layer size", lambda t: GlassClassifier(hidden_layer_sizes=(-1,), max_iter=5).fit(X, Y), gn.ConfigError, "hidden_layer_sizes must be positive integers"),
        ("estimator: unknown activation", lambda t: GlassClassifier(activation="gelu", max_iter=5).fit(X, Y), gn.ConfigError, "activation must be one of"),
        ("estimator: unknown solver", lambda t: GlassClassifier(solver="lbfgs", max_iter=5).fit(X, Y), gn.ConfigError, "glassnet has no 'lbfgs'"),
        ("estimator: negative learning rate", lambda t: GlassClassifier(learning_rate_init=-1, max_iter=5).fit(X, Y), gn.ConfigError, "learning_rate_init must be a number"),
        ("estimator: zero max_iter", lambda t: GlassRegressor(max_iter=0).fit(X, [0.0, 1, 1, 0]), gn.ConfigError, "max_iter must be a positive integer"),
        ("estimator: negative alpha", lambda t: GlassRegressor(alpha=-1, max_iter=5).fit(X, [0.0, 1, 1, 0]), gn.ConfigError, "alpha must be a number"),
        ("estimator: zero batch size", lambda t: GlassRegressor(batch_size=0, max_iter=5).fit(X, [0.0, 1, 1, 0]), gn.ConfigError, "batch_size must be 'auto' or a positive integer"),
        # scikit-learn's own validation (required by check_estimator):
        ("estimator: X of text", lambda t: GlassClassifier(max_iter=5).fit([["a", "b"]] * 4, [0, 1, 1, 0]), ValueError, "could not convert string to float"),
        ("estimator: X with NaN", lambda t: GlassClassifier(max_iter=5).fit(np.full((4, 2), np.nan), [0, 1, 1, 0]), ValueError, "Input X contains NaN"),
        ("estimator: y too short", lambda t: GlassClassifier(max_iter=5).fit(X, [0, 1]), ValueError, "inconsistent numbers of samples"),
        ("estimator: predict before fit", lambda t: GlassClassifier().predict(X), NotFittedError, "is not fitted yet"),
        ("estimator: predict wrong width", lambda t: GlassClassifier(max_iter=5).fit(X, Y).predict(np.zeros((2, 3))), ValueError, "X has 3 features"),
    ]


def test_standardizer_warns_on_constant_columns_and_never_divides_by_zero() -> None:
    """Numerical robustness where the division happens (issue 6's Standardizer): move into a test file after
    the merge. A constant column gets a warning and is only centred; tiny-variance columns give no NaN."""
    import warnings

    import pytest

    from glassnet.datasets import Standardizer

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=30) * 1e6, np.full(30, 7.0), 1.0 + 1e-300 * rng.normal(size=30),
                         1e-10 * rng.normal(size=30), np.zeros(30)])
    with pytest.warns(UserWarning, match="constant"):
        Z = Standardizer().fit(X).transform(X)
    assert np.isfinite(Z).all()
    assert np.all(Z[:, 1] == 0) and np.all(Z[:, 4] == 0)  # centred, not divided by a zero spread
    np.testing.assert_allclose(Z[:, [0, 3]].std(axis=0), 1.0, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        net = gn.Network.from_sizes([5, 4, 1], "tanh", loss="bce", seed=0)
        history = net.fit(Z, (X[:, 0] > 0).astype(int), epochs=20, optimizer="adam", lr=0.05, monitor=False)
    assert np.isfinite(history.loss).all()
