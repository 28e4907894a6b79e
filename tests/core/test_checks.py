"""Input checks (core/checks.py): bad input to the core gets a clear glassnet error: what is wrong, where, how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError, DataError, GlassnetTypeError, ModelFileError, ShapeError

X, Y = gn.datasets.xor()


def net231(**kw):
    return gn.Network([gn.Dense(2, 3), gn.Dense(3, 1)], seed=0, **kw)


CASES = [
    ("input width", lambda: net231().forward(np.ones((4, 3))), ShapeError, ["3 feature", "layer 0", "expects 2"]),
    ("layers do not chain", lambda: gn.Network([gn.Dense(2, 3), gn.Dense(4, 1)]), ConfigError,
     ["do not chain", "layer 0", "3 outputs", "layer 1", "4 inputs"]),
    ("rows differ", lambda: net231().fit(X, Y[:3], epochs=1), ShapeError, ["4 rows", "y has 3"]),
    ("nan in X", lambda: net231().fit(np.array([[0, 0], [np.nan, 1], [1, 0], [1, 1]]), Y, epochs=1), DataError,
     ["NaN or inf", "row(s) (1)", "column(s) 0"]),
    ("inf in y", lambda: net231().loss(X, np.array([0, np.inf, 1, 0])), DataError, ["y contains NaN or inf", "(1)"]),
    ("empty X", lambda: net231().fit(np.empty((0, 2)), np.empty(0), epochs=1), DataError, ["empty", "0 rows"]),
    ("bce targets outside [0,1]", lambda: gn.Network.from_sizes([2, 3, 1], loss="bce").fit(X, Y * 2, epochs=1),
     DataError, ["'bce'", "[0, 1]", "rows 1, 2"]),
    ("class index too large", lambda: gn.Network.from_sizes([2, 3, 2], loss="cross_entropy").fit(X, [0, 1, 2, 1], epochs=1),
     DataError, ["class label 2", "row 2", "0..1", "2 outputs"]),
    ("unknown activation", lambda: gn.Dense(2, 3, "sigmod"), ConfigError, ["unknown activation", "Did you mean 'sigmoid'"]),
    ("unknown loss", lambda: gn.Network([gn.Dense(2, 1)], loss="mes"), ConfigError, ["unknown loss", "'mse'"]),
    ("unknown optimizer", lambda: net231().fit(X, Y, optimizer="adma"), ConfigError, ["unknown optimizer", "'adam'"]),
    ("unknown init", lambda: gn.Dense(2, 3, init="glorott"), ConfigError, ["unknown initialiser", "'glorot'"]),
    ("lr zero", lambda: net231().fit(X, Y, lr=0), ConfigError, ["learning rate", "positive", "got 0"]),
    ("lr negative", lambda: gn.SGD(-0.1), ConfigError, ["learning rate", "positive"]),
    ("epochs zero", lambda: net231().fit(X, Y, epochs=0), ConfigError, ["epochs", "positive integer"]),
    ("epochs float", lambda: net231().fit(X, Y, epochs=2.5), GlassnetTypeError, ["epochs", "integer"]),
    ("batch size zero", lambda: net231().fit(X, Y, batch_size=0), ConfigError, ["batch_size", "positive"]),
    ("bce needs sigmoid", lambda: gn.Network([gn.Dense(2, 1, "relu")], loss="bce"), ConfigError,
     ["'bce' needs a sigmoid output", "relu"]),
    ("softmax hidden", lambda: gn.Network([gn.Dense(2, 3, "softmax"), gn.Dense(3, 1)]), ConfigError,
     ["layer 0", "softmax", "output layer only"]),
    ("set_parameters shape", lambda: net231().set_parameters({"0.W": np.ones((3, 2))}), ShapeError,
     ["0.W", "(2, 3)", "(3, 2)"]),
    ("set_parameters name", lambda: net231().set_parameters({"2.W": np.ones((3, 2))}), ConfigError, ["unknown parameter", "2.W"]),
    ("text in X", lambda: net231().forward(np.array([["a", "b"]])), GlassnetTypeError, ["numbers only"]),
    ("y columns", lambda: net231().loss(X, np.ones((4, 2))), ShapeError, ["2 column", "1 output"]),
    ("non-positive layer size", lambda: gn.Dense(0, 3), ConfigError, ["n_in", "positive"]),
    ("no layers", lambda: gn.Network([]), ConfigError, ["at least one layer"]),
    ("bad dtype", lambda: gn.Network([gn.Dense(2, 1)], dtype="float16"), ConfigError, ["float64", "float32"]),
    ("negative l2", lambda: gn.Network([gn.Dense(2, 1)], l2=-1), ConfigError, ["l2", ">= 0"]),
    ("missing model file", lambda: gn.load("/nonexistent/model.npz"), ModelFileError, ["does not exist"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_clear_error(case):
    _, call, error, words = case
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, gn.GlassnetError)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_zero_init_warns_about_symmetry():
    with pytest.warns(UserWarning, match="symmetry"):
        gn.Dense(2, 3, init="zeros")


def test_divergence_stops_with_last_finite_parameters():
    X = np.array([[1e3, -1e3], [2e3, 5e2]])
    y = np.array([[1e3], [-1e3]])
    net = gn.Network([gn.Dense(2, 4, "relu"), gn.Dense(4, 1, "identity")], seed=0)
    reference = gn.Network([gn.Dense(2, 4, "relu"), gn.Dense(4, 1, "identity")], seed=0)
    with pytest.raises(gn.TrainingDiverged) as info:
        net.fit(X, y, epochs=500, lr=10.0)
    err = info.value
    assert err.epoch > 1 and err.step == 1 and "smaller learning rate" in str(err)
    assert f"epoch {err.epoch}" in str(err)
    # The same run stopped just before the failing step has the same (finite) parameters.
    reference.fit(X, y, epochs=err.epoch - 1, lr=10.0)
    for key, value in net.parameters().items():
        assert np.isfinite(value).all()
        assert np.array_equal(value, reference.parameters()[key]), key


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_finiteness_check_of_data_finds_every_nan_and_inf_and_accepts_huge_finite_values(dtype):
    import warnings

    from glassnet.core.checks import all_finite, as_matrix

    big = np.finfo(dtype).max
    huge = np.full((5, 3), big, dtype)  # finite, but their sum overflows: the one-sum shortcut must not reject them
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no overflow warning reaches the user
        assert all_finite(huge) and as_matrix(huge, "X", dtype) is not None
    for bad in (np.nan, np.inf, -np.inf):
        X = huge.copy()
        X[3, 2] = bad
        assert not all_finite(X)
        with pytest.raises(DataError, match=r"row\(s\) \(3\) and column\(s\) 2"):
            as_matrix(X, "X", dtype)
    both = np.zeros((2, 2), dtype)
    both[0, 0], both[1, 1] = np.inf, -np.inf  # their sum is NaN: still caught
    assert not all_finite(both)


@pytest.mark.parametrize("value", [1e39, -1e39, 3.5e38, np.finfo(np.float64).max])
@pytest.mark.parametrize("where", ["X", "y"])
def test_a_value_beyond_float32_is_too_large_not_nan(value, where):
    import glassnet as gn

    net = gn.Network.from_sizes([2, 1], dtype="float32", seed=0)
    X, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5], [0.25]])
    (X if where == "X" else y)[1, -1] = value
    column = X.shape[1] - 1 if where == "X" else 0
    with pytest.raises(gn.DataError, match=rf"{where} does not fit float32: row 1, column {column}"):
        net.loss(X, y)
    with pytest.raises(gn.DataError, match="contains NaN or inf"):  # a real NaN is still called one
        net.loss(np.array([[1.0, np.nan]]), np.array([[0.5]]))
