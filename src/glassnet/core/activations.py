"""Activation functions: each one small class, the function and its derivative side by side.

Read this first. An activation turns a layer's weighted sums ``Z`` into its outputs ``A``.
``forward(Z)`` gives ``A``; ``backward(Z, A, dA)`` gives ``dZ = dA * f'(Z)`` (the chain rule
through the activation). Both ``Z`` and ``A`` are passed to ``backward`` because the derivative is
cheapest in terms of whichever the formula uses: sigmoid's is ``A * (1 - A)``, ReLU's is ``Z > 0``.

All arrays have shape ``(n_samples, n_units)``. Next read: ``layers.py``.

**Two forms of the same maths.** ``forward`` and ``backward`` are the readable forms: they define what
glassnet computes. Right below each, ``forward_into`` and ``backward_into`` compute the very same
numbers into buffers the engine allocated once (``out=`` arguments, no temporaries), which is what
``fit`` and ``step`` run. The engine checks the two forms against each other on a small probe once per
class and dtype (``core/agreement.py``); if you edit one and not the other, it warns, names the method,
and runs your readable form. A class that defines only ``forward`` and ``backward`` (your own) runs on
them: the base class's ``*_into`` just call the readable forms. The buffers ``work`` offers are
``work.T`` and ``work.T2`` (temporaries of the layer's shape), ``work.mask`` (booleans of that shape)
and ``work.rows`` (shape ``(n_samples, 1)``).

Everything else glassnet needs to know about an activation lives on its class too: the formula text the
ledger and worksheets print, its derivative's text, its PyTorch module for the bridge, its settings for
save/load, its kinks for gradient checks, how it fails (saturates or dies) for the health monitor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.registry import Registry
from glassnet.errors import ConfigError

Array = NDArray[np.floating]


class Activation:
    """Base class. Subclasses define ``forward`` and ``backward``; everything else has a working default.

    Class attributes
    ----------------
    name, aliases : the names in files, the CLI and messages.
    kinks : input values where the derivative jumps; gradient checks treat entries near them specially.
    elementwise : False when an output depends on the whole row (softmax), so ``f'(z)`` is a Jacobian.
    saturates : the derivative vanishes in flat tails (the health monitor's ``saturated`` check); ``peak_slope``
        is the largest derivative, which that check scales by.
    dies : the derivative is exactly 0 for every ``z <= 0`` (the health monitor's ``dead_relu`` check).
    torch_name : the ``torch.nn`` module with the same maths (``None``: no module, the identity).
    """

    name = ""
    aliases: tuple[str, ...] = ()
    kinks: tuple[float, ...] = ()
    elementwise = True
    saturates = False
    peak_slope = 1.0
    dies = False
    torch_name: str | None = None

    # ---------------------------------------------------------------- the maths, readable
    def forward(self, Z: Array) -> Array:
        raise NotImplementedError

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        raise NotImplementedError

    # ---------------------------------------------------------------- the same maths, into buffers
    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        """``forward(Z)`` written into ``A``; returns the array holding the result."""
        np.copyto(A, self.forward(Z))
        return A

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        """``backward(Z, A, dA)`` written into ``dZ``; returns the array holding the result."""
        np.copyto(dZ, self.backward(Z, A, dA))
        return dZ

    # ---------------------------------------------------------------- the same maths, entry by entry
    # Loop forms (compiled by numba when glassnet[fast] is installed; see core/compiled.py): ``forward_loop(Z, A,
    # *loop_settings())`` and ``backward_loop(Z, A, dA, dZ, *loop_settings())`` write what forward and backward give,
    # one entry at a time, in one pass over the (n_samples, n_units) arrays. Only maths that IEEE 754 rounds exactly
    # (+ - * /, comparisons) has them, so that they agree bit for bit on every machine: NumPy and a compiled loop
    # compute exp and tanh by different approximations. Checked against the readable forms like the in-place ones.
    def loop_settings(self) -> tuple[float, ...]:
        """The activation's settings, as its loop forms take them (after the arrays)."""
        return ()

    # An in-place form may also hand a few of its NumPy passes to loop forms of its own, named in ``into_loops`` (loop
    # form -> the readable method it serves): the engine puts the compiled ones it chose in ``work.loops``, where the
    # in-place form looks them up and, when one is absent, runs its NumPy passes (Softmax: the row maximum taken off).
    # Each is checked by running the in-place form with it and without it on a probe: the same numbers, bit for bit.
    into_loops: dict[str, str] = {}

    # ---------------------------------------------------------------- what the rest of glassnet reads
    def formula(self, z: str) -> str:
        """The function at ``z`` as text (``z`` a symbol or a number), for the ledger and worksheets."""
        return f"{self.name}({z})"

    def derivative(self, a: str, z: str) -> str:
        """``f'(z)`` as text, in terms of the output ``a`` and/or the input ``z``; ``""`` when there is none to show."""
        return ""

    def config(self) -> dict[str, Any]:
        """The name and settings, as saved in model files: ``Registry.from_config`` rebuilds the activation."""
        return {"name": self.name}

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the ``torch.nn`` module named ``torch_name``."""
        return {}

    @classmethod
    def from_torch(cls, module: Any) -> Activation:
        """This activation with the settings of the ``torch.nn`` module ``module``."""
        return cls()

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({settings})"


class Identity(Activation):
    """``f(z) = z``, ``f'(z) = 1``."""

    name = "identity"
    aliases = ("linear",)

    def forward(self, Z: Array) -> Array:
        return Z

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA

    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        return Z  # nothing to compute: the output is the input itself

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        return dA

    def formula(self, z: str) -> str:
        return z

    def derivative(self, a: str, z: str) -> str:
        return "1"


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, ``f'(z) = f(z) * (1 - f(z))``.

    Computed without overflow: for ``z < 0`` it uses ``exp(z) / (1 + exp(z))``.
    """

    name = "sigmoid"
    aliases = ("logistic",)
    saturates = True
    peak_slope = 0.25
    torch_name = "Sigmoid"

    def forward(self, Z: Array) -> Array:
        # exp(-|z|) never overflows; the two branches are the same function rearranged.
        E = np.exp(-np.abs(Z))
        return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA * A * (1.0 - A)

    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        # Both numerators of forward are exp(min(z, 0)): exp(0) = 1 exactly, and -|z| = z for z < 0, so this is
        # the same division, bit for bit, without a mask. Leaves exp(-|z|) in work.T for BinaryCrossEntropy.
        np.copysign(Z, -1.0, work.T)  # -|z|, bit for bit, in one pass
        np.exp(work.T, work.T)
        np.add(work.T, 1.0, work.T2)
        np.minimum(Z, 0.0, out=A)
        np.exp(A, A)
        np.divide(A, work.T2, A)
        return A

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        np.multiply(dA, A, dZ)
        np.subtract(1.0, A, work.T2)
        np.multiply(dZ, work.T2, dZ)
        return dZ

    @staticmethod
    def backward_loop(Z: Array, A: Array, dA: Array, dZ: Array) -> None:
        one = A.dtype.type(1)  # in the arrays' own dtype, as NumPy works 1.0 into a float32 array
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                a = A[i, j]
                dZ[i, j] = dA[i, j] * a * (one - a)

    def formula(self, z: str) -> str:
        return f"1/(1 + exp(-{z}))"

    def derivative(self, a: str, z: str) -> str:
        return f"{a}*(1 - {a})"


class Tanh(Activation):
    """``f(z) = tanh(z)``, ``f'(z) = 1 - f(z)**2``."""

    name = "tanh"
    saturates = True
    torch_name = "Tanh"

    def forward(self, Z: Array) -> Array:
        return np.tanh(Z)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA * (1.0 - A * A)

    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        return np.tanh(Z, A)

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        np.multiply(A, A, work.T2)
        np.subtract(1.0, work.T2, work.T2)
        return np.multiply(dA, work.T2, dZ)

    @staticmethod
    def backward_loop(Z: Array, A: Array, dA: Array, dZ: Array) -> None:
        one = A.dtype.type(1)
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                a = A[i, j]
                dZ[i, j] = dA[i, j] * (one - a * a)

    def formula(self, z: str) -> str:
        return f"tanh({z})"

    def derivative(self, a: str, z: str) -> str:
        return f"1 - {a}^2"


class ReLU(Activation):
    """``f(z) = max(z, 0)``, ``f'(z) = 1 if z > 0 else 0`` (0 at the kink ``z = 0``, like PyTorch)."""

    name = "relu"
    kinks = (0.0,)
    dies = True
    torch_name = "ReLU"

    def forward(self, Z: Array) -> Array:
        return np.maximum(Z, 0.0)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA * (Z > 0)

    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        return np.maximum(Z, 0.0, out=A)

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        np.greater(Z, 0, work.mask)
        return np.multiply(dA, work.mask, dZ)

    @staticmethod
    def forward_loop(Z: Array, A: Array) -> None:
        zero = Z.dtype.type(0)
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                z = Z[i, j]
                A[i, j] = z if z > zero or z != z else zero  # max(z, 0) as np.maximum: NaN stays NaN, -0 gives +0

    @staticmethod
    def backward_loop(Z: Array, A: Array, dA: Array, dZ: Array) -> None:
        zero, one = Z.dtype.type(0), Z.dtype.type(1)
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                dZ[i, j] = dA[i, j] * (one if Z[i, j] > zero else zero)  # times 0, not 0: inf * 0 is NaN, as in backward

    def formula(self, z: str) -> str:
        return f"max({z}, 0)"

    def derivative(self, a: str, z: str) -> str:
        return f"1 if {z} > 0 else 0"


class LeakyReLU(Activation):
    """``f(z) = z if z > 0 else slope * z``, ``f'(z) = 1 if z > 0 else slope``.

    ``slope`` defaults to 0.01, like ``torch.nn.LeakyReLU``.
    """

    name = "leaky_relu"
    kinks = (0.0,)
    torch_name = "LeakyReLU"

    def __init__(self, slope: float = 0.01) -> None:
        if isinstance(slope, bool) or not isinstance(slope, (int, float, np.integer, np.floating)) or not np.isfinite(slope):
            raise ConfigError(f"LeakyReLU slope must be a finite number (usually small, like 0.01), got {slope!r}")
        self.slope = float(slope)

    def forward(self, Z: Array) -> Array:
        return np.where(Z > 0, Z, self.slope * Z)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return np.where(Z > 0, dA, self.slope * dA)

    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        np.multiply(Z, self.slope, A)
        np.greater(Z, 0, work.mask)
        np.copyto(A, Z, where=work.mask)
        return A

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        np.multiply(dA, self.slope, dZ)
        np.greater(Z, 0, work.mask)
        np.copyto(dZ, dA, where=work.mask)
        return dZ

    def loop_settings(self) -> tuple[float, ...]:
        return (self.slope,)

    @staticmethod
    def forward_loop(Z: Array, A: Array, slope: float) -> None:
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                z = Z[i, j]
                A[i, j] = z if z > 0 else slope * z

    @staticmethod
    def backward_loop(Z: Array, A: Array, dA: Array, dZ: Array, slope: float) -> None:
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                dZ[i, j] = dA[i, j] if Z[i, j] > 0 else slope * dA[i, j]

    def formula(self, z: str) -> str:
        return f"{z} if {z} > 0 else {self.slope:g}*{z}"

    def derivative(self, a: str, z: str) -> str:
        return f"1 if {z} > 0 else {self.slope:g}"

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "slope": self.slope}

    def torch_kwargs(self) -> dict[str, Any]:
        return {"negative_slope": self.slope}

    @classmethod
    def from_torch(cls, module: Any) -> Activation:
        return cls(float(module.negative_slope))


_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; Python's math.erf, entry by entry


class GELU(Activation):
    """The Gaussian error linear unit (Hendrycks & Gimpel, 2016), exact form as ``torch.nn.GELU()``.

    ``f(z) = z * Phi(z)`` with ``Phi(z) = (1 + erf(z / sqrt(2))) / 2`` the standard normal CDF, and
    ``f'(z) = Phi(z) + z * phi(z)`` with ``phi(z) = exp(-z**2 / 2) / sqrt(2 pi)`` its density (product rule).
    No ``*_into`` form: NumPy has no erf, so both forms use ``math.erf`` entry by entry.
    """

    name = "gelu"
    torch_name = "GELU"

    @staticmethod
    def cdf(Z: Array) -> Array:
        """``Phi(z)``, the probability that a standard normal variable is below ``z``."""
        return (0.5 * (1.0 + _erf(Z / math.sqrt(2.0)))).astype(Z.dtype)

    def forward(self, Z: Array) -> Array:
        return Z * self.cdf(Z)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        density = np.exp(-0.5 * Z * Z) / math.sqrt(2.0 * math.pi)
        return dA * (self.cdf(Z) + Z * density)

    def formula(self, z: str) -> str:
        return f"{z}*Phi({z})"

    def derivative(self, a: str, z: str) -> str:
        return f"Phi({z}) + {z}*phi({z})"

    def torch_kwargs(self) -> dict[str, Any]:
        return {"approximate": "none"}

    @classmethod
    def from_torch(cls, module: Any) -> Activation:
        if getattr(module, "approximate", "none") != "none":
            raise ConfigError(f"{module!r}: glassnet's GELU is the exact erf form; use torch.nn.GELU() "
                              "(approximate='none'), not the tanh approximation")
        return cls()


class Softmax(Activation):
    """``f(z)_j = exp(z_j) / sum_k exp(z_k)`` over each row; for the output layer.

    Its Jacobian is ``diag(a) - a a^T``, so ``dZ = A * (dA - sum_k dA_k A_k)`` row by row.
    With ``loss="cross_entropy"`` that product is never formed: the loss gives ``dZ`` directly
    (see ``losses.CrossEntropy``). The row maximum is subtracted first so ``exp`` cannot overflow.
    """

    name = "softmax"
    elementwise = False
    torch_name = "Softmax"

    def forward(self, Z: Array) -> Array:
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return A * (dA - (dA * A).sum(axis=1, keepdims=True))

    def forward_into(self, Z: Array, A: Array, work: Any) -> Array:
        # Leaves z - max in work.T and the row sums of exp in work.rows, for CrossEntropy.
        shift = getattr(work, "loops", {}).get("shift_loop")  # shift_loop below, compiled, if the engine chose it
        if shift is None:
            np.maximum.reduce(Z, axis=1, out=work.rows, keepdims=True)
            np.subtract(Z, work.rows, work.T)
        else:
            shift(Z, work.T)
        np.exp(work.T, A)
        np.add.reduce(A, axis=1, out=work.rows, keepdims=True)
        return np.divide(A, work.rows, A)

    def backward_into(self, Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:
        np.multiply(dA, A, work.T2)
        np.add.reduce(work.T2, axis=1, out=work.rows, keepdims=True)
        np.subtract(dA, work.rows, work.T2)
        return np.multiply(A, work.T2, dZ)

    into_loops = {"shift_loop": "forward"}

    @staticmethod
    def shift_loop(Z: Array, T: Array) -> None:
        """``T = Z - (each row's maximum)`` in one pass per row: forward_into's first two NumPy passes (exp and the
        row sums stay NumPy's, whose exp a compiled loop does not compute alike)."""
        for i in range(Z.shape[0]):
            top = Z[i, 0]
            for j in range(1, Z.shape[1]):
                z = Z[i, j]
                top = top if top > z or top != top else z  # NaN wins, as in np.maximum; of two equal zeros either
                # one may come out, there as here (a zero's sign in T reaches no result: exp(+-0) = 1)
            for j in range(Z.shape[1]):
                T[i, j] = Z[i, j] - top

    def formula(self, z: str) -> str:
        return f"exp({z})/sum_k exp(z_k)"

    def derivative(self, a: str, z: str) -> str:
        return f"{a}*(dL/d{a} - sum_k dL/da_k*a_k)"

    def torch_kwargs(self) -> dict[str, Any]:
        return {"dim": 1}


ACTIVATIONS: Registry[Activation] = Registry("activation", [Identity, Sigmoid, Tanh, ReLU, LeakyReLU, GELU, Softmax])


def get_activation(name: str | Activation) -> Activation:
    """Return the activation called ``name`` (or ``name`` itself if it already is one).

    Raises
    ------
    ConfigError
        For an unknown name, listing the valid names and the closest one.
    """
    if isinstance(name, Activation):
        return name
    return ACTIVATIONS.lookup(name)()
