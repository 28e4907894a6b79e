"""What every gallery program shares: XOR, the sigmoid, the 2-3-1 network's starting weights, its cost.

The network: 2 inputs -> 3 sigmoid hidden units -> 1 sigmoid output, weights AND biases.
cost = mean over the 4 rows of (target - output)**2, so the right output delta of one row is
2 * (output - target) / n_samples * output * (1 - output).
"""

import numpy as np

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
T = np.array([0.0, 1.0, 1.0, 0.0])
n_samples = 4
lr = 0.5


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def params():
    rng = np.random.default_rng(0)
    return {"weights_hidden": rng.normal(0, 1, (2, 3)), "bias_hidden": np.zeros(3),
            "weights_out": rng.normal(0, 1, 3), "bias_out": np.array(0.0)}


def forward(p, x):
    h = sigmoid(x @ p["weights_hidden"] + p["bias_hidden"])
    o = sigmoid(h @ p["weights_out"] + p["bias_out"])
    return h, o


def loss(p):
    cost = 0.0
    for x, t in zip(X, T):
        h, o = forward(p, x)
        cost += (t - o) ** 2
    return cost / n_samples


def gradients(p):
    """The right gradients of the cost, accumulated row by row (the gallery's bugs are changes to this)."""
    d = {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d["weights_out"] += delta_out * h
        d["bias_out"] += delta_out
        d["weights_hidden"] += np.outer(x, delta_hidden)
        d["bias_hidden"] += delta_hidden
    return d


def step(p):
    """One epoch of gradient descent: every parameter moves by -lr x its gradient."""
    d = gradients(p)
    for name in p:
        p[name] -= lr * d[name]


def train(step, p, epochs=5000, every=1000):
    """Run ``step`` for ``epochs`` epochs, printing the cost every ``every`` epochs; returns the costs printed."""
    costs = []
    for epoch in range(epochs + 1):
        if epoch % every == 0:
            costs.append(float(loss(p)))
            print(f"epoch {epoch:5d}  cost {costs[-1]:.4f}")
        if epoch < epochs:
            step(p)
    return costs
