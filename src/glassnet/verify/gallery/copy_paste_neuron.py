"""One variable per weight, and a copy-paste slip in hidden neuron 3: it uses neuron 2's output.

Written the way many first networks are: every weight its own number (w13 connects input 1 to
hidden neuron 3, v3 connects neuron 3 to the output, b3 is its bias, c the output's bias).
The bug: delta3 was copied from delta2 and still uses h2 in the sigmoid derivative.
The fix: delta3 = delta_out * v3 * h3 * (1 - h3).
"""

import numpy as np
from _xor import T, X, lr, n_samples, sigmoid

NAMES = ["w11", "w21", "b1", "w12", "w22", "b2", "w13", "w23", "b3", "v1", "v2", "v3", "c"]


def params():
    values = np.random.default_rng(2).normal(0, 1, len(NAMES))
    return dict(zip(NAMES, values))


def neurons(p, x1, x2):
    h1 = sigmoid(p["w11"] * x1 + p["w21"] * x2 + p["b1"])
    h2 = sigmoid(p["w12"] * x1 + p["w22"] * x2 + p["b2"])
    h3 = sigmoid(p["w13"] * x1 + p["w23"] * x2 + p["b3"])
    o = sigmoid(p["v1"] * h1 + p["v2"] * h2 + p["v3"] * h3 + p["c"])
    return h1, h2, h3, o


def loss(p):
    cost = 0.0
    for (x1, x2), t in zip(X, T):
        o = neurons(p, x1, x2)[3]
        cost += (t - o) ** 2
    return cost / n_samples


def gradients(p):
    d = dict.fromkeys(NAMES, 0.0)
    for (x1, x2), t in zip(X, T):
        h1, h2, h3, o = neurons(p, x1, x2)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta1 = delta_out * p["v1"] * h1 * (1 - h1)
        delta2 = delta_out * p["v2"] * h2 * (1 - h2)
        delta3 = delta_out * p["v3"] * h2 * (1 - h2)      # BUG: copied from delta2, should use h3
        d["v1"] += delta_out * h1
        d["v2"] += delta_out * h2
        d["v3"] += delta_out * h3
        d["c"] += delta_out
        d["w11"] += delta1 * x1
        d["w21"] += delta1 * x2
        d["b1"] += delta1
        d["w12"] += delta2 * x1
        d["w22"] += delta2 * x2
        d["b2"] += delta2
        d["w13"] += delta3 * x1
        d["w23"] += delta3 * x2
        d["b3"] += delta3
    return d


if __name__ == "__main__":
    p = params()
    for epoch in range(5001):
        if epoch % 1000 == 0:
            print(f"epoch {epoch:5d}  cost {loss(p):.4f}")
        d = gradients(p)
        for name in NAMES:
            p[name] -= lr * d[name]
