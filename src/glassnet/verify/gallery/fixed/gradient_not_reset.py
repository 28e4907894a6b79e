"""The fixed twin of the gallery program gradient_not_reset.py: the same script with only the fix made.

The fix: set the four accumulators to zero at the start of every epoch, inside the epoch loop.

Run it: python gradient_not_reset.py    Diagnose it: glassnet doctor gradient_not_reset.py
"""

import numpy as np

# XOR
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
Y = np.array([[0], [1], [1], [0]])

np.random.seed(42)
W1 = np.random.randn(2, 4)
b1 = np.zeros(4)
W2 = np.random.randn(4, 1)
b2 = np.zeros(1)
alpha = 0.1


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


for epoch in range(10000):
    dW1 = np.zeros_like(W1)
    db1 = np.zeros_like(b1)
    dW2 = np.zeros_like(W2)
    db2 = np.zeros_like(b2)
    cost = 0
    for i in range(len(X)):
        x = X[i]
        t = Y[i]
        h = sigmoid(x @ W1 + b1)
        o = sigmoid(h @ W2 + b2)
        cost += np.sum((o - t) ** 2) / 2
        do = (o - t) * o * (1 - o)
        dh = (W2 @ do) * h * (1 - h)
        dW2 += np.outer(h, do)
        db2 += do
        dW1 += np.outer(x, dh)
        db1 += dh
    W1 -= alpha * dW1
    b1 -= alpha * db1
    W2 -= alpha * dW2
    b2 -= alpha * db2
    if epoch % 1000 == 0:
        print("epoch", epoch, "cost", cost)
