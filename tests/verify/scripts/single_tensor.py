# ruff: noqa
import numpy as np
rng = np.random.default_rng(2)
X = rng.normal(size=(50, 4)); true_w = np.array([1.0, -2.0, 0.5, 3.0]); y = X @ true_w + 0.1 * rng.normal(size=50)
w = np.zeros(4)
alpha = 0.01
for i in range(5000):
    pred = X.dot(w)
    J = np.sum((pred - y) ** 2) / (2 * len(y))
    grad = X.T.dot(pred - y)
    w = w - alpha * grad
    if i % 500 == 0:
        print(i, J)
