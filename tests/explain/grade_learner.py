"""A learner working one training step by hand, in plain NumPy, independent of glassnet's ledger: every number of
the step under its worksheet symbol, with one known slip made on purpose (or none).

Only the parameters and the data come from glassnet; every value is computed here from them, so the grader's
verdicts are checked against an outside computation, not against its own key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ACT = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
       "identity": lambda z: z}


def slope(name: str, z: float, a: float) -> float:
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": float(z > 0), "identity": 1.0}[name]


def slope_at_z(name: str, z: float) -> float:
    """The slip: the derivative written in terms of a, filled in with z."""
    return {"sigmoid": z * (1 - z), "tanh": 1 - z * z}[name]


def s(name: str, l: int, *idx: int) -> str:
    sub = ",".join(str(i + 1) for i in idx)
    return f"{name}^({l})_{{{sub}}}" if len(idx) > 1 else f"{name}^({l})_{sub}"


def work(W: list[np.ndarray], b: list[np.ndarray], X: np.ndarray, Y: np.ndarray, acts: tuple[str, str], loss: str,
         opt: dict[str, Any], slip: str | None = None) -> dict[tuple[str, int | None], float]:
    """The learner's numbers ``{(symbol, sample): value}`` for a 2-layer network (sample None: not per sample).

    ``opt``: ``{"name": "sgd", "lr": ..., "momentum": ...}`` or ``{"name": "adam", "lr", "betas", "eps"}``.
    The slip is made at one place (sample 0, neuron 1 where it concerns one neuron) or, for ``lost 1/N`` and
    ``sign loss``, in the loss gradient of every sample.
    """
    out: dict[tuple[str, int | None], float] = {}
    n, k = X.shape[0], Y.shape[1]
    fused = loss == "cross_entropy"
    N = n if fused else n * k
    Z: list[np.ndarray] = [np.zeros((n, w.shape[1])) for w in W]
    A: list[np.ndarray] = [X.astype(float)] + [np.zeros((n, w.shape[1])) for w in W]
    for m in range(n):
        for l in (1, 2):
            Wl = W[l - 1]
            for j in range(Wl.shape[1]):
                terms = [Wl[i, j] * A[l - 1][m, i] for i in range(Wl.shape[0])]
                if slip == "swapped index" and (l, j, m) == (1, 0, 0):
                    terms = [Wl[j, i] * A[l - 1][m, i] for i in range(Wl.shape[0])]
                z = sum(terms) + (0.0 if slip == "forgotten bias" and (l, j, m) == (1, 0, 0) else b[l - 1][j])
                Z[l - 1][m, j] = z
                out[(s("z", l, j), m)] = z
            if l == 2 and acts[1] == "softmax":
                e = np.exp(Z[1][m] - Z[1][m].max())
                A[2][m] = e / e.sum()
            else:
                A[l][m] = ACT[acts[l - 1]](Z[l - 1][m])
            if slip == "too much rounding" and l == 1 and m == 0:
                A[1][0, 0] = float(f"{A[1][0, 0]:.2g}")
            for j in range(Wl.shape[1]):
                out[(s("a", l, j), m)] = A[l][m, j]
    aL = A[2]
    out[("L", None)] = float(-(Y * np.log(aL)).sum() / N if fused else ((aL - Y) ** 2).sum() / N)
    D: list[np.ndarray] = [np.zeros_like(z) for z in Z]
    updated_w2 = None
    for m in range(n):
        for j in range(k):
            if fused:
                d = (aL[m, j] - Y[m, j]) / N
                if slip == "sign loss":
                    d = -d
                D[1][m, j] = d
                out[(s("delta", 2, j), m)] = d
                continue
            g = 2 * (aL[m, j] - Y[m, j]) / (1 if slip == "lost 1/N" else N)
            if slip == "sign loss":
                g = -g
            out[(f"dL/d{s('a', 2, j)}", m)] = g
            f = slope(acts[1], Z[1][m, j], aL[m, j])
            out[(f"{acts[1]}'({s('z', 2, j)})", m)] = f
            D[1][m, j] = g * f
            out[(s("delta", 2, j), m)] = D[1][m, j]
        if slip == "updated weight":  # the learner updates W2 first (SGD, one sample), then backpropagates with it
            updated_w2 = W[1] - opt["lr"] * np.outer(A[1][m], D[1][m])
        for j in range(W[0].shape[1]):
            if slip == "derivative at z" and (j, m) == (0, 0):
                f = slope_at_z(acts[0], Z[0][m, j])
            else:
                f = slope(acts[0], Z[0][m, j], A[1][m, j])
            out[(f"{acts[0]}'({s('z', 1, j)})", m)] = f
            W2 = updated_w2 if updated_w2 is not None else W[1]
            back = sum(W2[j, q] * D[1][m, q] for q in range(k))
            D[0][m, j] = back * (1.0 if slip == "forgot the derivative" and (j, m) == (0, 0) else f)
            out[(s("delta", 1, j), m)] = D[0][m, j]
    grads: dict[str, np.ndarray] = {}
    for l in (2, 1):
        rows = [0] if slip == "one sample" else range(n)
        dW = sum(np.outer(A[l - 1][m], D[l - 1][m]) for m in rows)
        db = sum(D[l - 1][m] for m in rows)
        if slip == "transposed gradient" and l == 1:
            dW = dW.copy()
            dW[0, 1], dW[1, 0] = dW[1, 0], dW[0, 1]
        grads[f"{l - 1}.W"], grads[f"{l - 1}.b"] = dW, db
        for i in range(dW.shape[0]):
            for j in range(dW.shape[1]):
                out[(f"dL/d{s('w', l, i, j)}", None)] = dW[i, j]
        for j in range(db.shape[0]):
            out[(f"dL/d{s('b', l, j)}", None)] = db[j]
    lr = opt["lr"]
    for l in (1, 2):
        for name, p in (("w", W[l - 1]), ("b", b[l - 1])):
            g_all = grads[f"{l - 1}.{name.upper() if name == 'w' else 'b'}"]
            for idx in np.ndindex(p.shape):
                sym = s(name, l, *idx)
                g = g_all[idx]
                rate = lr
                if slip == "forgot the learning rate" and (l, name, idx) == (1, "w", (0, 0)):
                    rate = 1.0
                if slip == "learning rate twice" and (l, name, idx) == (1, "w", (0, 0)):
                    rate = lr * lr
                sign = -1.0 if slip == "sign update" and (l, name, idx) == (1, "w", (0, 0)) else 1.0
                if opt["name"] == "adam":
                    b1, b2 = opt["betas"]
                    m1, v1 = (1 - b1) * g, (1 - b2) * g * g
                    out[(f"m[{sym}]", None)], out[(f"v[{sym}]", None)] = m1, v1
                    step = rate / (1 - b1) * m1 / (np.sqrt(v1) / np.sqrt(1 - b2) + opt["eps"])
                elif opt.get("momentum"):
                    out[(f"v[{sym}]", None)] = g  # the first step starts the velocity at the gradient
                    step = rate * g
                else:
                    step = rate * g
                out[(sym, None)] = p[idx] - sign * step
    return {key: float(v) for key, v in out.items()}
