# ruff: noqa
# XOR with a 2-4-1 sigmoid net, gradients summed over the rows, one update per epoch
import numpy as np

np.random.seed(1)
inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
targets = np.array([0, 1, 1, 0], dtype=float)

n_hidden = 4
W1 = np.random.randn(2, n_hidden) * 0.5
b1 = np.zeros(n_hidden)
W2 = np.random.randn(n_hidden) * 0.5      # one output unit, so a plain vector
b2 = 0.0


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(s):       # s is the sigmoid's output
    return s * (1 - s)


lr = 2.0
epochs = 20000
n = len(inputs)

for epoch in range(epochs):
    dW1 = np.zeros_like(W1)
    db1 = np.zeros_like(b1)
    dW2 = np.zeros_like(W2)
    db2 = 0.0
    total_error = 0.0
    for i in range(n):
        x = inputs[i]
        t = targets[i]
        h = sigmoid(x @ W1 + b1)
        o = sigmoid(h @ W2 + b2)
        total_error += (o - t) ** 2
        delta_o = (o - t) * sigmoid_prime(o)
        delta_h = delta_o * W2 * sigmoid_prime(h)
        dW2 = delta_o * h
        db2 += delta_o
        dW1 += np.outer(x, delta_h)
        db1 += delta_h
    W1 -= lr * dW1 / n
    b1 -= lr * db1 / n
    W2 -= lr * dW2 / n
    b2 -= lr * db2 / n
    mse = total_error / n
    if epoch % 1000 == 0:
        print(f"epoch {epoch}  mse {mse:.5f}")

for x in inputs:
    print(x, sigmoid(sigmoid(x @ W1 + b1) @ W2 + b2))
