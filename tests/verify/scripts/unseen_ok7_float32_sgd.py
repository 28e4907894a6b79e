# ruff: noqa
# points inside the unit circle: 2-6-1 sigmoid net in float32, (out, in) weights,
# plain stochastic gradient descent (one update per example)
import numpy as np

rng = np.random.default_rng(123)
X = rng.normal(size=(40, 2)).astype(np.float32)
y = ((X[:, 0] ** 2 + X[:, 1] ** 2) < 1.0).astype(np.float32)

n_in, n_hid = 2, 6
W_hidden = (rng.normal(size=(n_hid, n_in)) * 0.8).astype(np.float32)
b_hidden = np.zeros(n_hid, dtype=np.float32)
W_out = (rng.normal(size=(1, n_hid)) * 0.8).astype(np.float32)
b_out = np.zeros(1, dtype=np.float32)
eta = np.float32(0.1)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


for epoch in range(5000):
    epoch_loss = 0.0
    for x, target in zip(X, y):
        hidden = sigmoid(W_hidden @ x + b_hidden)
        output = sigmoid(W_out @ hidden + b_out)
        epoch_loss += -(target * np.log(output[0]) + (1 - target) * np.log(1 - output[0]))
        err_out = output - target
        err_hidden = (W_out.T @ err_out) * hidden * (1 - hidden)
        W_out -= eta * np.outer(err_out, hidden)
        b_out -= eta * err_out
        W_hidden -= eta * np.outer(err_hidden, x)
        b_hidden -= eta * err_hidden
    if epoch % 1000 == 0:
        print("epoch", epoch, "loss", epoch_loss / len(X))

correct = 0
for x, target in zip(X, y):
    out = sigmoid(W_out @ sigmoid(W_hidden @ x + b_hidden) + b_out)[0]
    correct += int((out > 0.5) == target)
print("accuracy", correct / len(X), "dtype", W_hidden.dtype)
