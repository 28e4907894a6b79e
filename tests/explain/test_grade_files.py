"""Grading's files and words: the teacher's worksheet file, the learner's answers as typed (JSON, CSV, decimal
commas, unicode minus, "x 10^"), the CLI (text, html, json) and the predict-then-check blanks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from grade_learner import work

import glassnet as gn
from glassnet.explain.answers import parse_number
from glassnet.explain.worksheet import worksheet
from glassnet.interfaces.cli.main import main


@pytest.fixture(scope="module")
def ws():
    """Mazur's 2-2-1 start (one sample): z^(1)_1 = 0.15*0.05 + 0.2*0.1 + 0.35 = 0.3775 by hand."""
    net = gn.Network([gn.Dense(2, 2, "sigmoid", init=([[0.15, 0.25], [0.20, 0.30]], [0.35, 0.35])),
                      gn.Dense(2, 1, "sigmoid", init=([[0.40], [0.45]], [0.60]))], loss="mse")
    return worksheet(net, np.array([[0.05, 0.10]]), np.array([[0.01]]))


@pytest.mark.parametrize(("text", "value"), [
    ("0.3775", 0.3775), ("0,3775", 0.3775), (" 0.377 5 ", 0.3775), ("\u22120.25", -0.25), ("\u2013 0,25", -0.25),
    ("1.2e-3", 0.0012), ("1.2 x 10^-3", 0.0012), ("1,2×10^(-3)", 0.0012), ("1.2*10^3", 1200.0),
    ("1,234.5", 1234.5), ("1.234,5", 1234.5), ("1,234,567", 1234567.0), ("1,234", 1.234), ("3/4", 0.75),
    ("≈0.5", 0.5), ("-.5", -0.5), ("0", 0.0),
])
def test_values_as_typed_are_read(text, value):
    assert parse_number(text) == pytest.approx(value, rel=1e-12)


def test_a_forced_decimal_mark_and_text_that_is_not_a_number():
    assert parse_number("1,234", decimal=".") == 1234.0
    assert parse_number("1.234", decimal=",") == 1234.0
    for text in ("about a third", "0.3.7.", "nan", "inf", "1_000", "0x10", "e5"):
        assert parse_number(text) is None, text
    with pytest.raises(gn.ConfigError, match="decimal"):
        parse_number("1", decimal=";")


def test_the_teachers_file_round_trips_and_grades_the_same(ws, tmp_path):
    path = tmp_path / "sheet.json"
    ws.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "glassnet-worksheet" and data["digits_asked"] == 4
    q1 = data["questions"][0]
    assert (q1["number"], q1["symbol"], q1["kind"], q1["sample"]) == (1, "z^(1)_1", "z", 0)
    assert q1["value"] == pytest.approx(0.15 * 0.05 + 0.20 * 0.10 + 0.35, rel=1e-12)
    givens = {(g["symbol"], g["kind"]): g["value"] for g in data["givens"]}
    assert givens[("w^(1)_{2,1}", "parameter")] == 0.20 and givens[("lr", "setting")] == 0.5
    assert givens[("a^(0)_2", "input")] == 0.10 and givens[("y_1", "target")] == 0.01
    loaded = gn.load_worksheet(path)
    assert loaded.to_dict() == data
    answers = {"1": "0.3775", "2": "0.5933", "3": "0.39"}
    assert [b.verdict for b in gn.grade(path, answers).blanks[:3]] == ["right", "right", "wrong"]
    assert gn.grade(path, answers).to_dict() == ws.grade(answers).to_dict()


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "glassnet-trace", "version": 1}),
                                     json.dumps({"format": "glassnet-worksheet", "version": 1, "questions": [{}]}),
                                     json.dumps({"format": "glassnet-worksheet", "version": 99})])
def test_a_damaged_or_foreign_worksheet_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "sheet.json"
    path.write_text(content)
    with pytest.raises(gn.DataError, match="sheet.json"):
        gn.load_worksheet(path)


def test_answers_in_json_csv_and_by_symbol(ws, tmp_path):
    first_three = ["right", "right", "wrong"]
    as_json = tmp_path / "a.json"
    as_json.write_text(json.dumps(["0,3775", "0.5933", "1"]))
    assert [b.verdict for b in ws.grade(as_json).blanks[:3]] == first_three
    assert [b.verdict for b in ws.grade({"z^(1)_1": "0.3775", "a^(1)_1": 0.5933, "z^(1)_2": 1}).blanks[:3]] == first_three
    variants = {
        "header.csv": "number,answer\n1,0.3775\n2,0.5933\n3,1\n",
        "plain.csv": "1,0.3775\n2,\"0,5933\"\n3,1\n",
        "decimal_comma.csv": "1,0,3775\n2,0,5933\n3,1\n",  # unquoted: the rest of the row is the answer
        "semicolons.csv": "number;answer\n1;0,3775\n2;0,5933\n3;1\n",
        "lines.txt": "0,3775\n0,5933\n1\n",
    }
    for name, text in variants.items():
        path = tmp_path / name
        path.write_text(text)
        assert [b.verdict for b in ws.grade(path).blanks[:3]] == first_three, name
    template = tmp_path / "template.csv"
    template.write_text(ws.answer_template().replace("\n1,z^(1)_1,,\n", "\n1,z^(1)_1,,0.3775\n"))
    assert ws.answer_template().splitlines()[0] == "number,symbol,sample,answer"
    assert ws.grade(template)[1].verdict == "right" and ws.grade(template)[2].verdict == "blank"
    with pytest.raises(gn.DataError, match="blank 33 does not exist"):
        ws.grade(list(range(40)))
    with pytest.raises(gn.DataError, match="neither a blank number"):
        ws.grade({"q^(9)_9": "1"})


def test_the_cli_grades_as_text_html_and_json(ws, tmp_path, capsys):
    sheet, answers = tmp_path / "sheet.json", tmp_path / "answers.csv"
    assert main(["explain", "--layers", "2,3,1", "--data", "xor", "--loss", "mse", "--lr", "0.5", "--worksheet",
                 "--out", str(sheet), "--answer-sheet", str(answers)]) == 0
    template = answers.read_text().splitlines()
    assert template[0] == "number,symbol,sample,answer" and template[1].startswith("1,z^(1)_1,")
    data = json.loads(sheet.read_text())
    # The right answers from the independent learner, who starts from the sheet's givens (the data, the weights).
    given = {g["symbol"]: g["value"] for g in data["givens"]}
    W = [np.array([[given[f"w^({l})_{{{i + 1},{j + 1}}}"] for j in range(m)] for i in range(n)])
         for l, n, m in ((1, 2, 3), (2, 3, 1))]
    b = [np.array([given[f"b^({l})_{j + 1}"] for j in range(m)]) for l, m in ((1, 3), (2, 1))]
    X, Y = np.array([[given["a^(0)_1"], given["a^(0)_2"]]]), np.array([[given["y_1"]]])
    numbers = work(W, b, X, Y, ("sigmoid", "sigmoid"), "mse", {"name": "sgd", "lr": 0.5})
    right = [f"{numbers[(q['symbol'], q['sample'])]:.4g}" for q in data["questions"]]
    right[0] = "<b>oops</b>"
    answers.write_text("\n".join(right) + "\n")
    capsys.readouterr()
    assert main(["grade", str(sheet), str(answers)]) == 0
    text = capsys.readouterr().out
    assert f"score {len(right) - 1}/{len(right)}" in text and "unreadable" in text
    html_file = tmp_path / "graded.html"
    assert main(["grade", str(sheet), str(answers), "--out", str(html_file)]) == 0
    page = html_file.read_text()
    assert page.startswith("<!DOCTYPE html>") and "&lt;b&gt;oops&lt;/b&gt;" in page and "<b>oops" not in page
    assert "http" not in page.split("<body>")[1]  # standalone: no external assets
    capsys.readouterr()
    assert main(["grade", str(sheet), str(answers), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["counts"]["unreadable"] == 1 and result["score"] == len(right) - 1
    assert main(["grade", str(sheet), str(tmp_path / "missing.csv")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert main(["grade", str(bad), str(answers)]) == 2


def test_predict_then_check_blanks_grade_with_error_carried_forward():
    net = gn.Network([gn.Dense(2, 2, "sigmoid", init=([[0.15, 0.25], [0.20, 0.30]], [0.35, 0.35])),
                      gn.Dense(2, 1, "sigmoid", init=([[0.40], [0.45]], [0.60]))], loss="mse")
    X, y = np.array([[0.05, 0.10]]), np.array([[0.01]])
    ws = worksheet(net, X, y, predict="0.W[0,1]", nudges=(0.1,))
    questions = ws.sheet().questions
    by_symbol = {q.symbol: q for q in questions}
    predicted, gap = by_symbol["dL_pred(w^(1)_{1,2}+0.1)"], by_symbol["gap(w^(1)_{1,2}+0.1)"]
    # Worked out independently: the loss with w^(1)_{1,2} moved by 0.1, and the gradient as its slope.
    W1 = np.array([[0.15, 0.25], [0.20, 0.30]])

    def loss(w: np.ndarray) -> float:
        h = 1 / (1 + np.exp(-(X @ w + 0.35)))
        o = 1 / (1 + np.exp(-(h @ np.array([[0.40], [0.45]]) + 0.60)))
        return float(((o - y) ** 2).mean())

    moved = W1.copy()
    moved[0, 1] += 0.1
    eps = W1.copy()
    eps[0, 1] += 1e-7
    slope = (loss(eps) - loss(W1)) / 1e-7
    assert predicted.value == pytest.approx(slope * 0.1, rel=1e-5)
    numbers = work([W1, np.array([[0.40], [0.45]])], [np.array([0.35, 0.35]), np.array([0.60])], X, y,
                   ("sigmoid", "sigmoid"), "mse", {"name": "sgd", "lr": 0.5})
    L, L_moved = loss(W1), loss(moved)
    numbers.update({("dL_pred(w^(1)_{1,2}+0.1)", None): slope * 0.1, ("dL_actual(w^(1)_{1,2}+0.1)", None): L_moved - L,
                    ("gap(w^(1)_{1,2}+0.1)", None): L_moved - L - slope * 0.1})
    answers = {q.number: f"{numbers[(q.symbol, q.sample)]:.6g}" for q in questions if (q.symbol, q.sample) in numbers}
    assert len(answers) == len(questions) - 5  # every blank but gap/d^2, L'' and the whole step's three
    wrong_prediction = slope * 0.1 * 2
    answers[predicted.number] = f"{wrong_prediction:.6g}"
    answers[gap.number] = f"{loss(moved) - loss(W1) - wrong_prediction:.6g}"
    grading = ws.grade(answers)
    assert grading[predicted.number].verdict == "wrong"
    assert grading[gap.number].verdict == "carried"
    assert grading.first_wrong is not None and grading.first_wrong.number == predicted.number
