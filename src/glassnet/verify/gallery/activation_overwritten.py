"""The hidden activations are overwritten in place by their derivative, then used as activations.

The bug: `h *= 1 - h` turns `h` into the sigmoid's slope h (1 - h) in place, to reuse the array.
That is right for `delta_h`, but the next line's `w_output -= eta * delta_o @ h.T` needs the hidden
layer's *output*, which no longer exists. The output weights get the gradient of the wrong
activations; everything else is right. The error stops falling early and levels off far above the
fixed script's.

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
        h *= 1 - h
        delta_h = (w_output.T @ delta_o) * h

        w_output -= eta * delta_o @ h.T
        b_output -= eta * delta_o
        w_hidden -= eta * delta_h @ x.T
        b_hidden -= eta * delta_h
    if epoch % 500 == 0:
        print("epoch", epoch, "error", error_sum / 4)
