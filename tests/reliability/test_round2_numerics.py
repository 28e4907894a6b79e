"""Issue 14, "never silently wrong" in the core, and the health monitor's words: one table per class.

1. An update that makes a parameter (or the optimizer's state) NaN or inf is divergence, for every registered
   optimizer, on the fast and the readable path: ``TrainingDiverged``, the step undone.
2. ``loss()``, ``gradients()``, ``forward()`` and validation losses that overflow are one glassnet error, never
   ``inf`` under a NumPy ``RuntimeWarning``.
3. A flag is a bool: truthy and falsy non-bools are refused.
4. Ragged targets and inputs are a glassnet error naming the rows.
5. A ``BaseException`` raised by user code leaves no half-updated network and no raw traceback.
6. The health monitor blames what is to blame: not the inputs for huge or non-finite weights, not the data for a
   resumed run's low loss.

Every expectation is worked out from the inputs (parameters before the step, the class of the input), never copied
from glassnet's output. Run the tables with ``python3 -m pytest -q tests/reliability/test_round2_numerics.py``.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest

import glassnet as gn
from glassnet.core import fast
from glassnet.core.optimizers import OPTIMIZERS, Optimizer
from glassnet.verify import usercode
from glassnet.verify.health import HealthMonitor, HealthWarning

PATHS = ["fast", "readable"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """Each test of a step runs on the fast path (flat buffers) and on the readable ``Network._step``."""
    monkeypatch.setattr(fast, "enabled", request.param == "fast")
    return request.param


def params_of(net: gn.Network) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in net.parameters().items()}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ------------------------------------------------------------------------------------------------------------------
# 1. An update that overflows is divergence
# ------------------------------------------------------------------------------------------------------------------
XOR_X, XOR_Y = gn.datasets.xor()


def xor_net(dtype: str = "float64") -> gn.Network:
    return gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0, dtype=dtype)


RNG = np.random.default_rng(3)
REG_X = RNG.normal(size=(10, 2)) * 3
REG_Y = REG_X @ np.array([[2.0], [-1.0]]) + 0.5


def regression(dtype: str = "float64") -> tuple[gn.Network, np.ndarray, np.ndarray]:
    """A 2-4-1 identity network on a linear target: gradients of about 10, so ``lr * g`` overflows for lr=1e308."""
    return gn.Network.from_sizes([2, 4, 1], "identity", loss="mse", seed=0, dtype=dtype), REG_X, REG_Y


def huge_gradient_net() -> tuple[gn.Network, np.ndarray, np.ndarray]:
    """A 1-1 identity network whose output is tiny (finite loss) but whose weight gradient is about 2e160:
    ``z = x w = 1e165 * 1e-170 = 1e-5``, ``dL/dw = 2 z x = 2e160``; its square overflows float64."""
    net = gn.Network([gn.Dense(1, 1, "identity", init=([[1e-170]], [0.0]))], loss="mse")
    return net, np.array([[1e165]]), np.array([[0.0]])


class NaNBias(Optimizer):
    """A user's optimizer (no fast form) whose rule turns only the biases into NaN."""

    name = "nan_bias"

    def update_one(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        p -= self.lr * g if name.endswith(".W") or self.lr < 0.01 else np.nan

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr}


def _every_registered(lr: float) -> list[tuple[str, Any]]:
    return [(f"{cls.__name__} lr={lr:g}", lambda cls=cls: cls(lr)) for cls in OPTIMIZERS.classes()]


# (name, network + data, optimizer factory): each update overflows while the loss and gradients are finite.
OVERFLOWING = [
    *[(name, regression, make) for name, make in _every_registered(1e308)],
    ("SGD momentum 0.9 lr=1e308", regression, lambda: gn.SGD(1e308, momentum=0.9)),
    ("SGD nesterov lr=1e308", regression, lambda: gn.SGD(1e308, momentum=0.9, nesterov=True)),
    ("RMSprop momentum lr=1e308", regression, lambda: gn.RMSprop(1e308, momentum=0.5)),
    # lr * g is about 1e41: beyond float32 (3.4e38), well inside float64 (checked below to stay finite there)
    ("SGD lr=1e40 in float32 only", lambda: regression("float32"), lambda: gn.SGD(1e40)),
    ("Adam lr=1e39 in float32 only", lambda: regression("float32"), lambda: gn.Adam(1e39)),
    # the parameters stay finite, the state does not: Adam's v and RMSprop's s hold g**2 = 4e320
    ("Adam state v overflows", huge_gradient_net, lambda: gn.Adam(0.1)),
    ("RMSprop state s overflows", huge_gradient_net, lambda: gn.RMSprop(0.1)),
    ("a user's optimizer makes only a bias NaN", lambda: (xor_net(), XOR_X, XOR_Y), lambda: NaNBias(0.1)),
]


def test_every_registered_optimizer_is_in_the_table():
    names = {row[0] for row in OVERFLOWING}
    assert all(f"{cls.__name__} lr=1e+308" in names for cls in OPTIMIZERS.classes())


@pytest.mark.parametrize("name, build, make", OVERFLOWING, ids=[row[0] for row in OVERFLOWING])
def test_an_update_that_overflows_raises_and_is_undone(name, build, make, path):
    net, X, Y = build()
    opt = make()
    net_before, opt_before = copy.deepcopy(net), copy.deepcopy(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one glassnet error, no RuntimeWarning before it
        with pytest.raises(gn.TrainingDiverged) as info:
            net.step(X, Y, opt)
    message = str(info.value)
    assert "update overflowed" in message and f"{opt.lr:g}" in message and "Scale the inputs" not in message
    assert_same(params_of(net), params_of(net_before))
    # The optimizer's state is back too: a good step from here is the good step from before the failure.
    small_X = X / np.abs(X).max()
    for n, o in ((net, opt), (net_before, opt_before)):
        o.lr = 1e-3
        n.step(small_X, Y, o)
    assert_same(params_of(net), params_of(net_before))


@pytest.mark.parametrize("name, build, make", OVERFLOWING, ids=[row[0] for row in OVERFLOWING])
def test_fit_never_reports_success_with_an_overflowed_update(name, build, make, path):
    net, X, Y = build()
    start = params_of(net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(gn.TrainingDiverged) as info:
            net.fit(X, Y, epochs=3, optimizer=make(), monitor=False)
    assert info.value.epoch == 1 and info.value.step == 1  # full batch: the very first update overflows
    assert_same(params_of(net), start)
    assert all(np.isfinite(p).all() for p in net.parameters().values())


def test_the_float32_rows_are_harmless_in_float64(path):
    """The float32 rows above overflow because of float32, not because the step is inf anyway."""
    for opt in (gn.SGD(1e40), gn.Adam(1e39)):
        net, X, Y = regression("float64")
        net.step(X, Y, opt)
        assert all(np.isfinite(p).all() for p in net.parameters().values())


def test_a_chunked_update_is_undone_in_every_chunk(monkeypatch):
    """Several chunks: the overflow in a late chunk also undoes the chunks already updated."""
    monkeypatch.setattr(fast, "CHUNK", 8)
    net = gn.Network.from_sizes([6, 5, 4, 1], "tanh", loss="mse", seed=1)
    X = np.random.default_rng(0).normal(size=(20, 6))
    Y = X[:, :1]
    before = params_of(net)
    with pytest.raises(gn.TrainingDiverged):
        net.step(X, Y, gn.Adam(1e308))
    assert_same(params_of(net), before)


# ------------------------------------------------------------------------------------------------------------------
# 2. loss(), gradients(), forward() and validation losses that overflow are one glassnet error
# ------------------------------------------------------------------------------------------------------------------
def identity_net(dtype: str = "float64", l2: float = 0.0) -> gn.Network:
    return gn.Network([gn.Dense(2, 1, "identity", init=([[1.0], [1.0]], [0.0]))], loss="mse", l2=l2, dtype=dtype)


def nan_bias_net() -> gn.Network:
    net = identity_net()
    net.parameters()["0.b"][0] = np.nan  # written in directly, as set_parameters would refuse
    return net


def huge_weight_net() -> gn.Network:
    net = identity_net(l2=1.0)
    net.parameters()["0.W"][...] = 1e200  # finite, but its square (for the L2 penalty) is not
    return net


def cancelling_net() -> gn.Network:
    """Weights of +-1e308 that cancel (outputs 0 on rows of ones, a finite data gradient) but whose L2 gradient
    ``l2 * W`` with l2 = 10 is inf."""
    net = identity_net(l2=10.0)
    net.parameters()["0.W"][...] = [[1e308], [-1e308]]
    return net


ONES = np.ones((3, 2))
OVERFLOWS = [  # (name, call, words the message must hold)
    ("loss: targets near 1e300", lambda: identity_net().loss(ONES, np.full((3, 1), 1e300)), "largest |y|"),
    ("loss: inputs near 1e200", lambda: identity_net().loss(np.full((3, 2), 1e200), np.zeros((3, 1))), "largest |x|"),
    ("loss: overflow only in float32", lambda: identity_net("float32").loss(np.full((3, 2), 1e20), np.zeros((3, 1))),
     "Scale the inputs"),
    ("loss: an L2 penalty that overflows", lambda: huge_weight_net().loss(ONES, np.zeros((3, 1))), "L2 penalty"),
    ("loss: a NaN bias", lambda: nan_bias_net().loss(ONES, np.zeros((3, 1))), "0.b"),
    ("gradients: inputs near 1e300", lambda: identity_net().gradients(np.full((3, 2), 1e300), np.zeros((3, 1))),
     "largest |x|"),
    ("gradients: a NaN bias", lambda: nan_bias_net().gradients(ONES, np.zeros((3, 1))), "0.b"),
    ("gradients: l2 * W overflows", lambda: cancelling_net().gradients(ONES, np.zeros((3, 1))), "L2 penalty"),
    ("predict: a NaN bias", lambda: nan_bias_net().predict(ONES), "0.b"),
]


@pytest.mark.parametrize("name, call, words", OVERFLOWS, ids=[row[0] for row in OVERFLOWS])
def test_an_overflow_is_one_glassnet_error_not_a_runtime_warning(name, call, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(gn.DataError) as info:
            call()
    assert words in str(info.value)


def test_non_finite_parameters_are_not_blamed_on_the_inputs():
    for call in (lambda: nan_bias_net().predict(ONES), lambda: nan_bias_net().loss(ONES, np.zeros((3, 1)))):
        with pytest.raises(gn.DataError) as info:
            call()
        assert "Scale the inputs" not in str(info.value)


VALIDATION = [  # (name, X_val, y_val): training data is fine, the validation loss is not finite
    ("X_val near 1e200", np.full((3, 2), 1e200), np.zeros((3, 1))),
    ("y_val near 1e300", ONES, np.full((3, 1), 1e300)),
    ("X_val near 1e20 in float32", np.full((3, 2), 1e20), np.zeros((3, 1))),
]


@pytest.mark.parametrize("name, X_val, y_val", VALIDATION, ids=[row[0] for row in VALIDATION])
def test_a_validation_loss_that_overflows_stops_training_with_a_reason(name, X_val, y_val, path):
    net = identity_net("float32" if "float32" in name else "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(gn.TrainingDiverged) as info:
            net.fit(ONES, np.ones((3, 1)), epochs=5, lr=0.01, validation_data=(X_val, y_val), monitor=False)
    assert info.value.epoch == 1 and "validation" in str(info.value)


def test_non_finite_parameters_before_training_are_named():
    with pytest.raises(gn.DataError) as info:
        nan_bias_net().fit(ONES, np.zeros((3, 1)), epochs=1, monitor=False)
    assert "0.b" in str(info.value) and "learning rate" not in str(info.value)


# ------------------------------------------------------------------------------------------------------------------
# 3. A flag is a bool
# ------------------------------------------------------------------------------------------------------------------
NOT_BOOLS = ["no", "False", "", 0, 1, None, np.int64(1), np.float64(0.0), [], [True]]


def _fit(**flag: Any) -> Any:
    return xor_net().fit(XOR_X, XOR_Y, epochs=1, **flag)


def _classifier(**flag: Any) -> Any:
    from glassnet.sklearn import GlassClassifier

    return GlassClassifier(hidden_layer_sizes=(3,), max_iter=2, **flag).fit(XOR_X, XOR_Y.ravel())


def _regressor(**flag: Any) -> Any:
    from glassnet.sklearn import GlassRegressor

    return GlassRegressor(hidden_layer_sizes=(3,), max_iter=2, **flag).fit(XOR_X, XOR_Y.ravel())


def _confusion(**flag: Any) -> Any:
    from glassnet.plots import plot_confusion_matrix

    return plot_confusion_matrix([0, 1], [0, 1], **flag)


def _trace() -> Any:
    return gn.explain(xor_net(), XOR_X[:1], XOR_Y[:1])


def _torch(**flag: Any) -> Any:
    from glassnet.torch import to_torch

    return to_torch(xor_net(), **flag)


FLAGS = [  # (where, flag, call)
    ("fit", "shuffle", _fit),
    ("fit", "monitor", _fit),
    ("fit", "resume", _fit),
    ("Network.summary", "print_it", lambda **flag: xor_net().summary(**flag)),
    ("GlassClassifier", "shuffle", _classifier),
    ("GlassClassifier", "early_stopping", _classifier),
    ("GlassClassifier", "warm_start", _classifier),
    ("GlassRegressor", "nesterovs_momentum", _regressor),
    ("to_torch", "include_output_activation", _torch),
    ("SGD", "nesterov", lambda **flag: gn.SGD(0.1, momentum=0.9, **flag)),
    ("Trace.to_latex", "document", lambda **flag: _trace().to_latex(**flag)),
    ("Trace.to_dict", "latex", lambda **flag: _trace().to_dict(**flag)),
    ("Worksheet.to_markdown", "answers", lambda **flag: gn.worksheet(xor_net(), XOR_X[:1], XOR_Y[:1]).to_markdown(**flag)),
    ("Worksheet.to_latex", "document", lambda **flag: gn.worksheet(xor_net(), XOR_X[:1], XOR_Y[:1]).to_latex(**flag)),
    ("plot_confusion_matrix", "normalize", lambda **flag: _confusion(**flag)),
]


@pytest.mark.parametrize("value", NOT_BOOLS, ids=repr)
@pytest.mark.parametrize("where, flag, call", FLAGS, ids=[f"{w}-{f}" for w, f, _ in FLAGS])
def test_a_flag_that_is_not_a_bool_is_refused(where, flag, call, value):
    with pytest.raises(gn.GlassnetError) as info:
        call(**{flag: value})
    assert flag in str(info.value)


@pytest.mark.parametrize("flag", [True, False, np.bool_(True)], ids=repr)
def test_a_real_bool_is_accepted(flag):
    _fit(shuffle=flag, monitor=False)
    xor_net().summary(print_it=False)


VERBOSE_BAD = ["yes", "no", "1", None, [], 1.0, 2.5]


@pytest.mark.parametrize("value", VERBOSE_BAD, ids=repr)
def test_verbose_is_a_bool_or_a_number_of_epochs(value):
    with pytest.raises(gn.GlassnetError) as info:
        _fit(verbose=value)
    assert "verbose" in str(info.value)


# 6 epochs: k prints epochs 1, every k-th and the last (k=4: 1, 4, 6); True prints about ten lines (here all 6).
@pytest.mark.parametrize("value, lines", [(False, 0), (0, 0), (1, 6), (np.int64(4), 3), (True, 6)], ids=repr)
def test_verbose_values_that_mean_something(value, lines, capsys):
    xor_net().fit(XOR_X, XOR_Y, epochs=6, verbose=value, monitor=False)
    assert len(capsys.readouterr().out.splitlines()) == lines


# ------------------------------------------------------------------------------------------------------------------
# 4. Ragged targets and inputs
# ------------------------------------------------------------------------------------------------------------------
RAGGED = [  # (name, loss, X, y, row named)
    ("y [[0], [1, 1]]", "mse", XOR_X[:2], [[0], [1, 1]], "row 1"),
    ("y [[0, 1], [1]]", "mse", XOR_X[:2], [[0, 1], [1]], "row 0"),
    ("y a scalar then a list", "mse", XOR_X[:3], [0, [1, 1], 2], "row 1"),
    ("y object array of lists", "mse", XOR_X[:2], np.array([[0], [1, 1]], dtype=object), "row 1"),
    ("y one row itself ragged", "mse", XOR_X[:2], [[[0], [1]], [[0], [1, 1]]], "row 1"),
    ("class labels [[0], [1, 1]]", "cross_entropy", XOR_X[:2], [[0], [1, 1]], "row 1"),
    ("class labels object array", "cross_entropy", XOR_X[:3], np.array([[0, 1], [1], [0, 1]], dtype=object), "row 1"),
    ("X ragged", "mse", [[0, 1], [1]], [0, 1], "row 1"),
    ("y ragged inside every row", "mse", XOR_X[:2], [[[0], [1, 1]], [[0], [1, 1, 1]]], "y[0]"),
]


def net_for(loss: str) -> gn.Network:
    return gn.Network.from_sizes([2, 3, 2 if loss == "cross_entropy" else 1], "tanh", loss=loss, seed=0)


@pytest.mark.parametrize("entry", ["fit", "loss", "gradients", "step"])
@pytest.mark.parametrize("name, loss, X, y, row", RAGGED, ids=[r[0] for r in RAGGED])
def test_ragged_data_names_its_rows(name, loss, X, y, row, entry):
    net = net_for(loss)
    call = {"fit": lambda: net.fit(X, y, epochs=1), "loss": lambda: net.loss(X, y),
            "gradients": lambda: net.gradients(X, y), "step": lambda: net.step(X, y)}[entry]
    with pytest.raises((gn.DataError, gn.ShapeError)) as info:
        call()
    assert "ragged" in str(info.value) and row in str(info.value)


@pytest.mark.parametrize("y", [{"a": 1, "b": 0}, {0, 1}, frozenset({0})], ids=lambda y: type(y).__name__)
def test_a_dict_or_set_as_targets_is_a_type_error_naming_y(y):
    with pytest.raises(gn.GlassnetTypeError) as info:
        net_for("mse").loss(XOR_X[:2], y)
    assert str(info.value).startswith("y is a ")


# ------------------------------------------------------------------------------------------------------------------
# 5. A BaseException from user code
# ------------------------------------------------------------------------------------------------------------------
class Stop(BaseException):
    """A user's own BaseException subclass (not an Exception)."""


RAISED = [GeneratorExit, Stop, KeyboardInterrupt, SystemExit]


class HalfUpdating(Optimizer):
    """A user's optimizer that updates the first parameter, then raises ``error`` on the second."""

    name = "half"

    def __init__(self, error: type[BaseException]) -> None:
        super().__init__(0.1)
        self.error = error

    def update_one(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        if name != "0.W":
            raise self.error("the user's update failed")
        p -= self.lr * g

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr}


class RaisingLayer(gn.Dense):
    """A user's layer whose forward raises ``error`` once armed (by :class:`Arm`, after epoch 2)."""

    def __init__(self, error: type[BaseException]) -> None:
        super().__init__(2, 1, "sigmoid")
        self.error, self.armed = error, False

    def forward(self, X: np.ndarray) -> np.ndarray:
        if self.armed:
            raise self.error("the user's layer failed")
        return super().forward(X)


class Arm:
    def on_epoch_end(self, net, epoch, logs) -> None:
        if epoch == 2:
            net.layers[0].armed = True


class RaisingCallback:
    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def on_batch_begin(self, net, epoch, step, X, Y) -> None:
        if epoch == 2:
            raise self.error("the user's callback failed")


@pytest.mark.parametrize("error", RAISED, ids=lambda e: e.__name__)
def test_a_user_optimizer_failing_half_way_leaves_the_network_whole(error, path):
    net = xor_net()
    before = params_of(net)
    with pytest.raises(error):  # the user's own exception, unchanged: KeyboardInterrupt and SystemExit keep meaning
        net.fit(XOR_X, XOR_Y, epochs=2, optimizer=HalfUpdating(error), monitor=False)
    assert_same(params_of(net), before)  # 0.W was updated, then put back


@pytest.mark.parametrize("error", RAISED, ids=lambda e: e.__name__)
def test_a_user_layer_or_callback_raising_leaves_the_last_whole_step(error, path):
    reference = gn.Network([gn.Dense(2, 1, "sigmoid")], seed=0)
    reference.fit(XOR_X, XOR_Y, epochs=2, monitor=False)  # the two steps made before the failure
    net = gn.Network([RaisingLayer(error)], seed=0)
    with pytest.raises(error):
        net.fit(XOR_X, XOR_Y, epochs=5, monitor=False, callbacks=[Arm()])
    assert_same(params_of(net), params_of(reference))
    net = gn.Network([gn.Dense(2, 1, "sigmoid")], seed=0)
    with pytest.raises(error):
        net.fit(XOR_X, XOR_Y, epochs=5, monitor=False, callbacks=[RaisingCallback(error)])
    reference = gn.Network([gn.Dense(2, 1, "sigmoid")], seed=0)
    reference.fit(XOR_X, XOR_Y, epochs=1, monitor=False)
    assert_same(params_of(net), params_of(reference))


def _raise(error: type[BaseException]) -> Any:
    def fn(*args: Any) -> Any:
        raise error("inside the user's function")
    return fn


@pytest.mark.parametrize("error", [GeneratorExit, Stop], ids=lambda e: e.__name__)
@pytest.mark.parametrize("what", ["loss function", "gradient function", "step function", "params()"])
def test_the_doctor_reports_a_users_base_exception_as_theirs(what, error):
    with pytest.raises(gn.UserCodeError) as info:
        usercode.call(_raise(error), what, {"w": np.zeros(2)})
    assert f"your {what} raised {error.__name__}" in str(info.value)
    assert "inside the user's function" in info.value.user_traceback


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit], ids=lambda e: e.__name__)
def test_ctrl_c_and_exit_keep_their_meaning_in_the_doctor(error):
    with pytest.raises(error):
        usercode.call(_raise(error), "loss function")


@pytest.mark.parametrize("error", ["GeneratorExit", "Stop"])
@pytest.mark.parametrize("where", ["before the loop", "in the loop"])
def test_a_users_script_raising_a_base_exception_is_a_user_code_error(tmp_path, error, where):
    from glassnet.verify.doctor import check_script

    raising = f"raise {error}('the script failed')"
    script = tmp_path / "my_net.py"
    script.write_text(
        "import numpy as np\n"
        "class Stop(BaseException):\n    pass\n"
        f"{raising if where == 'before the loop' else ''}\n"
        "X = np.array([[0., 0], [0, 1], [1, 0], [1, 1]]); y = np.array([[0.], [1], [1], [0]])\n"
        "W = np.zeros((2, 1)); b = np.zeros((1, 1))\n"
        "for epoch in range(100):\n"
        "    out = X @ W + b\n"
        "    d = 2 * (out - y) / len(X)\n"
        f"    {raising if where == 'in the loop' else 'pass'}\n"
        "    W -= 0.1 * X.T @ d\n"
        "    b -= 0.1 * d.sum(axis=0)\n")
    try:
        report = check_script(str(script), max_seconds=30)
    except gn.UserCodeError as exc:
        assert error in str(exc)
        return
    text = str(report) + repr(getattr(report, "error", ""))
    assert error in text


# ------------------------------------------------------------------------------------------------------------------
# 6. The health monitor's words
# ------------------------------------------------------------------------------------------------------------------
def health_warnings(fn) -> list[HealthWarning]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [w.message for w in caught if isinstance(w.message, HealthWarning)]


def _trained_run(tmp_path, loss: str):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    if loss == "mse":
        y = X @ np.array([[1.5], [-2.0]])
        net = gn.Network.from_sizes([2, 1], "identity", loss="mse", seed=0)
        opt, lr = "sgd", 0.1
    elif loss == "bce":
        y = (X[:, :1] + X[:, 1:] > 0).astype(float)
        net = gn.Network.from_sizes([2, 1], "sigmoid", loss="bce", seed=0)
        opt, lr = "adam", 0.5
    else:
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
        net = gn.Network.from_sizes([2, 8, 3], "tanh", loss="cross_entropy", seed=0)
        opt, lr = "adam", 0.05
    path = tmp_path / f"{loss}.ckpt"
    net.fit(X, y, epochs=300, optimizer=opt, lr=lr, checkpoint=path, monitor=False)
    return net, X, y, opt, lr, path


@pytest.mark.parametrize("loss", ["mse", "bce", "cross_entropy"])
def test_a_resumed_well_trained_run_is_not_told_its_answer_leaks(tmp_path, loss):
    net, X, y, opt, lr, path = _trained_run(tmp_path, loss)
    assert net.loss(X, y) < net.loss_fn.chance(net._targets(y, len(X))) / 20  # far below chance, as a fresh net is not
    fresh = type(net)(net.layers, loss=net.loss_fn, seed=0)
    found = health_warnings(lambda: fresh.fit(X, y, epochs=310, optimizer=opt, lr=lr, checkpoint=path, resume=True))
    assert "initial_loss" not in [w.check for w in found]


@pytest.mark.parametrize("how", ["a second fit", "saved and loaded", "a step loop"])
def test_a_trained_network_trained_further_is_not_told_its_answer_leaks(tmp_path, how):
    net, X, y, opt, lr, _ = _trained_run(tmp_path, "mse")  # monitor=False: trained without the monitor watching
    if how == "a step loop":
        trained, net = net, gn.Network.from_sizes([2, 1], "identity", loss="mse", seed=0)
        for _ in range(300):
            net.step(X, y, "sgd", lr=0.1)
        assert net.loss(X, y) < trained.loss(X, y) * 10
    if how == "saved and loaded":
        net.metadata["history"] = {"loss": [1.0, 0.001]}  # what glassnet train keeps in the file
        net.save(tmp_path / "m.npz")
        net = gn.load(tmp_path / "m.npz")
    found = health_warnings(lambda: net.fit(X, y, epochs=5, optimizer=opt, lr=lr))
    assert "initial_loss" not in [w.check for w in found]


def test_a_fresh_network_that_already_knows_the_answer_is_still_warned():
    """The check the resume skips still works on a fresh run: weights that compute the targets exactly."""
    X = np.random.default_rng(1).normal(size=(64, 2))
    y = X @ np.array([[1.5], [-2.0]])
    net = gn.Network([gn.Dense(2, 1, "identity", init=([[1.5], [-2.0]], [0.0]))], loss="mse")
    found = health_warnings(lambda: net.fit(X, y, epochs=2, lr=0.01))
    assert [w for w in found if w.check == "initial_loss" and "far below" in str(w)]


def _monitor_after(net: gn.Network, X: np.ndarray, Y: np.ndarray, change) -> list[HealthWarning]:
    monitor = HealthMonitor()

    def run() -> None:
        monitor.on_train_begin(net, {"n_samples": len(X), "batch_size": len(X), "epochs": 4, "X": X, "Y": Y,
                                     "epochs_done": 0})
        change(net)
        monitor.on_epoch_end(net, 1, {"loss": 0.3})
    return health_warnings(run)


def _set(key: str, value: float):
    def change(net: gn.Network) -> None:
        net.parameters()[key][...] = value
    return change


SMALL_X = np.random.default_rng(2).uniform(-1, 1, size=(32, 2))
SMALL_Y = (SMALL_X[:, :1] > 0).astype(float)
WORDS = [  # (name, inputs, change to the weights, a check that must not appear, the check that must)
    ("inf weights", SMALL_X, _set("0.W", np.inf), "saturated", "not_finite"),
    ("NaN only in a bias", SMALL_X, _set("0.b", np.nan), "saturated", "not_finite"),
    ("-inf weights", SMALL_X, _set("1.W", -np.inf), "collapsed", "not_finite"),
]


@pytest.mark.parametrize("name, X, change, wrong, right", WORDS, ids=[w[0] for w in WORDS])
def test_non_finite_weights_are_named_not_blamed_on_the_data(name, X, change, wrong, right):
    found = _monitor_after(xor_net(), X, SMALL_Y, change)
    checks = [w.check for w in found]
    assert right in checks and wrong not in checks
    assert all("scale the inputs" not in str(w).lower() for w in found)


@pytest.mark.parametrize("scale, blamed", [(1.0, False), (5.0, False), (1e3, True), (1e6, True)])
def test_saturation_blames_the_inputs_only_when_they_are_large(scale, blamed):
    X = SMALL_X * scale
    change = _set("0.W", 1e6 / scale)  # every hidden sigmoid far in its tails, whatever the scale of X
    found = [w for w in _monitor_after(xor_net(), X, SMALL_Y, change) if w.check == "saturated"]
    assert found, "the units are saturated: the warning itself must stay"
    assert ("scale the inputs" in found[0].suggestion) == blamed


def test_huge_finite_weights_have_a_finite_update_ratio():
    change = _set("0.W", 1e200)
    net = xor_net()
    monitor = HealthMonitor()

    def run() -> None:
        monitor.on_train_begin(net, {"n_samples": 4, "batch_size": 4, "epochs": 4, "X": XOR_X, "Y": XOR_Y})
        monitor.on_epoch_end(net, 1, {"loss": 0.3})  # the look takes a snapshot for the next epoch's ratio
        change(net)
        monitor.on_epoch_end(net, 2, {"loss": 0.3})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        found = health_warnings(run)
    ratios = [w for w in found if w.check == "update_ratio"]
    assert ratios and "inf of its size" not in str(ratios[0])
