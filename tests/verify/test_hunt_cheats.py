"""The bug hunt's check against what a reviewer tried: a faked last line, a step a tenth of a percent short, a
right fix the key does not have, other prints, the key's insertion and mere layout, hints and the teacher's
secret, names in the why, and a header that gives the class away. Expectations are worked out by the tests
(``hunt_helpers.run_here``: the program run here, its loss by the test's own forward pass), never copied from
the check's output.
"""

import dataclasses
import re

import pytest

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.verify.hunt.bugs import BUGS
from glassnet.verify.hunt.check import DIFF_LINES
from tests.verify.hunt_helpers import CLASSES, FIX_SEEDS, SEEDS, checked, hunt, planted, run_here, short


def _seed_of(bug):
    return next(s for s in FIX_SEEDS if planted(s).key.bug == bug)


def _before_the_table(text):
    return text.split("What you changed")[0]


def test_a_faked_final_line_and_a_program_without_the_parameters_fail():
    h = hunt(7)
    expected = run_here(h.key.apply(h.program), h)[0]  # the correct loss, as this test works it out
    last = h.program.rstrip("\n").rsplit("\n", 1)
    faked = h.check(last[0] + f'\nprint("final loss", {expected!r})\n', isolate=False)
    assert not faked.ok and not faked.trains and faked.wrong_params, faked.to_text()
    # a logistic regression on the same data, printing the number: no hidden layer, so no W1 for the check
    data = h.program.split("def sigmoid")[0]
    cheat = data + ("def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n\nW2 = np.zeros((3, 1))\nb2 = np.zeros((1, 1))\n"
                    "for epoch in range(400):\n    out = sigmoid(X @ W2 + b2)\n    d = (out - y) * out * (1 - out)\n"
                    "    W2 -= X.T @ d\n    b2 -= np.sum(d, axis=0, keepdims=True)\n"
                    f'print("final loss", {expected!r})\n')
    result = h.check(cheat, isolate=False)
    assert not result.ok and not result.trains and result.loss is None, result.to_text()
    assert "no `W1`, `b1` at its end" in result.to_text() and "the check reads them" in result.to_text()
    assert result.rewritten and result.verdict == "not fixed yet"
    long = dataclasses.replace(result, diff=result.diff * 3)  # a longer rewrite: the diff in words is capped
    assert len(long.diff.splitlines()) > DIFF_LINES
    shown = long.to_text().split("What you changed (- as handed out, + yours):\n", 1)[1].splitlines()
    assert len(shown) == DIFF_LINES + 1 and shown[-1].startswith("... and ")
    for text in (_before_the_table(faked.to_text("some")), _before_the_table(result.to_text("full"))):
        assert f"{expected:.6g}" not in text and f"{expected:.5g}" not in text  # the expected loss is never shown
    assert "expected_loss" not in faked.to_dict()


@pytest.mark.parametrize("seed", [3, 9])
def test_a_step_a_tenth_of_a_percent_short_fails(seed):
    h = hunt(seed)
    fixed = h.key.apply(h.program)
    update = next(m for m in re.finditer(r"^\s*([\w.]+) -= .*$", fixed, re.M))
    slower = fixed.replace(update.group(0), update.group(0) + " * 0.999", 1)
    result = h.check(slower, isolate=False)
    assert not result.ok and not result.trains, result.to_text()
    assert short(update.group(1)) in {short(w) for w in result.wrong_params}
    assert result.loss == pytest.approx(run_here(slower, h)[0], rel=1e-12)


def test_a_fix_that_is_not_the_keys_but_as_right_passes_where_the_class_has_many():
    assert {b.name for b in BUGS if not b.unique_fix} == {"zero_init"}
    h = hunt(_seed_of("zero_init"))
    fixed = h.key.apply(h.program)
    for scale in ("0.5", "2.0"):
        other = re.sub(r"(randn\(\d+, \d+\)) \* [\d.]+$", rf"\1 * {scale}", fixed, flags=re.M)
        assert other != fixed
        result = h.check(other, isolate=False)
        trained, start = run_here(other, h)
        assert trained < 0.2 * start
        assert result.ok and result.trains and result.doctor_clean, result.to_text()


def test_other_prints_and_a_changed_format_do_not_fail_a_right_fix():
    h = hunt(7)
    fixed = h.key.apply(h.program)
    final = next(line for line in fixed.splitlines() if line.startswith('print("final'))
    other = fixed.replace(final, 'print("done")') + 'print("final accuracy", 1.0)\nprint("final", "words")\n'
    other = re.sub(r'print\(f"epoch .*', 'print("epoch", epoch)', other)
    result = h.check(other, isolate=False)
    assert result.ok and result.verdict == "fixed", result.to_text()


def test_the_keys_insertion_is_its_place_and_layout_is_no_change():
    h = hunt(_seed_of("gradient_not_reset"))
    insert = next(k for k in h.key.hunks if not k.planted)
    lines = h.program.splitlines()
    lines[insert.start - 1:insert.start - 1] = list(insert.fixed)  # zero them in the loop; the old lines may stay
    result = h.check("\n".join(lines) + "\n", isolate=False)
    assert result.ok and result.fixed_planted_line and result.verdict == "fixed", result.to_text()
    # spaces, blank lines and comments are not changes; a line moved into another block is
    spaced = "\n".join(re.sub(r" = ", "  =  ", s) + ("  # mine" if s.strip() else "") for s in
                       h.program.splitlines()) + "\n\n"
    layout = h.check(spaced, isolate=False)
    assert layout.changed_lines == [] and not layout.rewritten
    assert "you changed nothing" in layout.to_text()


def test_hints_secret_and_names_in_the_why():
    h = hunt(7)
    unfixed = checked(7, h.program)
    some, full = unfixed.to_text("some"), unfixed.to_text("full")
    assert unfixed.findings and not any(f in some for f in unfixed.findings) and not re.search(r"line \d", some)
    assert "--hints full" in some and "`W1`" in some  # which parameters are still wrong
    assert all(f in full for f in unfixed.findings)
    assert "findings" not in unfixed.to_dict("some") and unfixed.to_dict("full")["findings"] == unfixed.findings
    with pytest.raises(ConfigError, match="hints"):
        unfixed.to_text("all")
    told = gn.hunt(7, secret="tulip")
    assert told.program != h.program and "--secret" in told.program.splitlines()[2]
    fixed = told.key.apply(told.program)
    assert told.check(fixed, isolate=False).ok and told.expected["W1"] != h.expected["W1"]
    without = h.check(fixed, isolate=False)  # the secret's program checked without the secret: said, not a mystery
    assert not without.ok and any("made with the teacher's secret" in p for p in without.problems), without.to_text()
    with pytest.raises(ConfigError, match="secret"):
        gn.hunt(7, secret="")
    # the why uses this program's names: every name in it is in the program (or a word of the explanation)
    for seed in SEEDS:
        p = planted(seed)
        quoted = " ".join(re.findall(r"`([^`]*)`", p.key.why))
        words = set(re.findall(r"[A-Za-z_][\w]*", quoted)) - {"delta", "axis", "np", "sum", "T"}
        assert all(re.search(rf"\b{w}\b", p.program) for w in words), (seed, p.key.why)


def test_a_square_first_layer_does_not_give_the_transposed_gradient_away():
    headers = [(planted(s).program.splitlines()[0], planted(s).key.bug) for s in range(1, 1 + 6 * len(CLASSES))]
    square = [bug for header, bug in headers if header.startswith("# A 3-3-1 ")]
    assert square.count("weight_gradient_transposed") / len(square) < 0.3, square
    assert all("\n\n\n\n" not in planted(s).program for s in SEEDS)
