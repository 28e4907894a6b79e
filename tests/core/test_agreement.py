"""The code you read is the code that runs: every in-place form agrees with its readable form, and an edit to
either one is followed (or refused loudly), never silently ignored.

The strongest test edits glassnet itself, as a learner would: a copy of the source tree with one readable method
changed, trained with ``fit`` and with a loop of ``step``, must give exactly what the (edited) readable path gives,
differ from the unedited glassnet, and warn naming the method.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.core import agreement, fast
from glassnet.core.activations import ACTIVATIONS, Activation, Sigmoid
from glassnet.core.layers import Dense, Layer
from glassnet.core.losses import LOSSES, Loss
from glassnet.core.optimizers import OPTIMIZERS, Optimizer
from glassnet.errors import FastFormWarning

DTYPES = ["float64", "float32"]
SOURCE = Path(gn.__file__).resolve().parent


def _defines(cls: type, name: str, base: type) -> bool:
    return next(c for c in cls.__mro__ if name in vars(c)) is not base


@pytest.mark.filterwarnings("error::glassnet.errors.FastFormWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", ACTIVATIONS.classes(), ids=lambda c: c.name)
def test_every_activation_with_an_in_place_form_runs_it(cls: type[Activation], dtype: str) -> None:
    act = cls()
    forward, backward = agreement.activation_forms(act, dtype)
    own = _defines(cls, "forward_into", Activation)
    assert (getattr(forward, "__func__", None) is not Activation.forward_into) == own
    assert (getattr(backward, "__func__", None) is not Activation.backward_into) == own


@pytest.mark.filterwarnings("error::glassnet.errors.FastFormWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", LOSSES.classes(), ids=lambda c: c.name)
def test_every_loss_with_an_in_place_form_runs_it(cls: type[Loss], dtype: str) -> None:
    form = agreement.loss_form(cls(), dtype, output_own=True)
    own = getattr(form, "__func__", None) is not Loss.value_and_gradient_into
    assert own == _defines(cls, "value_and_gradient_into", Loss)


@pytest.mark.filterwarnings("error::glassnet.errors.FastFormWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", OPTIMIZERS.classes(), ids=lambda c: c.name)
def test_every_optimizer_with_an_in_place_form_runs_it(cls: type[Optimizer], dtype: str) -> None:
    settings = inspect.signature(cls).parameters
    variants = [cls(0.1)]
    if "momentum" in settings:
        variants.append(cls(0.1, momentum=0.9))
    if "nesterov" in settings:
        variants.append(cls(0.1, momentum=0.9, nesterov=True))
    for opt in variants:
        assert agreement.optimizer_own(opt, dtype) == _defines(cls, "update_into", Optimizer)


@pytest.mark.filterwarnings("error::glassnet.errors.FastFormWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_runs_its_own_in_place_form(dtype: str) -> None:
    assert agreement.layer_own(Dense(3, 2, "tanh"), dtype)


def _train(net_factory, readable: bool, steps: bool = False) -> np.ndarray:
    before = fast.enabled
    fast.enabled = not readable
    try:
        net = net_factory()
        rng = np.random.default_rng(5)
        X, y = rng.normal(size=(24, 3)), rng.normal(size=(24, 2))
        opt = gn.Adam(0.02)
        if steps:
            for start in range(0, 24, 8):
                net.step(X[start:start + 8], y[start:start + 8], opt)
        else:
            net.fit(X, y, epochs=4, optimizer=opt, batch_size=8, shuffle=False, monitor=False)
        return np.concatenate([p.ravel() for p in net.parameters().values()])
    finally:
        fast.enabled = before


def test_own_subclass_with_only_readable_methods_just_works() -> None:
    """A user's activation with only forward and backward: no warning, fit equals the readable path."""

    from tests.custom_parts import Softsign

    make = lambda: gn.Network([Dense(3, 4, Softsign()), Dense(4, 2, "identity")], seed=1)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error", FastFormWarning)
        fast_params = _train(make, readable=False)
    np.testing.assert_array_equal(fast_params, _train(make, readable=True))


def test_subclass_overriding_only_the_readable_form_runs_it() -> None:
    """Overriding Sigmoid.forward must not leave Sigmoid.forward_into (the parent's) in charge."""

    class Steeper(Sigmoid):
        def forward(self, Z):
            return super().forward(3 * Z)

        def backward(self, Z, A, dA):
            return 3 * dA * A * (1 - A)

    forward, backward = agreement.activation_forms(Steeper(), "float64")
    assert getattr(forward, "__func__", None) is Activation.forward_into
    make = lambda: gn.Network([Dense(3, 4, Steeper()), Dense(4, 2, "identity")], seed=1)  # noqa: E731
    steeper = _train(make, readable=False)
    np.testing.assert_array_equal(steeper, _train(make, readable=True))
    plain = _train(lambda: gn.Network([Dense(3, 4, "sigmoid"), Dense(4, 2, "identity")], seed=1), readable=False)
    assert not np.array_equal(steeper, plain)


def test_disagreeing_in_place_form_warns_by_name_and_the_readable_form_runs() -> None:
    class Square(Activation):
        name = "square"

        def forward(self, Z):
            return Z * Z

        def backward(self, Z, A, dA):
            return 2 * Z * dA

        def forward_into(self, Z, A, work):
            return np.multiply(Z, Z, A)

        def backward_into(self, Z, A, dA, dZ, work):
            return np.multiply(Z, dA, dZ)  # the factor 2 forgotten

    make = lambda: gn.Network([Dense(3, 4, Square()), Dense(4, 2, "identity")], seed=1)  # noqa: E731
    with pytest.warns(FastFormWarning, match=r"Square\.backward_into .*Square\.backward") as record:
        fast_params = _train(make, readable=False)
    assert record[0].message.readable == "backward" and record[0].message.fast == "backward_into"
    np.testing.assert_array_equal(fast_params, _train(make, readable=True))


def test_a_spy_on_a_readable_method_is_called(monkeypatch) -> None:
    calls = []
    original = Sigmoid.backward

    def spy(self, Z, A, dA):
        calls.append(Z.shape)
        return original(self, Z, A, dA)

    monkeypatch.setattr(Sigmoid, "backward", spy)
    _train(lambda: gn.Network([Dense(3, 4, "sigmoid"), Dense(4, 2, "identity")], seed=1), readable=False)
    assert calls.count((8, 4)) == 12  # 4 epochs x 3 steps of 8 rows (check_step adds its own 4-row probe)


def test_custom_layer_without_in_place_forms_trains_on_its_readable_form() -> None:
    class Scale(Layer):
        """a = x * s, one learnable scale per input."""

        name = "scale"

        def __init__(self, n: int) -> None:
            super().__init__()
            self.n_in = self.n_out = n

        def initialize(self, rng, dtype=np.float64):
            self.params = {"s": np.ones(self.n_in, dtype)}
            self.grads = {"s": np.zeros(self.n_in, dtype)}

        def forward(self, X):
            self.cache = {"X": X, "Z": X * self.params["s"], "A": X * self.params["s"]}
            return self.cache["A"]

        def backward(self, dA):
            self.grads = {"s": (dA * self.cache["X"]).sum(axis=0)}
            return dA * self.params["s"]

    make = lambda: gn.Network([Scale(3), Dense(3, 2, "identity")], seed=1)  # noqa: E731
    a, b = _train(make, readable=False), _train(make, readable=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:3], np.ones(3))  # the scale did learn


# ---------------------------------------------------------------------------- editing glassnet's own source
EDIT_SCRIPT = r"""
import json, sys, warnings
import numpy as np
import glassnet as gn
from glassnet.core import fast
from glassnet.errors import FastFormWarning
assert gn.__file__.startswith(sys.argv[1]), gn.__file__
activation = sys.argv[2]

def run(readable, steps):
    fast.enabled = not readable
    net = gn.Network.from_sizes([3, 5, 2], activation, output_activation="sigmoid", loss="mse", l2=0.01, seed=0)
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(24, 3)), rng.random(size=(24, 2))
    opt = gn.Adam(0.02)
    if steps:
        for epoch in range(3):
            for start in range(0, 24, 8):
                net.step(X[start:start + 8], y[start:start + 8], opt)
    else:
        net.fit(X, y, epochs=3, optimizer=opt, batch_size=8, shuffle=False, monitor=False)
    return np.concatenate([p.ravel() for p in net.parameters().values()])

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fit, step = run(False, False), run(False, True)
readable = run(True, False)
print(json.dumps({"fit": fit.tolist(), "step": step.tolist(), "readable": readable.tolist(),
                  "warnings": [str(w.message) for w in caught if issubclass(w.category, FastFormWarning)]}))
"""

EDITS = {
    # name: (file in the package, text, replacement, hidden activation, the method the warning must name)
    "Sigmoid.backward": ("core/activations.py", "return dA * A * (1.0 - A)\n", "return 2.0 * dA * A * (1.0 - A)\n",
                         "sigmoid", "Sigmoid.backward"),
    "Tanh.forward_into": ("core/activations.py", "return np.tanh(Z, A)\n", "return np.multiply(np.tanh(Z, A), 1.5, A)\n",
                          "tanh", "Tanh.forward_into"),
    "MeanSquaredError.gradient": ("core/losses.py", "return 2.0 * (A - Y) / A.size\n", "return 3.0 * (A - Y) / A.size\n",
                                  "tanh", "MeanSquaredError.gradient"),
    "Adam.update_one": ("core/optimizers.py", 'p -= step_size * state["m"] / denom\n',
                        'p -= 0.5 * step_size * state["m"] / denom\n', "tanh", "Adam.update_one"),
    "Adam.update_loop": ("core/optimizers.py", "pi = pi - step_size * mi / (np.sqrt(vi) / root + eps)\n",
                         "pi = pi - 0.5 * step_size * mi / (np.sqrt(vi) / root + eps)\n", "tanh", "Adam.update_loop"),
    "Dense.backward_from_dZ": ("core/layers.py", "dW = X.T @ dZ\n", "dW = 1.5 * (X.T @ dZ)\n",
                               "relu", "Dense.backward"),
    "Network._penalty gradient": ("core/network.py", "g + self.l2 * layer.params[name]",
                                  "g + 4 * self.l2 * layer.params[name]", "tanh", "Network._step"),
}


def _run_tree(root: Path, activation: str, compiled: bool = False) -> dict:
    # Compiled loop forms (numba) only where the edit is one: this small network would not use them by default.
    env = {**os.environ, "PYTHONPATH": str(root), "GLASSNET_COMPILED": "1" if compiled else "auto"}
    out = subprocess.run([sys.executable, "-c", EDIT_SCRIPT, str(root), activation], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def unedited(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("unedited")
    shutil.copytree(SOURCE, root / "glassnet", ignore=shutil.ignore_patterns("__pycache__"))
    return {act: _run_tree(root, act) for act in ("sigmoid", "tanh", "relu")}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_to_the_engine_source_is_followed_or_refused_loudly(edit: str, tmp_path: Path, unedited) -> None:
    path, text, replacement, activation, named = EDITS[edit]
    shutil.copytree(SOURCE, tmp_path / "glassnet", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "glassnet" / path
    source = target.read_text()
    assert source.count(text) == 1, f"the text to edit is no longer unique in {path}: {text!r}"
    target.write_text(source.replace(text, replacement))
    result = _run_tree(tmp_path, activation, compiled=named.endswith("_loop"))
    # fit and the step loop follow the edit: exactly the edited readable path ...
    assert result["fit"] == result["readable"]
    assert result["step"] == result["readable"]
    # ... which is not what unedited glassnet computes (unless only a fast form was edited: the readable one rules)
    if named.endswith(("_into", "_loop")):
        assert result["readable"] == unedited[activation]["readable"]
    else:
        assert result["readable"] != unedited[activation]["readable"]
    # ... and the disagreement was announced, naming the method.
    assert any(named in message for message in result["warnings"]), result["warnings"]
    assert unedited[activation]["warnings"] == []
