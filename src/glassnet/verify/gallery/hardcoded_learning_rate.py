# ruff: noqa
"""One update line has its learning rate written in as a number, not the `learning_rate` variable.

The bug: `b1 -= 0.01 * db1` while the other three lines use `learning_rate` (= 0.5). The hidden
biases learn 50 times more slowly than everything else, and changing `learning_rate` (the first
thing anyone tries when training is slow) never reaches them. Here the loss still falls, a little more
slowly than with the fix, so only reading the update lines one by one would show it.

The fix: `b1 -= learning_rate * db1`.

Run it: python hardcoded_learning_rate.py    Diagnose it: glassnet doctor hardcoded_learning_rate.py
"""

import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([[0], [1], [1], [0]], dtype=float)
n = len(X)

np.random.seed(3)
W1 = np.random.randn(2, 3) * 0.8
b1 = np.zeros((1, 3))
W2 = np.random.randn(3, 1) * 0.8
b2 = np.zeros((1, 1))
learning_rate = 0.5

for epoch in range(6000):
    # forward
    hidden = np.tanh(X @ W1 + b1)
    output = 1 / (1 + np.exp(-(hidden @ W2 + b2)))
    loss = np.mean((output - y) ** 2)

    # backward
    d_output = 2 * (output - y) / n * output * (1 - output)
    dW2 = hidden.T @ d_output
    db2 = np.sum(d_output, axis=0, keepdims=True)
    d_hidden = d_output @ W2.T * (1 - hidden ** 2)
    dW1 = X.T @ d_hidden
    db1 = np.sum(d_hidden, axis=0, keepdims=True)

    # update
    W1 -= learning_rate * dW1
    b1 -= 0.01 * db1
    W2 -= learning_rate * dW2
    b2 -= learning_rate * db2

    if epoch % 1000 == 0:
        print("epoch %d loss %.4f" % (epoch, loss))
