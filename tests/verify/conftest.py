"""A small two-layer model written the way a user would, with its gradient derived by hand.

H = tanh(X @ W1 + b1), O = H @ W2 + b2, loss = mean over all entries of (O - Y)**2.
dO = 2 (O - Y) / O.size; dW2 = H.T @ dO; db2 = dO.sum(0); dH = dO @ W2.T; dZ = dH * (1 - H**2);
dW1 = X.T @ dZ; db1 = dZ.sum(0).
"""

import numpy as np
import pytest


class Model:
    def __init__(self, seed=0, n=5):
        rng = np.random.default_rng(seed)
        self.X = rng.normal(size=(n, 3))
        self.Y = rng.normal(size=(n, 2))
        self.params = {"W1": rng.normal(size=(3, 3)), "b1": rng.normal(size=3) * 0.1,
                       "W2": rng.normal(size=(3, 2)), "b2": rng.normal(size=2) * 0.1}

    def loss(self, p):
        H = np.tanh(self.X @ p["W1"] + p["b1"])
        return float(np.mean((H @ p["W2"] + p["b2"] - self.Y) ** 2))

    def grads(self, p):
        H = np.tanh(self.X @ p["W1"] + p["b1"])
        O = H @ p["W2"] + p["b2"]
        dO = 2 * (O - self.Y) / O.size
        dZ = (dO @ p["W2"].T) * (1 - H**2)
        return {"W1": self.X.T @ dZ, "b1": dZ.sum(0), "W2": H.T @ dO, "b2": dO.sum(0)}


@pytest.fixture
def model():
    return Model()
