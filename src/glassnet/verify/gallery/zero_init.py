"""All weights start at zero: the hidden units stay identical forever (symmetry is never broken).

The bug: with zero weights every hidden unit computes the same value and gets the same gradient,
so the three units remain copies of each other and the network acts as if it had one. The
gradients and the update are right (they are the shared ones in _xor.py): only the start is wrong.
The fix: start the weights at small random values, e.g. rng.normal(0, 1, (2, 3)).
"""

import numpy as np
from _xor import gradients, loss, lr, n_samples, step, train  # noqa: F401  (glassnet doctor reads these)


def params():
    return {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3),    # BUG: symmetric start
            "weights_out": np.zeros(3), "bias_out": np.array(0.0)}


if __name__ == "__main__":
    p = params()
    train(step, p)
    print("hidden weights after training (identical columns):\n", p["weights_hidden"])
