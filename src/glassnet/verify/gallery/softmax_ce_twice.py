"""Softmax + cross-entropy: the softmax derivative is applied again after the fused delta p - y.

A 2-3-2 network whose softmax output gives the probabilities of class 0 and class 1.
The bug: for softmax with cross-entropy, dcost/dz = (p - y) already includes the softmax's
derivative; multiplying by p * (1 - p) applies it a second time.
The fix: delta_out = (p - y) / n_samples.
"""

import numpy as np
from _xor import T, X, n_samples, sigmoid

lr = 0.5
Y = np.eye(2)[T.astype(int)]      # one-hot targets: class 0 -> [1, 0], class 1 -> [0, 1]


def params():
    rng = np.random.default_rng(1)
    return {"weights_hidden": rng.normal(0, 1, (2, 3)), "bias_hidden": np.zeros(3),
            "weights_out": rng.normal(0, 1, (3, 2)), "bias_out": np.zeros(2)}


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def loss(p):
    cost = 0.0
    for x, y in zip(X, Y):
        h = sigmoid(x @ p["weights_hidden"] + p["bias_hidden"])
        prob = softmax(h @ p["weights_out"] + p["bias_out"])
        cost += -np.sum(y * np.log(prob))
    return cost / n_samples


def gradients(p):
    d = {name: np.zeros_like(value) for name, value in p.items()}
    for x, y in zip(X, Y):
        h = sigmoid(x @ p["weights_hidden"] + p["bias_hidden"])
        prob = softmax(h @ p["weights_out"] + p["bias_out"])
        delta_out = (prob - y) / n_samples * prob * (1 - prob)     # BUG: * prob * (1 - prob) again
        delta_hidden = (p["weights_out"] @ delta_out) * h * (1 - h)
        d["weights_out"] += np.outer(h, delta_out)
        d["bias_out"] += delta_out
        d["weights_hidden"] += np.outer(x, delta_hidden)
        d["bias_hidden"] += delta_hidden
    return d


if __name__ == "__main__":
    p = params()
    for epoch in range(2001):
        if epoch % 500 == 0:
            print(f"epoch {epoch:5d}  cost {loss(p):.4f}")
        d = gradients(p)
        for name in p:
            p[name] -= lr * d[name]
