"""Every gallery program, run through the doctor: the diagnosis names the right parameter(s) and cause.

The expectations come from each program's planted bug (read its docstring), not from the doctor's output.
"""

import json
import os
import subprocess
import sys

import pytest

from glassnet.verify import gallery
from glassnet.verify.doctor import check_script

W_H, B_H, W_O, B_O = "weights_hidden", "bias_hidden", "weights_out", "bias_out"
ALL = {W_H, B_H, W_O, B_O}

# name -> (check, parameters that must fail, verdict they get, words in their messages or the notes)
EXPECTED = {
    "bias_in_loop": ("step", {B_H, B_O}, "uphill", "instead of being accumulated and subtracted"),
    "bias_never_accumulated": ("gradients", {B_H, B_O}, "zero", "never accumulated"),
    "derivative_applied_twice": ("gradients", {W_H, B_H}, "wrong", "activation derivative"),
    "output_delta_sign": ("gradients", ALL, "sign", "(target - output) instead of (output - target)"),
    "weight_gradient_transposed": ("gradients", {W_H}, "transposed", "transpose of the right gradient"),
    "sum_vs_mean": ("step", ALL, "rate", "a sum over the 4 samples where the loss takes the mean"),
    "gradient_not_reset": ("gradients", ALL, "stale", "not reset between calls"),
    "update_inside_row_loop": ("step", ALL, None, "row loop"),
    "zero_init": ("gradients", {W_H}, "symmetric", "symmetry is never broken"),
    "softmax_ce_twice": ("gradients", ALL, None, "derivative"),
    "copy_paste_neuron": ("gradients", {"w13", "w23", "b3"}, "wrong", "wrong: w13, w23, b3"),
}


def test_gallery_has_at_least_ten_documented_programs():
    entries = gallery.entries()
    assert set(entries) == set(EXPECTED) and len(entries) >= 10
    assert all(summary for summary in entries.values())
    assert all("The bug:" in gallery.describe(n) and "The fix:" in gallery.describe(n) for n in entries)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_doctor_names_the_right_parameters_and_cause(name):
    check, bad, verdict, words = EXPECTED[name]
    report = check_script(gallery.path(name))
    json.dumps(report.to_dict())  # every report converts to plain data
    findings = [f for f in report.findings if f.details["check"] == check]
    failed = {f.param for f in findings if not f.ok}
    assert failed == bad, str(report)
    if verdict:
        assert {f.verdict for f in findings if not f.ok} == {verdict}, str(report)
    text = " ".join([f.message for f in findings if not f.ok] + report.notes)
    assert words in text, str(report)
    if check == "step":  # every bad parameter's own message explains it, not only the notes
        assert all(f.message for f in findings if not f.ok)
    if name == "update_inside_row_loop":
        assert sum("row loop" in f.message for f in findings) >= 3


def test_sum_vs_mean_gradients_are_a_shared_scale_not_an_error():
    report = check_script(gallery.path("sum_vs_mean"))
    grads = [f for f in report.findings if f.details["check"] == "gradients"]
    assert all(f.verdict == "scaled" and f.ok and f.details["factor"] == pytest.approx(4.0) for f in grads)


def test_gallery_programs_run_as_plain_scripts():
    env = dict(os.environ, PYTHONPATH="")
    out = subprocess.run([sys.executable, gallery.path("bias_in_loop")], capture_output=True, text=True, env=env,
                         cwd=gallery.FOLDER, timeout=120, check=True).stdout
    last = float(out.strip().splitlines()[-1].split()[-1])
    assert 0.45 < last < 0.55  # the symptom the learner saw: the cost stuck near 0.5
