"""The fast path (core/fast.py) against the readable path: bit-identical in float64, equal to rounding in
float32, for every activation x loss x optimizer, with and without L2, across batch sizes including a
ragged last batch; and it steps aside (readable path) whenever a layer, loss or optimizer is hooked."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet.core import fast, optimizers
from glassnet.core.activations import ACTIVATIONS
from glassnet.core.losses import LOSSES
from glassnet.core.optimizers import SGD, Adam


def _optimizer_variants() -> dict[str, object]:
    """Every registered optimizer with its defaults, and with momentum / nesterov on when it has them."""
    variants = {}
    for cls in optimizers.OPTIMIZERS.classes():
        settings = inspect.signature(cls).parameters
        variants[cls.name] = lambda cls=cls: cls(0.05)
        if "momentum" in settings:
            variants[f"{cls.name}-momentum"] = lambda cls=cls: cls(0.02, momentum=0.9)
        if "nesterov" in settings:
            variants[f"{cls.name}-nesterov"] = lambda cls=cls: cls(0.02, momentum=0.9, nesterov=True)
    return variants


# Every case from the registries, so a class added to its module is covered the day it is added.
HIDDEN = [cls.name for cls in ACTIVATIONS.classes() if cls.elementwise]
OUTPUTS = [pair for loss in LOSSES.classes() for pair in (
    [(loss.name, loss.fused_activation.name)] if loss.fused_activation else [(loss.name, a.name) for a in ACTIVATIONS.classes()])]
OPTIMIZERS = _optimizer_variants()


def data(loss: str, n_out: int, n: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    kind = LOSSES[loss].targets
    if kind == "classes":
        return X, rng.integers(0, n_out, size=n)
    if kind == "binary":
        return X, (rng.random((n, n_out)) > 0.5).astype(float)
    return X, rng.normal(size=(n, n_out))


def build(hidden: str, output: str, loss: str, l2: float = 0.0, dtype: str = "float64") -> gn.Network:
    n_out = 3 if not ACTIVATIONS[output].elementwise else 1 if LOSSES[loss].targets == "binary" else 2
    layers = [gn.Dense(4, 5, hidden), gn.Dense(5, 6, hidden), gn.Dense(6, n_out, output)]
    return gn.Network(layers, loss=loss, l2=l2, seed=3, dtype=dtype)


def train(hidden, output, loss, opt_name, l2, batch_size, readable, dtype="float64", epochs=6):
    before = fast.enabled
    fast.enabled = not readable
    try:
        net = build(hidden, output, loss, l2, dtype)
        X, y = data(loss, net.n_out)
        opt = OPTIMIZERS[opt_name]()
        history = net.fit(X, y, epochs=epochs, optimizer=opt, batch_size=batch_size, monitor=False)
        return net, history, opt
    finally:
        fast.enabled = before


def assert_same_training(a, b, exact: bool = True) -> None:
    (net_a, hist_a, opt_a), (net_b, hist_b, opt_b) = a, b
    check = np.testing.assert_array_equal if exact else lambda x, y: np.testing.assert_allclose(x, y, rtol=2e-5, atol=1e-6)
    for key, p in net_a.parameters().items():
        check(p, net_b.parameters()[key])
    for la, lb in zip(net_a.layers, net_b.layers):
        for name in ("W", "b"):
            check(la.grads[name], lb.grads[name])
        for name in ("X", "Z", "A"):
            check(la.cache[name], lb.cache[name])
    check(np.array(hist_a.loss), np.array(hist_b.loss))
    assert hist_a.accuracy == hist_b.accuracy
    assert set(opt_a.state) == set(opt_b.state)
    for name, state in opt_a.state.items():
        for k, v in state.items():
            check(np.asarray(v), np.asarray(opt_b.state[name][k]))


@pytest.mark.filterwarnings("error::glassnet.errors.FastFormWarning")
@pytest.mark.parametrize("hidden,out,opt_name", list(itertools.product(HIDDEN, OUTPUTS, OPTIMIZERS)))
def test_fast_fit_is_bit_identical_to_readable_float64(hidden, out, opt_name) -> None:
    loss, output = out
    for l2, batch_size in ((0.0, 7), (0.01, None)):
        fast_run = train(hidden, output, loss, opt_name, l2, batch_size, readable=False, epochs=3)
        readable_run = train(hidden, output, loss, opt_name, l2, batch_size, readable=True, epochs=3)
        assert_same_training(fast_run, readable_run)


@pytest.mark.filterwarnings("error::glassnet.errors.FastFormWarning")
@pytest.mark.parametrize("hidden,out,opt_name", list(itertools.product(HIDDEN, OUTPUTS, OPTIMIZERS)))
def test_fast_fit_equals_readable_to_rounding_float32(hidden, out, opt_name) -> None:
    loss, output = out
    fast_run = train(hidden, output, loss, opt_name, 0.01, 7, readable=False, dtype="float32", epochs=2)
    readable_run = train(hidden, output, loss, opt_name, 0.01, 7, readable=True, dtype="float32", epochs=2)
    assert fast_run[0].parameters()["0.W"].dtype == np.float32
    assert_same_training(fast_run, readable_run, exact=False)


@pytest.mark.parametrize("batch_size", [1, 7, 10, 29, 30, None])
def test_batch_sizes_including_ragged_last_batch(batch_size) -> None:
    for out in (("bce", "sigmoid"), ("cross_entropy", "softmax")):
        a = train("tanh", out[1], out[0], "adam", 0.001, batch_size, readable=False)
        b = train("tanh", out[1], out[0], "adam", 0.001, batch_size, readable=True)
        assert_same_training(a, b)


def test_step_loop_equals_fit_and_readable_step() -> None:
    X, y = data("cross_entropy", 3)
    nets, opts = [], []
    for readable in (False, True):
        fast.enabled = not readable
        try:
            net, opt = build("relu", "softmax", "cross_entropy", l2=0.01), Adam(0.01)
            for _ in range(3):
                for start in range(0, 30, 8):
                    net.step(X[start:start + 8], y[start:start + 8], opt)
        finally:
            fast.enabled = True
        nets.append(net)
        opts.append(opt)
    for key, p in nets[0].parameters().items():
        np.testing.assert_array_equal(p, nets[1].parameters()[key])
    assert opts[0].state["0.W"]["t"] == opts[1].state["0.W"]["t"] == 12


def test_switching_between_readable_and_fast_steps_keeps_optimizer_state() -> None:
    """Readable steps (as glassnet.explain takes them) and fast steps can alternate on one optimizer."""
    X, y = data("bce", 1)
    ref, mixed = build("tanh", "sigmoid", "bce"), build("tanh", "sigmoid", "bce")
    opt_ref, opt_mixed = Adam(0.01), Adam(0.01)
    Y = y.astype(float)
    for i in range(6):
        rows = slice(5 * i, 5 * i + 5)
        ref._step(X[rows], Y[rows], opt_ref)
        if i % 2:
            mixed._step(X[rows], Y[rows], opt_mixed)
        else:
            mixed.step(X[rows], y[rows], opt_mixed)
    for key, p in ref.parameters().items():
        np.testing.assert_array_equal(p, mixed.parameters()[key])
        np.testing.assert_array_equal(opt_ref.state[key]["m"], opt_mixed.state[key]["m"])


def test_fast_path_is_used_and_parameters_stay_the_same_live_arrays() -> None:
    net = build("tanh", "sigmoid", "bce")
    W = net.layers[0].params["W"]
    X, y = data("bce", 1)
    net.fit(X, y, epochs=3, optimizer="adam", lr=0.01, batch_size=8)
    assert fast.plan_for(net) is not None
    assert net.layers[0].params["W"] is W and net.parameters()["0.W"] is W
    net.set_parameters({"0.W": np.zeros((4, 5))})
    assert not W.any()


def test_replaced_parameter_arrays_are_picked_up() -> None:
    net = build("tanh", "sigmoid", "bce")
    X, y = data("bce", 1)
    net.fit(X, y, epochs=1, batch_size=8)
    new_W = np.full((4, 5), 0.1)
    net.layers[0].params["W"] = new_W
    ref = build("tanh", "sigmoid", "bce")
    fast.enabled = False
    try:
        ref.fit(X, y, epochs=1, batch_size=8)
        ref.layers[0].params["W"] = new_W.copy()
        ref.fit(X, y, epochs=2, batch_size=8)
    finally:
        fast.enabled = True
    net.fit(X, y, epochs=2, batch_size=8)
    for key, p in ref.parameters().items():
        np.testing.assert_array_equal(p, net.parameters()[key])


def test_hooked_layer_makes_fit_use_the_readable_path() -> None:
    """An instance hook (as glassnet.explain installs) must see every step, so fit falls back."""
    net = build("relu", "softmax", "cross_entropy")
    X, y = data("cross_entropy", 3)
    calls = []
    original = net.layers[1].forward

    def hook(A):
        calls.append(A.shape)
        return original(A)

    net.layers[1].forward = hook
    net.fit(X, y, epochs=2, batch_size=10, monitor=False)  # (the monitor's looks would call the hook too)
    assert calls.count((10, 5)) == 6  # every training step
    assert fast.plan_for(net) is None
    del net.layers[1].forward
    assert fast.plan_for(net) is not None


def test_hook_installed_by_a_callback_mid_fit_is_respected() -> None:
    net = build("relu", "softmax", "cross_entropy")
    X, y = data("cross_entropy", 3)
    calls = []

    class InstallHook:
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 1:
                original = net.loss_fn.value
                net.loss_fn.value = lambda *a: calls.append(len(a[0])) or original(*a)

    net.fit(X, y, epochs=3, batch_size=10, callbacks=[InstallHook()])
    assert calls.count(10) == 6  # epochs 2 and 3, three steps each (a health monitor may look at other rows)


def test_monkeypatched_dense_class_falls_back(monkeypatch) -> None:
    seen = []
    original = gn.Dense.forward
    monkeypatch.setattr(gn.Dense, "forward", lambda self, X: seen.append(len(X)) or original(self, X))
    net = build("tanh", "sigmoid", "bce")
    X, y = data("bce", 1)
    net.fit(X, y, epochs=1, batch_size=10, monitor=False)  # (the monitor's looks would call it too)
    assert seen.count(10) == 9


@pytest.mark.parametrize("between", ["callback", "manual steps"])
def test_optimizer_hooked_between_steps_is_respected(between) -> None:
    """The fast path checks the optimizer once after user code ran (not every step): a hook installed by a
    callback, or between two manual net.step calls, still sees every later update."""
    net = build("tanh", "sigmoid", "bce")
    X, y = data("bce", 1)
    opt = gn.Adam(lr=0.01)
    seen = []

    def hook() -> None:
        original = opt.update_one
        opt.update_one = lambda name, p, g: seen.append(name) or original(name, p, g)

    if between == "callback":
        class InstallHook:
            def on_epoch_end(self, net, epoch, logs):
                if epoch == 1:
                    hook()

        net.fit(X, y, epochs=3, batch_size=10, optimizer=opt, callbacks=[InstallHook()], monitor=False)
        assert len(seen) == 6 * 6  # epochs 2 and 3: three steps each, six parameters each
    else:
        Y = net._targets(y, len(X))
        net.step(X[:10], Y[:10], opt)
        hook()
        net.step(X[:10], Y[:10], opt)
        net.step(X[10:20], Y[10:20], opt)
        assert len(seen) == 2 * 6
    del opt.update_one
    before = {k: v.copy() for k, v in net.parameters().items()}
    net.fit(X, y, epochs=1, batch_size=10, optimizer=opt, monitor=False)  # unhooked: the fast path again, state kept
    assert not any(np.array_equal(before[k], v) for k, v in net.parameters().items())
    plan = fast.plan_for(net)
    assert plan is not None and type(plan.last_optimizer[1]) is fast._FlatState  # the optimizer's flat state again


def test_custom_optimizer_gets_the_live_parameters() -> None:
    class Halve(gn.core.Optimizer):
        def update_one(self, name, p, g):
            p -= 0.5 * self.lr * g

        def config(self):
            return {"name": "halve", "lr": self.lr}

    a, b = build("tanh", "sigmoid", "bce"), build("tanh", "sigmoid", "bce")
    X, y = data("bce", 1)
    a.fit(X, y, epochs=2, optimizer=Halve(0.2), batch_size=8)
    b.fit(X, y, epochs=2, optimizer=SGD(0.1), batch_size=8)
    for key, p in a.parameters().items():
        np.testing.assert_array_equal(p, b.parameters()[key])


@pytest.mark.parametrize("readable", [False, True])
def test_training_diverged_keeps_the_last_finite_parameters(readable) -> None:
    fast.enabled = not readable
    try:
        net = gn.Network.from_sizes([1, 4, 1], "tanh", output_activation="identity", loss="mse", seed=0)
        X = np.array([[1.0], [2.0], [3.0]])
        y = np.array([1.0, 2.0, 3.0])
        saved = None

        class Keep:
            def on_epoch_end(self, net, epoch, logs):
                nonlocal saved
                saved = {k: p.copy() for k, p in net.parameters().items()}

        with pytest.raises(gn.TrainingDiverged) as info:
            with np.errstate(all="ignore"):
                net.fit(X, y, epochs=500, optimizer="sgd", lr=3.0, callbacks=[Keep()])
        assert info.value.epoch > 1
        for key, p in net.parameters().items():
            assert np.isfinite(p).all()
            np.testing.assert_array_equal(p, saved[key])
    finally:
        fast.enabled = True


def test_large_finite_gradients_do_not_count_as_divergence() -> None:
    """The fast check sums all gradients; a sum that overflows is looked at element by element."""
    big = np.array([1e308, 1e308, 0.0])
    with np.errstate(over="ignore"):
        assert np.isinf(np.add.reduce(big))
    assert fast.all_finite(1.0, big)
    assert not fast.all_finite(float("nan"), big)
    assert not fast.all_finite(1.0, np.array([1.0, np.inf, -np.inf]))
    assert not fast.all_finite(1.0, np.array([0.0, np.nan]))
    assert fast.all_finite(1.0, np.array([1.0, -2.0]))


def test_chunked_adam_on_a_wide_network_matches_readable(monkeypatch) -> None:
    monkeypatch.setattr(fast, "CHUNK", 64)
    a = train("relu", "softmax", "cross_entropy", "adam", 0.0, 7, readable=False, epochs=2)
    b = train("relu", "softmax", "cross_entropy", "adam", 0.0, 7, readable=True, epochs=2)
    assert_same_training(a, b)
    a = train("relu", "softmax", "cross_entropy", "sgd-nesterov", 0.0, 7, readable=False, epochs=2)
    b = train("relu", "softmax", "cross_entropy", "sgd-nesterov", 0.0, 7, readable=True, epochs=2)
    assert_same_training(a, b)


def test_save_load_round_trip_after_fast_training(tmp_path) -> None:
    net = build("tanh", "sigmoid", "bce")
    X, y = data("bce", 1)
    net.fit(X, y, epochs=2, optimizer="adam", lr=0.01, batch_size=8)
    net.save(tmp_path / "m.npz")
    back = gn.load(tmp_path / "m.npz")
    for key, p in net.parameters().items():
        np.testing.assert_array_equal(p, back.parameters()[key])
    np.testing.assert_array_equal(net.predict_proba(X), back.predict_proba(X))


def test_changes_after_a_fit_are_picked_up() -> None:
    """A new activation object, a new l2 or a replaced loss make the next fit build a new plan."""
    X, y = data("mse", 2)
    nets = []
    for readable in (False, True):
        fast.enabled = not readable
        try:
            net = build("tanh", "identity", "mse")
            net.fit(X, y, epochs=2, batch_size=8)
            net.layers[0].activation = gn.core.get_activation("relu")
            net.l2 = 0.05
            net.fit(X, y, epochs=2, batch_size=8)
            nets.append(net)
        finally:
            fast.enabled = True
    for key, p in nets[0].parameters().items():
        np.testing.assert_array_equal(p, nets[1].parameters()[key])


def test_copied_and_pickled_networks_train_like_the_original() -> None:
    import copy
    import pickle

    X, y = data("bce", 1)
    net = build("tanh", "sigmoid", "bce")
    net.fit(X, y, epochs=1, optimizer="adam", lr=0.01, batch_size=8)
    twins = [copy.deepcopy(net), pickle.loads(pickle.dumps(net))]
    for other in [net, *twins]:
        other.fit(X, y, epochs=2, optimizer="adam", lr=0.01, batch_size=8)
    for twin in twins:
        for key, p in net.parameters().items():
            np.testing.assert_array_equal(p, twin.parameters()[key])
    W = twins[0].layers[0].params["W"]
    twins[0].fit(X, y, epochs=1, batch_size=8)
    assert twins[0].layers[0].params["W"] is W  # packed once, then the same live arrays
