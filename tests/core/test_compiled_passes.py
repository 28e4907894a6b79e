"""The loop forms that stand in for a few NumPy passes inside in-place forms (``work.loops``, numba).

``Dense.add_bias_loop`` and ``Dense.bias_gradient_loop`` (forward's ``+ b``, backward's ``dZ.sum(axis=0)``),
``Softmax.shift_loop`` (the row maximum taken off) and ``CrossEntropy.terms_loop`` (the loss's terms and its
gradient): each compared with the NumPy expression it replaces on values with zeros of both signs, ties, inf and NaN,
bit for bit in float64 and float32 (they use only operations IEEE 754 rounds exactly); then the engine: a fit with them
is bit for bit a fit without, they really ran, a layer of one unit keeps NumPy's pairwise sum, and a slipped loop form
warns once and steps aside. The outside reference: ``test_weight_decay.py``'s trajectories against ``torch.optim``
(float64, rtol 1e-10) run on the compiled path too, through these loops.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.core import agreement, compiled, fast
from glassnet.core.activations import Softmax
from glassnet.core.layers import Dense
from glassnet.core.losses import CrossEntropy
from glassnet.errors import FastFormWarning


@pytest.fixture(autouse=True)
def _always(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "always", True)
    assert compiled.available(), "numba is missing or GLASSNET_COMPILED=0: install glassnet[fast]"


def _special(dtype: str, shape: tuple[int, int]) -> np.ndarray:
    """Normal values with zeros of both signs, inf, -inf, NaN, tiny and huge entries."""
    x = np.random.default_rng(7).normal(size=shape) * 3
    x.flat[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 1e30][: x.size]
    return x.astype(dtype)


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal entry for entry, NaN where NaN, and zeros of the same sign."""
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a[~np.isnan(a)]), np.signbit(b[~np.isnan(b)]))


SHAPES = [(1, 2), (4, 5), (64, 10), (300, 3), (256, 130)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES)
def test_bias_loops_compute_what_numpy_computes(shape: tuple[int, int], dtype: str) -> None:
    Z, b = _special(dtype, shape), _special(dtype, (1, shape[1]))[0][::-1].copy()
    Z[:, -1] = -0.0  # a column of negative zeros: NumPy's sum of it is +0.0
    out = Z.copy()
    with np.errstate(all="ignore"):
        compiled.kernel(Dense.add_bias_loop)(out, b)
        _same_bits(out, Z + b)
        db = np.empty(shape[1], dtype)
        compiled.kernel(Dense.bias_gradient_loop)(Z, db)
        _same_bits(db, Z.sum(axis=0))


def test_numpy_sums_one_column_otherwise_so_a_unit_of_its_own_keeps_numpys_sum(monkeypatch) -> None:
    # Why bias_gradient_loop is never used for one unit: NumPy sums a single column pairwise, not row by row.
    dZ = np.random.default_rng(0).normal(size=(200, 1)) * 10.0 ** np.random.default_rng(1).integers(-4, 4, (200, 1))
    db = np.empty(1)
    compiled.kernel(Dense.bias_gradient_loop)(dZ, db)
    assert db[0] != dZ.sum(axis=0)[0]
    net = gn.Network.from_sizes([4, 9, 1], "relu", loss="bce", seed=0)
    X, y = np.random.default_rng(2).normal(size=(200, 4)), np.arange(200) % 2
    net.fit(X, y, epochs=2, batch_size=100, optimizer="adam", monitor=False)
    loops = fast.plan_for(net).loop_forms
    assert "bias_gradient_loop" in loops[0] and "bias_gradient_loop" not in loops[1] and "add_bias_loop" in loops[1]
    expected = gn.Network.from_sizes([4, 9, 1], "relu", loss="bce", seed=0)
    monkeypatch.setattr(compiled, "enabled", False)
    expected.fit(X, y, epochs=2, batch_size=100, optimizer="adam", monitor=False)
    for k, p in net.parameters().items():
        np.testing.assert_array_equal(p, expected.parameters()[k])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES)
def test_shift_loop_takes_off_the_row_maximum_as_numpy(shape: tuple[int, int], dtype: str) -> None:
    Z = _special(dtype, shape)
    if shape[1] >= 4:  # rows whose maximum is a tie of zeros of both signs: np.maximum keeps the later one
        Z[-1] = -np.abs(Z[-1])
        Z[-1, :4] = [-0.0, 0.0, -0.0, -5.0]
        Z[-2] = -np.abs(Z[-2])
        Z[-2, -2:] = [0.0, -0.0]
    T = np.empty_like(Z)
    with np.errstate(all="ignore"):
        compiled.kernel(Softmax.shift_loop)(Z, T)
        # Equal values, NaN where NaN; not the signs of zeros: of two equal zeros NumPy's SIMD maximum returns either,
        # machine by machine, and a zero's sign in T reaches no result (the outputs are compared below, signs too).
        np.testing.assert_array_equal(T, Z - np.maximum.reduce(Z, axis=1, keepdims=True))
        works = [agreement._work(shape[0], shape[1], shape[1], dtype) for _ in range(2)]
        works[0].loops = {"shift_loop": compiled.kernel(Softmax.shift_loop)}
        _same_bits(*[Softmax().forward_into(Z, w.A, w) for w in works])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES)
def test_terms_loop_computes_the_four_numpy_passes(shape: tuple[int, int], dtype: str) -> None:
    rng = np.random.default_rng(4)
    T, A = _special(dtype, shape), rng.random(shape).astype(dtype)
    log_sums = (rng.random((shape[0], 1)) * 3).astype(dtype)
    Y = np.eye(shape[1], dtype=dtype)[rng.integers(0, shape[1], shape[0])]
    G, T_loop = np.empty_like(A), T.copy()
    with np.errstate(all="ignore"):
        compiled.kernel(CrossEntropy.terms_loop)(T_loop, log_sums, A, Y, G)
        _same_bits(T_loop, Y * (T - log_sums))
        _same_bits(G, (A - Y) / shape[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_with_these_loops_is_bit_for_bit_fit_without(monkeypatch, dtype: str) -> None:
    X, y = np.random.default_rng(1).normal(size=(150, 6)), np.arange(150) % 4
    results = []
    for on in (True, False):
        monkeypatch.setattr(compiled, "enabled", on)
        net = gn.Network.from_sizes([6, 12, 7, 4], "relu", loss="cross_entropy", seed=3, dtype=dtype)
        history = net.fit(X, y, epochs=3, batch_size=32, optimizer="adam", lr=0.01, monitor=False)
        loops = fast.plan_for(net).loop_forms
        expected = ({"add_bias_loop", "bias_gradient_loop"}, {"add_bias_loop", "bias_gradient_loop"},
                    {"add_bias_loop", "bias_gradient_loop", "shift_loop", "terms_loop"})
        assert [set(names) for names in loops] == ([*expected] if on else [set(), set(), set()])
        results.append((np.concatenate([p.ravel() for p in net.parameters().values()]), history.loss))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


class _SlippedDense(Dense):
    """A dense layer whose bias loop adds the bias twice (a slip the probe must catch)."""

    def forward(self, X):
        return super().forward(X)

    forward_into = Dense.forward_into  # its in-place form written beside its forward, so the engine runs it

    @staticmethod
    def add_bias_loop(Z, b):
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                Z[i, j] = Z[i, j] + 2 * b[j]


class _SlippedSoftmax(Softmax):
    """A softmax whose shift loop takes off the row's first entry instead of its maximum."""

    def forward(self, Z):
        return super().forward(Z)

    forward_into = Softmax.forward_into

    @staticmethod
    def shift_loop(Z, T):
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                T[i, j] = Z[i, j] - Z[i, 0]


@pytest.mark.parametrize("slip", ["dense", "softmax"])
def test_a_slipped_loop_warns_once_and_numpys_form_runs(monkeypatch, slip: str) -> None:
    def make(layer=Dense, output="softmax"):
        return gn.Network([layer(5, 8, "relu", seed=1), Dense(8, 3, output, seed=2)], loss="cross_entropy", seed=3)

    net = make(_SlippedDense) if slip == "dense" else make(output=_SlippedSoftmax())
    X, y = np.random.default_rng(0).normal(size=(60, 5)), np.arange(60) % 3
    name = "_SlippedDense.add_bias_loop" if slip == "dense" else "_SlippedSoftmax.shift_loop"
    with pytest.warns(FastFormWarning, match=name) as caught:
        net.fit(X, y, epochs=2, optimizer="sgd", batch_size=16, monitor=False)
    assert sum(issubclass(w.category, FastFormWarning) for w in caught) == 1
    loops = fast.plan_for(net).loop_forms
    assert ("add_bias_loop" not in loops[0]) if slip == "dense" else ("shift_loop" not in loops[1])
    expected = make()
    monkeypatch.setattr(fast, "enabled", False)
    expected.fit(X, y, epochs=2, optimizer="sgd", batch_size=16, monitor=False)
    for k, p in net.parameters().items():
        np.testing.assert_array_equal(p, expected.parameters()[k])


def test_a_subclass_that_rewrites_forward_never_runs_the_bias_loop() -> None:
    class Shifted(Dense):  # its own readable forward, no loop form of its own: Dense's loop is not its maths
        def forward(self, X):
            return super().forward(X) + 1.0

    assert agreement.layer_loops(Shifted(3, 4, "relu", seed=0), [], "float64") == {
        "bias_gradient_loop": compiled.kernel(Dense.bias_gradient_loop)}


def test_targets_of_another_layout_take_numpys_passes_and_the_same_numbers(monkeypatch) -> None:
    X, y = np.random.default_rng(5).normal(size=(40, 6)), np.arange(40) % 4
    Y = np.asfortranarray(np.eye(4)[y])  # not C-ordered: the loop would compile a new specialisation mid-step
    results = []
    for on in (True, False):
        monkeypatch.setattr(compiled, "enabled", on)
        net, opt = gn.Network.from_sizes([6, 12, 4], "relu", loss="cross_entropy", seed=3), gn.Adam(0.01)
        losses = [net.step(X, Y, opt) for _ in range(3)]
        assert ("terms_loop" in fast.plan_for(net).loop_forms[-1]) == on
        results.append((losses, np.concatenate([p.ravel() for p in net.parameters().values()])))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


class _OwnValue(CrossEntropy):
    """A cross-entropy whose readable value is its own (the same maths, rewritten): its in-place form is not run."""

    def value(self, Z, A, Y):
        return float(-np.sum(Y * np.log(np.clip(A, 1e-300, None))) / Z.shape[0])


def test_loops_of_a_part_whose_own_in_place_form_does_not_run_are_not_handed_out() -> None:
    net = gn.Network([Dense(5, 8, "relu", seed=1), Dense(8, 3, "softmax", seed=2)], loss=_OwnValue(), seed=3)
    X, y = np.random.default_rng(0).normal(size=(30, 5)), np.arange(30) % 3
    net.fit(X, y, epochs=1, optimizer="sgd", batch_size=16, monitor=False)
    plan = fast.plan_for(net)
    assert "terms_loop" not in plan.loop_forms[-1] and "shift_loop" in plan.loop_forms[-1]


def test_an_in_place_form_given_a_work_object_without_loops_runs_numpys_passes() -> None:
    class Work:  # the buffers activations.py documents, and nothing else
        def __init__(self, n, k):
            self.T, self.T2, self.rows = np.empty((n, k)), np.empty((n, k)), np.empty((n, 1))
            self.mask, self.G = np.empty((n, k), bool), np.empty((n, k))

    Z, work = _special("float64", (4, 5))[::-1].copy(), Work(4, 5)
    Z[~np.isfinite(Z)] = 1.0
    A = Softmax().forward_into(Z, np.empty_like(Z), work)
    np.testing.assert_array_equal(A, Softmax().forward(Z))
    Y = np.eye(5)[[0, 1, 2, 3]]
    assert CrossEntropy().value_and_gradient_into(Z, A, Y, work.G, work) == CrossEntropy().value(Z, A, Y)
