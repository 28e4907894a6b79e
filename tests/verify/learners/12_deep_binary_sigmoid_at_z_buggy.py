# ruff: noqa
# 4-layer fully connected binary classifier, DeepLearning.ai naming; X is (features, samples), W (n_out, n_in), B (n, 1).
import numpy as np

np.random.seed(3)
total_number_of_samples = 400
X = np.hstack([np.random.randn(2, 200) + 1.0, np.random.randn(2, 200) - 1.0])
Y = np.hstack([np.ones((1, 200)), np.zeros((1, 200))])

layer_dims = [2, 10, 10, 10, 1]
W1 = np.random.randn(layer_dims[1], layer_dims[0]) * 0.1
B1 = np.zeros((layer_dims[1], 1))
W2 = np.random.randn(layer_dims[2], layer_dims[1]) * 0.1
B2 = np.zeros((layer_dims[2], 1))
W3 = np.random.randn(layer_dims[3], layer_dims[2]) * 0.1
B3 = np.zeros((layer_dims[3], 1))
W4 = np.random.randn(layer_dims[4], layer_dims[3]) * 0.1
B4 = np.zeros((layer_dims[4], 1))
learning_rate = 0.1


def sigmoid_activation(z):
    return 1 / (1 + np.exp(-z))


def tanh_activation(z):
    return np.tanh(z)


def sigmoid_derivative(x):
    return x * (1 - x)


def derivative_tanh(z):
    return 1 - np.power(np.tanh(z), 2)


for epoch in range(1000):
    # Forward Propagation
    Z1 = np.dot(W1, X) + B1
    A1 = tanh_activation(Z1)
    Z2 = np.dot(W2, A1) + B2
    A2 = tanh_activation(Z2)
    Z3 = np.dot(W3, A2) + B3
    A3 = tanh_activation(Z3)
    Z4 = np.dot(W4, A3) + B4
    A4 = sigmoid_activation(Z4)

    loss = -np.sum(Y * np.log(A4) + (1 - Y) * np.log(1 - A4)) / total_number_of_samples
    if epoch % 100 == 0:
        print("epoch", epoch, "loss", loss)

    # Backward Propagation
    DA4 = -(np.divide(Y, A4) - np.divide(1 - Y, 1 - A4))
    DZ4 = DA4 * sigmoid_derivative(Z4)
    Dw4 = np.dot(DZ4, A3.T) / total_number_of_samples
    Db4 = np.sum(DZ4, axis=1, keepdims=True) / total_number_of_samples
    DA3 = np.dot(W4.T, DZ4)
    DZ3 = DA3 * derivative_tanh(Z3)
    DW3 = np.dot(DZ3, A2.T) / total_number_of_samples
    DB3 = np.sum(DZ3, axis=1, keepdims=True) / total_number_of_samples
    DA2 = np.dot(W3.T, DZ3)
    DZ2 = DA2 * derivative_tanh(Z2)
    DW2 = np.dot(DZ2, A1.T) / total_number_of_samples
    DB2 = np.sum(DZ2, axis=1, keepdims=True) / total_number_of_samples
    DA1 = np.dot(W2.T, DZ2)
    DZ1 = DA1 * derivative_tanh(Z1)
    DW1 = np.dot(DZ1, X.T) / total_number_of_samples
    DB1 = np.sum(DZ1, axis=1, keepdims=True) / total_number_of_samples

    W4 = W4 - learning_rate * Dw4
    B4 = B4 - learning_rate * Db4
    W3 = W3 - learning_rate * DW3
    B3 = B3 - learning_rate * DB3
    W2 = W2 - learning_rate * DW2
    B2 = B2 - learning_rate * DB2
    W1 = W1 - learning_rate * DW1
    B1 = B1 - learning_rate * DB1
