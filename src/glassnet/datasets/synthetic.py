"""Two-dimensional toy problems made in code: circles, moons, spirals and blobs.

Each takes ``n`` (total samples), ``noise`` and ``seed`` and returns a :class:`Dataset` whose ``y``
holds class indices ``0..k-1``. The same arguments always give the same data (seeded NumPy
generator), so ``glassnet train --data moons`` is reproducible. They are the pictures TensorFlow
Playground draws; ``glassnet.viz.plots`` draws decision boundaries over them.

Next read: ``real.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_seed, positive_int
from glassnet.datasets.dataset import Dataset
from glassnet.errors import ConfigError

MAX_SAMPLES = 10_000_000


def _noise(noise: float, what: str) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ConfigError(f"{what}: noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _per_class(n: int, k: int, what: str) -> list[int]:
    """Split ``n`` samples over ``k`` classes as evenly as possible (the first classes get the remainder)."""
    n = positive_int(n, f"{what}: n")
    if n > MAX_SAMPLES:  # refuse before allocating: n=10**11 asked NumPy for hundreds of GiB
        raise ConfigError(f"{what}: n={n:,} is more than the {MAX_SAMPLES:,} samples a toy dataset may have")
    if n < k:
        raise ConfigError(f"{what}: n={n} is fewer than the {k} classes; use n >= {k}")
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _dataset(parts: list[NDArray[np.float64]], name: str, k: int) -> Dataset:
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    return Dataset(X, y, name, ["x1", "x2"], "class", list(range(k)))


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0) -> Dataset:
    """Two concentric circles: class 0 on the outer one (radius 1), class 1 on the inner one (radius ``factor``).

    Gaussian noise of standard deviation ``noise`` is added to both coordinates.
    """
    noise = _noise(noise, "circles")
    if not (isinstance(factor, (int, float)) and 0 < factor < 1):
        raise ConfigError(f"circles: factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(check_seed(seed, "circles: seed"))
    parts = []
    for radius, m in zip((1.0, float(factor)), _per_class(n, 2, "circles")):
        angle = rng.uniform(0.0, 2 * np.pi, m)
        parts.append(radius * np.c_[np.cos(angle), np.sin(angle)] + rng.normal(0.0, noise, (m, 2)))
    return _dataset(parts, "circles", 2)


def moons(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Two interleaving half circles (as ``sklearn.datasets.make_moons``), plus Gaussian ``noise``."""
    noise = _noise(noise, "moons")
    rng = np.random.default_rng(check_seed(seed, "moons: seed"))
    m0, m1 = _per_class(n, 2, "moons")
    a0, a1 = rng.uniform(0.0, np.pi, m0), rng.uniform(0.0, np.pi, m1)
    upper = np.c_[np.cos(a0), np.sin(a0)]
    lower = np.c_[1.0 - np.cos(a1), 0.5 - np.sin(a1)]
    return _dataset([upper + rng.normal(0.0, noise, (m0, 2)), lower + rng.normal(0.0, noise, (m1, 2))], "moons", 2)


def spiral(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int | None = 0) -> Dataset:
    """``classes`` interleaved spiral arms (the CS231n spiral); ``noise`` jitters the angle (radians)."""
    noise = _noise(noise, "spiral")
    k = positive_int(classes, "spiral: classes")
    if k < 2:
        raise ConfigError(f"spiral: classes must be at least 2, got {k}")
    rng = np.random.default_rng(check_seed(seed, "spiral: seed"))
    parts = []
    for c, m in enumerate(_per_class(n, k, "spiral")):
        radius = np.linspace(0.0, 1.0, m)
        # Each arm turns 4 radians; arms start 2*pi/k apart so they interleave.
        angle = c * 2 * np.pi / k + np.linspace(0.0, 4.0, m) + rng.normal(0.0, noise, m)
        parts.append(np.c_[radius * np.sin(angle), radius * np.cos(angle)])
    return _dataset(parts, "spiral", k)


def blobs(n: int = 300, classes: int = 3, noise: float = 1.0, seed: int | None = 0) -> Dataset:
    """``classes`` Gaussian clusters in the plane, one per class; centres drawn in ``[-5, 5]^2``, spread ``noise`` (std)."""
    noise = _noise(noise, "blobs")
    k = positive_int(classes, "blobs: classes")
    rng = np.random.default_rng(check_seed(seed, "blobs: seed"))
    where = rng.uniform(-5.0, 5.0, (k, 2))
    parts = [where[c] + rng.normal(0.0, noise, (m, 2)) for c, m in enumerate(_per_class(n, k, "blobs"))]
    return _dataset(parts, "blobs", k)
