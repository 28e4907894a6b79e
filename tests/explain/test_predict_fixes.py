"""Predict, then check: the worked numbers, the whole step against a real step, torch losses, odd cases, parsing.

References: PyTorch float64 (losses written out here, autograd for L''/L'''), a real optimizer step on a copy of the
network, NumPy computations written in the tests, and numbers by hand.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from glassnet.explain.predict import MAX_STEP_TERMS, predict_then_check
from glassnet.explain.weight_names import largest_gradients, parse_weight, weights_of

T = torch.float64
XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def numbers_value(numbers):
    """A record's worked numbers evaluated as the grader would (numbers and operators only)."""
    assert re.fullmatch(r"[-+*/^()0-9.e ]+", numbers), numbers
    return eval(numbers.replace("^", "**"))  # noqa: S307 - checked above


def test_the_worked_numbers_give_the_value_shown():
    # the reviewer's case: glassnet explain --layers 2,3,1 --seed 0 --data xor --sample all --predict "0.W[0,1]"
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    trace = gn.explain(net, XOR, XOR_Y, "sgd", predict="0.W[0,1]", nudges=(0.1, 0.01, 1e-8))
    checked = 0
    for r in trace.where(phase="check"):
        if r.numbers and np.isfinite(r.value):
            got = numbers_value(r.numbers)
            assert got == pytest.approx(r.value, rel=2e-5, abs=1e-300), (r.symbol, r.numbers, r.value)
            checked += 1
    assert checked >= 15
    second = trace.find("L''(w^(1)_{1,2})")  # its operands carry the digits that cancel
    assert len(second.numbers.split(" - ")[0]) > 14


def test_a_worksheet_key_reproduces_from_its_ten_digit_givens():
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    sheet = gn.worksheet(net, XOR, XOR_Y, "sgd", predict="0.W[0,1]")
    given = {r.symbol: float(f"{r.value:.10g}") for r in sheet.givens}  # what the learner reads (10 digits)
    loss = next(q for q in sheet.questions if q.kind in ("loss", "loss_total")).value
    second = next(q for q in sheet.questions if q.kind == "second_derivative")
    assert second.expression == "(L(w^(1)_{1,2}+0.01) - 2*L_0 + L(w^(1)_{1,2}-0.01)) / 0.01^2"
    by_hand = (given["L(w^(1)_{1,2}+0.01)"] - 2 * loss + given["L(w^(1)_{1,2}-0.01)"]) / 0.01 ** 2
    assert by_hand == pytest.approx(second.value, rel=1e-4)  # with h = 1e-4 the 10 digits would give nonsense


def adam_net():
    return gn.Network([gn.Dense(3, 4, "tanh"), gn.Dense(4, 2, "softmax")], loss="cross_entropy", seed=4)


def test_the_whole_step_with_adam_that_already_has_state_against_a_real_step():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    net, opt = adam_net(), gn.Adam(lr=0.05)
    net.step(X, y, opt)  # now the optimizer has moments and t = 1
    twin, twin_opt = copy.deepcopy(net), copy.deepcopy(opt)
    trace = gn.explain(net, X, y, opt)
    g = twin.gradients(X, y)
    start = {k: p.copy() for k, p in twin.parameters().items()}
    twin.step(X, y, twin_opt)  # the real second step, on a copy
    new = twin.parameters()
    predicted = sum(float(np.sum(g[k] * (new[k] - start[k]))) for k in g)
    assert trace.find("dL_pred(step)").value == pytest.approx(predicted, rel=1e-12)
    logits = lambda p: torch.tanh(torch.tensor(X) @ p["0.W"] + p["0.b"]) @ p["1.W"] + p["1.b"]  # noqa: E731
    after = torch.nn.functional.cross_entropy(logits({k: torch.tensor(v) for k, v in new.items()}), torch.tensor(y))
    assert trace.find("L(step)").value == pytest.approx(float(after), rel=1e-13)
    assert trace.step_check.moved == sum(int(np.count_nonzero(new[k] - start[k])) for k in g)


def test_an_error_half_way_leaves_the_network_and_optimizer_as_they_were():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    net = gn.Network([gn.Dense(3, 4, "tanh"), gn.BatchNorm1d(), gn.Dropout(0.3), gn.Dense(4, 1, "identity")],
                     loss="mse", seed=3)
    opt = gn.Adam(lr=0.01)
    net.step(X, y, opt)
    kept = (copy.deepcopy(net.parameters()), copy.deepcopy(net.buffers()), copy.deepcopy(net.rng.bit_generator.state),
            net._modes(), copy.deepcopy(opt.state))
    original, calls = net._loss_value, [0]

    def fails_on_the_third_pass(Y):
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return original(Y)

    net._loss_value = fails_on_the_third_pass
    for run in (lambda: predict_then_check(net, X, y, "0.W[0,0]"), lambda: gn.explain(net, X, y, opt, predict="0.W[0,0]")):
        calls[0] = 0
        with pytest.raises(KeyboardInterrupt):
            run()
        assert all(np.array_equal(kept[0][k], p) for k, p in net.parameters().items())
        assert all(np.array_equal(kept[1][k], b) for k, b in net.buffers().items())
        assert kept[2] == net.rng.bit_generator.state and kept[3] == net._modes()
        assert kept[4].keys() == opt.state.keys() and all(  # the moments Adam already had
            np.array_equal(v, opt.state[k][name]) for k, s in kept[4].items() for name, v in s.items())


def test_many_parameters_the_step_names_only_the_first_terms():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 60)), rng.integers(0, 5, 4)
    net = gn.Network([gn.Dense(60, 50, "relu"), gn.Dense(50, 5, "softmax")], loss="cross_entropy", seed=0)
    trace = gn.explain(net, X[:1], y[:1], "sgd", 0.1, max_terms=10 ** 7)
    check, g = trace.step_check, trace.gradients
    assert len(check.terms) == MAX_STEP_TERMS and trace.find("dL_pred(step)").numbers == ""
    assert check.moved == sum(int(np.count_nonzero(v)) for v in g.values())  # SGD moves what has a gradient
    assert check.predicted == pytest.approx(-0.1 * sum(float(np.sum(v ** 2)) for v in g.values()), rel=1e-12)


def test_an_inflection_is_not_rounding():
    # L = tanh(w)^2 at w = atanh(1/sqrt(3)): L'' = 0 there, L''' != 0; the gap is L''' d^3 / 6, far above rounding.
    w0 = float(np.arctanh(1 / np.sqrt(3)))
    net = gn.Network([gn.Dense(1, 1, "tanh", init=([[w0]], [0.0]))], loss="mse")
    p = predict_then_check(net, [[1.0]], [[0.0]], "0.W[0,0]", nudges=(0.1, 0.01, 0.001))
    w = torch.tensor(w0, dtype=T, requires_grad=True)
    (g,) = torch.autograd.grad(torch.tanh(w) ** 2, w, create_graph=True)
    (g2,) = torch.autograd.grad(g, w, create_graph=True)
    (g3,) = torch.autograd.grad(g2, w)
    assert abs(float(g2.detach())) < 1e-12 and not any(n.rounding for n in p.nudges)
    assert p.nudges[2].gap == pytest.approx(float(g3) * 1e-9 / 6, rel=1e-2)
    assert p.inflection and not p.linear and "L''' d^3 / 6" in p.to_text() and "marked *" not in p.to_text()


def test_a_linear_loss_and_a_linear_step_say_rounding_not_curvature():
    x, y = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), np.array([10.0, 12.0, 11.0])
    net = gn.Network([gn.Dense(2, 1, "identity", init=([[0.4], [-0.3]], [0.1]))], loss="huber")
    trace = gn.explain(net, x, y, "sgd", 0.01, predict="0.W[0,0]")
    assert "tends to 0 (L'' is 0 up to rounding here)" in trace.find("gap_per_d2(w^(1)_{1,1}+0.1)").note
    assert "rounding noise" in trace.step_check.sentence() and "curvature" not in trace.step_check.sentence()


def test_one_row_under_batchnorm_says_training_false():
    net = gn.Network([gn.Dense(2, 3, "relu"), gn.BatchNorm1d(), gn.Dense(3, 1, "identity")], loss="mse", seed=0).eval()
    with pytest.raises(ShapeError, match="training=False"):
        predict_then_check(net, [[0.5, 1.0]], [0.3])
    assert np.isfinite(predict_then_check(net, [[0.5, 1.0]], [0.3], training=False).second_derivative)


def bn_torch_loss(params, X, y, l2, key, index, d):
    """Dense-relu, BatchNorm1d (batch statistics, biased variance, eps 1e-5), Dense-softmax, cross entropy + L2."""
    p = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    p[key] = p[key].clone()
    p[key][index] += d
    h = torch.relu(torch.tensor(np.asarray(X, dtype=np.float64)) @ p["0.W"] + p["0.b"])
    h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5) * p["1.gamma"] + p["1.beta"]
    ce = torch.nn.functional.cross_entropy(h @ p["2.W"] + p["2.b"], torch.tensor(y))
    return float(ce + 0.5 * l2 * ((p["0.W"] ** 2).sum() + (p["2.W"] ** 2).sum()))


@pytest.mark.parametrize("dtype, frozen", [("float64", ()), ("float32", ()), ("float64", ("2.b",))])
def test_softmax_ce_batchnorm_l2_frozen_and_float32_against_torch(dtype, frozen):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 3, 8)
    net = gn.Network([gn.Dense(3, 4, "relu"), gn.BatchNorm1d(), gn.Dense(4, 3, "softmax")], loss="cross_entropy",
                     l2=0.01, seed=7, dtype=dtype).freeze(*frozen)
    params, seen = net.parameters(), X.astype(dtype)  # a float32 network reads its inputs in float32
    for key, index in [("2.W", (1, 2)), ("1.gamma", (0,)), ("2.b", (1,))]:
        p = predict_then_check(net, X, y, (key, index), nudges=(0.1, 0.01, 0.001))
        assert p.loss == pytest.approx(bn_torch_loss(params, seen, y, 0.01, key, index, 0.0), rel=1e-12)
        for n in p.nudges:
            assert n.loss == pytest.approx(bn_torch_loss(params, seen, y, 0.01, key, index, n.d), rel=1e-12)
            assert not n.rounding  # float64 (a float32 network is copied): the default nudges are not noise
    text = predict_then_check(net, X, y, "2.W[0,0]").to_text()
    assert ("float64 copy" in text) == (dtype == "float32")


def test_float32_explain_writes_l64_and_its_formulas_use_it():
    net = gn.Network.from_sizes([2, 3, 1], seed=0, dtype="float32")
    trace = gn.explain(net, XOR, XOR_Y, "sgd", predict="0.W[0,1]", nudges=(0.1,))
    l64 = trace.find("L_0")
    assert l64.kind == "nudged_loss" and trace.find("dL_actual(w^(1)_{1,2}+0.1)").expression == "L(w^(1)_{1,2}+0.1) - L_0"
    assert abs(l64.value - trace.loss) < 1e-6 * abs(trace.loss)  # the float32 loss, to float32's rounding
    assert trace.find("dL_actual(step)").expression == "L(step) - L_0"


def test_the_panel_ranking_is_an_independent_sort():
    rng = np.random.default_rng(1)
    grads = {"0.W": rng.normal(size=(30, 20)), "0.b": rng.normal(size=20) * 9, "1.W": rng.normal(size=(20, 4))}
    flat = sorted(((abs(v), k, idx) for k in ("0.W", "1.W") for idx, v in np.ndenumerate(grads[k])), reverse=True)
    assert largest_gradients(grads, (), 4) == [(k, tuple(int(i) for i in idx)) for _, k, idx in flat[:4]]
    assert largest_gradients(grads, ("0.W", "1.W"), 1) == [("0.b", (int(np.argmax(np.abs(grads["0.b"]))),))]


@pytest.mark.parametrize("weight, error, words", [
    ("0.W[1,2)", ConfigError, ["do not match"]),
    ("0.W[1,,2]", ConfigError, ["single commas"]),
    ("w^(1)_{2,3", ConfigError, ["do not match"]),
    (("0.W", (True, 2)), GlassnetTypeError, ["integers"]),
    ("w^(1)_{23}", ShapeError, ["w^(1)_{2,3}", "comma"]),
])
def test_malformed_weights_are_refused(weight, error, words):
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    with pytest.raises(error) as info:
        parse_weight(net, weight)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_a_key_and_index_list_is_one_weight_and_nudges_must_differ():
    assert weights_of(["0.W", [1, 2]]) == [["0.W", [1, 2]]]
    assert weights_of(["0.W[1,2]", "1.b[0]"]) == ["0.W[1,2]", "1.b[0]"]
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    assert [p.symbol for p in gn.explain(net, XOR, XOR_Y, predict=["0.W", [1, 2]]).predictions] == ["w^(1)_{2,3}"]
    for bad in [(0.1, 0.1), True, (0.1, False)]:
        with pytest.raises(ConfigError, match="nudges"):
            predict_then_check(net, XOR, XOR_Y, "0.W[0,0]", nudges=bad)


def test_the_cli_sheet_asks_what_worksheet_asks_and_not_a_nudge_lost_in_rounding(tmp_path):
    """`glassnet explain --worksheet --predict` makes the sheet gn.worksheet makes (L'' with h = 0.01), and a
    nudge whose change the 10-digit given losses cannot show (d = 1e-8: L(w+d) and L_0 print alike) is not asked."""
    import json

    from glassnet.interfaces.cli.main import main

    out = tmp_path / "s.json"
    assert main(["explain", "--layers", "2,3,1", "--seed", "0", "--data", "xor", "--sample", "all", "--loss", "mse",
                 "--worksheet", "--predict", "w^(1)_{1,2}", "--nudge", "0.1,1e-8", "--format", "json",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    asked = {q["symbol"]: q for q in data["questions"]}
    assert asked["L''(w^(1)_{1,2})"]["expression"] == "(L(w^(1)_{1,2}+0.01) - 2*L_0 + L(w^(1)_{1,2}-0.01)) / 0.01^2"
    given = {g["symbol"]: g["value"] for g in data["givens"]}
    assert f"{given['L(w^(1)_{1,2}+1e-08)']:.10g}" == f"{given['L_0']:.10g}"  # the sheet cannot show this change
    assert "dL_pred(w^(1)_{1,2}+1e-08)" in asked  # g*d needs no losses: still asked
    for kind in ("dL_actual", "gap", "gap_per_d2"):
        assert f"{kind}(w^(1)_{{1,2}}+1e-08)" not in asked and f"{kind}(w^(1)_{{1,2}}+0.1)" in asked
    assert not [s for s in asked if s.startswith("gap_ratio")]  # its only ratio involves the 1e-8 nudge
    assert any("not asked" in line and "1e-08" in line for line in data["settings"])
