"""The output weights' gradient is overwritten in the row loop instead of summed: only the last row counts.

The bug: `grad_w_out = delta_out * hidden` assigns each row's gradient to `grad_w_out`, so after the
row loop it holds the gradient of the last row alone, while `grad_b_out`, `grad_W_hidden` and
`grad_b_hidden` (written with `+=`) hold the sum over all four rows. The output weights follow one
row of the data (x = [1, 1], target 0): the loss sits on a plateau near 0.27 until after epoch 2000,
where the fixed script is at 0.014 by epoch 1000.

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
        grad_w_out = delta_out * hidden
        grad_b_out += delta_out
        grad_W_hidden += np.outer(x, delta_hidden)
        grad_b_hidden += delta_hidden
    W_hidden -= lr * grad_W_hidden
    b_hidden -= lr * grad_b_hidden
    w_out -= lr * grad_w_out
    b_out -= lr * grad_b_out
    if epoch % 1000 == 0:
        print(f"epoch {epoch}: loss {loss:.4f}")
