# ruff: noqa
# regression of a noisy sine: 1-10-1 tanh net, params in a dict, SGD with momentum on mini-batches
import numpy as np

np.random.seed(3)
X = np.linspace(-3, 3, 200).reshape(-1, 1)
y = np.sin(X) + 0.1 * np.random.randn(*X.shape)


def init(n_in, n_hidden, n_out):
    return {
        "W1": np.random.randn(n_in, n_hidden) * 0.5,
        "b1": np.zeros(n_hidden),
        "W2": np.random.randn(n_hidden, n_out) * 0.5,
        "b2": np.zeros(n_out),
    }


def forward(params, X):
    cache = {}
    cache["z1"] = X @ params["W1"] + params["b1"]
    cache["h"] = np.tanh(cache["z1"])
    out = cache["h"] @ params["W2"] + params["b2"]
    return out, cache


def backward(params, cache, X, y, out):
    n = X.shape[0]
    grads = {}
    d_out = 2 * (out - y)
    grads["W2"] = cache["h"].T @ d_out / n
    grads["b2"] = d_out.sum(axis=0) / n
    d_h = d_out @ params["W2"].T * (1 - cache["h"] ** 2)
    grads["W1"] = X.T @ d_h / n
    grads["b1"] = d_h.sum(axis=0) / n
    return grads


def train(X, y, epochs=5000, lr=0.01, beta=0.9, batch_size=20):
    params = init(1, 10, 1)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    n = len(X)
    for epoch in range(epochs):
        idx = np.random.permutation(n)
        for s in range(0, n, batch_size):
            batch = idx[s:s + batch_size]
            xb, yb = X[batch], y[batch]
            out, cache = forward(params, xb)
            grads = backward(params, cache, xb, yb, out)
            for k in params:
                velocity[k] = beta * velocity[k] + grads[k]
                params[k] -= lr * velocity[k]
        if epoch % 1000 == 0:
            out, _ = forward(params, X)
            print(f"epoch {epoch:5d}  loss {np.mean((out - y) ** 2):.5f}")
    return params


params = train(X, y)
out, _ = forward(params, X)
print("final mse:", np.mean((out - y) ** 2))
