"""The trace's numbers are the engine's: gradients equal net.gradients exactly, updates equal net.step exactly,
apply=False changes nothing, and no hook outlives explain()."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.core.activations import ACTIVATIONS
from glassnet.core.layers import Dense
from glassnet.core.losses import LOSSES
from glassnet.core.optimizers import OPTIMIZERS

# From the registries, so that a class added to its core module is traced here the day it is added.
HIDDEN = [cls.name for cls in ACTIVATIONS.classes() if cls.elementwise]
OUTPUT = [cls.name for cls in ACTIVATIONS.classes()]
LOSS_NAMES = LOSSES.names()
OPTIMIZER_VARIANTS = {cls.name: cls for cls in OPTIMIZERS.classes()} | {
    "momentum": lambda: gn.SGD(0.1, momentum=0.9), "nesterov": lambda: gn.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop_momentum": lambda: OPTIMIZERS.lookup("rmsprop")(0.01, momentum=0.9)}


@st.composite
def problems(draw):
    """A random small network (any loss and activations), a batch and a matching target."""
    loss = LOSSES.lookup(draw(st.sampled_from(LOSS_NAMES)))()
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    if loss.targets == "classes":
        sizes[-1] = max(sizes[-1], 2)
    fused = loss.fused_activation
    output = fused.name if fused is not None else draw(st.sampled_from(OUTPUT))
    net = gn.Network.from_sizes(sizes, activation=draw(st.sampled_from(HIDDEN)), output_activation=output, loss=loss,
                                l2=draw(st.sampled_from([0.0, 0.01])), seed=draw(st.integers(0, 10**6)),
                                dtype=draw(st.sampled_from(["float64", "float32"])))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    n = draw(st.integers(1, 4))
    X = rng.normal(size=(n, sizes[0]))
    if loss.targets == "classes":
        y = rng.integers(0, sizes[-1], size=n)
    elif loss.targets == "binary":
        y = rng.integers(0, 2, size=(n, sizes[-1])).astype(float)
    else:
        y = rng.normal(size=(n, sizes[-1]))
    return net, X, y


@settings(max_examples=60, deadline=None)
@given(problems(), st.sampled_from(sorted(OPTIMIZER_VARIANTS)))
def test_trace_equals_the_engine_exactly(problem, kind):
    net, X, y = problem
    make = OPTIMIZER_VARIANTS[kind]
    # Give the optimizer some history first, so momentum and Adam state matter.
    opt = make()
    net.step(X, y, opt)
    before = {k: p.copy() for k, p in net.parameters().items()}
    state = copy.deepcopy(opt.state)

    trace = gn.explain(net, X, y, optimizer=opt)
    reference = net.gradients(X, y)
    assert trace.gradients.keys() == reference.keys()
    for key, g in reference.items():
        assert np.array_equal(trace.gradients[key], g), key
    assert trace.loss == net.loss(X, y)
    # apply=False: neither the parameters nor the optimizer state moved.
    for key, p in net.parameters().items():
        assert np.array_equal(p, before[key]), key
    assert opt.state.keys() == state.keys()
    for name in state:
        for field, value in state[name].items():
            assert np.array_equal(opt.state[name][field], value), (name, field)

    # The update the trace shows is exactly what net.step does.
    twin, twin_opt = copy.deepcopy(net), copy.deepcopy(opt)
    loss = twin.step(X, y, twin_opt)
    assert loss == trace.loss
    for key, p in twin.parameters().items():
        assert np.array_equal(trace.updates[key], p), key
        assert np.array_equal(trace.params_before[key], before[key])

    # apply=True does the very same step, to the network and to the optimizer.
    gn.explain(net, X, y, optimizer=opt, apply=True)
    for key, p in twin.parameters().items():
        assert np.array_equal(net.parameters()[key], p), key
    for name in twin_opt.state:
        for field, value in twin_opt.state[name].items():
            assert np.array_equal(opt.state[name][field], value), (name, field)

    # Every per-sample record's value is the recorded engine array at its (sample, neuron).
    for r in trace.where(kind="a"):
        assert r.value == trace.step.layers[r.layer - 1].A[r.sample, r.neuron]
    for r in trace.where(kind="delta"):
        assert r.value == trace.step.layers[r.layer - 1].dZ[r.sample, r.neuron]


@pytest.mark.filterwarnings("ignore:invalid value")
def test_no_hook_outlives_explain_and_training_runs_the_class_methods():
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    opt = gn.SGD(0.5)
    gn.explain(net, [[0, 1]], [1], optimizer=opt)
    for layer in net.layers:
        assert not {"forward", "backward", "backward_from_dZ"} & set(vars(layer))
        assert type(layer).forward is Dense.forward
    assert "_penalty" not in vars(net) and not {"value", "gradient"} & set(vars(net.loss_fn))
    assert "update_one" not in vars(opt)
    # Even when the step fails half-way, the hooks are removed.
    with pytest.raises(gn.ShapeError):
        gn.explain(net, [[0, 1, 2]], [1])
    net.layers[0].params["W"][0, 0] = np.inf
    with pytest.raises(gn.TrainingDiverged):
        gn.explain(net, [[0, 1]], [1], optimizer="sgd")
    assert not any({"forward", "backward", "backward_from_dZ"} & set(vars(layer)) for layer in net.layers)


def test_batch_shows_the_sum_over_samples_and_where_the_mean_is():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    trace = gn.explain(net, X, y)
    dW = trace.find("dL/dw^(2)_{1,1}")
    # one product a^(1)_1[n] * delta^(2)_1[n] per sample, added: a plain sum
    assert dW.expression == "sum_n a^(1)_1[n] * delta^(2)_1[n]"
    assert dW.numbers.count("*") == 4 and dW.numbers.count(" + ") == 3
    assert "1/N is already inside each delta" in dW.note
    first = trace.find("dL/da^(2)_1", sample=0)
    assert "/4" in first.expression and "N = 4 sample(s) x 1 output(s) = 4" in first.note
    products = sum(trace.step.layers[0].A[n, 0] * trace.step.layers[1].dZ[n, 0] for n in range(4))
    assert dW.value == pytest.approx(products, rel=1e-12)
    assert [r.sample for r in trace.where(kind="z") if r.layer == 1 and r.neuron == 0] == [0, 1, 2, 3]


def test_optimizer_state_records():
    net = gn.Network.from_sizes([2, 2, 1], seed=1)
    X, y = [[1.0, 2.0]], [0.5]
    opt = gn.SGD(0.1, momentum=0.9)
    first = gn.explain(net, X, y, optimizer=opt, apply=True)
    velocity = first.find("v[w^(1)_{1,1}]")
    assert "starts the velocity at the gradient" in velocity.note
    assert velocity.value == first.gradients["0.W"][0, 0]
    second = gn.explain(net, X, y, optimizer=opt)
    v2 = second.find("v[w^(1)_{1,1}]")
    assert v2.expression.startswith("mu*v[") and v2.value == pytest.approx(
        0.9 * velocity.value + second.gradients["0.W"][0, 0], rel=1e-12)
    adam = gn.explain(net, X, y, optimizer=gn.Adam(0.01))
    g = adam.gradients["1.b"][0]
    assert adam.find("m[b^(2)_1]").value == pytest.approx(0.1 * g, rel=1e-12)
    assert adam.find("v[b^(2)_1]").value == pytest.approx(0.001 * g * g, rel=1e-12)
    update = adam.find("b^(2)_1", kind="update")
    assert "1 - 0.9^1" in update.numbers and "1 - 0.999^1" in update.numbers
    # bias corrected at t = 1: lr/(1 - 0.9) = 0.1 and sqrt(v)/sqrt(1 - 0.999) = |g| (+ eps)
    assert update.steps[0].split(" - ")[1].startswith("0.1 * ")
    assert update.steps[0].endswith(f"/{abs(g):.6g}")
    # Adam's first step moves every parameter by about lr.
    assert update.value == pytest.approx(adam.params_before["1.b"][0] - 0.01 * np.sign(g), rel=1e-6)


def test_l2_records():
    net = gn.Network.from_sizes([2, 2, 1], seed=1, l2=0.1)
    trace = gn.explain(net, [[1.0, 2.0]], [0.5])
    W = trace.params_before
    penalty = trace.find("L_{L2}")
    assert penalty.value == pytest.approx(0.05 * sum(float((W[k] ** 2).sum()) for k in ("0.W", "1.W")), rel=1e-12)
    assert trace.find("L").value == pytest.approx(trace.data_loss + penalty.value, rel=1e-12)
    dW = trace.find("dL/dw^(1)_{2,1}")
    assert dW.expression.endswith("+ lambda*w^(1)_{2,1}")
    data_part = trace.step.layers[0].dW[1, 0]
    assert dW.value == data_part + 0.1 * W["0.W"][1, 0]


def test_compact_mode_and_size_guard():
    net = gn.Network.from_sizes([30, 40, 3], seed=0)
    X = np.random.default_rng(0).normal(size=(1, 30))
    trace = gn.explain(net, X, [[0, 1, 0]], optimizer="sgd", neurons={0: [0, 1], 1: [0, 2]})
    z = [r for r in trace.where(kind="z") if r.layer == 1]
    assert [r.neuron for r in z] == [0, 2]
    summaries = trace.where(kind="summary")
    assert any("38 more z of layer 1" in r.symbol for r in summaries)
    assert trace.gradients["0.W"].shape == (30, 40)  # the arrays stay complete
    assert {r.indices[1] for r in trace.where(kind="dW") if r.layer == 1} == {0, 2}
    with pytest.raises(gn.ConfigError, match="neurons"):
        gn.explain(net, X, [[0, 1, 0]], neurons={1: [40]})
    big = gn.Network.from_sizes([200, 300, 10], seed=0)
    with pytest.raises(gn.ConfigError, match="neurons=") as info:
        gn.explain(big, np.zeros((8, 200)), np.zeros((8, 10)))
    assert "max_terms" in str(info.value)
    with pytest.raises(gn.ConfigError, match="max_records"):
        gn.explain(net, X, [[0, 1, 0]]).to_text(max_records=100)


def test_a_custom_optimizer_is_traced_by_its_own_rule():
    from glassnet.core.optimizers import Optimizer

    class HalfStep(Optimizer):
        def update_one(self, name, p, g):
            p -= 0.5 * self.lr * g

        def config(self):
            return {"name": "half_step", "lr": self.lr}

    net = gn.Network.from_sizes([2, 2, 1], seed=3)
    trace = gn.explain(net, [[1.0, -1.0]], [0.3], optimizer=HalfStep(0.2))
    for key, p in net.parameters().items():
        assert np.array_equal(trace.updates[key], p - 0.5 * 0.2 * trace.gradients[key])
    record = trace.find("w^(2)_{1,1}", kind="update")
    assert "HalfStep's own rule" in record.note and record.value == trace.updates["1.W"][0, 0]
