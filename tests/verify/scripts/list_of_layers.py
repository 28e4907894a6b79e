# ruff: noqa
import numpy as np
np.random.seed(0)
sizes = [2, 4, 3, 1]
weights = [np.random.randn(m, n) * 0.7 for m, n in zip(sizes[:-1], sizes[1:])]
biases = [np.zeros(n) for n in sizes[1:]]
X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
Y = np.array([[0.], [1.], [1.], [0.]])
eta = 0.8
def sig(z): return 1 / (1 + np.exp(-z))
for epoch in range(20000):
    acts = [X]
    for W, b in zip(weights, biases):
        acts.append(sig(acts[-1] @ W + b))
    error = 0.5 * np.sum((acts[-1] - Y) ** 2)
    delta = (acts[-1] - Y) * acts[-1] * (1 - acts[-1])
    grads_w, grads_b = [], []
    for l in range(len(weights) - 1, -1, -1):
        grads_w.insert(0, acts[l].T @ delta)
        grads_b.insert(0, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ weights[l].T) * acts[l] * (1 - acts[l])
    for l in range(len(weights)):
        weights[l] -= eta * grads_w[l]
        biases[l] -= eta * grads_b[l]
    if epoch % 2000 == 0:
        print(epoch, error)
