"""The first layer's weight gradient is the transpose of the right one (it runs because W1 is square).

The bug: with `Z1 = X @ W1 + b1` and W1 of shape (n_in, n_hidden), the gradient is `X.T @ dz1`.
`dW1 = dz1.T @ X` has shape (n_hidden, n_in): the transpose. Here n_in = n_hidden = 3, so the shapes
agree, nothing raises, and each weight gets the gradient of its mirror image across the diagonal.
The loss stalls near 0.65 (accuracy about 60%); with the fix it falls to about 0.02 (accuracy 100%).

The fix: `dW1 = X.T @ dz1`.

Run it: python weight_gradient_transposed.py    Diagnose it: glassnet doctor weight_gradient_transposed.py
"""

import numpy as np

# 60 points in 3-D; the class is XOR of the signs of the first two coordinates, the third is noise
rng = np.random.default_rng(4)
X = rng.normal(0.0, 1.0, (60, 3))
y = (X[:, :1] * X[:, 1:2] > 0).astype(float)

n_in, n_hidden, n_out = 3, 3, 1
W1 = rng.normal(0, 0.5, (n_in, n_hidden))
b1 = np.zeros(n_hidden)
W2 = rng.normal(0, 0.5, (n_hidden, n_out))
b2 = np.zeros(n_out)
lr = 0.5

for epoch in range(5000):
    h = np.tanh(X @ W1 + b1)
    p = 1 / (1 + np.exp(-(h @ W2 + b2)))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    dz2 = (p - y) / len(X)
    dW2 = h.T @ dz2
    db2 = dz2.sum(axis=0)
    dz1 = (dz2 @ W2.T) * (1 - h ** 2)
    dW1 = dz1.T @ X
    db1 = dz1.sum(axis=0)

    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2

    if epoch % 500 == 0:
        accuracy = np.mean((p > 0.5) == y)
        print(f"epoch {epoch:4d}  loss {loss:.4f}  accuracy {accuracy:.2f}")
