"""Predict, then check (glassnet/explain/predict.py): the gradient's prediction g*d beside the actual change.

References: PyTorch float64 autograd (the gradient, and L'' and L''' by differentiating again), a NumPy forward
pass written here for L(w+d), hand formulas for a linear model (L'' = (2/N) sum_n x_n^2 for mse) and the published
loss after Matt Mazur's worked step (0.291027924).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
from explain_helpers import mazur_network

import glassnet as gn
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from glassnet.explain.predict import predict_then_check
from glassnet.explain.weight_names import parse_weight

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8], [0.1, 0.3]])
Y = np.array([[0.2], [0.9], [0.4], [0.6]])


def tanh_sigmoid_net() -> gn.Network:
    return gn.Network([gn.Dense(2, 3, "tanh", init=([[0.3, -0.8, 0.5], [0.9, 0.2, -0.4]], [0.1, -0.2, 0.05])),
                       gn.Dense(3, 1, "sigmoid", init=([[0.7], [-1.1], [0.6]], [0.2]))], loss="mse")


def numpy_loss(W0, b0, W1, b1):
    """The same network, written out: tanh hidden layer, sigmoid output, mean squared error."""
    a1 = np.tanh(X @ W0 + b0)
    a2 = 1.0 / (1.0 + np.exp(-(a1 @ W1 + b1)))
    return float(np.mean((a2 - Y) ** 2))


def torch_derivatives(net, key, index):
    """g, L'' and L''' of the loss in one entry, by torch autograd in float64 (differentiating again and again)."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.parameters().items()}
    x, y = torch.tensor(X), torch.tensor(Y)
    a1 = torch.tanh(x @ p["0.W"] + p["0.b"])
    loss = torch.mean((torch.sigmoid(a1 @ p["1.W"] + p["1.b"]) - y) ** 2)
    out = [loss]
    for _ in range(3):
        (g,) = torch.autograd.grad(out[-1], p[key], create_graph=True)
        out.append(g[index])
    return [float(v.detach()) for v in out[1:]]


def test_gradient_and_curvature_against_torch_and_a_numpy_forward():
    net = tanh_sigmoid_net()
    p = predict_then_check(net, X, Y, "0.W[1,2]", nudges=(1e-1, 1e-2, 1e-3))
    g, L2, L3 = torch_derivatives(net, "0.W", (1, 2))
    print("glassnet vs torch: g", p.gradient, g, " L''", p.second_derivative, L2)
    assert p.gradient == pytest.approx(g, rel=1e-12)
    assert p.second_derivative == pytest.approx(L2, rel=1e-6)
    params = net.parameters()
    for n in p.nudges:
        W0 = params["0.W"].copy()
        W0[1, 2] += n.d
        assert n.loss == pytest.approx(numpy_loss(W0, params["0.b"], params["1.W"], params["1.b"]), rel=1e-14)
        assert n.predicted == pytest.approx(g * n.d, rel=1e-12)
        # gap/d^2 = L''/2 + L''' d/6 + O(d^2): it tends to L''/2 within O(d)
        assert abs(n.gap_per_d2 - L2 / 2) <= abs(L3) * n.d / 6 * 1.5 + 1e-6
        assert n.gap_per_d2 - L2 / 2 == pytest.approx(L3 * n.d / 6, abs=5 * n.d ** 2 + 2e-6)
        assert not n.rounding
    ratios = [r for _, _, r in p.ratios()]
    assert 85 < ratios[0] < 115 and 98 < ratios[1] < 102  # d 10 times smaller: gap about 100 times smaller
    assert p.half_second_derivative == pytest.approx(L2 / 2, rel=1e-6)


def test_rounding_takes_over_near_1e_8():
    p = predict_then_check(tanh_sigmoid_net(), X, Y, "0.W[1,2]", nudges=[10.0 ** -k for k in range(1, 10)])
    flags = {round(-np.log10(n.d)): n.rounding for n in p.nudges}
    assert not any(flags[k] for k in range(1, 5)) and all(flags[k] for k in (8, 9))
    at = {round(-np.log10(n.d)): n for n in p.nudges}
    assert abs(at[8].gap_per_d2 - p.half_second_derivative) > 0.1 * abs(p.half_second_derivative)  # noise, not d^2
    assert abs(at[8].gap) < 1e3 * p.rounding_level
    assert "rounding" in p.to_text() and "Taylor" in p.to_text()


def test_a_linear_model_with_mse_is_exactly_quadratic():
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = np.array([1.0, 0.0, 2.0])
    net = gn.Network([gn.Dense(2, 1, "identity", init=([[0.4], [-0.3]], [0.1]))], loss="mse")
    p = predict_then_check(net, x, y, "w^(1)_{2,1}", nudges=(0.1, 0.01))
    second = 2.0 / 3.0 * float(np.sum(x[:, 1] ** 2))  # by hand: L = (1/N) sum (x.w + b - y)^2
    assert p.second_derivative == pytest.approx(second, rel=1e-7)
    for n in p.nudges:
        assert n.gap == pytest.approx(second / 2 * n.d ** 2, rel=1e-7)  # no O(d^3): L is a parabola in w
    assert p.ratios()[0][2] == pytest.approx(100.0, rel=1e-6)


def test_a_loss_linear_in_the_weight_has_no_gap():
    # Huber far from the targets (|a - y| > delta = 1 on every row) is linear in the weight: nothing to curve.
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = np.array([10.0, 12.0, 11.0])
    net = gn.Network([gn.Dense(2, 1, "identity", init=([[0.4], [-0.3]], [0.1]))], loss="huber")
    p = predict_then_check(net, x, y, "0.W[0,0]", nudges=(0.1, 0.01, 0.001))
    assert p.gradient == pytest.approx(-np.mean(x[:, 0]), rel=1e-12)  # by hand: dL/dw = -(1/N) sum x (delta 1)
    for n in p.nudges:
        assert abs(n.gap) < 1e-14 and n.rounding
    assert p.linear and "linear" in p.to_text()


def state(net):
    return (copy.deepcopy(net.parameters()), copy.deepcopy(net.buffers()), copy.deepcopy(net.rng.bit_generator.state),
            net.training, [layer.training for layer in net.layers])


def same(a, b):
    pa, ba, ra, ma, la = a
    pb, bb, rb, mb, lb = b
    return (all(np.array_equal(pa[k], pb[k]) for k in pa) and all(np.array_equal(ba[k], bb[k]) for k in ba)
            and ra == rb and ma == mb and la == lb)


def dropout_batchnorm_net():
    return gn.Network([gn.Dense(2, 4, "relu"), gn.BatchNorm1d(), gn.Dropout(0.3), gn.Dense(4, 1, "sigmoid")],
                      loss="bce", seed=3)


def test_the_network_is_left_as_it_was_and_the_step_mask_is_used():
    net = dropout_batchnorm_net()
    y = np.array([0, 1, 1, 0])
    before = state(net)
    p = predict_then_check(net, X, y, "3.W[1,0]")
    assert same(before, state(net))
    trace = gn.explain(net, X, y)  # the step's own mask: the same loss and gradient, bit for bit
    assert p.loss == trace.loss and p.gradient == trace.gradients["3.W"][1, 0]
    assert same(before, state(net))
    ratios = [r for _, _, r in p.ratios()]  # same mask and batch statistics each time: a smooth function of w
    assert all(80 < r < 120 for r in ratios), ratios
    net.eval()
    q = predict_then_check(net, X, y, "3.W[1,0]", training=False)
    assert q.training is False and not net.training


@pytest.mark.parametrize("form", ["0.W[1,2]", "0.W[1, 2]", " 0.W(1,2) ", ("0.W", (1, 2)), ("0.W", [1, 2]),
                                  "w^(1)_{2,3}", "w^(1)_{2, 3}", "w^{(1)}_{2,3}", "W^(1)_{2,3}"])
def test_the_forms_a_learner_would_type(form):
    assert parse_weight(tanh_sigmoid_net(), form) == ("0.W", (1, 2))


def test_other_parameters_and_the_default():
    net = tanh_sigmoid_net()
    assert parse_weight(net, "b^(2)_1") == parse_weight(net, ("1.b", 0)) == parse_weight(net, "1.b[0]") == ("1.b", (0,))
    grads = net.gradients(X, Y)
    biggest = max(((abs(g[idx]), k, idx) for k, g in grads.items() if k.endswith(".W") for idx in np.ndindex(g.shape)))
    p = predict_then_check(net, X, Y)
    assert (p.key, p.index) == (biggest[1], biggest[2])


@pytest.mark.parametrize("weight, error, words", [
    ("3.W[0,0]", ConfigError, ["'3.W'", "0.W (2, 3)", "1.b (1,)"]),
    ("0.W[2,0]", ShapeError, ["(2, 3)", "0-based", "0..1"]),
    ("0.W[0]", ShapeError, ["(2, 3)"]),
    ("w^(1)_{0,1}", ShapeError, ["count from 1"]),
    ("w^(4)_{1,1}", ConfigError, ["layer 4", "0.W (2, 3)"]),
    ("the first weight", ConfigError, ["cannot read", "0.W[1,2]"]),
    (("0.W", "a"), GlassnetTypeError, ["integers"]),
    (3.5, GlassnetTypeError, ["string"]),
])
def test_a_weight_that_does_not_exist_is_refused_clearly(weight, error, words):
    with pytest.raises(error) as info:
        predict_then_check(tanh_sigmoid_net(), X, Y, weight)
    for word in words:
        assert word in str(info.value), str(info.value)


@pytest.mark.parametrize("nudges", [(), (0.0,), (float("nan"),), ("a",)])
def test_bad_nudges(nudges):
    with pytest.raises(ConfigError, match="nudges"):
        predict_then_check(tanh_sigmoid_net(), X, Y, "0.W[0,0]", nudges=nudges)


# ----------------------------------------------------------------------------- the ledger
def evaluate(expression, values):
    """An expression of the check phase with the values of the symbols it names (longest symbols first)."""
    text = expression
    for symbol in sorted(values, key=len, reverse=True):
        text = text.replace(symbol, f"({values[symbol]!r})")
    assert re.fullmatch(r"[-+*/^()0-9.e ]+", text), text
    return eval(text.replace("^", "**"))  # noqa: S307 - numbers and operators only, checked above


def test_the_check_phase_of_the_ledger():
    net = tanh_sigmoid_net()
    trace = gn.explain(net, X, Y, "sgd", 0.5, predict=["0.W[1,2]", "b^(2)_1"], nudges=(0.1, 0.01))
    check = trace.where(phase="check")
    assert trace.records[-len(check):] == check  # the last phase
    assert check[0].symbol == "L_0" and check[0].kind == "nudged_loss"  # the start's loss, given again
    assert [r.kind for r in check[1:6]] == ["nudged_loss", "predicted_change", "actual_change", "gap", "gap_per_d2"]
    assert check[2].symbol == "dL_pred(w^(1)_{2,3}+0.1)" and check[2].expression == "dL/dw^(1)_{2,3} * 0.1"
    assert check[2].key == "0.W" and check[2].indices == (1, 2)
    p = predict_then_check(net, X, Y, "0.W[1,2]", nudges=(0.1, 0.01))
    assert trace.predictions[0].nudges[1].gap == p.nudges[1].gap
    assert trace.find("L''(w^(1)_{2,3})").value == p.second_derivative
    assert trace.find("gap_ratio(w^(1)_{2,3}, 0.1/0.01)").value == pytest.approx(p.ratios()[0][2], rel=1e-15)
    values = {r.symbol: r.value for r in trace.records if r.phase in ("loss", "gradient", "check")}
    for r in check:  # every expression evaluates to its value: the grader can carry errors forward through them
        if r.expression and r.symbol != "dL_pred(step)":
            assert evaluate(r.expression, values) == pytest.approx(r.value, rel=1e-9, abs=1e-18), r.formula
    # the whole step, by default with an optimizer: predicted sum_p g*dp beside an independent loss after the step
    g, new = trace.gradients, trace.updates
    predicted = sum(float(np.sum(g[k] * (new[k] - trace.params_before[k]))) for k in g)
    assert trace.find("dL_pred(step)").value == pytest.approx(predicted, rel=1e-12)
    assert predicted == pytest.approx(-0.5 * sum(float(np.sum(v ** 2)) for v in g.values()), rel=1e-12)
    after = numpy_loss(new["0.W"], new["0.b"], new["1.W"], new["1.b"])
    assert trace.find("L(step)").value == pytest.approx(after, rel=1e-14)
    assert trace.step_check.actual == pytest.approx(after - trace.loss, rel=1e-10)
    assert "this step was predicted to lower the loss by" in trace.to_text()
    assert "Predict, then check" in trace.to_markdown() and "gap" in trace.to_latex()


def test_mazur_published_loss_after_the_step():
    # The example updates the weights only (its biases stay): freeze them. Its published updated weights, forward by
    # hand, and its published error after the step, "down to 0.291027924" (from rounded intermediate numbers).
    net = mazur_network().freeze("0.b", "1.b")
    trace = gn.explain(net, [0.05, 0.10], [0.01, 0.99], optimizer="sgd", lr=0.5)
    w1, w2, w3, w4 = 0.149780716, 0.19956143, 0.24975114, 0.29950229
    w5, w6, w7, w8 = 0.35891648, 0.408666186, 0.511301270, 0.561370121
    s = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h1, h2 = s(w1 * 0.05 + w2 * 0.10 + 0.35), s(w3 * 0.05 + w4 * 0.10 + 0.35)
    o1, o2 = s(w5 * h1 + w6 * h2 + 0.60), s(w7 * h1 + w8 * h2 + 0.60)
    by_hand = 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2
    assert trace.find("L(step)").value == pytest.approx(by_hand, rel=1e-8)
    assert trace.find("L(step)").value == pytest.approx(0.291027924, abs=3e-7)
    assert trace.find("L").value == pytest.approx(0.298371109, abs=5e-10)
    assert trace.step_check.sentence().startswith("this step was predicted to lower the loss by 0.007")


def test_the_check_phase_is_opt_in_or_with_an_optimizer_only():
    net = tanh_sigmoid_net()
    assert not gn.explain(net, X, Y).where(phase="check")  # no update: nothing to check
    assert not gn.explain(net, X, Y, "sgd", check_step=False).where(phase="check")
    assert [r.symbol for r in gn.explain(net, X, Y, "adam").where(phase="check")] == [
        "L_0", "L(step)", "dL_pred(step)", "dL_actual(step)", "gap(step)"]
    with pytest.raises(ConfigError, match="0.W"):
        gn.explain(net, X, Y, predict="9.W[0,0]")


def test_the_json_schema_knows_the_check_phase():
    import jsonschema

    from glassnet.explain.schema import load_schema

    data = gn.explain(tanh_sigmoid_net(), X, Y, "sgd", predict="0.W[0,0]").to_dict()
    jsonschema.validate(data, load_schema())
    assert data["phases"][-1] == "check"
    assert {r["kind"] for r in data["records"] if r["phase"] == "check"} == {
        "nudged_loss", "predicted_change", "actual_change", "gap", "gap_per_d2", "second_derivative", "gap_ratio"}
