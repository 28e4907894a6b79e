"""The fixed twin of the gallery program update_before_backprop.py: the same script with only the fix made.

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
        dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
        W2 -= lr * A1.T @ dZ2
        b2 -= lr * dZ2.sum(axis=0)
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
