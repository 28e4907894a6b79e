"""The fixed twin of the gallery program gradient_never_accumulated.py: the same script with only the fix made.

The fix: `grad_w_out += delta_out * hidden`, like the other gradients.

Run it: python gradient_never_accumulated.py    Diagnose it: glassnet doctor gradient_never_accumulated.py
"""

import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0], dtype=float)

rng = np.random.default_rng(3)
W_hidden = rng.normal(0, 1, (2, 3))
b_hidden = np.zeros(3)
w_out = rng.normal(0, 1, 3)
b_out = 0.0
lr = 0.5
epochs = 10000


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


for epoch in range(epochs):
    grad_W_hidden = np.zeros((2, 3))
    grad_b_hidden = np.zeros(3)
    grad_w_out = np.zeros(3)
    grad_b_out = 0.0
    loss = 0.0
    for x, target in zip(X, y):
        hidden = sigmoid(x @ W_hidden + b_hidden)
        out = sigmoid(hidden @ w_out + b_out)
        loss += 0.5 * (out - target) ** 2
        delta_out = (out - target) * out * (1 - out)
        delta_hidden = delta_out * w_out * hidden * (1 - hidden)
        grad_w_out += delta_out * hidden
        grad_b_out += delta_out
        grad_W_hidden += np.outer(x, delta_hidden)
        grad_b_hidden += delta_hidden
    W_hidden -= lr * grad_W_hidden
    b_hidden -= lr * grad_b_hidden
    w_out -= lr * grad_w_out
    b_out -= lr * grad_b_out
    if epoch % 1000 == 0:
        print(f"epoch {epoch}: loss {loss:.4f}")
