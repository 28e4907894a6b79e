"""The fixed twin of the gallery program sum_vs_mean.py: the same script with only the fix made.

The fix: `db2 = (1 / m) * np.sum(dZ2, axis=0, keepdims=True)`, like `db1`.

Run it: python sum_vs_mean.py    Diagnose it: glassnet doctor sum_vs_mean.py
"""

import numpy as np

# four noisy clusters labelled like XOR
rng = np.random.default_rng(0)
corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
X = np.repeat(corners, 25, axis=0) + 0.1 * rng.standard_normal((100, 2))
Y = np.repeat(np.array([[0.0], [1.0], [1.0], [0.0]]), 25, axis=0)
m = X.shape[0]

np.random.seed(2)
W1 = np.random.randn(2, 4)
b1 = np.zeros((1, 4))
W2 = np.random.randn(4, 1)
b2 = np.zeros((1, 1))
learning_rate = 1.0
num_iterations = 5000


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


for i in range(num_iterations):
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    Z2 = A1 @ W2 + b2
    A2 = sigmoid(Z2)
    cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))

    dZ2 = A2 - Y
    dW2 = (1 / m) * A1.T @ dZ2
    db2 = (1 / m) * np.sum(dZ2, axis=0, keepdims=True)
    dZ1 = (dZ2 @ W2.T) * (1 - A1 ** 2)
    dW1 = (1 / m) * X.T @ dZ1
    db1 = (1 / m) * np.sum(dZ1, axis=0, keepdims=True)

    W1 = W1 - learning_rate * dW1
    b1 = b1 - learning_rate * db1
    W2 = W2 - learning_rate * dW2
    b2 = b2 - learning_rate * db2

    if i % 500 == 0:
        print(f"Cost after iteration {i}: {cost:.6f}")
