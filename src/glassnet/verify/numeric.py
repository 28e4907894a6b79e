"""Central differences, the reference every gradient in ``glassnet.verify`` is compared with.

For one entry ``p`` of a parameter: ``(L(p + eps) - L(p - eps)) / (2 eps)``, error ``O(eps**2)``.
Always in float64: float32's 7 digits would drown the difference of two nearly equal losses.
The arrays are perturbed in place and restored bit-exactly afterwards.

Checking every entry costs two loss evaluations per entry, so for big tensors :func:`choose_entries`
picks a seeded sample per tensor (never a whole tensor skipped), and :func:`plan` estimates the time
first and refuses, with the estimate and the fix, when a full check would take too long.

Next read: ``gradcheck.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import positive_int
from glassnet.errors import ConfigError

Array = NDArray[Any]


@dataclass
class Differences:
    """Numerical gradient of one tensor at the chosen flat ``indices``; ``kinks[i]`` is True where the
    perturbation crossed a kink (the evaluator's signature differed between ``+eps`` and ``-eps``)."""

    indices: NDArray[np.int64]
    values: Array
    kinks: NDArray[np.bool_]

    def full(self, shape: tuple[int, ...]) -> Array:
        """The numerical gradient as an array of ``shape`` (only meaningful when every entry was checked)."""
        out = np.zeros(int(np.prod(shape)))
        out[self.indices] = self.values
        return out.reshape(shape)


def choose_entries(params: dict[str, Array], sample: int | None, seed: int = 0) -> dict[str, NDArray[np.int64]]:
    """Flat indices to check per tensor: all of them, or ``sample`` of them chosen at random (seeded)."""
    if sample is not None:
        sample = positive_int(sample, "sample (entries to check per tensor)")
    rng = np.random.default_rng(seed)
    chosen = {}
    for name, p in params.items():
        if sample is None or p.size <= sample:
            chosen[name] = np.arange(p.size)
        else:
            chosen[name] = np.sort(rng.choice(p.size, size=sample, replace=False))
    return chosen


def plan(params: dict[str, Array], evaluate: Callable[[], Any], sample: int | None, seed: int,
         max_seconds: float | None) -> dict[str, NDArray[np.int64]]:
    """Choose the entries and refuse a check estimated to take longer than ``max_seconds``."""
    entries = choose_entries(params, sample, seed)
    count = sum(len(i) for i in entries.values())
    if max_seconds is None or count == 0:
        return entries
    started = time.perf_counter()
    evaluate()
    seconds = 2 * count * (time.perf_counter() - started)
    if seconds > max_seconds:
        biggest = max(params, key=lambda n: params[n].size)
        suggestion = max(1, int(max_seconds / seconds * count / max(1, len(params))))
        raise ConfigError(
            f"a gradient check of {count:,} entries needs {2 * count:,} loss evaluations, about {seconds:,.0f} s "
            f"(the largest tensor, {biggest!r}, has {params[biggest].size:,} entries). Check a sample of entries per "
            f"tensor instead, e.g. sample={suggestion} (--sample {suggestion} on the command line; every tensor is still "
            f"checked), or allow more time with max_seconds={int(seconds) + 1}"
        )
    return entries


def central_differences(params: dict[str, Array], evaluate: Callable[[], tuple[float, Any]], eps: float,
                        entries: dict[str, NDArray[np.int64]]) -> dict[str, Differences]:
    """Numerical gradient of ``evaluate()`` (which reads ``params``) at the chosen entries.

    ``evaluate`` returns ``(loss, signature)``; a signature that differs between the ``+eps`` and the
    ``-eps`` evaluation marks the entry as having crossed a kink (use ``None`` for no kink tracking).
    """
    out = {}
    for name, idx in entries.items():
        flat = params[name].reshape(-1)  # a view: params[name] is contiguous float64 (made so by the callers)
        values = np.empty(len(idx))
        kinks = np.zeros(len(idx), dtype=bool)
        for k, i in enumerate(idx):
            original = flat[i]
            flat[i] = original + eps
            up, sig_up = evaluate()
            flat[i] = original - eps
            down, sig_down = evaluate()
            flat[i] = original
            values[k] = (up - down) / (2 * eps)
            if sig_up is not None and not _same(sig_up, sig_down):
                kinks[k] = True
        out[name] = Differences(idx, values, kinks)
    return out


def _same(a: Any, b: Any) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))
