"""The ledger's records of BatchNorm1d and Dropout: their formulas with the numbers, feature by feature.

``ledger.py`` writes a Dense layer neuron by neuron and any other layer as what it computed and received; a
layer that runs the readable maths of :class:`~glassnet.core.batchnorm.BatchNorm1d` or
:class:`~glassnet.core.dropout.Dropout` (a subclass that rewrites ``forward`` or ``backward`` is explained like
any layer) is written out here instead, in the symbols of ``records.py`` with these additions::

    mu^(l)_j, var^(l)_j      the batch mean and (biased) variance of feature j (training mode)
    runmean^(l)_j, runvar^(l)_j   the running statistics (BatchNorm's buffers; evaluation mode uses them)
    xhat^(l)_j               the normalised input (a^(l-1)_j - mu^(l)_j) / sqrt(var^(l)_j + eps)
    gamma^(l)_j, beta^(l)_j  the scale and shift: a^(l)_j = gamma^(l)_j * xhat^(l)_j + beta^(l)_j
    m^(l)_j                  Dropout's mask for the sample: 1 kept, 0 dropped

In training mode BatchNorm couples the samples of the batch (the mean and variance are over all of them), so a
network with one is written layer by layer (every sample of a layer before the next layer) instead of sample by
sample: ``Ledger.layer_major``. Its backward pass is ``dL/dxhat = dL/da * gamma``, two sums over the batch, and
``dx`` with its three terms::

    dL/da^(l-1)_j = (N*dL/dxhat^(l)_j - sum_n dL/dxhat^(l)_j[n] - xhat^(l)_j * sum_n dL/dxhat^(l)_j[n]*xhat^(l)_j[n])
                    / (N*sqrt(var^(l)_j + eps))

The values of ``xhat``, the batch statistics and the running statistics are the engine's (the layer's cache and
buffers, recorded by ``hooks.py``), and so is the ``dx`` the layer below received; the intermediate numbers of the
backward pass (``dL/dxhat`` and the two sums), which BatchNorm's ``backward`` does not keep, are worked out here
from recorded arrays by the formulas shown.

Next read: ``render.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.core.layers import Layer
from glassnet.explain.records import grad, sym

if TYPE_CHECKING:
    from glassnet.explain.ledger import Ledger


def _runs_own(layer: Layer, cls: type[Layer]) -> bool:
    return isinstance(layer, cls) and all(getattr(type(layer), m) is getattr(cls, m) for m in ("forward", "backward"))


def is_batchnorm(layer: Layer) -> bool:
    """True when ``layer`` runs BatchNorm1d's own ``forward`` and ``backward``."""
    return _runs_own(layer, BatchNorm1d)


def is_dropout(layer: Layer) -> bool:
    """True when ``layer`` runs Dropout's own ``forward`` and ``backward``."""
    return _runs_own(layer, Dropout)


def couples_samples(layer: Layer, cache: dict[str, Any]) -> bool:
    """True for a BatchNorm1d that ran in training mode (its statistics are the batch's)."""
    return is_batchnorm(layer) and bool(cache.get("training"))


def _stats(L: Ledger, l: int) -> tuple[str, str, Any, Any]:
    """The symbols and values of the mean and variance BatchNorm layer ``l`` normalised by."""
    cache = L.step.layers[l - 1].cache
    if cache["training"]:
        return sym("mu", l), sym("var", l), cache["mean"], cache["var"]
    return sym("runmean", l), sym("runvar", l), cache["mean"], cache["var"]


# ------------------------------------------------------------------------------------------ forward
def batchnorm_batch(L: Ledger, l: int) -> None:
    """The batch statistics of BatchNorm layer ``l`` (training mode) and the update of its running statistics."""
    layer, rec = L.net.layers[l - 1], L.step.layers[l - 1]
    cache, X, N = rec.cache, rec.X, L.n
    if not cache["training"]:
        return
    m = layer.momentum  # type: ignore[attr-defined]  # a BatchNorm1d
    mean, var = cache["mean"], cache["var"]
    before, after = rec.buffers_before, rec.buffers_after
    for j in range(layer.n_out):
        if not L.keep("mu", "forward", l, j, None, mean[j]):
            continue
        first = j == 0
        common = dict(phase="forward", layer=l, neuron=j, indices=(j,), sample=None)
        a, mu = L.s("a", l - 1, j), sym("mu", l, j)
        L.emit(kind="batch_mean", symbol=sym("mu", l, j), value=float(mean[j]),
               expression=f"{L.sum_n(a)} / N", numbers="(" + " + ".join(L.t(X[n, j]) for n in range(N)) + f") / {N}",
               note=f"BatchNorm1d in training mode: each feature is normalised by the mean and variance of this batch "
                    f"of N = {N} samples" if first else "", **common)
        L.emit(kind="batch_var", symbol=sym("var", l, j), value=float(var[j]),
               expression=L.sum_n(f"({a} - {mu})^2") + " / N",
               numbers="(" + " + ".join(f"({L.t(X[n, j])} - {L.t(mean[j])})^2" for n in range(N)) + f") / {N}",
               note="the biased variance (divided by N), as torch's forward pass uses" if first else "", **common)
        L.emit(kind="running", symbol=sym("runmean", l, j), op="<-", value=float(after["running_mean"][j]),
               expression=f"(1 - momentum)*{sym('runmean', l, j)} + momentum*{sym('mu', l, j)}",
               numbers=f"(1 - {L.f(m)})*{L.t(before['running_mean'][j])} + {L.f(m)}*{L.t(mean[j])}",
               note="the running statistics (buffers, not trained) move towards the batch's; evaluation mode "
                    "normalises by them" if first else "", **common)
        L.emit(kind="running", symbol=sym("runvar", l, j), op="<-", value=float(after["running_var"][j]),
               expression=f"(1 - momentum)*{sym('runvar', l, j)} + momentum*{sym('var', l, j)}*N/(N - 1)",
               numbers=f"(1 - {L.f(m)})*{L.t(before['running_var'][j])} + {L.f(m)}*{L.t(var[j])}*{N}/{N - 1}",
               note="with the unbiased variance (times N/(N - 1)), as torch keeps it" if first else "", **common)
    L.flush()


def batchnorm_forward(L: Ledger, l: int, n: int) -> None:
    """``xhat`` and ``a`` of every feature of BatchNorm layer ``l`` for sample ``n``."""
    layer, rec = L.net.layers[l - 1], L.step.layers[l - 1]
    mu, var, mean, variance = _stats(L, l)
    X_hat, eps = rec.cache["X_hat"], layer.eps  # type: ignore[attr-defined]  # a BatchNorm1d
    gamma, beta = L.params[f"{l - 1}.gamma"], L.params[f"{l - 1}.beta"]
    for j in range(layer.n_out):
        if not L.keep("xhat", "forward", l, j, n, X_hat[n, j]):
            L.keep("a", "forward", l, j, n, rec.A[n, j])
            continue
        common = dict(phase="forward", layer=l, neuron=j, indices=(j,), sample=n)
        L.emit(kind="x_hat", symbol=sym("xhat", l, j), value=float(X_hat[n, j]),
               expression=f"({sym('a', l - 1, j)} - {mu}_{j + 1}) / sqrt({var}_{j + 1} + eps)",
               numbers=f"({L.t(rec.X[n, j])} - {L.t(mean[j])}) / sqrt({L.f(variance[j])} + {L.f(eps)})",
               note=L.layer_note(l) if n == j == 0 else "", **common)
        L.emit(kind="a", symbol=sym("a", l, j), value=float(rec.A[n, j]),
               expression=f"{sym('gamma', l, j)}*{sym('xhat', l, j)} + {sym('beta', l, j)}",
               numbers=f"{L.t(gamma[j])}*{L.t(X_hat[n, j])} + {L.t(beta[j])}", **common)
    L.flush()


def dropout_forward(L: Ledger, l: int, n: int) -> None:
    """The mask and the output of Dropout layer ``l`` for sample ``n``."""
    layer, rec = L.net.layers[l - 1], L.step.layers[l - 1]
    mask, keep = rec.cache["mask"][n], float(rec.cache["keep"])
    for j in range(layer.n_out):
        if not L.keep("a", "forward", l, j, n, rec.A[n, j]):
            continue
        common = dict(phase="forward", layer=l, neuron=j, indices=(j,), sample=n)
        if keep == 1.0:  # evaluation mode, or p = 0: nothing is dropped or scaled
            L.emit(kind="a", symbol=sym("a", l, j), value=float(rec.A[n, j]), expression=sym("a", l - 1, j),
                   note=f"{L.layer_note(l)}; nothing is dropped" if n == j == 0 else "", **common)
            continue
        if j == 0:
            dropped = [k + 1 for k in range(layer.n_out) if not mask[k]]
            note = (f"{L.layer_note(l) + '. ' if n == 0 else ''}the mask of this sample (drawn from net.rng): units "
                    f"{dropped or 'none'} dropped (m = 0), the others kept (m = 1) and scaled by 1/(1 - p) = "
                    f"{L.f(1 / keep)}")
        else:
            note = ""
        L.emit(kind="mask", symbol=sym("m", l, j), value=float(mask[j]), note=note or ("" if mask[j] else "dropped"),
               **common)
        L.emit(kind="a", symbol=sym("a", l, j), value=float(rec.A[n, j]),
               expression=f"{sym('a', l - 1, j)} * {sym('m', l, j)} / (1 - p)",
               numbers=f"{L.t(rec.X[n, j])} * {int(mask[j])} / {L.f(keep)}", **common)
    L.flush()


# ------------------------------------------------------------------------------------------ backward
def _dx_hat(L: Ledger, l: int) -> Any:
    """``dL/dxhat = dL/da * gamma`` of BatchNorm layer ``l``, every sample and feature."""
    rec = L.step.layers[l - 1]
    dA = rec.dA if rec.dA is not None else L.step.loss_gradient
    return dA * L.params[f"{l - 1}.gamma"]


def batchnorm_backward(L: Ledger, l: int, n: int) -> None:
    """``dL/dxhat`` of every feature of BatchNorm layer ``l`` for sample ``n`` (after its ``dL/da``)."""
    layer, rec = L.net.layers[l - 1], L.step.layers[l - 1]
    dA = rec.dA if rec.dA is not None else L.step.loss_gradient
    dxh, gamma = _dx_hat(L, l), L.params[f"{l - 1}.gamma"]
    for j in range(layer.n_out):
        if L.keep("dxhat", "backward", l, j, n, dxh[n, j]):
            L.emit(kind="dx_hat", phase="backward", symbol=grad(sym("xhat", l, j)), value=float(dxh[n, j]),
                   expression=f"{grad(sym('a', l, j))} * {sym('gamma', l, j)}",
                   numbers=f"{L.t(dA[n, j])} * {L.t(gamma[j])}", layer=l, neuron=j, indices=(j,), sample=n)
    L.flush()


def batchnorm_sums(L: Ledger, l: int) -> None:
    """The two sums over the batch that ``dx`` of BatchNorm layer ``l`` needs (training mode)."""
    layer, rec = L.net.layers[l - 1], L.step.layers[l - 1]
    if not rec.cache["training"] or l == 1:  # no dx to explain below the first layer
        return
    dxh, X_hat = _dx_hat(L, l), rec.cache["X_hat"]
    for j in range(layer.n_out):
        S, T = dxh[:, j].sum(), (dxh[:, j] * X_hat[:, j]).sum()
        if not L.keep("sums", "backward", l, j, None, S):
            continue
        common = dict(kind="batch_sum", phase="backward", layer=l, neuron=j, indices=(j,), sample=None)
        L.emit(symbol=_sum1(l, j), value=float(S), numbers=" + ".join(L.t(v) for v in dxh[:, j]),
               note="the two sums over the batch that BatchNorm's dx needs: each sample's xhat depends on every "
                    "sample through the batch's mean and variance" if j == 0 else "", **common)
        L.emit(symbol=_sum2(l, j), value=float(T),
               numbers=" + ".join(f"{L.t(d)}*{L.t(x)}" for d, x in zip(dxh[:, j], X_hat[:, j])), **common)
    L.flush()


def _sum1(l: int, j: int) -> str:
    return f"sum_n {grad(sym('xhat', l, j))}[n]"


def _sum2(l: int, j: int) -> str:
    return f"sum_n {grad(sym('xhat', l, j))}[n]*{sym('xhat', l, j)}[n]"


def from_batchnorm(L: Ledger, l: int, j: int, n: int) -> tuple[str, str, list[str]]:
    """``dL/da^(l)_j`` of sample ``n`` as BatchNorm layer ``l + 1`` sent it back: expression, numbers, steps."""
    u, rec = l + 1, L.step.layers[l]
    layer = L.net.layers[l]
    eps, N = layer.eps, L.n  # type: ignore[attr-defined]  # a BatchNorm1d
    _, var, _, variance = _stats(L, u)
    dxh, X_hat = _dx_hat(L, u), rec.cache["X_hat"]
    if not rec.cache["training"]:
        return (f"{grad(sym('xhat', u, j))} / sqrt({var}_{j + 1} + eps)",
                f"{L.t(dxh[n, j])} / sqrt({L.f(variance[j])} + {L.f(eps)})", [])
    S, T = dxh[:, j].sum(), (dxh[:, j] * X_hat[:, j]).sum()
    expression = (f"(N*{grad(sym('xhat', u, j))} - {_sum1(u, j)} - {sym('xhat', u, j)}*{_sum2(u, j)}) / "
                  f"(N*sqrt({var}_{j + 1} + eps))")
    numbers = (f"({N}*{L.t(dxh[n, j])} - {L.t(S)} - {L.t(X_hat[n, j])}*{L.t(T)}) / "
               f"({N}*sqrt({L.f(variance[j])} + {L.f(eps)}))")
    steps = [f"({L.t(N * dxh[n, j])} - {L.t(S)} - {L.t(X_hat[n, j] * T)}) / {L.f(N * np.sqrt(variance[j] + eps))}"]
    return expression, numbers, steps


def from_dropout(L: Ledger, l: int, j: int, n: int) -> tuple[str, str, list[str]]:
    """``dL/da^(l)_j`` of sample ``n`` as Dropout layer ``l + 1`` sent it back: the same mask, the same scale."""
    u, rec = l + 1, L.step.layers[l]
    dA = rec.dA if rec.dA is not None else L.step.loss_gradient
    keep = float(rec.cache["keep"])
    if keep == 1.0:
        return grad(sym("a", u, j)), "", []
    return (f"{grad(sym('a', u, j))} * {sym('m', u, j)} / (1 - p)",
            f"{L.t(dA[n, j])} * {int(rec.cache['mask'][n, j])} / {L.f(keep)}", [])


# ------------------------------------------------------------------------------------------ gradients
def batchnorm_gradients(L: Ledger, l: int) -> None:
    """``dL/dgamma`` and ``dL/dbeta`` of every feature of BatchNorm layer ``l``: sums over the samples."""
    layer, rec = L.net.layers[l - 1], L.step.layers[l - 1]
    dA = rec.dA if rec.dA is not None else L.step.loss_gradient
    X_hat, samples = rec.cache["X_hat"], range(L.n)
    for name in ("gamma", "beta"):
        key = f"{l - 1}.{name}"
        for j in range(layer.n_out):
            value = float(L.grads[key][j])
            if not L.keep(f"d{name}", "gradient", l, j, None, value):
                continue
            da = grad(L.s("a", l, j))
            if name == "gamma":
                expression = L.sum_n(f"{da} * {L.s('xhat', l, j)}")
                numbers = " + ".join(f"{L.t(dA[n, j])}*{L.t(X_hat[n, j])}" for n in samples)
            else:
                expression, numbers = L.sum_n(da), " + ".join(L.t(dA[n, j]) for n in samples) if L.n > 1 else ""
            L.emit(kind="grad", phase="gradient", symbol=grad(sym(name, l, j)), value=value, expression=expression,
                   numbers=numbers, layer=l, neuron=j, indices=(j,), key=key,
                   note=f"a^({l}) = gamma*xhat + beta: the gradients of gamma and beta are sums over the samples"
                   if name == "gamma" and j == 0 else "")
        L.flush()
