"""The fixed twin of the gallery program derivative_missing.py: the same script with only the fix made.

The fix: `dh = (dout @ W2.T) * (1 - h ** 2)`.

Run it: python derivative_missing.py    Diagnose it: glassnet doctor derivative_missing.py
"""

import numpy as np


def forward(X, W1, b1, W2, b2):
    h = np.tanh(X @ W1 + b1)
    out = 1 / (1 + np.exp(-(h @ W2 + b2)))
    return h, out


def backward(X, y, h, out, W2):
    n = len(X)
    dout = (out - y) / n
    dW2 = h.T @ dout
    db2 = dout.sum(axis=0)
    dh = (dout @ W2.T) * (1 - h ** 2)
    dW1 = X.T @ dh
    db1 = dh.sum(axis=0)
    return dW1, db1, dW2, db2


def cross_entropy(y, out):
    return -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))


X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([[0], [1], [1], [0]], dtype=float)

rng = np.random.default_rng(5)
W1 = rng.normal(0, 1, (2, 3))
b1 = np.zeros(3)
W2 = rng.normal(0, 1, (3, 1))
b2 = np.zeros(1)
lr = 0.5

for epoch in range(5000):
    h, out = forward(X, W1, b1, W2, b2)
    loss = cross_entropy(y, out)
    dW1, db1, dW2, db2 = backward(X, y, h, out, W2)
    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2
    if epoch % 500 == 0:
        print(f"{epoch:5d} {loss:.5f}")
