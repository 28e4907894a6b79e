# ruff: noqa
# iris-like data, 4-4-3 relu/softmax net, L2 weight decay, run until the cost stops changing
import numpy as np

rng = np.random.RandomState(0)
n = 120
means = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
labels = rng.randint(0, 3, n)
X = means[labels] + rng.randn(n, 4) * 0.35
X = (X - X.mean(axis=0)) / X.std(axis=0)
Y = np.eye(3)[labels]

W1 = rng.randn(4, 4) * 0.5
b1 = np.zeros(4)
W2 = rng.randn(4, 3) * 0.5
b2 = np.zeros(3)
lr = 0.1
lam = 1e-3

prev_cost = np.inf
it = 0
while True:
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0)
    scores = H @ W2 + b2
    scores -= scores.max(axis=1, keepdims=True)
    P = np.exp(scores)
    P /= P.sum(axis=1, keepdims=True)
    data_loss = -np.mean(np.sum(Y * np.log(P), axis=1))
    reg_loss = 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))
    cost = data_loss + reg_loss

    dscores = (P - Y) / n
    dW2 = H.T @ dscores + lam * W2
    db2 = dscores.sum(axis=0)
    dH = dscores @ W2.T
    dH[Z1 <= 0] = 0
    dW1 = X.T @ dH + lam * W1
    db1 = dH.sum(axis=0)

    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2

    if it % 1000 == 0:
        print("iter %d: cost %.6f" % (it, cost))
    if abs(prev_cost - cost) < 1e-7 or it >= 50000:
        break
    prev_cost = cost
    it += 1

pred = np.argmax(np.maximum(X @ W1 + b1, 0) @ W2 + b2, axis=1)
print("stopped after", it, "iterations; accuracy", np.mean(pred == labels))
