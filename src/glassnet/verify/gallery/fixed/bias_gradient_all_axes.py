"""The fixed twin of the gallery program bias_gradient_all_axes.py: the same script with only the fix made.

The fix: `db1 = np.sum(dZ1, axis=0) / m`.

Run it: python bias_gradient_all_axes.py    Diagnose it: glassnet doctor bias_gradient_all_axes.py
"""

import numpy as np

# three classes of 20 points each, around three centres
rng = np.random.default_rng(0)
centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
X = np.vstack([c + rng.normal(0, 1.0, (20, 2)) for c in centres])
labels = np.repeat([0, 1, 2], 20)
Y = np.eye(3)[labels]
m = len(X)

W1 = 0.5 * rng.standard_normal((2, 5))
b1 = np.zeros(5)
W2 = 0.5 * rng.standard_normal((5, 3))
b2 = np.zeros(3)
lr = 0.5


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


for epoch in range(3000):
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    P = softmax(A1 @ W2 + b2)
    loss = -np.mean(np.sum(Y * np.log(P), axis=1))

    dZ2 = P - Y
    dW2 = A1.T @ dZ2 / m
    db2 = np.sum(dZ2, axis=0) / m
    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
    dW1 = X.T @ dZ1 / m
    db1 = np.sum(dZ1, axis=0) / m

    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2

    if epoch % 300 == 0:
        accuracy = np.mean(P.argmax(axis=1) == labels)
        print(f"epoch {epoch}: loss {loss:.4f}, accuracy {accuracy:.0%}")
