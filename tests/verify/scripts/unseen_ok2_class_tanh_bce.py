# ruff: noqa
import numpy as np


class NeuralNetwork:
    def __init__(self, n_input, n_hidden, n_output, learning_rate=0.1, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = rng.standard_normal((n_input, n_hidden)) * np.sqrt(1.0 / n_input)
        self.b1 = np.zeros((1, n_hidden))
        self.W2 = rng.standard_normal((n_hidden, n_output)) * np.sqrt(1.0 / n_hidden)
        self.b2 = np.zeros((1, n_output))
        self.lr = learning_rate

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def forward(self, X):
        self.z1 = X @ self.W1 + self.b1
        self.a1 = np.tanh(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.a2 = self.sigmoid(self.z2)
        return self.a2

    def compute_loss(self, y, y_hat):
        eps = 1e-12
        y_hat = np.clip(y_hat, eps, 1 - eps)
        return -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))

    def backward(self, X, y):
        m = X.shape[0]
        dz2 = (self.a2 - y) / m
        dW2 = self.a1.T @ dz2
        db2 = np.sum(dz2, axis=0, keepdims=True)
        da1 = dz2 @ self.W2.T
        dz1 = da1 * (1 - self.a1 ** 2)
        dW1 = X.T @ dz1
        db1 = np.sum(dz1, axis=0, keepdims=True)

        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1

    def train(self, X, y, epochs=5000):
        for epoch in range(epochs):
            y_hat = self.forward(X)
            loss = self.compute_loss(y, y_hat)
            self.backward(X, y)
            if epoch % 1000 == 0:
                print(f"Epoch {epoch}, loss: {loss:.4f}")

    def predict(self, X):
        return (self.forward(X) > 0.5).astype(int)


if __name__ == "__main__":
    rng = np.random.default_rng(42)
    X = rng.uniform(-1, 1, (200, 2))
    y = (np.linalg.norm(X, axis=1) < 0.6).astype(float).reshape(-1, 1)
    nn = NeuralNetwork(2, 8, 1, learning_rate=0.5)
    nn.train(X, y, epochs=8000)
    print("accuracy:", np.mean(nn.predict(X) == y))
