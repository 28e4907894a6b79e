"""check_intermediates: a learner's backprop tensors, checked one by one against the exact ones.

The learner's pass is written out here by hand: 3 -> 3 tanh -> 2 sigmoid, cost = sum((a2 - y)**2) / N, in row
layout (``Z = A @ W + b``) or column layout (``Z = W @ A + b``), float64 or float32, with errors planted on purpose.
"""

import numpy as np
import pytest

import glassnet
from glassnet.errors import ConfigError
from glassnet.verify.intermediates import check_intermediates
from glassnet.verify.stack import infer_stack

N = 5
ORDER = ["dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]


@pytest.fixture
def net():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(N, 3)), rng.uniform(size=(N, 2))
    P = {"W1": rng.normal(size=(3, 3)), "b1": rng.normal(size=3) * 0.3, "W2": rng.normal(size=(3, 2)),
         "b2": rng.normal(size=2) * 0.3}
    return P, X, Y


def learner_pass(P, X, Y, dtype=np.float64, wrong_dA1=False):
    """One backward pass as a learner writes it (row layout), optionally with dA1 computed wrongly."""
    P = {k: v.astype(dtype) for k, v in P.items()}
    X, Y = X.astype(dtype), Y.astype(dtype)
    a1 = np.tanh(X @ P["W1"] + P["b1"])
    a2 = 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"])))
    dA2 = 2 * (a2 - Y) / N
    dZ2 = dA2 * a2 * (1 - a2)
    dA1 = np.repeat(dZ2.sum(1, keepdims=True), 3, axis=1) if wrong_dA1 else dZ2 @ P["W2"].T  # forgot the weights
    dZ1 = dA1 * (1 - a1 ** 2)
    return {"dA2": dA2, "dZ2": dZ2, "dW2": a1.T @ dZ2, "db2": dZ2.sum(0), "dA1": dA1, "dZ1": dZ1, "dW1": X.T @ dZ1,
            "db1": dZ1.sum(0)}


def check(given, P, X, Y):
    return check_intermediates(given, params=P, X=X, y=Y, activations=["tanh", "sigmoid"], loss="squared_error", scale=1 / N)


def verdicts(report):
    return {f.param: f.verdict for f in report.findings}


def test_right_tensors_pass_in_backprop_order(net):
    given = learner_pass(*net)
    report = check(dict(reversed(list(given.items()))), *net)  # handed over in any order
    assert [f.param for f in report.findings] == ORDER
    assert report.ok and set(verdicts(report).values()) == {"ok"} and report.notes == []


def test_dlogits_is_the_last_layers_dz_and_the_default_scale_is_the_mean(net):
    P, X, Y = net
    given = learner_pass(P, X, Y)
    report = check_intermediates({"dlogits": given["dZ2"], "dW1": given["dW1"]}, params=P, X=X, y=Y,
                                 activations=["tanh", "sigmoid"])  # scale 1/N by default: the mean over rows
    assert [f.param for f in report.findings] == ["dlogits", "dW1"] and report.ok


def test_transposed_and_kept_dimensions_pass_with_a_note(net):
    given = learner_pass(*net)
    given["dW2"] = given["dW2"].T  # (2, 3) for (3, 2)
    given["db1"] = given["db1"][None, :]
    given["db2"] = given["db2"][:, None]
    report = check(given, *net)
    assert report.ok
    assert "transposed" in report["dW2"].message
    assert "kept dimension" in report["db1"].message and "kept dimension" in report["db2"].message


def test_float32_pass_is_right_to_rounding(net):
    given = learner_pass(*net, dtype=np.float32)
    report = check(given, *net)
    assert report.ok, str(report)
    assert "rounding" in verdicts(report).values()
    assert all(f.details["rel_error"] < 1e-5 for f in report.findings)
    assert "float32" in next(f.message for f in report.findings if f.verdict == "rounding")
    given["dW1"] = given["dW1"] * np.float32(1.001)  # a real error, small but far above float32 rounding
    assert verdicts(check(given, *net))["dW1"] == "factor"


def test_an_equivalent_formula_off_far_above_rounding_but_far_below_a_bug_is_close(net):
    given = learner_pass(*net)
    given["dZ2"] = given["dZ2"] * (1 + 1e-10)  # like an unfused derivative that cancels in float64
    report = check(given, *net)
    assert report["dZ2"].verdict == "close" and report.ok
    given["dZ2"] = given["dZ2"] * (1 + 1e-6)
    assert check(given, *net)["dZ2"].verdict == "factor"


def test_error_planted_in_dA1_is_the_first_wrong_tensor(net):
    report = check(learner_pass(*net, wrong_dA1=True), *net)
    v = verdicts(report)
    assert [v[k] for k in ORDER[:4]] == ["ok"] * 4
    assert v["dA1"] == "wrong" and report.failed()[0].param == "dA1"
    assert [v[k] for k in ("dZ1", "dW1", "db1")] == ["inherited"] * 3
    first = report.notes[0]
    assert first.startswith("the first wrong tensor is dA1")
    assert "(dA2, dZ2, dW2, db2) is right" in first and "the line that computes dA1 from dZ2 and W2" in first
    assert any("wrong only because dA1 is" in n for n in report.notes)


def test_sign_flip_and_factor_are_named(net):
    given = learner_pass(*net)
    given["dW1"] = -given["dW1"]
    given["db2"] = N * given["db2"]  # summed where the cost averages
    report = check(given, *net)
    assert report["dW1"].verdict == "sign" and report["dW1"].details["factor"] == -1
    assert report["db2"].verdict == "factor" and report["db2"].details["factor"] == pytest.approx(N)
    assert f"summed over the {N} samples" in report["db2"].message
    assert report.failed()[0].param == "db2" and any("wrong on their own too" in n and "dW1" in n for n in report.notes)


def test_square_tensor_given_transposed_is_wrong(net):
    given = learner_pass(*net)
    given["dW1"] = given["dW1"].T  # W1 is 3 x 3: the shape fits, the numbers do not
    assert verdicts(check(given, *net))["dW1"] == "transposed"


def test_a_tensor_of_another_shape_and_an_unknown_name(net):
    given = learner_pass(*net)
    given["dZ1"] = given["dZ1"][:, :2]
    assert verdicts(check(given, *net))["dZ1"] == "shape"
    with pytest.raises(ConfigError, match="dlogits"):
        check({"dz9": given["dA1"]}, *net)
    with pytest.raises(ConfigError, match="theta"):
        check_intermediates(given, stack=object())  # type: ignore[arg-type]


def test_column_layout_with_an_inferred_stack(net):
    P, X, Y = net
    Pc = {"W1": P["W1"].T, "b1": P["b1"][:, None], "W2": P["W2"].T, "b2": P["b2"][:, None]}
    Xc, Yc = X.T, Y.T

    def cost(t):
        a2 = 1 / (1 + np.exp(-(t["W2"] @ np.tanh(t["W1"] @ Xc + t["b1"]) + t["b2"])))
        return float(np.sum((a2 - Yc) ** 2) / N)

    stack = infer_stack(Pc, {"X": Xc, "Y": Yc}, cost)
    a1 = np.tanh(Pc["W1"] @ Xc + Pc["b1"])
    a2 = 1 / (1 + np.exp(-(Pc["W2"] @ a1 + Pc["b2"])))
    dZ2 = 2 * (a2 - Yc) / N * a2 * (1 - a2)
    dZ1 = Pc["W2"].T @ dZ2 * (1 - a1 ** 2)
    given = {"dZ2": dZ2, "dW2": dZ2 @ a1.T, "db2": dZ2.sum(1, keepdims=True), "dA1": Pc["W2"].T @ dZ2, "dZ1": dZ1,
             "dW1": dZ1 @ Xc.T, "db1": dZ1.sum(1, keepdims=True), "A1": a1, "Z2": Pc["W2"] @ a1 + Pc["b2"]}
    report = check_intermediates(given, stack, Pc)
    assert report.ok and set(verdicts(report).values()) == {"ok"}
    assert [f.param for f in report.findings][:2] == ["A1", "Z2"]  # forward tensors first
    given["dA1"] = Pc["W2"].T @ dZ2 * 2
    report = check_intermediates(given, stack, Pc)
    assert verdicts(report)["dA1"] == "factor" and verdicts(report)["dZ1"] == "ok"


def test_doctor_exposes_check_intermediates():
    assert glassnet.doctor.check_intermediates is check_intermediates
    assert "check_intermediates" in glassnet.doctor.__all__
