# ruff: noqa
# 3-5-5-1 sigmoid network kept as lists of layers, full batch, nothing printed while training
import numpy as np

rng = np.random.default_rng(7)
X = rng.uniform(-1, 1, size=(64, 3))
y = (np.sin(2 * X[:, :1]) + X[:, 1:2] * X[:, 2:3] > 0).astype(float)

sizes = [3, 5, 5, 1]
weights = [rng.normal(0, 1 / np.sqrt(m), (m, n)) for m, n in zip(sizes[:-1], sizes[1:])]
biases = [np.zeros(n) for n in sizes[1:]]
lr = 0.8


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


for epoch in range(20000):
    activations = [X]
    for W, b in zip(weights, biases):
        activations.append(sigmoid(activations[-1] @ W + b))

    delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1]) / len(X)
    for l in range(len(weights) - 1, -1, -1):
        grad_W = activations[l].T @ delta
        grad_b = delta.sum(axis=0)
        weights[l] -= lr * grad_W
        biases[l] -= lr * grad_b
        if l > 0:
            delta = (delta @ weights[l].T) * activations[l] * (1 - activations[l])

a = X
for W, b in zip(weights, biases):
    a = sigmoid(a @ W + b)
print("training accuracy:", np.mean((a > 0.5) == y))
