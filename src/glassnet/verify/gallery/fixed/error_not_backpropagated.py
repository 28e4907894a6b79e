"""The fixed twin of the gallery program error_not_backpropagated.py: the same script with only the fix made.

The fix: `delta = (delta @ weights[layer].T) * a * (1 - a)`.

Run it: python error_not_backpropagated.py    Diagnose it: glassnet doctor error_not_backpropagated.py
"""

import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)

sizes = [2, 4, 1]
rng = np.random.default_rng(6)
weights = [rng.normal(0, 1, (n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
biases = [np.zeros(n_out) for n_out in sizes[1:]]
learning_rate = 1.0


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


for epoch in range(5000):
    # forward: keep every layer's activation for the backward pass
    activations = [X]
    for W, b in zip(weights, biases):
        activations.append(sigmoid(activations[-1] @ W + b))
    out = activations[-1]
    loss = np.mean((out - Y) ** 2)

    # backward
    delta = 2 * (out - Y) / len(X) * out * (1 - out)
    grads_W = [None] * len(weights)
    grads_b = [None] * len(biases)
    for layer in reversed(range(len(weights))):
        grads_W[layer] = activations[layer].T @ delta
        grads_b[layer] = delta.sum(axis=0)
        if layer > 0:
            a = activations[layer]
            delta = (delta @ weights[layer].T) * a * (1 - a)

    for i in range(len(weights)):
        weights[i] -= learning_rate * grads_W[i]
        biases[i] -= learning_rate * grads_b[i]

    if epoch % 500 == 0:
        print(f"epoch {epoch}  loss {loss:.4f}")
