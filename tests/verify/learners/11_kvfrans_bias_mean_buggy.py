# ruff: noqa
# 16-128-1 relu network with a hand-written gradient function; columns are samples, b1 is 1-D and broadcast with [:, None].
import numpy as np

np.random.seed(0)
W1 = np.array(np.random.randn(128, 16) / np.sqrt(16))
b1 = np.array(np.random.randn(128) * 0.01)
W2 = np.array(np.random.randn(1, 128) / np.sqrt(128))
x = np.array(np.random.randn(16, 10))
y = np.array(np.random.randn(1, 10))


def manual_grad(params, data_input, data_output):
    W1, b1, W2 = params
    h1 = W1 @ data_input
    h2 = h1 + b1[:, None]
    h3 = h2 * (h2 > 0)
    h4 = W2 @ h3
    loss = np.mean(np.square(h4 - data_output))

    d_h4 = 2 * (h4 - data_output) / data_output.shape[1]
    d_h3 = W2.T @ d_h4
    d_h2 = d_h3 * (h2 > 0)
    d_h1 = d_h2

    d_W2 = d_h4 @ h3.T
    d_b1 = np.mean(d_h2, axis=1)
    d_W1 = d_h1 @ data_input.T

    return [d_W1, d_b1, d_W2], loss


params = [W1, b1, W2]
learning_rate = 0.05
for step in range(500):
    grads, loss = manual_grad(params, x, y)
    params = [p - learning_rate * g for p, g in zip(params, grads)]
    if step % 50 == 0:
        print(step, loss)
