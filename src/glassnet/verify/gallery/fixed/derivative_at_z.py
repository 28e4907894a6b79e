"""The fixed twin of the gallery program derivative_at_z.py: the same script with only the fix made.

The fix: `d1 = d2.dot(W2.T) * sigmoid_derivative(a1)`.

Run it: python derivative_at_z.py    Diagnose it: glassnet doctor derivative_at_z.py
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(s):
    # the slope of the sigmoid, in terms of its output s = sigmoid(x)
    return s * (1 - s)


X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([[0], [1], [1], [0]])

np.random.seed(0)
W1 = np.random.uniform(-1, 1, (2, 4))
b1 = np.zeros(4)
W2 = np.random.uniform(-1, 1, (4, 1))
b2 = np.zeros(1)
lr = 1.0

for epoch in range(10000):
    z1 = X.dot(W1) + b1
    a1 = sigmoid(z1)
    z2 = a1.dot(W2) + b2
    a2 = sigmoid(z2)
    mse = np.mean((a2 - y) ** 2)

    d2 = (a2 - y) * sigmoid_derivative(a2)
    d1 = d2.dot(W2.T) * sigmoid_derivative(a1)

    W2 -= lr * a1.T.dot(d2)
    b2 -= lr * d2.sum(axis=0)
    W1 -= lr * X.T.dot(d1)
    b1 -= lr * d1.sum(axis=0)

    if epoch % 1000 == 0:
        print("epoch", epoch, "mse", mse)
