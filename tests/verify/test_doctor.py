"""The doctor: every diagnosis triggered by a purpose-built example, and every kind of bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.verify.doctor import check_gradients, check_step


def _right(model):
    return model.grads(model.params)


def _verdicts(report):
    return {f.param: f.verdict for f in report.findings}


def test_correct_gradients_pass_and_params_are_untouched(model):
    before = {k: v.copy() for k, v in model.params.items()}
    report = check_gradients(model.loss, model.params, model.grads)
    assert report.ok and _verdicts(report) == {"W1": "ok", "b1": "ok", "W2": "ok", "b2": "ok"}
    assert all(np.array_equal(before[k], model.params[k]) for k in before)
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True
    assert "W1" in str(report) and "<table>" in report._repr_html_()


def test_zero_gradient_is_never_accumulated(model):
    g = _right(model)
    g["b1"] = np.zeros(3)
    report = check_gradients(model.loss, model.params, g)
    assert _verdicts(report) == {"W1": "ok", "b1": "zero", "W2": "ok", "b2": "ok"}
    assert "never accumulated" in report["b1"].message and not report.ok


def test_sign_flip_of_one_parameter(model):
    g = _right(model)
    g["W2"] = -g["W2"]
    report = check_gradients(model.loss, model.params, g)
    assert report["W2"].verdict == "sign" and report["W2"].details["factor"] == pytest.approx(-1)
    assert [f.param for f in report.failed()] == ["W2"]


def test_one_parameter_off_by_a_factor_reports_the_factor(model):
    g = _right(model)
    g["b2"] = 5 * g["b2"]  # summed over the 5 rows where the others average
    report = check_gradients(model.loss, model.params, g, n_samples=5)
    assert report["b2"].verdict == "scaled" and not report["b2"].ok
    assert report["b2"].details["factor"] == pytest.approx(5)
    assert "sum over the 5 samples" in report["b2"].message
    assert [f.param for f in report.failed()] == ["b2"]


@pytest.mark.parametrize("factor, words", [(5.0, "sum instead of mean"), (2.0, "missing 1/2"),
                                           (0.5, "1/2 the loss does not have"), (2.5, "factor N/2"),
                                           (0.2, "mean over the 5 samples")])
def test_factor_shared_by_all_parameters_is_a_differently_scaled_loss(model, factor, words):
    g = {k: factor * v for k, v in _right(model).items()}
    report = check_gradients(model.loss, model.params, g, n_samples=5)
    assert report.ok, "a shared loss scale does not make the parameters wrong"
    assert set(_verdicts(report).values()) == {"scaled"}
    assert all(f.details["factor"] == pytest.approx(factor) for f in report.findings)
    note = report.notes[-1]
    assert words in note and f"acts like {factor:.4g} * lr" in note


def test_other_parameters_are_judged_relative_to_the_shared_factor(model):
    g = {k: 4 * v for k, v in _right(model).items()}
    g["b1"] = -g["b1"]  # -4 x: minus the shared factor is a sign flip
    report = check_gradients(model.loss, model.params, g)
    assert _verdicts(report) == {"W1": "scaled", "b1": "sign", "W2": "scaled", "b2": "scaled"}
    assert [f.param for f in report.failed()] == ["b1"]


def test_all_signs_flipped_is_a_shared_negative_factor_that_fails(model):
    g = {k: -v for k, v in _right(model).items()}
    report = check_gradients(model.loss, model.params, g)
    assert not report.ok and "(target - output)" in report.notes[-1]


def test_transposed_square_and_rectangular(model):
    g = _right(model)
    g["W1"] = g["W1"].T.copy()  # (3, 3): same shape
    g["W2"] = g["W2"].T.copy()  # (2, 3) for a (3, 2) parameter
    report = check_gradients(model.loss, model.params, g)
    assert report["W1"].verdict == "transposed" and report["W2"].verdict == "transposed"
    assert "shape (2, 3)" in report["W2"].message and report["b1"].verdict == "ok"


def test_partial_one_column_is_one_neuron(model):
    g = _right(model)
    g["W1"][:, 2] = 0.0
    report = check_gradients(model.loss, model.params, g)
    f = report["W1"]
    assert f.verdict == "partial" and "column 2" in f.message and "unit 2" in f.message and "zero" in f.message
    assert f.details["entries"] == [[0, 2], [1, 2], [2, 2]]


def test_partial_one_row_and_scattered_entries(model):
    g = _right(model)
    g["W2"][1, :] *= 3.0
    g["W1"][0, 1] *= -1
    g["W1"][2, 0] *= -1
    report = check_gradients(model.loss, model.params, g)
    assert report["W2"].verdict == "partial" and "row 1" in report["W2"].message and "3 x" in report["W2"].message
    assert report["W1"].verdict == "partial" and "(0, 1), (2, 0)" in report["W1"].message
    assert "sign is flipped" in report["W1"].message


def test_partial_bias_entry(model):
    g = _right(model)
    g["b1"][1] += 1.0
    report = check_gradients(model.loss, model.params, g)
    assert report["b1"].verdict == "partial" and report["b1"].details["entries"] == [[1]]


def test_shape_mismatch(model):
    g = _right(model)
    g["b2"] = g["b2"].reshape(1, 2)
    g["b1"] = np.zeros(4)
    report = check_gradients(model.loss, model.params, g)
    assert report["b2"].verdict == "shape" and "reshape it to (2,)" in report["b2"].message
    assert report["b1"].verdict == "shape" and "(4,)" in report["b1"].message and "(3,)" in report["b1"].message


def test_gradient_code_that_updates_a_parameter_is_caught(model):
    def grads(p):
        g = model.grads(p)
        p["b2"] += 0.1 * g["b2"]     # in place
        p["b1"] = p["b1"] - g["b1"]  # rebinding the dict entry
        return g

    before = {k: v.copy() for k, v in model.params.items()}
    report = check_gradients(model.loss, model.params, grads)
    assert _verdicts(report) == {"W1": "ok", "b1": "mutated", "W2": "ok", "b2": "mutated"}
    assert "your gradient code updated `b2` while computing gradients" in report["b2"].message
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


def test_gradient_accumulators_not_reset_between_calls(model):
    acc = {k: np.zeros_like(v) for k, v in model.params.items()}

    def grads(p):  # accumulators live outside and are never zeroed
        for k, v in model.grads(p).items():
            acc[k] += v
        return {k: v.copy() for k, v in acc.items()}

    report = check_gradients(model.loss, model.params, grads)
    assert set(_verdicts(report).values()) == {"stale"}
    assert "2 x the first" in report["W1"].message and "not reset" in report["W1"].message


def test_symmetric_zero_initialisation(model):
    params = dict(model.params, W1=np.zeros((3, 3)), b1=np.zeros(3), W2=np.zeros((3, 2)))
    report = check_gradients(model.loss, params, model.grads)
    assert report["W1"].verdict == "symmetric" and "symmetry is never broken" in report["W1"].message
    assert [f.param for f in report.failed()] == ["W1", "W2"] or [f.param for f in report.failed()] == ["W1"]


def test_wrong_activation_derivative_is_named(model):
    def grads(p):  # tanh'(z) written as 1 - z**2 at the pre-activation z = tanh^-1 ... here: 1 - tanh(h)**2 (applied twice)
        H = np.tanh(model.X @ p["W1"] + p["b1"])
        O = H @ p["W2"] + p["b2"]
        dO = 2 * (O - model.Y) / O.size
        dZ = (dO @ p["W2"].T) * (1 - np.tanh(H) ** 2)
        return {"W1": model.X.T @ dZ, "b1": dZ.sum(0), "W2": H.T @ dO, "b2": dO.sum(0)}

    report = check_gradients(model.loss, model.params, grads)
    assert _verdicts(report) == {"W1": "wrong", "b1": "wrong", "W2": "ok", "b2": "ok"}
    assert "activation derivative" in report["W1"].message


def test_list_and_single_array_params():
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([1.0, 0.0])
    loss = lambda w: float(np.sum((X @ w - y) ** 2))  # dL/dw = 2 X.T (Xw - y)
    w = np.array([0.5, -0.25])
    assert check_gradients(loss, w, lambda w: 2 * X.T @ (X @ w - y)).ok
    loss2 = lambda ps: float(np.sum((X @ ps[0] + ps[1] - y) ** 2))
    report = check_gradients(loss2, [w, np.array(0.3)], [2 * X.T @ (X @ w + 0.3 - y), np.array(0.0)])
    assert _verdicts(report) == {"params[0]": "ok", "params[1]": "zero"}


# ----------------------------------------------------------------------------------------------- check_step
def _sgd(model, lr, tweak=None):
    def step(p):
        g = model.grads(p)
        for k in p:
            p[k] -= lr * g[k]
        if tweak:
            tweak(p, g)
    return step


def test_step_correct(model):
    report = check_step(_sgd(model, 0.1), model.params, model.loss, lr=0.1)
    assert report.ok and all(f.details["rate"] == pytest.approx(0.1, rel=1e-6) for f in report.findings)


def test_step_bias_added_with_learning_rate_one_is_uphill(model):
    def tweak(p, g):
        p["b2"] += 0.1 * g["b2"] + g["b2"]  # undo the subtraction, then add the gradient with lr 1
    report = check_step(_sgd(model, 0.5, tweak), model.params, model.loss, lr=0.5)
    f = report["b2"]
    assert f.verdict == "uphill" and f.details["rate"] == pytest.approx(-1.0 + 0.5 - 0.1, rel=1e-6)
    report = check_step(_sgd(model, 0.5, lambda p, g: p.__setitem__("b2", p["b2"] + 1.5 * g["b2"])),
                        model.params, model.loss, lr=0.5)
    f = report["b2"]
    assert f.verdict == "uphill" and f.details["rate"] == pytest.approx(-1.0, rel=1e-6)
    assert "`b2` moved by +1 x gradient" in f.message and "-0.5 x gradient" in f.message
    assert "with learning rate 1" in f.message and "instead of being accumulated and subtracted" in f.message


def test_step_still_and_rate(model):
    def tweak(p, g):
        p["b1"] += 0.1 * g["b1"]   # never applied
        p["W2"] -= 0.3 * g["W2"]   # 4 x the rate of the others
    report = check_step(_sgd(model, 0.1, tweak), model.params, model.loss, lr=0.1)
    assert _verdicts(report) == {"W1": "ok", "b1": "still", "W2": "rate", "b2": "ok"}
    assert report["W2"].details["rate"] == pytest.approx(0.4, rel=1e-6) and "4 x lr = 0.1" in report["W2"].message


def test_step_whose_rate_differs_from_lr_for_all_flags_all_with_a_note(model):
    report = check_step(_sgd(model, 0.2), model.params, model.loss, lr=0.1)
    assert set(_verdicts(report).values()) == {"rate"} and "2 x lr = 0.1" in report.notes[0]
    report = check_step(_sgd(model, 0.2), model.params, model.loss)  # no lr: judged against each other
    assert report.ok


def test_step_not_along_the_gradient(model):
    rng = np.random.default_rng(1)
    def tweak(p, g):
        p["W1"] += 0.1 * rng.normal(size=(3, 3)) * np.abs(g["W1"]).max()
    report = check_step(_sgd(model, 0.1, tweak), model.params, model.loss, lr=0.1)
    assert report["W1"].verdict == "direction"


def test_step_returning_new_params(model):
    step = lambda p: {k: v - 0.1 * model.grads(p)[k] for k, v in p.items()}
    assert check_step(step, model.params, model.loss, lr=0.1).ok


# ----------------------------------------------------------------------------------------------- bad input
def test_loss_that_is_not_one_number(model):
    with pytest.raises(gn.ShapeError, match=r"shape \(5, 2\).*one number"):
        check_gradients(lambda p: (p["W2"][0] - model.Y) ** 2, model.params, model.grads)
    with pytest.raises(gn.DataError, match="returned nan"):
        check_gradients(lambda p: float("nan"), model.params, model.grads)
    with pytest.raises(gn.GlassnetTypeError, match="one number"):
        check_gradients(lambda p: "cost", model.params, model.grads)


def test_raising_loss_shows_the_users_traceback(model):
    def loss(p):
        return p["missing"]

    with pytest.raises(gn.UserCodeError, match="your loss function raised KeyError") as info:
        check_gradients(loss, model.params, model.grads)
    shown = info.value.user_traceback
    # glassnet's own frames are left out: no line of the traceback points into the installed package (the
    # checkout's path may well contain "glassnet", so compare with the package's folder, not the word)
    package = str(Path(gn.__file__).parent)
    assert 'return p["missing"]' in shown and package not in shown and __file__ in shown


def test_integer_params_are_converted_with_a_note():
    loss = lambda p: float(np.sum(p["w"] ** 2))
    report = check_gradients(loss, {"w": np.array([1, 2, 3])}, lambda p: {"w": 2.0 * p["w"]})
    assert report.ok and "int64" in report.notes[0] and "finite differences need floats" in report.notes[0]


def test_missing_and_extra_gradient_names(model):
    g = _right(model)
    g["bias2"] = g.pop("b2")
    with pytest.raises(gn.ConfigError, match=r"no gradient for 'b2'.*unknown parameter\(s\) 'bias2'.*Did you mean 'b2'"):
        check_gradients(model.loss, model.params, g)
    with pytest.raises(gn.ConfigError, match="returned None"):
        check_gradients(model.loss, model.params, lambda p: None)


def test_huge_parameter_count_gives_an_estimate_and_sampling_works():
    W = np.random.default_rng(0).normal(size=(400, 300))
    loss = lambda p: float(np.sum(np.tanh(p["W"]) ** 2) + p["b"] ** 2)
    grads = lambda p: {"W": 2 * np.tanh(p["W"]) * (1 - np.tanh(p["W"]) ** 2), "b": 2 * p["b"]}
    with pytest.raises(gn.ConfigError, match=r"120,001 entries.*about .* s.*sample="):
        check_gradients(loss, {"W": W, "b": np.array(0.5)}, grads, max_seconds=0.5)
    report = check_gradients(loss, {"W": W, "b": np.array(0.5)}, grads, sample=20)
    assert report.ok and "sampled" in report.notes[-1] and [f.param for f in report.findings] == ["W", "b"]


def test_step_that_returns_its_cost_is_read_in_place(model):
    def step(p):
        g = model.grads(p)
        for k in p:
            p[k] -= 0.1 * g[k]
        return model.loss(p)  # learners often return the cost

    assert check_step(step, model.params, model.loss, lr=0.1).ok


def test_gradient_for_a_parameter_the_loss_ignores():
    loss = lambda p: float(np.sum(p["used"] ** 2))
    report = check_gradients(loss, {"used": np.array([1.0]), "unused": np.array([2.0])},
                             {"used": np.array([2.0]), "unused": np.array([0.5])})
    assert report["used"].verdict == "ok" and report["unused"].verdict == "wrong"
    assert "does not change with this parameter" in report["unused"].message


def test_nested_params_are_refused_with_the_fix():
    with pytest.raises(gn.GlassnetTypeError, match="flat dict"):
        check_gradients(lambda p: 0.0, {"layer1": {"W": np.ones(2)}}, {})
