"""The fixed twin of the gallery program activation_overwritten.py: the same script with only the fix made.

The fix: keep the activation and name the slope: `slope = h * (1 - h)` and
`delta_h = (w_output.T @ delta_o) * slope`.

Run it: python activation_overwritten.py    Diagnose it: glassnet doctor activation_overwritten.py
"""

import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
T = np.array([0, 1, 1, 0], dtype=float)

np.random.seed(7)
# weights are (n_out, n_in): row j holds the weights into unit j; inputs are column vectors
w_hidden = np.random.uniform(-1, 1, (3, 2))
b_hidden = np.random.uniform(-1, 1, (3, 1))
w_output = np.random.uniform(-1, 1, (1, 3))
b_output = np.random.uniform(-1, 1, (1, 1))
eta = 0.5


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


for epoch in range(5000):
    error_sum = 0.0
    for x, t in zip(X, T):
        x = x.reshape(2, 1)
        h = sigmoid(w_hidden @ x + b_hidden)
        o = sigmoid(w_output @ h + b_output)
        error_sum += np.sum((o - t) ** 2)

        delta_o = (o - t) * o * (1 - o)
        slope = h * (1 - h)
        delta_h = (w_output.T @ delta_o) * slope

        w_output -= eta * delta_o @ h.T
        b_output -= eta * delta_o
        w_hidden -= eta * delta_h @ x.T
        b_hidden -= eta * delta_h
    if epoch % 500 == 0:
        print("epoch", epoch, "error", error_sum / 4)
