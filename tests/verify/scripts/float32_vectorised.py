# ruff: noqa
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(20, 3)).astype(np.float32)
y = (X[:, :1] * X[:, 1:2] > 0).astype(np.float32)
W1 = (rng.normal(size=(3, 5)) * 0.5).astype(np.float32)
b1 = np.zeros((1, 5), np.float32)
W2 = (rng.normal(size=(5, 1)) * 0.5).astype(np.float32)
b2 = np.zeros((1, 1), np.float32)
lr = 0.5
def sigmoid(z):
    return 1 / (1 + np.exp(-z))
for epoch in range(10000):
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    z2 = a1 @ W2 + b2
    a2 = sigmoid(z2)
    loss = -np.mean(y * np.log(a2) + (1 - y) * np.log(1 - a2))
    dz2 = (a2 - y) / len(X)
    dW2 = a1.T @ dz2
    db2 = dz2.sum(axis=0)
    da1 = dz2 @ W2.T
    dz1 = da1 * (1 - a1 ** 2)
    dW1 = X.T @ dz1
    db1 = np.sum(dz1, axis=0)
    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2
    if epoch % 1000 == 0:
        print(f"epoch {epoch} loss {loss:.4f}")
