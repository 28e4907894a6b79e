"""Built-in datasets: shapes, classes, determinism, options, the real ones from scikit-learn."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import BUILTIN, get_dataset


@pytest.mark.parametrize("name, n_classes", [("circles", 2), ("moons", 2), ("spiral", 3), ("blobs", 3)])
def test_synthetic_shapes_classes_and_seed(name, n_classes):
    a = get_dataset(name, n=101, seed=3)
    assert a.X.shape == (101, 2) and a.y.shape == (101,) and a.y.dtype == np.int64
    assert sorted(set(a.y.tolist())) == list(range(n_classes)) and a.classes == list(range(n_classes))
    counts = np.bincount(a.y)
    assert counts.max() - counts.min() <= 1  # classes as even as n allows
    b = get_dataset(name, n=101, seed=3)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, get_dataset(name, n=101, seed=4).X)


def test_synthetic_geometry():
    c = gn.datasets.circles(n=200, noise=0.0, factor=0.3)
    radius = np.linalg.norm(c.X, axis=1)
    np.testing.assert_allclose(radius[c.y == 0], 1.0)
    np.testing.assert_allclose(radius[c.y == 1], 0.3)
    m = gn.datasets.moons(n=100, noise=0.0)
    upper, lower = m.X[m.y == 0], m.X[m.y == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0)                      # centred at (0, 0)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0)         # centred at (1, 0.5)
    s = gn.datasets.spiral(n=40, classes=4, noise=0.0)
    assert s.X.shape == (40, 2) and np.linalg.norm(s.X, axis=1).max() == pytest.approx(1.0)


def test_bad_options():
    with pytest.raises(gn.ConfigError, match="dataset 'xor' has no option"):
        get_dataset("xor", n=10)
    with pytest.raises(gn.ConfigError, match="dataset 'moons' has no option.*classes.*it takes n, noise, seed"):
        get_dataset("moons", classes=3)
    with pytest.raises(gn.ConfigError, match="noise must be a finite number >= 0"):
        gn.datasets.moons(noise=-1)
    with pytest.raises(gn.ConfigError, match="fewer than the 3 classes"):
        gn.datasets.spiral(n=2)
    with pytest.raises(gn.ConfigError, match="Did you mean 'moons'"):
        get_dataset("mons")


@pytest.mark.parametrize("name, shape, k", [("iris", (150, 4), 3), ("digits", (1797, 64), 10), ("wine", (178, 13), 3),
                                            ("breast_cancer", (569, 30), 2)])
def test_real_datasets_offline(name, shape, k):
    d = get_dataset(name)
    assert d.X.shape == shape and len(d.classes) == k and d.y.max() == k - 1 and len(d.feature_names) == shape[1]
    assert name in BUILTIN


def test_missing_sklearn_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(gn.errors.MissingDependency, match=r'pip install "glassnet\[sklearn\]"') as info:
        gn.datasets.iris()
    assert isinstance(info.value, ImportError) and isinstance(info.value, gn.GlassnetError)


def test_decode_maps_indices_back():
    d = gn.datasets.iris()
    assert list(d.decode([0, 2])) == ["setosa", "virginica"]
