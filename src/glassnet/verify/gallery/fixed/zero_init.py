# ruff: noqa
"""The fixed twin of the gallery program zero_init.py: the same script with only the fix made.

The fix: start the weights at small random values, e.g. `0.5 * rng.standard_normal((input_size,
hidden_size))` (and the same for W2); zeros are fine for the biases.

Run it: python zero_init.py    Diagnose it: glassnet doctor zero_init.py
"""

import numpy as np


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size):
        rng = np.random.default_rng(0)
        self.params = {}
        self.params["W1"] = 0.5 * rng.standard_normal((input_size, hidden_size))
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = 0.5 * rng.standard_normal((hidden_size, output_size))
        self.params["b2"] = np.zeros(output_size)

    def loss(self, X, y):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N = X.shape[0]

        h = 1 / (1 + np.exp(-(X @ W1 + b1)))
        p = 1 / (1 + np.exp(-(h @ W2 + b2)))
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

        grads = {}
        dscores = (p - y) / N
        grads["W2"] = h.T @ dscores
        grads["b2"] = dscores.sum(axis=0)
        dh = dscores @ W2.T * h * (1 - h)
        grads["W1"] = X.T @ dh
        grads["b1"] = dh.sum(axis=0)
        return loss, grads

    def train(self, X, y, learning_rate=1.0, num_iters=5000, verbose=False):
        loss_history = []
        for it in range(num_iters):
            loss, grads = self.loss(X, y)
            loss_history.append(loss)
            for name in self.params:
                self.params[name] -= learning_rate * grads[name]
            if verbose and it % 500 == 0:
                print("iteration %d / %d: loss %f" % (it, num_iters, loss))
        return loss_history


# XOR with noise: 40 points around the corners of the unit square
rng = np.random.default_rng(1)
corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
counts = [12, 8, 8, 12]
X = np.repeat(corners, counts, axis=0) + 0.1 * rng.standard_normal((40, 2))
y = np.repeat([[0.0], [1.0], [1.0], [0.0]], counts, axis=0)

net = TwoLayerNet(2, 4, 1)
history = net.train(X, y, verbose=True)
print("hidden weights after training:")
print(net.params["W1"])
