"""``glassnet explain``, ``glassnet draw`` and the explained step at the end of ``glassnet demo``."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

import glassnet as gn
from glassnet.explain.schema import load_schema


@pytest.fixture
def model(tmp_path):
    net = gn.Network.from_sizes([2, 3, 1], seed=4)
    path = tmp_path / "xor.npz"
    net.save(path)
    return path, net


def test_explain_fresh_network_as_text(cli):
    code, out, err = cli("explain", "--layers", "2,3,1", "--seed", "0", "--data", "xor", "--sample", "2")
    assert code == 0, err
    net = gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0)  # the loss chosen to fit two classes on one output
    X, y = gn.datasets.xor()
    expected = gn.explain(net, X[2:3], y[2:3], "sgd", lr=0.1)  # the CLI default is fit's learning rate
    assert out == expected.to_text().replace("rows [0]", "rows [2]")
    assert "a^(0)_1 = x_1 = 1" in out and "y_1 = 1" in out  # row 2 of XOR is (1, 0) -> 1


@pytest.mark.parametrize("fmt", ["text", "md", "tex", "json"])
def test_explain_model_file_to_each_format(cli, model, tmp_path, fmt):
    path, net = model
    out_file = tmp_path / f"step.{ {'text': 'txt'}.get(fmt, fmt) }"
    code, out, err = cli("explain", str(path), "--data", "xor", "--sample", "all", "--format", fmt, "--lr", "0.25",
                         "--out", str(out_file))
    assert code == 0, err
    assert str(out_file) in out
    text = out_file.read_text()
    X, y = gn.datasets.xor()
    trace = gn.explain(net, X, y, "sgd", lr=0.25)
    if fmt == "json":
        data = json.loads(text)
        jsonschema.validate(data, load_schema())
        assert data["samples"] == 4 and data["optimizer"]["lr"] == 0.25
        for key, g in trace.gradients.items():
            assert np.array_equal(np.array(data["gradients"][key]), g)
    else:
        formula = trace.find("dL/dw^(1)_{1,1}")
        shown = {"tex": formula.latex, "text": formula.formula}.get(fmt)
        if fmt == "md":  # the value has a column of its own
            shown = f"{formula.formula.rsplit(' = ', 1)[0]}` | {formula.shown_value} |"
        assert shown in text
        if fmt == "tex":
            assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")


def test_explain_compact_mode_and_no_optimizer(cli, model):
    path, _ = model
    code, out, err = cli("explain", str(path), "--data", "xor", "--neurons", "1:1", "--optimizer", "none")
    assert code == 0, err
    assert "z^(1)_2 = " in out and "z^(1)_1 = " not in out and "more z of layer 1 not shown" in out
    assert "Update" not in out


@pytest.mark.parametrize("argv, message", [
    (["--data", "xor"], "exactly one of"),
    (["--layers", "2,3,1", "--data", "xor", "--sample", "4"], "rows 0..3"),
    (["--layers", "2,3,1", "--data", "xor", "--sample", "first"], "row number or 'all'"),
    (["--layers", "2,3,1"], "needs data"),
    (["--layers", "3,1", "--data", "xor"], "feature column"),
    (["--layers", "2,3,1", "--data", "xor", "--neurons", "1-0"], "--neurons"),
    (["--layers", "2,3,1", "--data", "xor", "--neurons", "1:7"], "neurons 0..2"),
    (["--layers", "2,3,1", "--data", "xor", "--optimizer", "adamax"], "optimizer"),
])
def test_explain_errors_are_one_line(cli, argv, message):
    code, out, err = cli("explain", *argv)
    assert code == 2
    assert err.startswith("glassnet: error:") and message in err and "Traceback" not in err


def test_draw(cli, model, tmp_path):
    path, _ = model
    code, out, err = cli("draw", str(path), "-o", str(tmp_path / "net.png"))
    assert code == 0, err
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"
    code, out, err = cli("draw", "--layers", "2,3,1", "--data", "xor", "--sample", "3", "-o", str(tmp_path / "n.svg"))
    assert code == 0, err
    svg = (tmp_path / "n.svg").read_text()
    assert "<svg" in svg
    code, out, err = cli("draw", "--layers", "2,3,1", "--sample", "3", "-o", str(tmp_path / "x.png"))
    assert code == 2 and "--data" in err
    code, out, err = cli("draw", "--layers", "2,3,1", "-o", str(tmp_path / "x.gif"))
    assert code == 2 and ".png" in err and not (tmp_path / "x.gif").exists()


def test_demo_ends_with_an_explained_step(cli):
    code, out, err = cli("demo", "--epochs", "200")
    assert code == 0, err
    tail = out.split("One more gradient step")[1]
    assert "delta^(1)_3 = (w^(2)_{3,1}*delta^(2)_1) * sigmoid'(z^(1)_3)" in tail
    assert "b^(2)_1 <- b^(2)_1 - lr*dL/db^(2)_1 = " in tail


def test_worksheet_from_the_command_line(cli, tmp_path):
    code, out, err = cli("explain", "--layers", "2,2,1", "--data", "xor", "--sample", "3", "--worksheet")
    assert code == 0, err
    assert "# Worksheet" in out and "## Answer key" in out and out.count("________") > 10
    code, out, err = cli("explain", "--layers", "2,2,1", "--data", "xor", "--worksheet", "--out", str(tmp_path / "s.tex"))
    assert code == 0, err
    assert (tmp_path / "s.tex").read_text().startswith(r"\documentclass")
    code, out, err = cli("explain", "--layers", "2,2,1", "--data", "xor", "--worksheet", "--format", "text")
    assert code == 2 and "md, tex or json" in err


def test_explain_and_gradcheck_standardise_like_training(cli, tmp_path):
    """A model trained with --standardize sees (x - mean) / std of the training rows; explain must show that step."""
    path = tmp_path / "moons.npz"
    code, _, err = cli("train", "--data", "moons", "--n", "40", "--layers", "2,3,1", "--activation", "tanh", "--loss",
                       "bce", "--epochs", "5", "--standardize", "--out", str(path), "--no-progress")
    assert code == 0, err
    X, y = gn.datasets.moons(n=40)
    row = (X[3] - X.mean(axis=0)) / X.std(axis=0)  # every row was a training row: no --val-split
    assert abs(row).max() > 0.1 and not np.allclose(row, X[3])
    code, out, err = cli("explain", str(path), "--data", "moons", "--n", "40", "--sample", "3", "--format", "json")
    assert code == 0, err
    shown = json.loads(out)
    np.testing.assert_allclose(shown["inputs"], [row], rtol=1e-12)
    expected = gn.explain(gn.load(path), row, y[3], "sgd", lr=0.5)
    assert shown["loss"] == pytest.approx(expected.loss, rel=1e-12)
    code, out, err = cli("gradcheck", str(path), "--data", "moons", "--n", "40")
    assert code == 0, err


def test_explain_a_batchnorm_model_one_row_needs_eval_or_all_rows(cli, tmp_path):
    # One row has no batch variance: training mode cannot explain it, and the error says what to type instead.
    X, y = gn.datasets.xor()
    net = gn.Network([gn.Dense(2, 3, "tanh"), gn.BatchNorm1d(), gn.Dropout(0.5), gn.Dense(3, 1, "sigmoid")],
                     loss="bce", seed=0)
    net.fit(X, y, epochs=3, lr=0.1, monitor=False)
    path = tmp_path / "bn.npz"
    net.save(path)
    code, out, err = cli("explain", str(path), "--data", "xor")
    assert code == 2 and "--sample all" in err and "--eval" in err and "Traceback" not in err
    code, out, err = cli("explain", str(path), "--data", "xor", "--eval", "--format", "json")
    assert code == 0, err
    trace = json.loads(out)
    assert trace["training"] is False
    # evaluation mode: BatchNorm's x_hat of row 0 uses the running statistics the file keeps
    bn = gn.load(path).layers[1]
    Z0 = X[:1] @ net.layers[0].params["W"] + net.layers[0].params["b"]
    expected = (np.tanh(Z0) - bn.buffers["running_mean"]) / np.sqrt(bn.buffers["running_var"] + bn.eps)
    loss = float(np.mean(-np.log(1 - net.predict_proba(X[:1])[:, 1])))  # target of row 0 is 0
    assert np.isclose(trace["loss"], loss, rtol=1e-12), (trace["loss"], loss)
    shown = sorted((r for r in trace["records"] if r["kind"] == "x_hat"), key=lambda r: r["neuron"])
    np.testing.assert_allclose([r["value"] for r in shown], expected[0], rtol=1e-12)
    code, out, err = cli("explain", str(path), "--data", "xor", "--sample", "all", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["training"] is True
