"""The output weights are updated before the hidden error is sent back through them.

The bug: `W2 -= lr * A1.T @ dZ2` comes before `dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)`, so the hidden
layer's error goes back through the *new* W2, not the W2 that produced the output. Every line is
right on its own; only the order is wrong. W1 and b1 then get the gradient of a network that never
ran, off by a term proportional to lr. On XOR the printed loss hardly shows it (it ends level with
the fixed script's), which is how such a bug survives until a network where it matters.

The fix: compute `dZ1` first (or keep the old W2), then update W2 and b2.

Run it: python update_before_backprop.py    Diagnose it: glassnet doctor update_before_backprop.py
"""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def train(X, y, hidden=4, epochs=5000, lr=2.0, seed=0):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0, 1, (X.shape[1], hidden))
    b1 = np.zeros(hidden)
    W2 = rng.normal(0, 1, (hidden, 1))
    b2 = np.zeros(1)
    for epoch in range(epochs):
        A1 = sigmoid(X @ W1 + b1)
        A2 = sigmoid(A1 @ W2 + b2)
        loss = np.mean((A2 - y) ** 2)

        dZ2 = 2 * (A2 - y) / len(X) * A2 * (1 - A2)
        W2 -= lr * A1.T @ dZ2
        b2 -= lr * dZ2.sum(axis=0)
        dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
        W1 -= lr * X.T @ dZ1
        b1 -= lr * dZ1.sum(axis=0)

        if epoch % 500 == 0:
            print(epoch, round(loss, 5))
    return W1, b1, W2, b2


if __name__ == "__main__":
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]])
    W1, b1, W2, b2 = train(X, y)
    print(sigmoid(sigmoid(X @ W1 + b1) @ W2 + b2).round(2).ravel())
