"""The compiled loop forms (numba, ``glassnet[fast]``): each one computes what the readable rule computes.

Every optimizer's ``update_loop`` is compared with its ``update_one`` (the readable rule, run through
``Optimizer.update``) on arrays with zeros, tiny and large entries, over several steps with every setting: bit for bit
in float64, to rounding in float32. Then the engine: ``fit`` with the loop forms on gives exactly ``fit`` with them off
in float64 (and the loops really ran); a step that would overflow changes nothing; a loop form that disagrees warns once
and steps aside; one the class does not own (a subclass that rewrote the readable rule) is never run; without numba
nothing changes and nothing imports it. The outside reference: ``test_weight_decay.py`` runs its trajectories
against ``torch.optim`` in float64 (rtol 1e-10, every one of 60 steps, every optimizer and setting) on the compiled
loop forms too (its ``path`` "compiled").
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet.core import agreement, compiled, fast
from glassnet.core.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from glassnet.core.optimizers import Adam, Optimizer, clip_factor
from glassnet.errors import FastFormWarning, TrainingDiverged

VARIANTS = {
    "sgd": lambda: gn.SGD(0.1),
    "sgd-decay": lambda: gn.SGD(0.1, weight_decay=0.01),
    "momentum": lambda: gn.SGD(0.1, momentum=0.9),
    "nesterov-decay": lambda: gn.SGD(0.05, momentum=0.8, nesterov=True, weight_decay=0.02),
    "adam": lambda: gn.Adam(0.01),
    "adam-decay": lambda: gn.Adam(0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adamw": lambda: gn.AdamW(0.01, weight_decay=0.05),
    "rmsprop": lambda: gn.RMSprop(0.01),
    "rmsprop-momentum-decay": lambda: gn.RMSprop(0.01, alpha=0.9, momentum=0.9, weight_decay=0.01),
}


@pytest.fixture(autouse=True)
def _always(monkeypatch) -> None:
    """These tests use small networks: compile their loop forms too (by default only from MIN_PARAMETERS on)."""
    monkeypatch.setattr(compiled, "always", True)


def test_numba_is_installed_for_these_tests() -> None:
    # CI installs glassnet[test], which includes the fast extra: without numba every test below would test nothing.
    assert compiled.available(), "numba is missing or GLASSNET_COMPILED=0: install glassnet[fast]"


def _values(rng: np.random.Generator, n: int, dtype: str) -> np.ndarray:
    """Entries around 1, exact zeros, tiny (1e-30) and large (1e6) ones, of both signs."""
    x = rng.normal(size=n)
    x[::11] = 0.0
    x[3::13] *= 1e-30
    x[5::17] *= 1e6
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_update_loop_computes_what_update_one_computes(variant: str, dtype: str) -> None:
    readable, opt = VARIANTS[variant](), VARIANTS[variant]()
    loop = compiled.kernel(type(opt).update_loop)
    rng = np.random.default_rng(7)
    shapes = {"0.W": (40, 30), "0.b": (30,), "1.W": (30, 3), "1.b": (3,)}
    params = {k: _values(rng, int(np.prod(s)), dtype).reshape(s) for k, s in shapes.items()}
    flat = np.concatenate([p.ravel() for p in params.values()])
    buffers = {b: np.zeros_like(flat) for b in opt.buffers()}
    arrays = [buffers.get(b, np.zeros(0, dtype)) for b in type(opt).loop_buffers]
    for t in range(1, 7):
        grads = {k: _values(rng, int(np.prod(s)), dtype).reshape(s) for k, s in shapes.items()}
        g = np.concatenate([x.ravel() for x in grads.values()])
        clip = t in (3, 4)  # two steps clipped by global norm, as max_grad_norm does
        limit = 0.3 * float(np.linalg.norm(g.astype(np.float64)))
        readable.max_grad_norm = limit if clip else None
        readable.update(params, grads)
        coef = clip_factor(grads.values(), limit)[1] if clip else 1.0
        values = compiled.scalars(opt.loop_scalars(t, coef), np.dtype(dtype))
        assert loop(flat, g, *arrays, *values, False)  # every new value finite: nothing written yet
        loop(flat, g, *arrays, *values, True)
        expected = np.concatenate([p.ravel() for p in params.values()])
        if dtype == "float64":
            np.testing.assert_array_equal(flat, expected, err_msg=f"step {t}")
        else:
            np.testing.assert_allclose(flat, expected, rtol=1e-6, atol=1e-30, err_msg=f"step {t}")
        for b, buffer in buffers.items():
            kept = np.concatenate([readable.state[k][b].ravel() for k in params])
            np.testing.assert_allclose(buffer, kept, rtol=0 if dtype == "float64" else 1e-6, atol=0, err_msg=f"{b} step {t}")


def test_the_check_pass_writes_nothing() -> None:
    opt = gn.Adam(1e308)  # its bias-corrected step size lr / (1 - beta1) overflows
    loop = compiled.kernel(Adam.update_loop)
    p, g = np.array([1.0, 2.0, 3.0]), np.array([1e-3, 1.0, -2.0])
    m, v = np.array([0.5, 0.0, 0.1]), np.array([1e-300, 0.0, 1.0])
    before = [a.copy() for a in (p, g, m, v)]
    assert not loop(p, g, m, v, *compiled.scalars(opt.loop_scalars(1, 1.0), np.dtype("float64")), False)  # p overflows
    for a, b in zip((p, g, m, v), before):
        np.testing.assert_array_equal(a, b)


def _net(dtype: str = "float64", seed: int = 0) -> gn.Network:
    return gn.Network.from_sizes([5, 16, 8, 3], "tanh", loss="cross_entropy", seed=seed, dtype=dtype)


def _data(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 5)), rng.integers(0, 3, n)


def _fit(monkeypatch, on: bool, variant: str, dtype: str = "float64") -> tuple[np.ndarray, tuple]:
    monkeypatch.setattr(compiled, "enabled", on)
    net, (X, y), opt = _net(dtype), _data(), VARIANTS[variant]()
    net.fit(X, y, epochs=4, optimizer=opt, batch_size=16, monitor=False)
    return np.concatenate([p.ravel() for p in net.parameters().values()]), (net, opt)


def _ran_loop(trained: tuple) -> bool:
    """True if the last update of ``net`` by ``opt`` ran the compiled loop form."""
    net, opt = trained
    state = fast.plan_for(net).opt_states.get(opt)
    return state is not None and state.loop is not None


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fit_with_loop_forms_is_bit_identical_to_fit_without(monkeypatch, variant: str) -> None:
    with_loops, net = _fit(monkeypatch, True, variant)
    assert _ran_loop(net)
    without, net = _fit(monkeypatch, False, variant)
    assert not _ran_loop(net)
    np.testing.assert_array_equal(with_loops, without)


def test_float32_fit_with_loop_forms_equals_fit_without_to_rounding(monkeypatch) -> None:
    with_loops, _ = _fit(monkeypatch, True, "adam", "float32")
    without, _ = _fit(monkeypatch, False, "adam", "float32")
    np.testing.assert_allclose(with_loops, without, rtol=1e-4, atol=1e-6)


def test_clipping_and_frozen_parameters_with_loop_forms(monkeypatch) -> None:
    results = []
    for on in (True, False):
        monkeypatch.setattr(compiled, "enabled", on)
        net, (X, y) = _net(), _data()
        net.freeze("1.W")  # two runs of trainable parameters around a frozen one
        opt = gn.Adam(0.05, max_grad_norm=0.1)
        net.fit(X, y, epochs=3, optimizer=opt, batch_size=20, monitor=False)
        assert _ran_loop((net, opt)) == on
        results.append((np.concatenate([p.ravel() for p in net.parameters().values()]), opt.last_grad_norm))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("variant", ["momentum", "adam", "rmsprop"])
def test_a_step_that_would_overflow_changes_nothing(variant: str) -> None:
    net, (X, y) = _net(), _data()
    X = 50 * X  # gradients well above 1, so that lr * step overflows below
    opt = VARIANTS[variant]()
    for start in range(0, 48, 16):
        net.step(X[start:start + 16], y[start:start + 16], opt)
    assert _ran_loop((net, opt))
    params = {k: p.copy() for k, p in net.parameters().items()}
    state = {k: {b: (v.copy() if isinstance(v, np.ndarray) else v) for b, v in s.items()} for k, s in opt.state.items()}
    opt.lr = 1.7e308  # finite, but lr times any step above 1.06 is not
    with pytest.raises(TrainingDiverged, match="the update overflowed"):
        net.step(X[:16], y[:16], opt)
    for k, p in net.parameters().items():
        np.testing.assert_array_equal(p, params[k])
    for k, s in state.items():
        for b, v in s.items():
            np.testing.assert_array_equal(opt.state[k][b], v)
    opt.lr = 0.01  # and training goes on from there, as without the loop forms
    net.step(X[:16], y[:16], opt)


def _assert_trains_as_readable(monkeypatch, net, make_net, make_optimizer, X, y, epochs: int) -> None:
    """``net``, just fitted, ends exactly where the readable path ends from the same start (``make_net()``), trained
    the same way (``make_optimizer()``: a name, or a function giving a fresh optimizer)."""
    expected = make_net()
    monkeypatch.setattr(fast, "enabled", False)
    optimizer = make_optimizer if isinstance(make_optimizer, str) else make_optimizer()
    expected.fit(X, y, epochs=epochs, optimizer=optimizer, batch_size=16, monitor=False)
    for k, p in net.parameters().items():
        np.testing.assert_array_equal(p, expected.parameters()[k])


class _LoopSlip(Adam):
    """Adam whose loop form forgot the bias correction of the step size (a slip the probe must catch)."""

    def update_one(self, name, p, g):
        super().update_one(name, p, g)

    def loop_scalars(self, t, coef):
        values = super().loop_scalars(t, coef)
        return (*values[:7], self.lr, *values[8:])

    update_loop = staticmethod(Adam.update_loop)


class _RewrittenRule(Adam):
    """Adam with a rewritten readable rule (half steps) and no loop form of its own."""

    def update_one(self, name, p, g):
        before = p.copy()
        super().update_one(name, p, g)
        p[...] = before + 0.5 * (p - before)


def test_a_disagreeing_loop_form_warns_once_and_the_readable_rule_runs(monkeypatch) -> None:
    net, (X, y) = _net(), _data()
    opt = _LoopSlip(0.01)
    with pytest.warns(FastFormWarning, match="_LoopSlip.update_loop") as caught:
        net.fit(X, y, epochs=2, optimizer=opt, batch_size=16, monitor=False)
    assert sum(issubclass(w.category, FastFormWarning) for w in caught) == 1
    assert not _ran_loop((net, opt))
    _assert_trains_as_readable(monkeypatch, net, _net, lambda: Adam(0.01), X, y, epochs=2)


def test_a_rewritten_readable_rule_is_never_ignored(monkeypatch) -> None:
    assert agreement.optimizer_loop(_RewrittenRule(0.01), "float64") is None  # Adam's loop is not this class's rule
    net, (X, y) = _net(), _data()
    net.fit(X, y, epochs=2, optimizer=_RewrittenRule(0.01), batch_size=16, monitor=False)
    _assert_trains_as_readable(monkeypatch, net, _net, lambda: _RewrittenRule(0.01), X, y, epochs=2)


def test_a_spy_on_update_one_is_called_and_the_loop_steps_aside() -> None:
    opt, calls = gn.Adam(0.01), []
    original = opt.update_one

    def spy(name, p, g):
        calls.append(name)
        original(name, p, g)

    opt.update_one = spy
    assert agreement.optimizer_loop(opt, "float64") is None
    net, (X, y) = _net(), _data()
    net.step(X[:16], y[:16], opt)
    assert len(calls) == 6


def test_without_numba_nothing_changes(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "_numba", False)  # as if numba were not installed
    assert not compiled.available() and compiled.kernel(Adam.update_loop) is None
    without, net = _fit(monkeypatch, True, "adam")
    assert not _ran_loop(net)
    monkeypatch.setattr(compiled, "_numba", None)
    with_loops, net = _fit(monkeypatch, True, "adam")
    assert _ran_loop(net)
    np.testing.assert_array_equal(with_loops, without)


def test_switched_off_glassnet_never_imports_numba() -> None:
    code = ("import sys, numpy as np, glassnet as gn\n"
            "net = gn.Network.from_sizes([2, 3, 1], 'tanh', seed=0)\n"
            "net.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, optimizer='adam', monitor=False)\n"
            "print('numba' in sys.modules)\n")
    env = {"GLASSNET_COMPILED": "0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **_pythonpath()},
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "NUMBA_CACHE_DIR")}


def test_report_names_what_ran() -> None:
    net, (X, y) = _net(), _data()
    net.fit(X, y, epochs=1, optimizer="adam", batch_size=16, monitor=False)
    report = compiled.report()
    assert report["numba"] and report["enabled"]
    first = report["kernels"]["Adam.update_loop[float64]"]
    assert first["seconds"] >= 0 and isinstance(first["cached"], bool)


def test_every_optimizer_with_a_loop_form_runs_it() -> None:
    for make in VARIANTS.values():
        opt = make()
        for dtype in ("float64", "float32"):
            defines = next(c for c in type(opt).__mro__ if "update_loop" in vars(c)) is not Optimizer
            assert defines and agreement.optimizer_loop(opt, dtype) is not None, (opt, dtype)


# ---------------------------------------------------------------------------- activations' loop forms
LOOPED = {"relu": ReLU, "leaky_relu": lambda: LeakyReLU(0.2), "sigmoid": Sigmoid, "tanh": Tanh}


def _special(dtype: str, shape: tuple[int, int] = (7, 9)) -> np.ndarray:
    """Values around 0, exact zeros of both signs, the kink, tails, inf and NaN."""
    x = np.random.default_rng(3).normal(size=shape) * 3
    x.flat[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 40.0]
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(LOOPED))
def test_activation_loop_forms_compute_what_the_readable_forms_compute(name: str, dtype: str) -> None:
    act = LOOPED[name]()
    settings = compiled.scalars(act.loop_settings(), np.dtype(dtype))
    Z, dA = _special(dtype), _special(dtype)[::-1].copy()
    with np.errstate(all="ignore"):
        A = np.asarray(act.forward(Z), dtype=dtype)
        if hasattr(type(act), "forward_loop"):
            out = np.empty_like(Z)
            compiled.kernel(type(act).forward_loop)(Z, out, *settings)
            np.testing.assert_array_equal(out, A)
        out = np.empty_like(Z)
        compiled.kernel(type(act).backward_loop)(Z, A, dA, out, *settings)
        np.testing.assert_array_equal(out, act.backward(Z, A, dA))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_fit_with_activation_loops_is_bit_identical_to_fit_without(monkeypatch, activation: str) -> None:
    results = []
    for on in (True, False):
        monkeypatch.setattr(compiled, "enabled", on)
        net, (X, y) = gn.Network.from_sizes([5, 12, 3], activation, loss="cross_entropy", seed=2), _data()
        net.fit(X, y, epochs=3, optimizer="adam", lr=0.01, batch_size=16, monitor=False)
        forms = fast.plan_for(net).act_forms[0]
        assert ("_loop" in forms[1].__qualname__) == on  # the backward loop ran, or did not
        results.append(np.concatenate([p.ravel() for p in net.parameters().values()]))
    np.testing.assert_array_equal(results[0], results[1])


class _SlippedReLU(ReLU):
    """A ReLU whose loop form lets negative inputs through at a tenth (a slip the probe must catch)."""

    def forward(self, Z):
        return np.maximum(Z, 0.0)

    @staticmethod
    def forward_loop(Z, A):
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                A[i, j] = Z[i, j] if Z[i, j] > 0 else 0.1 * Z[i, j]


def test_a_disagreeing_activation_loop_warns_once_and_the_readable_form_runs(monkeypatch) -> None:
    make = lambda: gn.Network([gn.Dense(5, 8, _SlippedReLU(), seed=1), gn.Dense(8, 3, "softmax", seed=2)],  # noqa: E731
                              loss="cross_entropy", seed=3)
    net, (X, y) = make(), _data()
    with pytest.warns(FastFormWarning, match="_SlippedReLU.forward_loop") as caught:
        net.fit(X, y, epochs=2, optimizer="sgd", batch_size=16, monitor=False)
    assert sum(issubclass(w.category, FastFormWarning) for w in caught) == 1
    _assert_trains_as_readable(monkeypatch, net, make, "sgd", X, y, epochs=2)


def test_by_default_only_networks_of_min_parameters_or_more_run_loop_forms(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "always", False)
    small = gn.Network.from_sizes([5, 16, 8, 3], "relu", loss="cross_entropy", seed=0)  # 259 parameters
    large = gn.Network.from_sizes([64, 64, 10], "relu", loss="cross_entropy", seed=0)  # 4810 parameters
    size = lambda net: sum(p.size for p in net.parameters().values())  # noqa: E731
    assert size(small) < compiled.MIN_PARAMETERS <= size(large)
    X = np.random.default_rng(0).normal(size=(32, 64))
    y = np.arange(32) % 3
    small.fit(X[:, :5], y, epochs=1, optimizer="adam", batch_size=16, monitor=False)
    large.fit(X, y, epochs=1, optimizer="adam", batch_size=16, monitor=False)
    assert not fast.plan_for(small).loops and fast.plan_for(large).loops
    assert "_loop" in fast.plan_for(large).act_forms[0][0].__qualname__


def test_a_small_network_never_imports_numba_by_default() -> None:
    code = ("import sys, numpy as np, glassnet as gn\n"
            "net = gn.Network.from_sizes([2, 3, 1], 'tanh', seed=0)\n"
            "net.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, optimizer='adam')\n"
            "print('numba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         env={"PATH": "/usr/bin:/bin", **_pythonpath()})
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- review findings, pinned
def _trained_adam(steps: int = 3) -> tuple[gn.Network, gn.Adam, np.ndarray, np.ndarray]:
    net, (X, y), opt = _net(), _data(), gn.Adam(0.01)
    for start in range(0, 16 * steps, 16):
        net.step(X[start:start + 16], y[start:start + 16], opt)
    return net, opt, X, y


def _state(net: gn.Network, opt: gn.Adam) -> tuple:
    return ({k: p.copy() for k, p in net.parameters().items()},
            {k: (s["m"].copy(), s["v"].copy(), s["t"]) for k, s in opt.state.items()})


def _same(a: tuple, b: tuple) -> None:
    for k in a[0]:
        np.testing.assert_array_equal(a[0][k], b[0][k])
    for k in a[1]:
        np.testing.assert_array_equal(a[1][k][0], b[1][k][0])
        np.testing.assert_array_equal(a[1][k][1], b[1][k][1])
        assert a[1][k][2] == b[1][k][2]


def test_ctrl_c_before_the_writes_leaves_the_step_unmade_and_its_count_too() -> None:
    net, opt, X, y = _trained_adam()
    state = fast.plan_for(net).opt_states[opt]
    real, before = state.loop, _state(net, opt)

    def interrupted(*args):
        real(*args)
        raise KeyboardInterrupt  # as if Ctrl-C arrived right after the check pass

    state.loop = interrupted
    with pytest.raises(KeyboardInterrupt):
        net.step(X[:16], y[:16], opt)
    _same(_state(net, opt), before)
    state.loop = real
    net.step(X[:16], y[:16], opt)  # and the next step is the step that was interrupted
    expected, e_opt, _, _ = _trained_adam(3)
    expected.step(X[:16], y[:16], e_opt)
    _same(_state(net, opt), _state(expected, e_opt))


def test_ctrl_c_during_the_writes_arrives_after_the_whole_step() -> None:
    import os
    import signal

    # Python's own handler, as in a terminal (a shell's background job starts with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    net, opt, X, y = _trained_adam()
    state = fast.plan_for(net).opt_states[opt]
    real = state.loop

    def signalled(*args):
        if args[-1]:  # the write pass: Ctrl-C now
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args)

    state.loop = signalled
    try:
        with pytest.raises(KeyboardInterrupt):
            net.step(X[:16], y[:16], opt)
    finally:
        signal.signal(signal.SIGINT, previous)
    expected, e_opt, _, _ = _trained_adam(3)
    expected.step(X[:16], y[:16], e_opt)
    _same(_state(net, opt), _state(expected, e_opt))  # the step was made whole, t included


@pytest.mark.parametrize("installed", ["python's own", "the user's", "ignored"])
def test_a_step_loop_leaves_the_sigint_handler_it_found(installed) -> None:
    # _whole swaps the handler with _signal's functions (not signal.signal's wrappers): whatever was installed is
    # installed again after each step, the very object, and the steps are those of a loop without the swap.
    import signal

    def users_own(*args):
        raise RuntimeError("the user's handler")

    handler = {"python's own": signal.default_int_handler, "the user's": users_own, "ignored": signal.SIG_IGN}[installed]
    previous = signal.signal(signal.SIGINT, handler)
    try:
        net, opt, X, y = _trained_adam()
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert after is handler or (installed == "ignored" and after == signal.SIG_IGN)
    assert fast.plan_for(net).opt_states[opt].loop is not None  # the compiled update ran (and held Ctrl-C back)
    fast.ctrl_c_held = True  # as inside fit: no handler is swapped at all
    try:
        expected, e_opt, _, _ = _trained_adam()
    finally:
        fast.ctrl_c_held = False
    _same(_state(net, opt), _state(expected, e_opt))


def test_a_second_ctrl_c_in_fit_right_after_the_writes_still_counts_the_step() -> None:
    # fit turns the first Ctrl-C into "stop after this step" and raises at a second one; a second one landing between
    # the update's writes and the line that records them used to count the written step back (t one behind its
    # parameters). It is now raised once the step is whole: the state is that of a fit stopped after that step.
    import os
    import signal

    net, opt, X, y = _trained_adam()
    state = fast.plan_for(net).opt_states[opt]
    real, writes = state.loop, []

    def interrupted_after_the_third_write(*args):
        result = real(*args)
        if args[-1]:
            writes.append(1)
            if len(writes) == 3:
                os.kill(os.getpid(), signal.SIGINT)  # the first: stop after this step
                os.kill(os.getpid(), signal.SIGINT)  # the second: at once, which here is once the step is whole
        return result

    state.loop = interrupted_after_the_third_write
    with pytest.raises(KeyboardInterrupt):
        net.fit(X[:16], y[:16], epochs=10, optimizer=opt, monitor=False)  # one step an epoch
    assert not fast.in_update and not fast.ctrl_c_pending and not fast.ctrl_c_held
    expected, e_opt, _, _ = _trained_adam()
    expected.fit(X[:16], y[:16], epochs=3, optimizer=e_opt, monitor=False)
    _same(_state(net, opt), _state(expected, e_opt))  # parameters, m, v and t: three whole steps


def test_a_ctrl_c_before_the_update_leaves_no_count_without_its_step(monkeypatch) -> None:
    # the step's count t is set inside the block that writes the step: a Ctrl-C arriving before it (here while the
    # update's numbers are made, in a loop of net.step with Python's own handler) leaves t with the parameters
    import os
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    net, opt, X, y = _trained_adam()
    scalars = compiled.scalars

    def interrupted(values, dtype):
        if len(values) == len(opt.loop_scalars(1, 1.0)):  # the update's numbers (the activations' loops ask too)
            os.kill(os.getpid(), signal.SIGINT)
        return scalars(values, dtype)

    monkeypatch.setattr(compiled, "scalars", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            net.step(X[:16], y[:16], opt)
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.setattr(compiled, "scalars", scalars)
    expected, e_opt, _, _ = _trained_adam()
    _same(_state(net, opt), _state(expected, e_opt))  # three steps, t = 3
    net.step(X[:16], y[:16], opt)  # and the next step is the fourth, as in a run never interrupted
    expected.step(X[:16], y[:16], e_opt)
    _same(_state(net, opt), _state(expected, e_opt))


def test_a_readable_step_after_a_failed_check_is_adopted(monkeypatch) -> None:
    net, opt, X, y = _trained_adam()
    state = fast.plan_for(net).opt_states[opt]
    real, calls = state.loop, []

    def once_not_finite(*args):
        calls.append(args[-1])
        return False if len(calls) == 1 else real(*args)  # the first check says "not finite"; the readable step works

    state.loop = once_not_finite
    for start in (0, 16, 32):
        net.step(X[start:start + 16], y[start:start + 16], opt)
    expected, e_opt, _, _ = _trained_adam(3)
    for start in (0, 16, 32):
        expected.step(X[start:start + 16], y[start:start + 16], e_opt)
    _same(_state(net, opt), _state(expected, e_opt))


def test_relu_loop_gives_plus_zero_for_minus_zero_as_np_maximum() -> None:
    Z = np.array([[-0.0, 0.0, -1.0, 2.0]])
    out = np.empty_like(Z)
    compiled.kernel(ReLU.forward_loop)(Z, out)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(np.maximum(Z, 0.0)))


def test_a_changed_leaky_slope_is_followed_by_the_loops(monkeypatch) -> None:
    results = []
    for on in (True, False):
        monkeypatch.setattr(compiled, "enabled", on)
        act = LeakyReLU(0.1)
        net, (X, y) = gn.Network([gn.Dense(5, 8, act, seed=1), gn.Dense(8, 3, "softmax", seed=2)],
                                 loss="cross_entropy", seed=0), _data()
        net.fit(X, y, epochs=1, optimizer="sgd", batch_size=16, monitor=False)
        act.slope = 0.5
        net.fit(X, y, epochs=1, optimizer="sgd", batch_size=16, monitor=False)
        results.append(np.concatenate([p.ravel() for p in net.parameters().values()]))
    np.testing.assert_array_equal(results[0], results[1])


def _plain_helper(x):
    return x * 2.0  # a plain Python function: numba cannot call it from compiled code


class _Uncompilable(gn.SGD):
    """A learner's SGD whose loop form calls a plain Python helper."""

    def update_one(self, name, p, g):
        p -= self.lr * g

    @staticmethod
    def update_loop(p, g, velocity, coef, weight_decay, momentum, nesterov, first, lr, write):
        for i in range(p.shape[0]):
            if write:
                p[i] = p[i] - lr * _plain_helper(g[i]) / 2.0
        return True


def test_a_loop_form_numba_cannot_compile_warns_and_the_rule_runs(monkeypatch) -> None:
    net, (X, y) = _net(), _data()
    with pytest.warns(FastFormWarning, match="could not run") as caught:
        net.fit(X, y, epochs=1, optimizer=_Uncompilable(0.1), batch_size=16, monitor=False)
    assert "numba could not compile it" in str(caught[0].message)
    _assert_trains_as_readable(monkeypatch, net, _net, lambda: _Uncompilable(0.1), X, y, epochs=1)


def test_glassnet_compiled_takes_three_settings_and_names_them_otherwise() -> None:
    assert [compiled.mode(v) for v in (None, "", "auto", "1", "always", "0", "never", " OFF ")] == [
        "auto", "auto", "auto", "always", "always", "never", "never", "never"]
    with pytest.raises(gn.ConfigError, match="GLASSNET_COMPILED='maybe'.*0 .*1 .*auto"):
        compiled.mode("maybe")


def test_the_readme_shows_adams_loop_form_as_it_is() -> None:
    import inspect
    import textwrap
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "```python\n" + textwrap.dedent(inspect.getsource(Adam.update_loop)) + "```" in readme


@pytest.mark.parametrize("values", [(0.1, 1 / 3, 1e-8, 1e300, -0.0, 7), (0.1, True, 1e-45, False)])
def test_scalars_are_rounded_to_the_arrays_dtype_one_by_one_and_flags_stay_flags(values):
    with np.errstate(over="ignore"):  # 1e300 is inf in float32, as a float32 array makes it
        got = compiled.scalars(values, np.dtype("float32"))
        expected = [v if isinstance(v, bool) else np.float32(v) for v in values]
    assert len(got) == len(values)
    for v, g, e in zip(values, got, expected):
        if isinstance(v, bool):
            assert g is v
        else:
            assert type(g) is np.float32 and np.array_equal(g, e) and math.copysign(1, g) == math.copysign(1, v)
    assert compiled.scalars(values, np.dtype("float64")) is values
