# ruff: noqa
import numpy as np

X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
y = np.array([[0.], [1.], [1.], [0.]])
rng = np.random.default_rng(0)
W1 = rng.normal(0, 1, (2, 3))
b1 = np.zeros(3)
W2 = rng.normal(0, 1, (3, 1))
b2 = np.zeros(1)
lr = 0.5


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


order = [0, 1, 2, 3]
for epoch in range(5000):
    np.random.shuffle(order)
    Xs = X[order]
    a1 = sigmoid(X @ W1 + b1)
    out = sigmoid(a1 @ W2 + b2)
    loss = np.mean((out - y) ** 2)
    d2 = 2 * (out - y) / len(X) * out * (1 - out)
    dW2 = a1.T @ d2
    db2 = d2.sum(axis=0)
    d1 = d2 @ W2.T * a1 * (1 - a1)
    dW1 = X.T @ d1
    db1 = d1.sum(axis=0)
    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2
    if epoch % 1000 == 0:
        print(epoch, loss)
