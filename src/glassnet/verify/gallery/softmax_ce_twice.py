"""Softmax with cross-entropy: the softmax's derivative is multiplied in again after the delta P - Y.

The bug: for a softmax output with the cross-entropy loss, the gradient with respect to the scores
is `(P - Y) / n`: the softmax's derivative is already in it. `dZ2 = (P - Y) / n * P * (1 - P)`
multiplies by (the diagonal of) that derivative a second time. Every parameter gets a wrong
gradient, by a factor that differs from example to example and shrinks as P approaches 0 or 1, so
the loss falls more and more slowly. (With two classes, as here, the result is exactly the gradient of
the squared error of P: the updates descend another cost than the cross-entropy the loop prints.)

The fix: `dZ2 = (P - Y) / n`.

Run it: python softmax_ce_twice.py    Diagnose it: glassnet doctor softmax_ce_twice.py
"""

import numpy as np


def init_params(n_in, n_hidden, n_out, seed=1):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 1, (n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": rng.normal(0, 1, (n_hidden, n_out)), "b2": np.zeros(n_out)}


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def forward(params, X):
    H = 1 / (1 + np.exp(-(X @ params["W1"] + params["b1"])))
    P = softmax(H @ params["W2"] + params["b2"])
    return H, P


def cross_entropy(P, Y):
    return -np.mean(np.sum(Y * np.log(P), axis=1))


def backward(params, X, Y, H, P):
    n = len(X)
    dZ2 = (P - Y) / n * P * (1 - P)
    dH = dZ2 @ params["W2"].T
    dZ1 = dH * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}


X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
labels = np.array([0, 1, 1, 0])
Y = np.eye(2)[labels]          # one-hot: class 0 -> [1, 0], class 1 -> [0, 1]

params = init_params(2, 3, 2)
lr = 1.0
for epoch in range(5000):
    H, P = forward(params, X)
    loss = cross_entropy(P, Y)
    grads = backward(params, X, Y, H, P)
    for key in params:
        params[key] -= lr * grads[key]
    if epoch % 500 == 0:
        print(f"epoch {epoch:5d}   cross-entropy {loss:.4f}")
