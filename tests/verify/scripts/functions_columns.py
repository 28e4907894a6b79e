# ruff: noqa
import numpy as np

def init(n_in, n_h, n_out):
    np.random.seed(3)
    W1 = np.random.randn(n_h, n_in) * 0.5
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_out, n_h) * 0.5
    b2 = np.zeros((n_out, 1))
    return W1, b1, W2, b2

def forward(X, W1, b1, W2, b2):
    Z1 = W1 @ X + b1
    A1 = np.maximum(0, Z1)
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    return Z1, A1, Z2, A2

def backward(X, Y, Z1, A1, A2, W2):
    m = X.shape[1]
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return dW1, db1, dW2, db2

def update(W1, b1, W2, b2, dW1, db1, dW2, db2, learning_rate):
    W1 = W1 - learning_rate * dW1
    b1 = b1 - learning_rate * db1
    W2 = W2 - learning_rate * dW2
    b2 = b2 - learning_rate * db2
    return W1, b1, W2, b2

def cost(A2, Y):
    m = Y.shape[1]
    return float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m)

def model(X, Y, n_h, num_iterations=10000, learning_rate=1.2):
    W1, b1, W2, b2 = init(X.shape[0], n_h, Y.shape[0])
    for i in range(num_iterations):
        Z1, A1, Z2, A2 = forward(X, W1, b1, W2, b2)
        c = cost(A2, Y)
        dW1, db1, dW2, db2 = backward(X, Y, Z1, A1, A2, W2)
        W1, b1, W2, b2 = update(W1, b1, W2, b2, dW1, db1, dW2, db2, learning_rate)
        if i % 1000 == 0:
            print("Cost after iteration %i: %f" % (i, c))
    return W1, b1, W2, b2

if __name__ == "__main__":
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2, 40))
    Y = (X[0:1] * X[1:2] > 0).astype(float)
    model(X, Y, 4)
