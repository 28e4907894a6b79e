"""The textbook worked example: Matt Mazur's 2-2-2 sigmoid network, one SGD step at lr 0.5, by hand.

Every expected number below is computed here, formula by formula, with plain Python floats (no glassnet,
no NumPy), and the published numbers of the example are checked against them as well. glassnet's mse is
the MEAN over outputs, (1/2) * sum_j (a_j - y_j)^2 for two outputs, which is exactly the example's
E = sum_j 1/2 (y_j - a_j)^2, so its published numbers apply unchanged; dL/da_j = 2 (a_j - y_j) / 2 = a_j - y_j.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from explain_helpers import numbers

import glassnet as gn


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def hand_calculation() -> dict[str, float]:
    """Every quantity of the step, keyed by its symbol in glassnet's convention."""
    x1, x2, y1, y2 = 0.05, 0.10, 0.01, 0.99
    w1, w2, w3, w4, w5, w6, w7, w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55
    b1, b2, lr = 0.35, 0.60, 0.5
    v: dict[str, float] = {"a^(0)_1": x1, "a^(0)_2": x2, "y_1": y1, "y_2": y2}
    # Hidden layer: z_h1 = w1*x1 + w2*x2 + b1 = 0.0075 + 0.02 + 0.35 = 0.3775; z_h2 = 0.0125 + 0.03 + 0.35 = 0.3925
    v["z^(1)_1"] = w1 * x1 + w2 * x2 + b1
    v["z^(1)_2"] = w3 * x1 + w4 * x2 + b1
    v["a^(1)_1"] = sigmoid(v["z^(1)_1"])  # 1/(1 + e^-0.3775) = 0.593269992
    v["a^(1)_2"] = sigmoid(v["z^(1)_2"])  # 0.596884378
    # Output layer: z_o1 = 0.4*0.593269992 + 0.45*0.596884378 + 0.6 = 1.105905967
    v["z^(2)_1"] = w5 * v["a^(1)_1"] + w6 * v["a^(1)_2"] + b2
    v["z^(2)_2"] = w7 * v["a^(1)_1"] + w8 * v["a^(1)_2"] + b2  # 1.224921404
    v["a^(2)_1"] = sigmoid(v["z^(2)_1"])  # 0.75136507
    v["a^(2)_2"] = sigmoid(v["z^(2)_2"])  # 0.772928465
    # Loss: mean of the two squared errors: (0.74136507^2 + 0.217071535^2) / 2 = 0.298371109
    v["L"] = ((v["a^(2)_1"] - y1) ** 2 + (v["a^(2)_2"] - y2) ** 2) / 2
    # Output deltas: dL/da = 2 (a - y) / N with N = 2 entries; delta = dL/da * a (1 - a)
    v["dL/da^(2)_1"] = 2 * (v["a^(2)_1"] - y1) / 2  # 0.74136507
    v["dL/da^(2)_2"] = 2 * (v["a^(2)_2"] - y2) / 2  # -0.217071535
    v["sigmoid'(z^(2)_1)"] = v["a^(2)_1"] * (1 - v["a^(2)_1"])  # 0.186815602
    v["sigmoid'(z^(2)_2)"] = v["a^(2)_2"] * (1 - v["a^(2)_2"])  # 0.175510053
    v["delta^(2)_1"] = v["dL/da^(2)_1"] * v["sigmoid'(z^(2)_1)"]  # 0.138498562
    v["delta^(2)_2"] = v["dL/da^(2)_2"] * v["sigmoid'(z^(2)_2)"]  # -0.038098236
    # Hidden deltas by the chain rule: (w5 d_o1 + w7 d_o2) * a_h1 (1 - a_h1) = 0.036350306 * 0.241300709
    v["sigmoid'(z^(1)_1)"] = v["a^(1)_1"] * (1 - v["a^(1)_1"])
    v["sigmoid'(z^(1)_2)"] = v["a^(1)_2"] * (1 - v["a^(1)_2"])
    v["delta^(1)_1"] = (w5 * v["delta^(2)_1"] + w7 * v["delta^(2)_2"]) * v["sigmoid'(z^(1)_1)"]
    v["delta^(1)_2"] = (w6 * v["delta^(2)_1"] + w8 * v["delta^(2)_2"]) * v["sigmoid'(z^(1)_2)"]
    # Gradients: dL/dw^(l)_{i,j} = a^(l-1)_i * delta^(l)_j, dL/db^(l)_j = delta^(l)_j
    old = {"w^(1)_{1,1}": w1, "w^(1)_{2,1}": w2, "w^(1)_{1,2}": w3, "w^(1)_{2,2}": w4,
           "w^(2)_{1,1}": w5, "w^(2)_{2,1}": w6, "w^(2)_{1,2}": w7, "w^(2)_{2,2}": w8,
           "b^(1)_1": b1, "b^(1)_2": b1, "b^(2)_1": b2, "b^(2)_2": b2}
    for l in (1, 2):
        for i in (1, 2):
            for j in (1, 2):
                v[f"dL/dw^({l})_{{{i},{j}}}"] = v[f"a^({l - 1})_{i}"] * v[f"delta^({l})_{j}"]
        for j in (1, 2):
            v[f"dL/db^({l})_{j}"] = v[f"delta^({l})_{j}"]
    # SGD: p <- p - lr * dL/dp
    updates = {p: value - lr * v[f"dL/d{p}"] for p, value in old.items()}
    return {**v, **{f"{p} <-": value for p, value in updates.items()}}


def test_hand_calculation_matches_the_published_example():
    v = hand_calculation()
    published = {"a^(1)_1": 0.593269992, "a^(1)_2": 0.596884378, "z^(2)_1": 1.105905967, "a^(2)_1": 0.75136507,
                 "a^(2)_2": 0.772928465, "L": 0.298371109, "delta^(2)_1": 0.138498562,
                 "dL/dw^(2)_{1,1}": 0.082167041, "dL/dw^(1)_{1,1}": 0.000438568, "w^(2)_{1,1} <-": 0.35891648,
                 "w^(2)_{2,1} <-": 0.408666186, "w^(2)_{1,2} <-": 0.511301270, "w^(2)_{2,2} <-": 0.561370121,
                 "w^(1)_{1,1} <-": 0.149780716, "w^(1)_{2,1} <-": 0.19956143, "w^(1)_{1,2} <-": 0.24975114,
                 "w^(1)_{2,2} <-": 0.29950229}
    for key, value in published.items():
        assert v[key] == pytest.approx(value, abs=1e-8), key


def explain_mazur(net, apply=False):
    # The step itself; its "predict, then check" phase is tested (with the example's published loss after the
    # step) in tests/explain/test_predict.py.
    return gn.explain(net, [0.05, 0.10], [0.01, 0.99], optimizer="sgd", lr=0.5, apply=apply, check_step=False)


def test_every_record_has_the_hand_value(mazur):
    hand = hand_calculation()
    trace = explain_mazur(mazur)
    seen = set()
    for r in trace.records:
        key = f"{r.symbol} <-" if r.op == "<-" else r.symbol
        assert r.value == pytest.approx(hand[key], rel=1e-12, abs=1e-15), key
        seen.add(key)
    assert seen == set(hand)  # every quantity of the step is in the trace, and nothing else
    assert trace.loss == pytest.approx(hand["L"], rel=1e-12)


def test_every_printed_number_is_a_hand_number(mazur):
    """Each formula line of the text: its value is the hand value to 6 significant digits, and every number
    written inside it (operands) is one of the hand quantities or a constant of the formula (1, 2, lr)."""
    hand = hand_calculation()
    shown = {float(f"{value:.6g}") for value in hand.values()} | {1.0, 2.0, 0.5}
    shown |= {0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, 0.35, 0.60}  # the weights and biases before the step
    # The chain rule's intermediate sums dL/da^(1)_j = sum_k w^(2)_{j,k} delta^(2)_k (published: 0.036350306).
    shown |= {float(f"{0.40 * hand['delta^(2)_1'] + 0.50 * hand['delta^(2)_2']:.6g}"),
              float(f"{0.45 * hand['delta^(2)_1'] + 0.55 * hand['delta^(2)_2']:.6g}")}
    lines = [line.strip() for line in explain_mazur(mazur).to_text().splitlines() if line.startswith("  ") and
             not line.strip().startswith("#")]
    assert len(lines) == len(hand)
    for line in lines:
        symbol, op = line.split(" ")[:2]
        value = numbers(line)[-1]
        assert value == float(f"{hand[symbol + ' <-' if op == '<-' else symbol]:.6g}"), line
        for number in numbers(line.partition(f"{symbol} {op} ")[2]):
            assert number in shown or -number in shown, (number, line)  # "-" may be the formula's: exp(-z)


def test_key_lines_written_out(mazur):
    text = explain_mazur(mazur).to_text()
    # Written by hand from the example's numbers, rounded to 6 significant digits.
    assert ("z^(1)_1 = w^(1)_{1,1}*a^(0)_1 + w^(1)_{2,1}*a^(0)_2 + b^(1)_1 = 0.15*0.05 + 0.2*0.1 + 0.35 = 0.3775"
            in text)
    assert "a^(1)_1 = sigmoid(z^(1)_1) = 1/(1 + exp(-0.3775)) = 0.59327" in text
    assert "dL/da^(2)_1 = 2*(a^(2)_1 - y_1)/2 = 2*(0.751365 - 0.01)/2 = 0.741365" in text
    assert ("delta^(1)_1 = (w^(2)_{1,1}*delta^(2)_1 + w^(2)_{1,2}*delta^(2)_2) * sigmoid'(z^(1)_1) = "
            "(0.4*0.138499 + 0.5*(-0.0380982)) * 0.241301 = 0.0363503 * 0.241301 = 0.00877135") in text
    assert "dL/dw^(2)_{1,1} = a^(1)_1 * delta^(2)_1 = 0.59327*0.138499 = 0.082167" in text
    assert "w^(2)_{1,1} <- w^(2)_{1,1} - lr*dL/dw^(2)_{1,1} = 0.4 - 0.5*0.082167 = 0.358916" in text
    assert "b^(2)_2 <- b^(2)_2 - lr*dL/db^(2)_2 = 0.6 - 0.5*(-0.0380982) = 0.619049" in text


def test_apply_false_leaves_the_network_alone_and_apply_true_steps(mazur):
    hand = hand_calculation()
    before = {k: p.copy() for k, p in mazur.parameters().items()}
    trace = explain_mazur(mazur)
    assert all(np.array_equal(p, before[k]) for k, p in mazur.parameters().items())
    assert trace.updates is not None and not trace.applied
    assert trace.updates["1.W"][0, 0] == pytest.approx(hand["w^(2)_{1,1} <-"], rel=1e-12)
    assert trace.updates["0.b"][1] == pytest.approx(hand["b^(1)_2 <-"], rel=1e-12)
    applied = explain_mazur(mazur, apply=True)
    assert applied.applied
    for key, value in mazur.parameters().items():
        assert np.array_equal(value, trace.updates[key])
    assert mazur.parameters()["0.W"][1, 0] == pytest.approx(hand["w^(1)_{2,1} <-"], rel=1e-12)


def test_trace_agrees_with_pytorch_autograd(mazur):
    """An outside reference: the same step in PyTorch (float64 autograd, torch.optim.SGD)."""
    import torch

    trace = explain_mazur(mazur)
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in trace.params_before.items()}
    x = torch.tensor([[0.05, 0.10]], dtype=torch.float64)
    y = torch.tensor([[0.01, 0.99]], dtype=torch.float64)
    z1 = x @ params["0.W"] + params["0.b"]
    z2 = torch.sigmoid(z1) @ params["1.W"] + params["1.b"]
    z1.retain_grad()
    z2.retain_grad()  # their .grad are the deltas dL/dz
    out = torch.sigmoid(z2)
    loss = torch.nn.functional.mse_loss(out, y)
    loss.backward()
    assert trace.loss == pytest.approx(loss.item(), rel=1e-12)
    optimizer = torch.optim.SGD(list(params.values()), lr=0.5)
    for key, p in params.items():
        np.testing.assert_allclose(trace.gradients[key], p.grad.numpy(), rtol=1e-10, atol=1e-15)
    optimizer.step()
    for key, p in params.items():
        np.testing.assert_allclose(trace.updates[key], p.detach().numpy(), rtol=1e-10, atol=1e-15)
    for layer, z in ((1, z1), (2, z2)):
        np.testing.assert_allclose([r.value for r in trace.where(kind="delta") if r.layer == layer], z.grad[0].numpy(),
                                   rtol=1e-10)
