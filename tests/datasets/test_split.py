"""train_test_split and Standardizer."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import Standardizer, train_test_split


def test_split_sizes_seed_and_disjoint_rows():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    a = train_test_split(X, y, test_size=0.3, seed=1)
    b = train_test_split(X, y, test_size=0.3, seed=1)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    X_tr, X_te, y_tr, y_te = a
    assert len(X_te) == 3 and len(X_tr) == 7
    assert sorted(np.r_[y_tr, y_te].tolist()) == list(range(10))           # every row exactly once
    assert np.array_equal(X_tr[:, 0] // 2, y_tr)                             # rows stay paired
    assert not np.array_equal(train_test_split(X, y, test_size=0.3, seed=2)[3], y_te)
    assert len(train_test_split(X, y, test_size=4)[1]) == 4


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.zeros((100, 1))
    _, _, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    assert np.bincount(y_te).tolist() == [12, 6, 2] and np.bincount(y_tr).tolist() == [48, 24, 8]
    train, test = train_test_split(gn.datasets.iris(), test_size=0.2, stratify=True)
    assert np.bincount(test.y).tolist() == [10, 10, 10] and test.classes == train.classes


def test_split_errors():
    X, y = np.zeros((5, 1)), np.arange(5)
    with pytest.raises(gn.ConfigError, match=r"test_size as a fraction must be in \(0, 1\)"):
        train_test_split(X, y, test_size=1.5)
    with pytest.raises(gn.DataError, match="both sides need at least one row"):
        train_test_split(X, y, test_size=5)
    with pytest.raises(gn.DataError, match="cannot stratify: class 0 has only 1 row"):
        train_test_split(X, y, stratify=True)
    with pytest.raises(gn.ShapeError, match="X has 5 rows but y has 4"):
        train_test_split(X, y[:4])


def test_standardizer_uses_training_statistics_only():
    X_train = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    X_test = np.array([[7.0, 12.0]])
    with pytest.warns(UserWarning, match="column 1 is constant"):
        s = Standardizer().fit(X_train)
    # by hand: column 0 mean 3, population std sqrt(8/3); column 1 constant -> only centred
    np.testing.assert_allclose(s.transform(X_test), [[4.0 / np.sqrt(8.0 / 3.0), 2.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(X_test)), X_test)
    again = Standardizer.from_dict(s.to_dict())
    np.testing.assert_array_equal(again.transform(X_test), s.transform(X_test))
    with pytest.raises(gn.ShapeError, match="fitted on 2"):
        s.transform(np.ones((1, 3)))
    with pytest.raises(gn.ConfigError, match="not fitted yet"):
        Standardizer().transform(X_test)
