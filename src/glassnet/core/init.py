"""Weight initialisers: how a layer's ``W`` starts. Biases always start at zero.

An initialiser is a function ``init(n_in, n_out, rng) -> W`` of shape ``(n_in, n_out)``.
Pick one by name (``"glorot"``, ``"he"``, ``"zeros"``, ``"normal"``), call :func:`normal` for a
chosen scale, or give the arrays yourself to ``Dense(..., init=(W, b))``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import ConfigError, unknown_name

Initializer = Callable[[int, int, np.random.Generator], NDArray[np.float64]]


def glorot(n_in: int, n_out: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Glorot/Xavier uniform: ``U(-a, a)`` with ``a = sqrt(6 / (n_in + n_out))`` (Glorot & Bengio, 2010)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def he(n_in: int, n_out: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """He/Kaiming normal: ``N(0, 2 / n_in)``, made for ReLU layers (He et al., 2015)."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def zeros(n_in: int, n_out: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """All zeros. Every hidden unit then computes the same thing and gets the same gradient (symmetry)."""
    warnings.warn(
        f"init='zeros' gives a ({n_in}, {n_out}) weight matrix of zeros: every unit of the layer computes "
        "the same value and receives the same gradient, so they stay identical (symmetry is never broken). "
        "Use init='glorot' or 'he' unless that is what you want to show.",
        UserWarning,
        stacklevel=4,
    )
    return np.zeros((n_in, n_out))


def normal(scale: float = 0.01) -> Initializer:
    """Return an initialiser drawing ``W`` from ``N(0, scale**2)``."""
    is_number = isinstance(scale, (int, float, np.integer, np.floating)) and not isinstance(scale, bool)
    if not (is_number and np.isfinite(scale) and scale >= 0):
        raise ConfigError(f"normal(scale): scale must be a finite number >= 0, like 0.01; got {scale!r}")

    def init(n_in: int, n_out: int, rng: np.random.Generator) -> NDArray[np.float64]:
        return rng.normal(0.0, scale, size=(n_in, n_out))

    init.__name__ = f"normal({scale})"
    return init


INITIALIZERS: dict[str, Initializer] = {"glorot": glorot, "xavier": glorot, "he": he, "zeros": zeros, "normal": normal()}


def get_initializer(name: str | Initializer) -> Initializer:
    """Return the initialiser called ``name`` (or ``name`` itself if it is callable)."""
    if callable(name):
        return name
    key = str(name).lower()
    if key not in INITIALIZERS:
        raise unknown_name("initialiser", name, INITIALIZERS)
    return INITIALIZERS[key]
