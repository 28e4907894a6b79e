"""explain with BatchNorm1d and Dropout: every number of the ledger against torch autograd in float64 (or worked
out by hand), the masks, the two modes, frozen parameters, the JSON schema and a BatchNorm worksheet."""

from __future__ import annotations

import json
import subprocess

import jsonschema
import numpy as np
import pytest
import torch
from explain_helpers import numbers

import glassnet as gn
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.explain.schema import load_schema

torch.set_default_dtype(torch.float64)
RTOL = 1e-10
GAMMA, BETA = np.array([1.5, 0.7, -0.4]), np.array([0.2, -0.1, 0.3])
RUN_MEAN, RUN_VAR = np.array([0.1, -0.2, 0.05]), np.array([0.8, 1.3, 0.6])


def bn_net(dropout: float | None = None) -> gn.Network:
    layers = [gn.Dense(2, 3, "tanh"), BatchNorm1d(eps=1e-3, momentum=0.2)]
    if dropout is not None:
        layers.append(Dropout(dropout))
    net = gn.Network(layers + [gn.Dense(3, 1, "sigmoid")], loss="bce", seed=0)
    net.set_parameters({"0.b": [0.1, -0.3, 0.2], "1.gamma": GAMMA, "1.beta": BETA})
    net.set_buffers({"1.running_mean": RUN_MEAN, "1.running_var": RUN_VAR})
    return net


X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.2, 0.1]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def torch_step(net: gn.Network, training: bool, mask: np.ndarray | None = None, p: float = 0.0) -> dict:
    """The same step in torch: nn.BatchNorm1d (and the given dropout mask), autograd for every gradient."""
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in net.parameters().items()}
    bn = torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.2)
    with torch.no_grad():
        bn.weight.copy_(params["1.gamma"])
        bn.bias.copy_(params["1.beta"])
        bn.running_mean.copy_(torch.tensor(RUN_MEAN))
        bn.running_var.copy_(torch.tensor(RUN_VAR))
    bn.train(training)
    h = torch.tanh(torch.tensor(X) @ params["0.W"] + params["0.b"])
    h.retain_grad()
    # The textbook graph beside torch's module, for the intermediates torch's module does not show (xhat).
    if training:
        mean, var = h.mean(0), h.var(0, unbiased=False)
    else:
        mean, var = torch.tensor(RUN_MEAN), torch.tensor(RUN_VAR)
    xhat = (h - mean) / torch.sqrt(var + 1e-3)
    xhat.retain_grad()
    a = bn(h)
    manual = params["1.gamma"] * xhat + params["1.beta"]
    np.testing.assert_allclose(manual.detach().numpy(), a.detach().numpy(), rtol=1e-12)  # the two agree
    a_used = manual  # autograd through the textbook graph; torch's module gives the same gradients (checked below)
    a_used.retain_grad()
    last = 2
    d = a_used
    if mask is not None:
        d = a_used * torch.tensor(mask, dtype=torch.float64) / (1 - p)
        d.retain_grad()
        last = 3
    z = d @ params[f"{last}.W"] + params[f"{last}.b"]
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], torch.tensor(Y))
    loss.backward()
    # torch's own BatchNorm backward (nn.BatchNorm1d) for dL/dh, dgamma, dbeta: the same as the textbook graph's
    h2 = h.detach().clone().requires_grad_(True)
    bn2 = torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.2)
    with torch.no_grad():
        bn2.weight.copy_(params["1.gamma"])
        bn2.bias.copy_(params["1.beta"])
        bn2.running_mean.copy_(torch.tensor(RUN_MEAN))
        bn2.running_var.copy_(torch.tensor(RUN_VAR))
    bn2.train(training)
    bn2(h2).backward(a_used.grad)
    np.testing.assert_allclose(h2.grad.numpy(), h.grad.numpy(), rtol=1e-10, atol=1e-15)
    return {"loss": loss.item(), "h": h, "xhat": xhat, "a": a_used, "d": d, "mean": mean.detach().numpy(),
            "var": var.detach().numpy(), "bn": bn, "bn_weight_grad": bn2.weight.grad.numpy(),
            "bn_bias_grad": bn2.bias.grad.numpy(), "grads": {k: p.grad.numpy() for k, p in params.items()}}


def close(record, expected):
    expected = float(expected.detach()) if isinstance(expected, torch.Tensor) else float(expected)
    assert record.value == pytest.approx(expected, rel=RTOL, abs=1e-14), record.formula


def test_a_batchnorm_step_matches_torch_number_by_number():
    net = bn_net()
    t = gn.explain(net, X, Y, "sgd", lr=0.5)
    ref = torch_step(net, training=True)
    assert t.layer_major and t.training
    assert t.loss == pytest.approx(ref["loss"], rel=RTOL)
    bn = ref["bn"]
    for j in range(3):
        close(t.find(f"mu^(2)_{j + 1}", kind="batch_mean"), ref["mean"][j])
        close(t.find(f"var^(2)_{j + 1}", kind="batch_var"), ref["var"][j])
        close(t.find(f"runmean^(2)_{j + 1}", kind="running"), bn.running_mean[j])
        close(t.find(f"runvar^(2)_{j + 1}", kind="running"), bn.running_var[j])
        for n in range(4):
            close(t.find(f"xhat^(2)_{j + 1}", n, "x_hat"), ref["xhat"][n, j])
            close(t.find(f"a^(2)_{j + 1}", n, "a"), ref["a"][n, j])
            close(t.find(f"dL/da^(2)_{j + 1}", n, "dA"), ref["a"].grad[n, j])
            close(t.find(f"dL/dxhat^(2)_{j + 1}", n, "dx_hat"), ref["xhat"].grad[n, j])
            dx = t.find(f"dL/da^(1)_{j + 1}", n, "dA")  # what BatchNorm hands down: dx with its three terms
            close(dx, ref["h"].grad[n, j])
        S = t.find(f"sum_n dL/dxhat^(2)_{j + 1}[n]", kind="batch_sum")
        T = t.find(f"sum_n dL/dxhat^(2)_{j + 1}[n]*xhat^(2)_{j + 1}[n]", kind="batch_sum")
        close(S, ref["xhat"].grad[:, j].sum())
        close(T, (ref["xhat"].grad[:, j] * ref["xhat"][:, j]).sum())
        close(t.find(f"dL/dgamma^(2)_{j + 1}", kind="grad"), ref["bn_weight_grad"][j])
        close(t.find(f"dL/dbeta^(2)_{j + 1}", kind="grad"), ref["bn_bias_grad"][j])
        close(t.find(f"gamma^(2)_{j + 1}", kind="update"), GAMMA[j] - 0.5 * ref["bn_weight_grad"][j])
    for key, g in ref["grads"].items():
        np.testing.assert_allclose(t.gradients[key], g, rtol=RTOL, atol=1e-14, err_msg=key)


def test_dx_is_written_with_its_three_terms():
    net = bn_net()
    t = gn.explain(net, X, Y, "sgd", lr=0.5, digits=12)
    ref = torch_step(net, training=True)
    N, g, xhat = 4, ref["xhat"].grad.numpy(), ref["xhat"].detach().numpy()
    n, j = 2, 1
    dx = t.find(f"dL/da^(1)_{j + 1}", n, "dA")
    assert dx.expression == ("(N*dL/dxhat^(2)_2 - sum_n dL/dxhat^(2)_2[n] - xhat^(2)_2*sum_n dL/dxhat^(2)_2[n]*xhat^(2)_2[n]) "
                             "/ (N*sqrt(var^(2)_2 + eps))")
    first, second, third, scale = numbers(dx.steps[0])  # (N*dxhat - S - xhat*T) / (N*sqrt(var + eps))
    assert first == pytest.approx(N * g[n, j], rel=1e-10)
    assert second == pytest.approx(g[:, j].sum(), rel=1e-10)
    assert third == pytest.approx(xhat[n, j] * (g[:, j] * xhat[:, j]).sum(), rel=1e-10)
    assert scale == pytest.approx(N * np.sqrt(ref["var"][j] + 1e-3), rel=1e-10)


def test_batchnorm_forward_by_hand_on_two_samples():
    """Two samples, one feature: mean 2, variance 1, xhat = -1 and +1 (eps tiny), a = gamma * xhat + beta."""
    net = gn.Network([gn.Dense(1, 1, "identity", init=([[1.0]], [0.0])), BatchNorm1d(eps=1e-12),
                      gn.Dense(1, 1, "identity", init=([[1.0]], [0.0]))], loss="mse", seed=0)
    net.set_parameters({"1.gamma": [3.0], "1.beta": [0.5]})
    t = gn.explain(net, [[1.0], [3.0]], [[0.0], [0.0]])
    assert t.find("mu^(2)_1").value == 2.0 and t.find("var^(2)_1").value == 1.0
    assert t.find("xhat^(2)_1", 0).value == pytest.approx(-1.0) and t.find("xhat^(2)_1", 1).value == pytest.approx(1.0)
    assert t.find("a^(2)_1", 0).value == pytest.approx(-2.5) and t.find("a^(2)_1", 1).value == pytest.approx(3.5)
    # running statistics: 0.9 * 0 + 0.1 * 2 and 0.9 * 1 + 0.1 * (1 * 2 / 1)
    assert t.find("runmean^(2)_1").value == pytest.approx(0.2) and t.find("runvar^(2)_1").value == pytest.approx(1.1)
    assert t.find("runvar^(2)_1").numbers == "(1 - 0.1)*1 + 0.1*1*2/1"


def test_evaluation_mode_uses_the_running_statistics():
    net = bn_net()
    t = gn.explain(net, X, Y, "sgd", lr=0.5, training=False)
    ref = torch_step(net, training=False)
    assert not t.training and not t.layer_major and not t.where(kind="batch_mean")
    x = t.find("xhat^(2)_1", 0)
    assert x.expression == "(a^(1)_1 - runmean^(2)_1) / sqrt(runvar^(2)_1 + eps)"
    for j in range(3):
        for n in range(4):
            close(t.find(f"xhat^(2)_{j + 1}", n), ref["xhat"][n, j])
            close(t.find(f"dL/da^(1)_{j + 1}", n, "dA"), ref["h"].grad[n, j])
        close(t.find(f"dL/dgamma^(2)_{j + 1}", kind="grad"), ref["bn_weight_grad"][j])
    assert "mode: evaluation" in t.to_text()
    assert [layer.training for layer in net.layers] == [True] * 3  # the network's mode is left alone


def test_dropout_shows_its_mask_and_scale_and_matches_torch_with_that_mask():
    p = 0.4
    net = bn_net(dropout=p)
    state = net.rng.bit_generator.state
    expected_mask = np.random.default_rng(0).random((4, 3))  # replaced below by a generator in net.rng's state
    generator = np.random.default_rng()
    generator.bit_generator.state = state
    expected_mask = generator.random((4, 3)) >= p  # the only draw of the step: keep where u >= p
    t = gn.explain(net, X, Y, "sgd", lr=0.5)
    mask = np.array([[t.find(f"m^(3)_{j + 1}", n, "mask").value for j in range(3)] for n in range(4)])
    assert np.array_equal(mask, expected_mask.astype(float))
    assert net.rng.bit_generator.state == state  # apply=False: no mask was drawn from the caller's generator
    ref = torch_step(net, training=True, mask=mask, p=p)
    for n in range(4):
        dropped = [j + 1 for j in range(3) if not mask[n, j]]
        assert f"units {dropped or 'none'} dropped" in t.find("m^(3)_1", n, "mask").note
        assert f"1/(1 - p) = {1 / (1 - p):g}" in t.find("m^(3)_1", n, "mask").note
        for j in range(3):
            a = t.find(f"a^(3)_{j + 1}", n, "a")
            close(a, ref["d"][n, j])
            assert a.expression == f"a^(2)_{j + 1} * m^(3)_{j + 1} / (1 - p)"
            back = t.find(f"dL/da^(2)_{j + 1}", n, "dA")  # backward: the same mask, the same scale
            close(back, ref["a"].grad[n, j])
            assert back.expression == f"dL/da^(3)_{j + 1} * m^(3)_{j + 1} / (1 - p)"
            assert f" * {int(mask[n, j])} / 0.6" in back.numbers
    for key, g in ref["grads"].items():
        np.testing.assert_allclose(t.gradients[key], g, rtol=RTOL, atol=1e-14, err_msg=key)


def test_apply_false_leaves_buffers_and_rng_alone_apply_true_is_net_step():
    net, twin = bn_net(dropout=0.3), bn_net(dropout=0.3)
    gn.explain(net, X, Y, "sgd", lr=0.5)
    assert np.array_equal(net.layers[1].buffers["running_mean"], RUN_MEAN)
    t = gn.explain(net, X, Y, "sgd", lr=0.5, apply=True)
    twin.step(X, Y, optimizer="sgd", lr=0.5)
    for key, value in twin.parameters().items():
        np.testing.assert_allclose(net.parameters()[key], value, rtol=1e-13, err_msg=key)
    for key, value in twin.buffers().items():
        np.testing.assert_allclose(net.buffers()[key], value, rtol=1e-13, err_msg=key)
        np.testing.assert_allclose(t.buffers_after[key], value, rtol=1e-13, err_msg=key)
    assert net.rng.bit_generator.state == twin.rng.bit_generator.state


def test_frozen_parameters_are_marked_in_the_update():
    net = bn_net().freeze("0.b", 1)  # a bias and BatchNorm's gamma and beta
    t = gn.explain(net, X, Y, "sgd", lr=0.5)
    frozen = t.where(kind="frozen")
    assert {r.key for r in frozen} == {"0.b", "1.gamma", "1.beta"} and len(frozen) == 9
    assert "0.b is frozen" in frozen[0].note and frozen[0].value == 0.1
    assert not [r for r in t.where(phase="update", kind="update") if r.key in ("0.b", "1.gamma", "1.beta")]
    ref = torch_step(net, training=True)
    w = t.find("w^(1)_{1,1}", kind="update")
    close(w, net.parameters()["0.W"][0, 0] - 0.5 * ref["grads"]["0.W"][0, 0])
    assert "frozen (not updated): 0.b, 1.gamma, 1.beta" in t.to_text()


def test_the_trace_validates_against_the_schema():
    for training in (True, False):
        t = gn.explain(bn_net(dropout=0.3).freeze("0.b"), X, Y, "adam", lr=0.01, training=training)
        data = json.loads(t.to_json())
        jsonschema.validate(data, load_schema())
        assert data["training"] is training and data["frozen"] == ["0.b"]
        assert data["buffers_before"]["1.running_mean"] == RUN_MEAN.tolist()
        assert data["network"]["layers"][2]["settings"] == {"p": 0.3}


def test_a_batchnorm_step_makes_a_worksheet_with_an_answer_key(tmp_path):
    sheet = gn.worksheet(bn_net(dropout=0.5), X[:3], Y[:3], "sgd", lr=0.5)
    md = sheet.to_markdown()
    assert "- BatchNorm1d of layer 2: eps=0.001, momentum=0.2" in md and "- Dropout of layer 3: p=0.5" in md
    assert "- `runvar^(2)_1 = 0.8`" in md and "- `m^(3)_1 = " in md  # running statistics and masks are given
    assert "`mu^(2)_1 = sum_n a^(1)_1[n] / N = ________`" in md
    questions = [r.kind for r in sheet.questions]
    assert "mask" not in questions and {"batch_mean", "x_hat", "dx_hat", "batch_sum", "running"} <= set(questions)
    key = md[md.index("## Answer key"):]
    ref = sheet.trace.find("dL/da^(1)_1", 0, "dA")
    assert f"{ref.formula}" in key
    (tmp_path / "sheet.tex").write_text(sheet.to_latex())
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "sheet.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_diagram_and_the_report_show_batchnorm_and_dropout_by_name(tmp_path):
    from glassnet.explain import plot_network
    from glassnet.viz.report import report_data, write_report

    data = gn.datasets.moons(n=40, seed=0)
    net = gn.Network([gn.Dense(2, 4, "tanh"), BatchNorm1d(), Dropout(0.5), gn.Dense(4, 1, "sigmoid")], loss="bce",
                     seed=0)
    net.fit(data.X, data.y, epochs=5, optimizer="adam", lr=0.05, batch_size=10)
    fig = plot_network(net, gn.explain(net, data.X[:4], data.y[:4]), path=tmp_path / "net.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "layer 2: BatchNorm1d" in texts and "layer 3: Dropout" in texts
    assert any(t.startswith("BatchNorm1d(4)\n") for t in texts) and any(t.startswith("Dropout(p=0.5, 4)") for t in texts)
    assert any("dropped" in t for t in texts) and any("xhat=" in t for t in texts)
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"
    page = report_data(net, data.X, data.y)[0]
    assert [layer["type"] for layer in page["meta"]["layers"]] == ["Dense", "BatchNorm1d", "Dropout", "Dense"]
    assert page["gradcheck"]["ok"] and any(row[0] == "1.gamma (eval)" for row in page["gradcheck"]["rows"])
    assert any("evaluation mode" in note for note in page["notes"])  # one-sample ledgers cannot train BatchNorm
    assert write_report(tmp_path / "report.html", net, data.X, data.y) > 10_000
    assert [layer.training for layer in net.layers] == [True] * 4  # the report leaves the network's mode alone
