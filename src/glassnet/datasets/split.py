"""A seeded train/test split and a standardiser fitted on the training split only.

Fit the :class:`Standardizer` on the training rows and apply the *same* mean and scale to the test
rows: fitting on all rows would let the test set leak into training. ``Standardizer.to_dict`` gives
JSON-able numbers to keep in a model's metadata, so prediction can apply the same transform later.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import as_matrix, check_bool, check_seed
from glassnet.datasets.dataset import Dataset
from glassnet.errors import ConfigError, DataError, ShapeError


def _test_count(test_size: float | int, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise ConfigError(f"test_size must be a fraction in (0, 1) or a number of rows, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not (math.isfinite(test_size) and 0 < test_size < 1):
            raise ConfigError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        n_test = math.ceil(test_size * n)  # like scikit-learn: the test side rounds up
    else:
        n_test = int(test_size)
    if not 1 <= n_test <= n - 1:
        raise DataError(
            f"test_size={test_size!r} leaves {n_test} test row(s) and {n - n_test} training row(s) of {n}; "
            "both sides need at least one row"
        )
    return n_test


def _stratified_test_rows(labels: NDArray[Any], n_test: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Pick ``n_test`` rows so each class is represented in proportion (largest remainders get the extra rows)."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        rare = classes[counts.argmin()].item()
        raise DataError(f"cannot stratify: class {rare!r} has only 1 row; each class needs at least 2 (or stratify=None)")
    if n_test < len(classes) or len(labels) - n_test < len(classes):
        raise DataError(f"cannot stratify {len(classes)} classes with {n_test} test and {len(labels) - n_test} "
                        "training rows: each side needs one row per class")
    exact = counts * n_test / len(labels)
    take = np.clip(np.floor(exact).astype(np.int64), 1, counts - 1)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while take.sum() != n_test:  # hand out (or take back) single rows, largest remainder first
        c = order[i % len(order)]
        if take.sum() < n_test and take[c] < counts[c] - 1:
            take[c] += 1
        elif take.sum() > n_test and take[c] > 1:
            take[c] -= 1
        i += 1
    rows = [rng.permutation(np.flatnonzero(inverse == c))[:take[c]] for c in range(len(classes))]
    return np.sort(np.concatenate(rows))


def train_test_split(X: Any, y: Any = None, test_size: float | int = 0.25, seed: int | None = 0,
                     stratify: Any = None) -> tuple[Any, ...]:
    """Split rows into a training and a test part, reproducibly.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), or a :class:`Dataset` (then leave ``y`` out)
    y : array of shape (n_samples,) or (n_samples, n_outputs)
    test_size : float in (0, 1) or int
        Fraction (rounded up) or number of test rows.
    seed : int, optional
        Seed of the shuffle; the same seed gives the same split.
    stratify : array of shape (n_samples,), bool, or None
        Class labels whose proportions both parts keep; ``True`` means ``y``, ``False`` or ``None`` a plain
        shuffle. Any other single value (e.g. the string ``"no"``) is refused.

    Returns
    -------
    X_train, X_test, y_train, y_test
        Or ``(train, test)`` Datasets when ``X`` is a Dataset. Rows keep their original order within each part.
    """
    if isinstance(X, Dataset):
        if y is not None:
            raise ConfigError("give either a Dataset or X and y, not both")
        train_rows, test_rows = _split_rows(len(X), X.y, test_size, seed, stratify)
        return X.subset(train_rows, f"{X.name} (train)"), X.subset(test_rows, f"{X.name} (test)")
    if y is None:
        raise ConfigError("train_test_split needs y (or a Dataset as the only argument)")
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ShapeError(f"X has {len(X) if X.ndim else 'no'} rows but y has {len(y) if y.ndim else 'no'}; they must match")
    train_rows, test_rows = _split_rows(len(X), y, test_size, seed, stratify)
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]


def _split_rows(n: int, y: Any, test_size: float | int, seed: int | None,
                stratify: Any) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    n_test = _test_count(test_size, n)
    rng = np.random.default_rng(check_seed(seed, "train_test_split: seed"))
    if stratify is not None and np.ndim(stratify) == 0:  # a flag, not labels: "no" must not mean yes
        stratify = check_bool(stratify, "train_test_split: stratify (unless it is one class label per row)") or None
    if stratify is None:
        test = np.sort(rng.permutation(n)[:n_test])
    else:
        labels = np.asarray(y if stratify is True else stratify)
        if labels.ndim != 1 or len(labels) != n:
            raise ShapeError(f"stratify must be one label per row (shape ({n},)), got shape {labels.shape}")
        test = _stratified_test_rows(labels, n_test, rng)
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return np.flatnonzero(~mask), test


def _power_of_two(magnitude: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per entry, the power of two ``2**(e - 1)`` where ``magnitude = m * 2**e`` (``0.5 <= m < 1``), so
    ``magnitude / result`` is in ``[1, 2)``; 1 where ``magnitude`` is 0. Dividing by it is exact."""
    _, exponent = np.frexp(magnitude)
    return np.where(magnitude > 0, np.ldexp(1.0, exponent - 1), 1.0)


class Standardizer:
    """Shift and scale each column to mean 0 and standard deviation 1, with statistics from :meth:`fit` only.

    A constant column (standard deviation 0) is only shifted, never divided by zero, and a warning names it.

    Attributes
    ----------
    mean_ : array of shape (n_features,)
    scale_ : array of shape (n_features,)
        The columns' standard deviations (1 for constant columns).
    """

    def __init__(self) -> None:
        self.mean_: NDArray[np.float64] | None = None
        self.scale_: NDArray[np.float64] | None = None

    def fit(self, X: Any, feature_names: list[str] | None = None) -> Standardizer:
        """Learn each column's mean and standard deviation from ``X`` of shape ``(n_samples, n_features)``.

        Both are computed on the column divided by a power of two near its largest magnitude, so columns near
        1e308 (whose sums and squares would overflow) or 1e-300 (whose squares would underflow to 0) get their
        true statistics; for ordinary columns this gives bit for bit the plain ``X.mean(axis=0)`` and
        ``X.std(axis=0)``, since dividing by a power of two is exact. A column is constant when all its values
        are equal, and only then.
        """
        X = as_matrix(X, "X", np.float64)
        unit = _power_of_two(np.abs(X).max(axis=0))
        scaled = X / unit
        self.mean_ = scaled.mean(axis=0) * unit
        std = scaled.std(axis=0) * unit
        constant = np.flatnonzero(X.min(axis=0) == X.max(axis=0))
        self.mean_[constant] = X[0, constant]  # exactly the value, so the centred column is exactly 0
        if len(constant):
            names = [feature_names[c] if feature_names else f"column {c}" for c in constant]
            one = len(names) == 1
            warnings.warn(f"Standardizer: {', '.join(map(str, names))} {'is' if one else 'are'} constant in the training "
                          f"data; {'it is' if one else 'they are'} centred but not scaled (scale 1). A constant column "
                          "carries no information: consider dropping it", UserWarning, stacklevel=2)
            std[constant] = 1.0
        self.scale_ = std
        return self

    def _fitted(self, X: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        if self.mean_ is None or self.scale_ is None:
            raise ConfigError("this Standardizer is not fitted yet; call fit(X_train) first")
        X = as_matrix(X, "X", np.float64)
        if X.shape[1] != len(self.mean_):
            raise ShapeError(f"X has {X.shape[1]} column(s) but the Standardizer was fitted on {len(self.mean_)}")
        return X, self.mean_, self.scale_

    def transform(self, X: Any) -> NDArray[np.float64]:
        """``(X - mean_) / scale_``, shape ``(n_samples, n_features)``.

        Computed as ``(X / u - mean_ / u) / (scale_ / u)`` with ``u`` a power of two near ``scale_``: the same
        numbers bit for bit, but ``1e308 - (-1e308)`` on the way to a result of 2 does not overflow.
        """
        X, mean, scale = self._fitted(X)
        unit = _power_of_two(scale)
        return (X / unit - mean / unit) / (scale / unit)

    def fit_transform(self, X: Any, feature_names: list[str] | None = None) -> NDArray[np.float64]:
        return self.fit(X, feature_names).transform(X)

    def inverse_transform(self, X: Any) -> NDArray[np.float64]:
        X, mean, scale = self._fitted(X)
        return X * scale + mean

    def to_dict(self) -> dict[str, list[float]]:
        """The fitted statistics as JSON-able lists (e.g. for ``net.metadata["standardize"]``)."""
        if self.mean_ is None or self.scale_ is None:
            raise ConfigError("this Standardizer is not fitted yet; call fit(X_train) first")
        return {"mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        out = cls()
        try:
            out.mean_ = np.asarray(data["mean"], dtype=np.float64)
            out.scale_ = np.asarray(data["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"standardisation data must have numeric 'mean' and 'scale' lists ({exc})") from None
        if out.mean_.shape != out.scale_.shape or out.mean_.ndim != 1 or not np.all(out.scale_ > 0):
            raise DataError("standardisation data must have 'mean' and 'scale' of equal length, every scale > 0")
        return out

    def __repr__(self) -> str:
        return "Standardizer(not fitted)" if self.mean_ is None else f"Standardizer({len(self.mean_)} columns)"
