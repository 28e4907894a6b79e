# ruff: noqa: E501 - one row of the table per line reads best
"""Bad-input rows for the doctor (issue 3), the estimators (issue 6) and explain (issue 4), for after those
branches are merged.

Not collected by pytest (no ``test_`` prefix) because ``glassnet.verify`` and ``glassnet.sklearn`` are not on
this branch. To enable, in ``test_bad_input_table.py``::

    from tests.reliability.bad_inputs_after_merge import doctor_rows, estimator_rows, explain_rows
    ROWS = API + FILES + doctor_rows() + estimator_rows() + explain_rows()   # and parametrize over ROWS

The standardiser test at the end moves into a test file (e.g. tests/reliability/test_numerics.py).

Checked against a trial merge of issue-3 and issue-6 (at their commits 6456e5d and 7b261ce) and against
issue-4 at 05b449a: every row passes except "gradcheck: sample=0" (a NumPy crash, for issue 3), "explain: row
out of range" (silently accepted, for issue 4) and "explain: save into a folder" (passes once this branch's
atomic_write, which refuses a folder target, is merged).

The estimators follow scikit-learn's convention (``check_estimator`` requires it): malformed ``X``/``y`` give
scikit-learn's own ``ValueError`` with its message, and an unfitted estimator ``NotFittedError``; their rows
assert those classes, which are still clear one-line errors, not NumPy tracebacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import glassnet as gn

X, Y = gn.datasets.xor()
LOSS = lambda p: float(np.sum(p["w"] ** 2))  # noqa: E731
W = {"w": np.ones(2)}


def script(tmp: Path, text: str) -> str:
    path = tmp / "my_net.py"
    path.write_text(text)
    return str(path)


def doctor_rows() -> list[tuple[str, Any, type[Exception], str]]:
    from glassnet.verify.doctor import check_gradients, check_script, check_step
    from glassnet.verify.gradcheck import gradcheck

    return [
        ("doctor: parameter of text", lambda t: check_gradients(LOSS, {"w": "ab"}, lambda p: p), gn.GlassnetTypeError, "has dtype <U2"),
        ("doctor: loss not callable", lambda t: check_gradients(3, W, lambda p: p), gn.UserCodeError, "your loss function raised TypeError"),
        ("doctor: no gradients", lambda t: check_gradients(LOSS, W, lambda p: {}), gn.ConfigError, "gradients is an empty dict"),
        ("doctor: loss is NaN", lambda t: check_gradients(lambda p: float("nan"), W, lambda p: W), gn.DataError, "your loss function returned nan"),
        ("doctor: loss raises", lambda t: check_gradients(lambda p: 1 / 0, W, lambda p: W), gn.UserCodeError, "raised ZeroDivisionError"),
        ("doctor: loss returns text", lambda t: check_gradients(lambda p: "x", W, lambda p: W), gn.GlassnetTypeError, "must return one number"),
        ("doctor: negative lr", lambda t: check_step(lambda p: None, W, LOSS, lr=-1), gn.ConfigError, "lr must be a positive number"),
        ("doctor: missing script", lambda t: check_script(str(t / "none.py")), gn.ModelFileError, "does not exist"),
        ("doctor: script without loss", lambda t: check_script(script(t, "import numpy as np\ndef params():\n    return {'w': np.ones(2)}\n")),
         gn.ConfigError, "lacks loss(params)"),
        ("doctor: script raising", lambda t: check_script(script(t, "raise RuntimeError('boom')\n")), gn.UserCodeError, "raised RuntimeError: boom"),
        ("doctor: script not Python", lambda t: check_script(script(t, "this is not python(\n")), gn.UserCodeError, "raised SyntaxError"),
        ("gradcheck: X of the wrong width", lambda t: gradcheck(gn.Network.from_sizes([2, 3, 1]), np.zeros((2, 3)), [0, 1]), gn.ShapeError, "expects 2"),
        ("gradcheck: negative eps", lambda t: gradcheck(gn.Network.from_sizes([2, 3, 1]), X, Y, eps=-1), gn.ConfigError, "eps must be a small positive number"),
        # Fails at issue-3 6456e5d with NumPy's "zero-size array to reduction operation maximum": issue 3 to fix.
        ("gradcheck: sample=0", lambda t: gradcheck(gn.Network.from_sizes([2, 3, 1]), X, Y, sample=0), gn.ConfigError, "sample"),
    ]


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


def explain_rows() -> list[tuple[str, Any, type[Exception], str]]:
    from glassnet.explain import explain

    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    big = gn.Network.from_sizes([200, 200, 200, 10], seed=0)
    return [
        ("explain: trace too large to make", lambda t: explain(big, np.zeros((50, 200)), np.zeros((50, 10))), gn.ConfigError, "numbers"),
        ("explain: renderer refuses a trace too large", lambda t: explain(net, X, Y).to_text(max_records=3), gn.ConfigError, "more than max_records=3 to render"),
        ("explain: Markdown renderer too", lambda t: explain(net, X, Y).to_markdown(max_records=3), gn.ConfigError, "more than max_records=3"),
        ("explain: not a network", lambda t: explain("net", X, Y), gn.GlassnetTypeError, "explain needs a glassnet Network"),
        ("explain: X of the wrong width", lambda t: explain(net, np.zeros((4, 3)), Y), gn.ShapeError, "expects 2"),
        ("explain: zero digits", lambda t: explain(net, X, Y, digits=0), gn.ConfigError, "digits must be an integer from 1 to 17"),
        ("explain: unknown format", lambda t: explain(net, X, Y).render("html"), gn.ConfigError, "unknown format 'html'"),
        ("explain: unknown optimizer", lambda t: explain(net, X, Y, optimizer="rms"), gn.ConfigError, "unknown optimizer 'rms'"),
        ("explain: row out of range", lambda t: explain(net, X, Y, rows=[10]), gn.ConfigError, "10"),
        ("explain: save into a folder", lambda t: explain(net, X, Y).save(t), gn.ModelFileError, "is a folder"),
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
