"""What the bug hunt's tests share: the generated programs and checks, cached (CI time), and the tests' own
forward pass and run of a program (the independent expectation the checker's numbers are compared with)."""

import contextlib
import io
from functools import cache

import numpy as np

import glassnet as gn
from glassnet.verify.hunt import bug_classes
from glassnet.verify.hunt.generator import NAMES
from glassnet.verify.hunt.key import plant

CLASSES = sorted(bug_classes())
SEEDS = range(1, 1 + 2 * len(CLASSES))   # two blocks: every class twice, in a random style each time
FIX_SEEDS = range(1, 1 + len(CLASSES))   # one block: every class once
PARAMS = ("W1", "b1", "W2", "b2")


@cache
def planted(seed):
    return plant(seed)


@cache
def hunt(seed):
    return gn.hunt(seed)


@cache
def checked(seed, source):
    """The in-process check of ``source`` for ``seed``, shared by the tests that look at the same one."""
    return hunt(seed).check(source, isolate=False)


def short(name):
    """``net.W1``, ``self.W1`` -> ``W1`` (the doctor names attributes by the object)."""
    return name.split(".", 1)[1] if "." in name.split("[")[0] else name


def forward_loss(params, X, y, spec):
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1) if spec.act == "tanh" else 1 / (1 + np.exp(-(X @ W1 + b1)))
    out = 1 / (1 + np.exp(-(h @ W2 + b2)))
    return 0.5 * np.sum((out - y) ** 2) if spec.loss == "half_sum" else np.mean((out - y) ** 2)


def run_here(source, h):
    """(the final loss of the trained parameters, the loss of all-zero parameters: 0.5 for every row) of
    ``source`` run in this process, the parameters read from its namespace."""
    names = NAMES[h._planted.spec.names]
    ns = {"__name__": "__main__"}
    state = np.random.get_state()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, "fixed.py", "exec"), ns)
    finally:
        np.random.set_state(state)
    params = [getattr(ns["net"], names[k]) if "net" in ns else ns[names[k]] for k in PARAMS]
    X, y, spec = ns[names["X"]], ns[names["y"]], h._planted.spec
    return forward_loss(params, X, y, spec), forward_loss([np.zeros_like(p) for p in params], X, y, spec)
