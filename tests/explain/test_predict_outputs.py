"""Predict, then check in the worksheet, on the command line (in-process) and in the HTML report."""

from __future__ import annotations

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet.interfaces.cli.main import main
from glassnet.viz.report import render_html, report_data

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8], [0.1, 0.3]])
Y = np.array([0, 1, 1, 0])


def net() -> gn.Network:
    return gn.Network([gn.Dense(2, 3, "tanh", init=([[0.3, -0.8, 0.5], [0.9, 0.2, -0.4]], [0.1, -0.2, 0.05])),
                       gn.Dense(3, 1, "sigmoid", init=([[0.7], [-1.1], [0.6]], [0.2]))], loss="bce")


def test_the_worksheet_asks_the_check_only_when_made_with_predict():
    plain = gn.worksheet(net(), X[:2], Y[:2])
    assert all(q.phase != "check" for q in plain.questions + plain.givens)
    sheet = gn.worksheet(net(), X[:2], Y[:2], predict="w^(1)_{1,1}", nudges=(0.1, 0.01))
    asked = [q.symbol for q in sheet.questions if q.phase == "check"]
    assert asked[:4] == ["dL_pred(w^(1)_{1,1}+0.1)", "dL_actual(w^(1)_{1,1}+0.1)", "gap(w^(1)_{1,1}+0.1)",
                         "gap_per_d2(w^(1)_{1,1}+0.1)"]
    assert "dL_pred(step)" in asked and "L(step)" not in asked
    given = {r.symbol for r in sheet.givens}
    assert {"L(w^(1)_{1,1}+0.1)", "L(w^(1)_{1,1}+0.01)", "L(w^(1)_{1,1}-0.01)", "L(step)"} <= given  # h = 1e-2 on a sheet
    text = sheet.to_markdown()
    assert "## Predict, then check" in text and "`L(w^(1)_{1,1}+0.1) = " in text
    assert len(sheet.questions) == len(plain.questions) + len(asked)


def write_model(tmp_path):
    path = tmp_path / "m.npz"
    model = net()
    model.save(path)
    return str(path)


def test_the_cli_writes_the_check_phase(tmp_path, capsys):
    out = tmp_path / "step.json"
    code = main(["explain", write_model(tmp_path), "--data", "xor", "--sample", "all", "--predict", "0.W[0,1]",
                 "--predict", "b^(2)_1", "--nudge", "0.1,1e-8", "--format", "json", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    check = [r for r in data["records"] if r["phase"] == "check"]
    symbols = [r["symbol"] for r in check]
    assert "dL_pred(w^(1)_{1,2}+0.1)" in symbols and "gap(b^(2)_1+1e-08)" in symbols and "gap(step)" in symbols
    rounding = next(r for r in check if r["symbol"] == "gap(w^(1)_{1,2}+1e-08)")
    assert "rounding" in rounding["note"]


def test_the_cli_refuses_a_weight_that_does_not_exist(tmp_path, capsys):
    assert main(["explain", write_model(tmp_path), "--data", "xor", "--predict", "2.W[0,0]"]) == 2
    err = capsys.readouterr().err
    assert "no parameter '2.W'" in err and "0.W (2, 3)" in err
    assert main(["explain", write_model(tmp_path), "--data", "xor", "--nudge", "0.1"]) == 2
    assert "--predict" in capsys.readouterr().err


def torch_gap(key, index, d):
    """An independent gap for the network of net(): L(w+d) - L(w) - g*d with torch float64 (autograd for g)."""
    import torch

    def loss(params):
        a = torch.tanh(torch.tensor(X) @ params["0.W"] + params["0.b"])
        p = torch.sigmoid(a @ params["1.W"] + params["1.b"])[:, 0]
        y = torch.tensor(Y, dtype=torch.float64)
        return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net().parameters().items()}
    base = loss(params)
    (g,) = torch.autograd.grad(base, params[key])
    moved = {k: v.detach().clone() for k, v in params.items()}
    moved[key][index] += d
    return float(loss(moved) - base.detach()) - float(g[index]) * d


def test_the_report_has_the_panel():
    data, maps = report_data(net(), X, Y, predict="0.W[1,0]", ledger_samples=1, ledger_snapshots=1)
    weights = data["predict"]["weights"]
    assert (weights[0]["key"], weights[0]["index"]) == ("0.W", [1, 0]) and len(weights) == 3
    for n in weights[0]["nudges"][:3]:  # d = 0.1, 0.01, 0.001: far above rounding
        assert n["gap"] == pytest.approx(torch_gap("0.W", (1, 0), n["d"]), rel=1e-6)
    page = render_html(data, maps)
    assert 'id="predict-panel"' in page and page.count('<svg class="predict-plot"') == 3
    assert "slope 2" in page and "w^(1)_{2,1}" in page
    default = report_data(net(), X, Y, ledger_samples=1, ledger_snapshots=1)[0]["predict"]["weights"][0]
    grads = net().eval().gradients(X, Y)
    biggest = max((abs(g[idx]), k, list(idx)) for k, g in grads.items() if k.endswith(".W") for idx in np.ndindex(g.shape))
    assert (default["key"], default["index"]) == (biggest[1], biggest[2])
    assert any(r["section"] == "check" for r in data["ledgers"]["traces"][0][0]["records"])  # the step's own check


@pytest.mark.parametrize("weight", ["0.W[1,0]", "w^(1)_{2,1}"])
def test_explain_and_the_panel_agree(weight):
    trace = gn.explain(net(), X, Y, training=False, predict=weight, nudges=(0.1,))
    p = gn.predict_then_check(net(), X, Y, weight, nudges=(0.1,), training=False)
    want = torch_gap("0.W", (1, 0), 0.1)
    assert trace.predictions[0].nudges[0].gap == pytest.approx(want, rel=1e-9)
    assert p.nudges[0].gap == pytest.approx(want, rel=1e-9)


def test_the_report_cli_chooses_the_panel_weight(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", write_model(tmp_path), "--data", "xor", "--predict", "w^(1)_{2,1}", "-o", str(out),
                 "--resolution", "8", "--ledger-samples", "1", "--ledger-snapshots", "1"]) == 0
    page = out.read_text()
    first = page.index('<details class="predict" open>')
    assert page.index("<code>w^(1)_{2,1}</code>", first) < page.index("</summary>", first)
    assert main(["report", write_model(tmp_path), "--data", "xor", "--predict", "9.W[0,0]", "-o", str(out)]) == 2
    assert "no parameter '9.W'" in capsys.readouterr().err
