"""Grading, the reviewer's cases: how much an answer may lean on the learner's own short inputs, what counts as
too much rounding, keys that are not numbers, answers files as teachers and spreadsheets write them, an
activation's own settings, and expressions the evaluator must refuse. Every right answer comes from an
independent computation (``grade_learner.work`` or worked out here), never from glassnet's key."""

from __future__ import annotations

import math

import numpy as np
import pytest
from grade_learner import work

import glassnet as gn
from glassnet.core.activations import LeakyReLU
from glassnet.explain.answers import parse_number, read_answers
from glassnet.explain.formula import Formula, FormulaError
from glassnet.explain.worksheet import worksheet
from glassnet.interfaces.cli.main import main

X1, Y1 = np.array([[0.05, 0.10]]), np.array([[0.01]])
W1, B1 = np.array([[0.15, 0.25], [0.20, 0.30]]), np.array([0.35, 0.35])
W2, B2 = np.array([[0.40], [0.45]]), np.array([0.60])


def mazur(act: object = "sigmoid", b1: np.ndarray = B1, **kw: object) -> gn.worksheet:
    net = gn.Network([gn.Dense(2, 2, act, init=(W1, b1)), gn.Dense(2, 1, "sigmoid", init=(W2, B2))], loss="mse")
    return worksheet(net, X1, Y1, **kw)


def by_symbol(sheet: object, numbers: dict[tuple[str, int | None], float], fmt: str = ".6g") -> dict[int, str]:
    """The learner's answers keyed by blank number, found by each blank's symbol (forward/backward per sample)."""
    return {q.number: format(numbers[(q.symbol, q.sample if q.phase in ("forward", "backward") else None)], fmt)
            for q in sheet.questions}  # type: ignore[attr-defined]


SGD = {"name": "sgd", "lr": 0.5}


@pytest.fixture(scope="module")
def relu_sheet():
    ws = mazur("relu")
    return ws, ws.sheet(), work([W1, W2], [B1, B2], X1, Y1, ("relu", "sigmoid"), "mse", SGD)


@pytest.fixture(scope="module")
def sig():
    return mazur()


def test_relu_slope_typed_1_is_exact_and_a_delta_30_percent_off_is_wrong(relu_sheet):
    ws, sheet, numbers = relu_sheet
    answers = by_symbol(sheet, numbers)
    slopes = [q.number for q in sheet.questions if q.symbol.startswith("relu'")]
    answers.update({n: "1" for n in slopes})  # relu' is exactly 1 here: z > 0
    assert ws.grade(answers).score == len(sheet.questions)
    delta = next(q for q in sheet.questions if q.symbol == "delta^(1)_1")
    answers[delta.number] = f"{numbers[('delta^(1)_1', 0)] * 1.3:.6g}"  # a wrong value in the hidden layer
    grading = ws.grade(answers)
    assert grading[delta.number].verdict == "wrong"
    assert grading.first_wrong is not None and grading.first_wrong.number == delta.number


def test_carried_from_a_short_input_must_follow_from_that_input(sig):
    a_of_04 = 1 / (1 + math.exp(-0.4))  # 0.598688: a learner who wrote z = 0.4 (the key is 0.3775)
    for a, verdict in [("0.59", "wrong"), ("0.61", "wrong"), ("0.6", "wrong"), (f"{a_of_04:.4g}", "carried")]:
        assert sig.grade({1: "0.4", 2: a})[2].verdict == verdict, a


def test_too_much_rounding_names_only_a_rounding_of_the_key(sig):
    key = 1 / (1 + math.exp(-0.3775))  # a^(1)_1 = 0.59327
    assert sig.grade({2: "0.59"})[2].slip == "too much rounding"
    assert sig.grade({2: f"{key:.1g}"})[2].slip == "too much rounding"  # "0.6"
    for text in ("0.5", "0.58"):  # not a rounding of 0.5933
        assert sig.grade({2: text})[2].slip != "too much rounding", text


def test_a_key_that_is_not_a_number_is_not_asked():
    # b^(1)_1 = -5 kills hidden unit 1 (z = 0.0275 - 5 < 0): the loss does not depend on w^(1)_{1,1}, so each
    # gap is exactly 0 and their ratio 0/0 has no value.
    ws = mazur("relu", b1=np.array([-5.0, 0.35]), predict="0.W[0,0]")
    sheet = ws.sheet()
    assert all(q.value is not None and math.isfinite(q.value) for q in sheet.questions)
    assert not any(q.symbol.startswith("gap_ratio(w^(1)_{1,1}") for q in sheet.questions)
    markdown = ws.to_markdown(answers=False)
    assert "gap_ratio" not in markdown and f"\n{len(sheet.questions)}. `" in markdown
    assert f"\n{len(sheet.questions) + 1}. `" not in markdown
    assert len(ws.answer_template().splitlines()) == len(sheet.questions) + 1
    assert ws.to_latex().count(r"\item $") >= len(sheet.questions)


def test_leaky_relu_grades_with_the_layers_own_slope(tmp_path):
    ws = mazur(LeakyReLU(0.2), b1=np.array([-0.5, 0.35]))
    path = tmp_path / "sheet.json"
    ws.save(path)
    sheet = gn.load_worksheet(path)
    z = 0.15 * 0.05 + 0.20 * 0.10 - 0.5  # -0.4725, worked out by hand
    assert sheet.questions[0].value == pytest.approx(z)
    assert gn.grade(sheet, {1: f"{z:.6g}", 2: f"{0.2 * z:.6g}"})[2].verdict == "right"
    carried = gn.grade(sheet, {1: "-0.3", 2: f"{0.2 * -0.3:.6g}"})[2]
    assert carried.verdict == "carried" and carried.ecf == pytest.approx(-0.06)
    assert gn.grade(sheet, {1: "-0.3", 2: f"{0.01 * -0.3:.6g}"})[2].verdict == "wrong"  # torch's default slope


def test_a_wide_layers_weighted_sum_is_worked_out():
    expression = " + ".join(f"w^(1)_{{{i},1}}*a^(0)_{i}" for i in range(1, 1001)) + " + b^(1)_1"
    assert Formula(expression).evaluate(lambda symbol, sample: (0.5, False), 0)[0] == pytest.approx(1000 * 0.25 + 0.5)


@pytest.mark.parametrize("expression", ["sum_k 1", "1" + "+1" * 200_000, "-" * 100_000 + "1", "-" * 90_000 + "1",
                                        "(" * 3000 + "1"],
                         ids=["sum without its index", "too long", "too many minus", "too deep", "too many brackets"])
def test_expressions_the_evaluator_cannot_read_are_a_formula_error(expression):
    with pytest.raises(FormulaError):
        Formula(expression).evaluate(lambda symbol, sample: (1.0, False), None)


@pytest.mark.parametrize(("text", "value"), [
    ("(\u22120.3)", -0.3), ("(0.3775)", 0.3775), ("1.2×10^{-3}", 0.0012), ("1.2·10⁻³", 0.0012), ("10^-3", 0.001),
    ("1/4", 0.25), ("-3/8", -0.375), ("1e400", None), ("inf", None), ("-inf", None), ("nan", None), ("25%", None),
])
def test_more_ways_of_typing_a_number(text, value):
    assert parse_number(text) == (pytest.approx(value, rel=1e-12) if value is not None else None)


def test_a_forced_decimal_mark_gives_way_where_it_reads_no_number():
    assert parse_number("0.3775", decimal=",") == pytest.approx(0.3775)
    assert parse_number("0,3775", decimal=".") == pytest.approx(0.3775)
    assert parse_number("1.234", decimal=",") == 1234.0  # a thousands dot, as forced


def test_unreadable_answers_say_why(sig):
    g = sig.grade({1: "37.75%", 2: "1e400"})
    assert g[1].verdict == "unreadable" and "percentages" in g[1].note and "0.3775" in g[1].note
    assert g[2].verdict == "unreadable" and "finite" in g[2].note


@pytest.mark.parametrize(("content", "expected"), [
    ("0.3775\n\n0.3925\n\n\n", {1: "0.3775", 2: None, 3: "0.3925"}),  # a skipped line is a blank
    ("0,3775\n1,5933\n", {1: "0,3775", 2: "1,5933"}),  # no blank 0: values with decimal commas
    ("blank,value\n1,0.3775\n3,0.3925\n", {1: "0.3775", 3: "0.3925"}),
    ("Frage;Antwort\n1;0,3775\n", {1: "0,3775"}),
    ("Nr;Ergebnis\n2;0,5\n", {2: "0,5"}),
    ("answer\n0.3775\n\n0.3925\n", {1: "0.3775", 2: None, 3: "0.3925"}),
    ("\ufeffnumber,symbol,sample,answer\n1,z^(1)_1,,0,3775\n2,a^(1)_1,,\n", {1: "0,3775", 2: None}),
    ("1,0.3775\n2,1\n", {1: "0.3775", 2: "1"}),  # a decimal in one row: number,answer rows
])
def test_answers_files_as_people_write_them(tmp_path, content, expected):
    path = tmp_path / "answers.csv"
    path.write_text(content, encoding="utf-8")
    assert read_answers(path, [f"s{i}" for i in range(10)]) == expected


@pytest.mark.parametrize("content", ["1,106\n2,213\n3,5\n", "2,5\n4,7\n"])
def test_whole_numbers_split_by_a_comma_are_ambiguous_and_an_error(tmp_path, content):
    path = tmp_path / "answers.csv"
    path.write_text(content)
    with pytest.raises(gn.DataError, match="number,answer"):
        read_answers(path, [f"s{i}" for i in range(10)])


def test_a_number_read_two_ways_shows_its_reading(sig):
    assert "0,3775 (read as 0.3775)" in sig.grade({1: "0,3775"}).to_text()
    assert "(read as 0.3775)" in sig.grade({1: "0,3775"}).to_html()


@pytest.mark.parametrize("change", ["no questions", "string sample"])
def test_a_damaged_sheet_file_names_the_file(sig, tmp_path, change):
    data = sig.to_dict()
    if change == "no questions":
        data["questions"] = []
    else:
        data["questions"][0]["sample"] = "0"
    path = tmp_path / "sheet.json"
    path.write_text("\ufeff" + __import__("json").dumps(data), encoding="utf-8")
    with pytest.raises(gn.DataError, match="sheet.json"):
        gn.load_worksheet(path)


def test_the_cli_with_its_arguments_swapped_says_which_comes_first(sig, tmp_path, capsys):
    sheet, answers = tmp_path / "sheet.json", tmp_path / "answers.csv"
    sig.save(sheet)
    answers.write_text("0.3775\n")
    assert main(["grade", str(answers), str(sheet)]) == 2
    assert "WORKSHEET (the teacher's .json file) comes first" in capsys.readouterr().err


def test_check_blanks_from_the_given_losses_are_right_and_a_flipped_curvature_is_wrong():
    """The check's losses are given to 10 digits (L_0 too): a learner who works from them gets the change, the gap
    and L'' right, though the 10-digit rounding moves them off the key; a sign-flipped or 1% off L'' is wrong."""
    ws = mazur(predict="0.W[0,1]", nudges=(0.1, 0.01))
    sheet = ws.sheet()

    def loss(w: np.ndarray) -> float:
        h = 1 / (1 + np.exp(-(X1 @ w + B1)))
        return float(((1 / (1 + np.exp(-(h @ W2 + B2))) - Y1) ** 2).mean())

    def moved(d: float) -> np.ndarray:
        w = W1.copy()
        w[0, 1] += d
        return w

    given = lambda v: float(f"{v:.10g}")  # noqa: E731  (as the sheet prints a nudged loss)
    L0, Lp, Lm = given(loss(W1)), given(loss(moved(0.01))), given(loss(moved(-0.01)))
    L1 = given(loss(moved(0.1)))
    slope = (loss(moved(1e-7)) - loss(moved(-1e-7))) / 2e-7
    curvature = (Lp - 2 * L0 + Lm) / 0.01 ** 2
    assert {g.symbol for g in sheet.givens} >= {"L_0", "L(w^(1)_{1,2}+0.01)", "L(w^(1)_{1,2}-0.01)"}
    number = {q.symbol: q.number for q in sheet.questions}
    answers = {number["L"]: f"{loss(W1):.4g}", number["dL/dw^(1)_{1,2}"]: f"{slope:.6g}",
               number["dL_pred(w^(1)_{1,2}+0.1)"]: f"{slope * 0.1:.6g}",
               number["dL_actual(w^(1)_{1,2}+0.1)"]: f"{L1 - L0:.6g}",
               number["gap(w^(1)_{1,2}+0.1)"]: f"{L1 - L0 - slope * 0.1:.6g}",
               number["L''(w^(1)_{1,2})"]: f"{curvature:.6g}"}
    key = {q.symbol: q.value for q in sheet.questions}
    assert curvature != key["L''(w^(1)_{1,2})"]  # the 10-digit givens move it off the key
    grading = ws.grade(answers)
    for symbol in ("dL_actual(w^(1)_{1,2}+0.1)", "gap(w^(1)_{1,2}+0.1)", "L''(w^(1)_{1,2})"):
        assert grading[number[symbol]].verdict == "right", symbol
    for factor in (-1.0, 1.5):
        flipped = {**answers, number["L''(w^(1)_{1,2})"]: f"{factor * curvature:.6g}"}
        assert ws.grade(flipped)[number["L''(w^(1)_{1,2})"]].verdict == "wrong", factor
