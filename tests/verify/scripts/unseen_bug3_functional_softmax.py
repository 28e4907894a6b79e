# ruff: noqa
# 3 blobs, 2-16-3 relu/softmax net, column layout (features x examples), mini-batches
import numpy as np

np.random.seed(42)


def make_data(n_per_class=50):
    centers = np.array([[0, 0], [3, 3], [0, 4]])
    X = np.vstack([np.random.randn(n_per_class, 2) * 0.8 + c for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return X.T, y


def one_hot(y, k):
    Y = np.zeros((k, y.size))
    Y[y, np.arange(y.size)] = 1
    return Y


def init_params(n_x, n_h, n_y):
    W1 = np.random.randn(n_h, n_x) * np.sqrt(2.0 / n_x)
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * np.sqrt(2.0 / n_h)
    b2 = np.zeros((n_y, 1))
    return W1, b1, W2, b2


def relu(Z):
    return np.maximum(0, Z)


def softmax(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def forward(X, W1, b1, W2, b2):
    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = softmax(Z2)
    return Z1, A1, A2


def cross_entropy(A2, Y):
    m = Y.shape[1]
    return -np.sum(Y * np.log(A2 + 1e-9)) / m


def backward(X, Y, Z1, A1, A2, W2):
    m = X.shape[1]
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1) / m
    return dW1, db1, dW2, db2


def update(W1, b1, W2, b2, dW1, db1, dW2, db2, lr):
    W1 = W1 - lr * dW1
    b1 = b1 - lr * db1
    W2 = W2 - lr * dW2
    b2 = b2 - lr * db2
    return W1, b1, W2, b2


def accuracy(X, y, W1, b1, W2, b2):
    _, _, A2 = forward(X, W1, b1, W2, b2)
    return np.mean(np.argmax(A2, axis=0) == y)


X, y = make_data()
Y = one_hot(y, 3)
W1, b1, W2, b2 = init_params(2, 16, 3)
learning_rate = 0.05
batch_size = 32
m = X.shape[1]

for epoch in range(3000):
    perm = np.random.permutation(m)
    X_sh, Y_sh = X[:, perm], Y[:, perm]
    for start in range(0, m, batch_size):
        Xb = X_sh[:, start:start + batch_size]
        Yb = Y_sh[:, start:start + batch_size]
        Z1, A1, A2 = forward(Xb, W1, b1, W2, b2)
        dW1, db1, dW2, db2 = backward(Xb, Yb, Z1, A1, A2, W2)
        W1, b1, W2, b2 = update(W1, b1, W2, b2, dW1, db1, dW2, db2, learning_rate)
    if epoch % 500 == 0:
        print(f"epoch {epoch}: train accuracy {accuracy(X, y, W1, b1, W2, b2):.3f}")

_, _, A2 = forward(X, W1, b1, W2, b2)
print("final cross-entropy:", cross_entropy(A2, Y))
