"""Compiled loop forms (optional): numba turns a part's loop form into one pass over memory.

Read ``optimizers.py`` first. An optimizer may carry, beside its readable rule (``update_one``) and its NumPy
in-place form (``update_into``), a *loop form* (``update_loop``): the same rule written entry by entry, as a plain
Python ``for`` loop over flat arrays, the way the paper writes it for one number. Run by the Python interpreter a
loop over 670,000 entries would take seconds; compiled by numba it is one pass over memory that reads each
parameter, gradient and state entry once, instead of the dozen NumPy passes of ``update_into`` (each of which reads
and writes whole arrays). That is what ``pip install "glassnet[fast]"`` adds: numba. Without it nothing changes:
glassnet needs NumPy alone, and this module never imports numba until a loop form is asked for.

Activations have loop forms too (``forward_loop``, ``backward_loop``: ``activations.py``), and a few in-place forms
hand some of their NumPy passes to loop forms written beside them, which the engine passes in ``work.loops`` (the dense
layer's bias and bias gradient, ``layers.py``; the softmax's row maximum, the cross-entropy's terms: ``into_loops``).

Like every fast form, a loop form runs only while it agrees with the readable rule (``agreement.py``: once per
class, settings and dtype per process, bit for bit in float64 and to rounding in float32; on a difference one
:class:`~glassnet.errors.FastFormWarning` and the NumPy form runs). Bit for bit is possible because the loops use
only operations IEEE 754 rounds exactly (``+ - * /`` and ``sqrt``), in the order the readable rule writes them, and
numba is asked not to reorder them or fuse a multiply and an add (no ``fastmath``).

Compiling a loop form takes about a second per dtype; it is paid once per machine, since the machine code is cached
on disk (numba's ``cache=True``: next to the source file, in ``__pycache__``, or in ``NUMBA_CACHE_DIR``).
:func:`report` says which loop forms ran, how long their first call took, and whether it came from the cache.

When: importing numba and loading the machine code takes about a second per process, which a small network never
wins back (on the 2-3-1 XOR network a step is the same speed either way). So by default the loop forms run for
networks of at least ``MIN_PARAMETERS`` (4096) parameters, where a step's element-wise passes are worth
compiling, and numba is not even imported for smaller ones. The environment variable ``GLASSNET_COMPILED`` chooses:
``auto`` (the default, as just said), ``1`` (every network: what the benchmark's compiled cells run, and the tests),
``0`` (never: the engine then runs exactly what it runs without numba). In Python: ``glassnet.core.compiled.enabled``
and ``glassnet.core.compiled.always``, read when a network's plan is made.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy import float64

from glassnet.errors import ConfigError

MODES = {"auto": ("", "auto"), "always": ("1", "always", "on", "true", "yes"), "never": ("0", "never", "off", "false", "no")}


def mode(value: str | None) -> str:
    """``"auto"``, ``"always"`` or ``"never"`` for a value of ``GLASSNET_COMPILED`` (``None``: not set, auto)."""
    given = (value or "").strip().lower()
    for name, spellings in MODES.items():
        if given in spellings:
            return name
    raise ConfigError(f"GLASSNET_COMPILED={value!r} is not a setting: use 0 (never compile the loop forms), 1 (for "
                      f"every network) or auto (the default: networks of {MIN_PARAMETERS} parameters or more)")


MIN_PARAMETERS = 4096
_MODE = mode(os.environ.get("GLASSNET_COMPILED"))
enabled = _MODE != "never"
"""Use compiled loop forms when numba is installed (``GLASSNET_COMPILED=0`` turns them off)."""
always = _MODE == "always"
"""Use them for every network, however small (``GLASSNET_COMPILED=1``); else from ``MIN_PARAMETERS`` on."""

# numba.njit's settings for every loop form: error_model="numpy" lets a division by zero give inf as NumPy does
# (instead of raising, whose checks keep the loop from being vectorised); cache=True keeps the machine code on disk;
# no fastmath, so the operations are neither reordered nor fused and the results are those of the readable rule.
OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}

_numba: Any = None  # the numba module once imported; False when it is missing
_kernels: dict[Callable[..., Any], Any] = {}  # loop form -> its numba dispatcher
_first_calls: dict[str, dict[str, Any]] = {}  # "Adam.update_loop[float32]" -> {"seconds": ..., "cached": ...}


def numba_module() -> Any:
    """The numba module, or ``None`` when it is not installed (imported on first use only)."""
    global _numba
    if _numba is None:
        try:
            import numba
        except Exception:  # not installed, or installed but broken (an llvmlite that does not load): run without it
            _numba = False
        else:
            _numba = numba
    return _numba or None


def available() -> bool:
    """True when loop forms can run compiled: ``enabled`` and numba installed."""
    return enabled and numba_module() is not None


def worth_it(n_parameters: int) -> bool:
    """True when a network of ``n_parameters`` should run its loop forms compiled: :func:`available`, and ``always``
    or at least ``MIN_PARAMETERS`` parameters (numba is imported only when the size says yes)."""
    return enabled and (always or n_parameters >= MIN_PARAMETERS) and available()


def kernel(loop: Callable[..., Any]) -> Callable[..., Any] | None:
    """``loop`` compiled by numba (compiled for each new dtype at its first call), or ``None`` when not
    :func:`available`."""
    if not available():
        return None
    compiled = _kernels.get(loop)
    if compiled is None:
        numba = numba_module()
        try:
            compiled = numba.njit(**OPTIONS)(loop)
        except RuntimeError:  # numba finds no writable place for its cache (a read-only install): compile per process
            compiled = numba.njit(**{**OPTIONS, "cache": False})(loop)
        _kernels[loop] = compiled
    return compiled


def first_call(name: str, compiled: Any, *args: Any) -> Any:
    """Call ``compiled(*args)`` and note how long it took under ``name`` (the first call compiles the loop for these
    argument types, or loads it from numba's cache). Returns what the call returns."""
    hits = _cache_hits(compiled)
    start = time.perf_counter()
    result = compiled(*args)
    if name not in _first_calls:
        _first_calls[name] = {"seconds": time.perf_counter() - start, "cached": _cache_hits(compiled) > hits}
    return result


def _cache_hits(compiled: Any) -> int:
    stats = getattr(compiled, "stats", None)
    return sum(getattr(stats, "cache_hits", {}).values()) if stats is not None else 0


def report() -> dict[str, Any]:
    """What compiled loop forms did in this process: numba's version (``None`` without numba), whether they are
    ``enabled`` (and for which networks: ``always``, or from ``min_parameters`` on), and per loop form and dtype the
    seconds of its first call (compiling it, or loading it from the cache when ``cached``)."""
    numba = numba_module()
    return {"numba": getattr(numba, "__version__", None), "enabled": enabled, "always": always,
            "min_parameters": MIN_PARAMETERS,
            "kernels": {name: dict(first) for name, first in _first_calls.items()}}


def scalars(values: tuple[float | bool, ...], dtype: Any) -> tuple[Any, ...]:
    """``values`` as a loop form over arrays of ``dtype`` (a NumPy dtype) must receive them: numbers rounded to that
    dtype (so that float32 arrays are worked on in float32, as NumPy works a Python number into a float32 array),
    truth values as they are. Python floats already are float64."""
    cast = dtype.type
    if cast is float64 or not values:
        return values
    if bool in map(type, values):  # SGD's flags (nesterov, first step) stay truth values
        return tuple(v if isinstance(v, bool) else cast(v) for v in values)
    # One array made and read back: the same roundings as cast(v) for each (to nearest), in 2 us instead of 5 (a
    # float32 Adam step asks for ten numbers)
    return tuple(np.array(values, dtype))


