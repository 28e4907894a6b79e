"""The fixed twin of the gallery program sign_flipped_update.py: the same script with only the fix made.

The fix: `self.b2 -= self.lr * db2`.

Run it: python sign_flipped_update.py    Diagnose it: glassnet doctor sign_flipped_update.py
"""

import numpy as np


class NeuralNetwork:
    def __init__(self, n_input, n_hidden, n_output, learning_rate=0.5, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(0, 1, (n_input, n_hidden))
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(0, 1, (n_hidden, n_output))
        self.b2 = np.zeros(n_output)
        self.lr = learning_rate

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def forward(self, X):
        self.z1 = X @ self.W1 + self.b1
        self.a1 = self.sigmoid(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.a2 = self.sigmoid(self.z2)
        return self.a2

    def backward(self, X, y):
        m = X.shape[0]
        dz2 = 2 * (self.a2 - y) * self.a2 * (1 - self.a2)
        dW2 = self.a1.T @ dz2 / m
        db2 = dz2.sum(axis=0) / m
        dz1 = dz2 @ self.W2.T * self.a1 * (1 - self.a1)
        dW1 = X.T @ dz1 / m
        db1 = dz1.sum(axis=0) / m
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1

    def train(self, X, y, epochs=10000):
        for epoch in range(epochs):
            output = self.forward(X)
            loss = np.mean((y - output) ** 2)
            self.backward(X, y)
            if epoch % 1000 == 0:
                print(f"Epoch {epoch}, Loss: {loss:.4f}")


X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([[0], [1], [1], [0]])

nn = NeuralNetwork(2, 4, 1)
nn.train(X, y)
print("predictions:", nn.forward(X).ravel().round(3))
