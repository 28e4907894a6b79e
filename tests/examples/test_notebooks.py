"""The tutorial notebooks of ``examples/``, executed with nbclient and checked on the numbers they print and store.

Each notebook's numbers are compared with a computation of this file's own (another form of the same maths, a
PyTorch float64 run, or a value known by hand), never with numbers copied from a notebook's output. The run time
of every notebook is printed at the end of the session (``notebook run times: ...``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from tests.examples.notebooks import SRC, run_notebook

EPOCH_LINE = re.compile(r"^(\d+) (\S+)$", re.MULTILINE)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _seed_one_weights():
    """The learner's starting point (np.random.seed(1), draws in the notebook's order), as matrices:
    W1 (2, 3) with column j the weights into hidden neuron j, b1 (3,), W2 (3,), b2 a number."""
    rs = np.random.RandomState(1)  # the generator np.random.seed(1) seeds, without touching the global one
    w = [rs.uniform(size=2) for _ in range(3)]
    w_out = rs.uniform(size=3)
    b = [rs.uniform() for _ in range(4)]
    return np.column_stack(w), np.array(b[:3]), w_out, b[3]


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_T = np.array([0, 1, 1, 0], dtype=float)


def _by_rows(epochs, bias_in_loop, lr=0.1):
    """The learner's training in matrix form, row by row: the mean squared error before each epoch's update.
    With ``bias_in_loop`` the biases take +1 x each row's gradient inside the row loop (the bug)."""
    W1, b1, W2, b2 = _seed_one_weights()
    costs = []
    for _ in range(epochs):
        gW1, gb1, gW2, gb2, cost = np.zeros((2, 3)), np.zeros(3), np.zeros(3), 0.0, 0.0
        for x, t in zip(XOR_X, XOR_T):
            h = _sigmoid(x @ W1 + b1)
            o = _sigmoid(h @ W2 + b2)
            cost += (o - t) ** 2
            d_o = (o - t) * o * (1 - o)  # d(half the squared error)/dz of the output
            d_h = d_o * W2 * h * (1 - h)
            gW2 += d_o * h
            gW1 += np.outer(x, d_h)
            if bias_in_loop:
                b1, b2 = b1 + d_h, b2 + d_o
            else:
                gb1, gb2 = gb1 + d_h, gb2 + d_o
        W1, b1, W2, b2 = W1 - lr * gW1, b1 - lr * gb1, W2 - lr * gW2, b2 - lr * gb2
        costs.append(cost / 4)
    return np.array(costs)


def _epoch_costs(text):
    pairs = [(int(e), float(c)) for e, c in EPOCH_LINE.findall(text)]
    return [e for e, _ in pairs], np.array([c for _, c in pairs])


# ---------------------------------------------------------------------------------------- 01_by_hand.ipynb
@pytest.fixture(scope="module")
def by_hand(kernel, tmp_path_factory):
    return run_notebook("01_by_hand.ipynb", ["outputs", "gn.__file__", "sys.executable"], kernel,
                        tmp_path_factory.mktemp("nb01"))


def test_notebooks_run_on_this_interpreter_with_this_checkouts_glassnet(by_hand):
    assert by_hand.stored["sys.executable"] == sys.executable
    assert Path(by_hand.stored["gn.__file__"]).is_relative_to(SRC), by_hand.stored["gn.__file__"]


def test_by_hand_bug_gets_the_cost_stuck_near_one_half(by_hand):
    epochs, costs = _epoch_costs(by_hand.printed("buggy-run"))
    assert epochs == list(range(0, 10000, 1000))
    reference = _by_rows(epochs[-1] + 1, bias_in_loop=True)
    np.testing.assert_allclose(costs, reference[epochs], rtol=1e-9)
    assert 0.49 < costs[-1] <= 0.5 and costs[-1] > costs[0]  # worse than a network answering 0.5 (0.25)


def test_by_hand_doctor_names_the_four_bias_lines_without_running_the_loop(by_hand):
    cell = by_hand.tagged("doctor")
    assert not EPOCH_LINE.search(by_hand.printed("doctor"))  # not one of the 10,000 epochs ran
    (page,) = by_hand.shown("doctor", "text/html")
    assert "PROBLEMS FOUND" in page and "changed_in_loop" in page
    lines = cell.source.splitlines()
    found = {}
    for row in by_hand.printed("findings").splitlines():
        name, verdict, rest = row.split(None, 2)
        found[name] = (verdict, int(re.match(r"line (\d+):", rest).group(1)), rest.split(": ", 1)[1])
    for name, gradient in (("bias_11", "error_neural_11"), ("bias_12", "error_neural_12"), ("bias_13", "error_neural_13"),
                           ("bias_output", "error_output")):
        wrong = f"{name} += {gradient}"
        (line,) = [i for i, text in enumerate(lines, 1) if text.strip() == wrong]  # counted in the cell by hand
        assert found.pop(name) == ("changed_in_loop", line, wrong)
    assert sorted(found) == ["weights_11", "weights_12", "weights_13", "weights_output"]
    assert all(verdict == "ok" for verdict, _, _ in found.values()), found


def test_by_hand_fix_learns_xor_and_matches_glassnet(by_hand):
    epochs, costs = _epoch_costs(by_hand.printed("fixed-run"))
    assert epochs == list(range(0, 10000, 1000))
    np.testing.assert_allclose(costs, _by_rows(epochs[-1] + 1, bias_in_loop=False)[epochs], rtol=1e-9)
    # glassnet's mse is the mean over the rows; the learner's updates descend half the sum, twice as steep:
    # lr 0.2 in glassnet takes the learner's lr 0.1 steps. fit's loss is the one before each epoch's update.
    W1, b1, W2, b2 = _seed_one_weights()
    net = gn.Network([gn.Dense(2, 3, "sigmoid", init=(W1, b1)), gn.Dense(3, 1, "sigmoid", init=(W2[:, None], [b2]))],
                     loss="mse")
    history = net.fit(XOR_X, XOR_T[:, None], epochs=10000, optimizer="sgd", lr=0.2, shuffle=False,
                      monitor=False)
    np.testing.assert_allclose(costs, np.array(history.loss)[epochs], rtol=1e-9)
    assert costs[-1] < 0.01
    outputs = np.array(by_hand.stored["outputs"])
    np.testing.assert_allclose(outputs, net.forward(XOR_X)[:, 0], rtol=1e-8)
    assert list((outputs > 0.5).astype(int)) == [0, 1, 1, 0]
    assert "predictions [0 1 1 0] targets [0 1 1 0]" in by_hand.printed("outputs")


# ---------------------------------------------------------------------------------------- 02_glassnet_step_by_step.ipynb
def _fmt(value):
    """A number as the ledger writes it: 6 significant digits."""
    return f"{value:.6g}"


def _torch_step(rows):
    """PyTorch float64 on the seed-1 weights: the mse (mean over ``rows``), its gradients and the outputs."""
    import torch

    W1, b1, W2, b2 = (torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in _seed_one_weights())
    X, T = torch.from_numpy(XOR_X[rows]), torch.from_numpy(XOR_T[rows])
    out = torch.sigmoid(torch.sigmoid(X @ W1 + b1) @ W2 + b2)
    loss = torch.mean((out - T) ** 2)
    loss.backward()
    grads = {"0.W": W1.grad.numpy(), "0.b": b1.grad.numpy(), "1.W": W2.grad.numpy()[:, None], "1.b": b2.grad.numpy()[None]}
    params = {"0.W": W1.detach().numpy(), "0.b": b1.detach().numpy(), "1.W": W2.detach().numpy()[:, None],
              "1.b": b2.detach().numpy()[None]}
    return float(loss.detach()), grads, params, out.detach().numpy()


@pytest.fixture(scope="module")
def step_by_step(kernel, tmp_path_factory):
    names = ["glassnet_outputs", "one_row.loss", "step.loss", "step.gradients", "step.updates", "by_hand_gradients",
             "ratio", "glassnet_costs", "by_hand_costs", "net.parameters()"]
    return run_notebook("02_glassnet_step_by_step.ipynb", names, kernel, tmp_path_factory.mktemp("nb02"))


def test_step_by_step_forward_and_ledger_numbers_are_the_learners(step_by_step):
    stored = step_by_step.stored
    _, _, _, outputs = _torch_step([0, 1, 2, 3])
    np.testing.assert_allclose(stored["glassnet_outputs"], outputs, rtol=1e-13)
    (shown,) = re.findall(r"largest difference (\S+)", step_by_step.printed("forward"))
    assert float(shown) < 1e-15
    W1, b1, _, _ = _seed_one_weights()
    ledger = step_by_step.printed("ledger-one")
    # row x = (0, 1): z^(1)_1 = w11 * 0 + w21 * 1 + b1, worked out here by hand
    line = (f"z^(1)_1 = w^(1)_{{1,1}}*a^(0)_1 + w^(1)_{{2,1}}*a^(0)_2 + b^(1)_1 = {_fmt(W1[0, 0])}*0 + "
            f"{_fmt(W1[1, 0])}*1 + {_fmt(b1[0])} = {_fmt(W1[1, 0] + b1[0])}")
    assert line in ledger, ledger
    loss_one, _, _, _ = _torch_step([1])
    assert stored["one_row.loss"] == pytest.approx(loss_one, rel=1e-13)
    assert f"loss before the step: {_fmt(loss_one)}" in ledger


def test_step_by_step_gradients_and_update_equal_torch_and_half_the_learners(step_by_step):
    stored = step_by_step.stored
    loss, grads, params, _ = _torch_step([0, 1, 2, 3])
    assert stored["step.loss"] == pytest.approx(loss, rel=1e-13)
    for key, g in grads.items():
        np.testing.assert_allclose(stored["step.gradients"][key], g, rtol=1e-12, err_msg=key)
        np.testing.assert_allclose(stored["step.updates"][key], params[key] - 0.2 * g, rtol=1e-12, err_msg=key)
        np.testing.assert_allclose(stored["by_hand_gradients"][key], 2 * g, rtol=1e-12, err_msg=key)
        np.testing.assert_allclose(stored["ratio"][key], 2.0, rtol=1e-12, err_msg=key)
    printed = step_by_step.printed("ledger-batch")
    assert f"b^(2)_1 <- b^(2)_1 - lr*dL/db^(2)_1 = {_fmt(params['1.b'][0])} - 0.2*{_fmt(grads['1.b'][0])} = " in printed


def test_step_by_step_thousand_steps_follow_the_learners_loop(step_by_step):
    stored = step_by_step.stored
    reference = _by_rows(1000, bias_in_loop=False)
    np.testing.assert_allclose(stored["glassnet_costs"], reference, rtol=1e-10)
    np.testing.assert_allclose(stored["by_hand_costs"], reference, rtol=1e-10)
    assert reference[-1] < 0.9 * reference[0]  # it is learning
    assert "largest relative difference of the costs:" in step_by_step.printed("many-steps")


# ---------------------------------------------------------------------------------------- 05_to_pytorch.ipynb
@pytest.fixture(scope="module")
def to_pytorch(kernel, tmp_path_factory):
    names = ["start", "glassnet_losses", "torch_losses", "back.parameters()", "torch_loss_value"]
    return run_notebook("05_to_pytorch.ipynb", names, kernel, tmp_path_factory.mktemp("nb05"))


def _plain_torch_run(start, steps):
    """The notebook's network built in PyTorch by hand from its parameters (no glassnet bridge), trained with
    torch.optim.Adam(lr=0.01) and BCEWithLogitsLoss on the same moons: the losses and the final parameters."""
    import torch

    X, y = gn.datasets.moons(n=200, noise=0.2, seed=0)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.reshape(-1, 1).astype(np.float64))
    linears = []
    for k in range(3):
        W, b = np.array(start[f"{k}.W"]), np.array(start[f"{k}.b"])
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        linears.append(linear)
    model = torch.nn.Sequential(linears[0], torch.nn.Tanh(), linears[1], torch.nn.Tanh(), linears[2])
    adam = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        adam.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X_t), y_t)
        loss.backward()
        adam.step()
        losses.append(loss.item())
    params = {f"{k}.W": linears[k].weight.detach().numpy().T for k in range(3)}
    params.update({f"{k}.b": linears[k].bias.detach().numpy() for k in range(3)})
    with torch.no_grad():
        accuracy = float(np.mean((model(X_t).numpy()[:, 0] > 0) == (y == 1)))
    return np.array(losses), params, accuracy


def test_to_pytorch_same_loss_and_trajectory_as_a_plain_torch_run(to_pytorch):
    stored = to_pytorch.stored
    losses, params, accuracy = _plain_torch_run(stored["start"], 220)
    np.testing.assert_allclose(stored["glassnet_losses"], losses[:20], rtol=1e-10)  # glassnet's own steps
    np.testing.assert_allclose(stored["torch_losses"], losses[:20], rtol=1e-10)
    assert stored["torch_loss_value"] == pytest.approx(losses[0], rel=1e-12)
    assert losses[-1] < losses[0] / 2
    for key, value in params.items():  # 20 + 200 steps in torch, then imported back into glassnet
        np.testing.assert_allclose(stored["back.parameters()"][key], value, rtol=1e-9, atol=1e-12, err_msg=key)
    printed = to_pytorch.printed("back")
    assert f"accuracy: {accuracy}" in printed and accuracy > 0.9
    for tag, what in (("export", "largest output difference"), ("trajectory", "largest relative difference of the losses"),
                      ("trajectory", "largest difference of the parameters after 20 steps"),
                      ("back", "largest difference, glassnet's outputs vs torch's")):
        (shown,) = re.findall(re.escape(what) + r": (\S+)", to_pytorch.printed(tag))
        assert float(shown) < 1e-12, (what, shown)


# ---------------------------------------------------------------------------------------- 03_your_csv.ipynb
@pytest.fixture(scope="module")
def your_csv(kernel, tmp_path_factory):
    names = ["str(folder)", "data.X", "data.y", "data.classes", "X_train", "X_test", "y_test", "test_accuracy",
             "history.loss", "history.val_loss"]
    executed = run_notebook("03_your_csv.ipynb", names, kernel, tmp_path_factory.mktemp("nb03"))
    yield executed
    import shutil

    shutil.rmtree(executed.stored["str(folder)"], ignore_errors=True)  # the notebook's own temporary folder


def _png_size(path):
    """(width, height) from a PNG file's signature and IHDR chunk."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR", path
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_your_csv_loads_the_complete_rows_of_the_file(your_csv):
    import csv
    from pathlib import Path

    stored = your_csv.stored
    with open(Path(stored["str(folder)"]) / "exam.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["hours_studied", "hours_slept", "result"] and len(rows) == 241
    complete = [r for r in rows[1:] if all(r)]
    assert len(complete) == 238  # the notebook leaves two cells empty; missing="drop" drops those rows
    np.testing.assert_array_equal(stored["data.X"], [[float(a), float(b)] for a, b, _ in complete])
    assert sorted(set(stored["data.classes"])) == ["fail", "pass"]
    labels = np.array(stored["data.classes"], dtype=object)[stored["data.y"]]
    assert list(labels) == [r[2] for r in complete]
    assert f"rows per class: [{labels.tolist().count(stored['data.classes'][0])} " in your_csv.printed("load")
    # standardised with the training rows' statistics: mean 0 and spread 1 there
    np.testing.assert_allclose(np.mean(stored["X_train"], axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(np.std(stored["X_train"], axis=0), 1, rtol=1e-12)
    assert len(stored["X_train"]) + len(stored["X_test"]) == 238


def test_your_csv_model_plots_and_report_are_written(your_csv):
    from pathlib import Path

    stored = your_csv.stored
    folder = Path(stored["str(folder)"])
    model = gn.load(folder / "model.npz")
    accuracy = float(np.mean(model.predict(np.array(stored["X_test"])) == np.array(stored["y_test"])))
    assert accuracy == stored["test_accuracy"] > 0.85  # the labels follow a rule a 2-8-1 network can learn
    assert f"accuracy on the held-out rows: {accuracy}" in your_csv.printed("train")
    assert len(stored["history.loss"]) == len(stored["history.val_loss"]) == 300
    assert stored["history.loss"][-1] < stored["history.loss"][0] / 2
    for name in ("curves.png", "boundary.png"):
        width, height = _png_size(folder / name)
        assert width > 300 and height > 200, (name, width, height)
    assert len(your_csv.shown("plots", "image/png")) == 2
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html") and "exam results" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # self-contained: opens from disk, offline
    (size,) = re.findall(r"report\.html \((\S+) MB\)", your_csv.printed("report"))
    assert abs(float(size) * 1e6 - len(page.encode("utf-8"))) < 1e4 and len(page) < 4e6


# ---------------------------------------------------------------------------------------- 04_batchnorm_by_hand.ipynb
@pytest.fixture(scope="module")
def batchnorm(kernel, tmp_path_factory):
    names = ["X", "gamma", "beta", "R", "eps", "A", "loss", "dX", "dX_steps", "dgamma", "dbeta", "fd_errors",
             "wrong_error", "glassnet_A", "glassnet_dX", "glassnet_grads", "running_mean", "running_var", "eval_A",
             "eval_dX", "kept", "grads"]
    return run_notebook("04_batchnorm_by_hand.ipynb", names, kernel, tmp_path_factory.mktemp("nb04"))


def _torch_batchnorm(X, gamma, beta, R, eps, training):
    """torch.nn.BatchNorm1d in float64 on the notebook's batch (fresh running statistics), its gradients for
    L = sum(A * R), and its running statistics after the batch."""
    import torch

    bn = torch.nn.BatchNorm1d(X.shape[1], eps=eps, momentum=0.1, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
    X_t = torch.tensor(X, requires_grad=True)
    if not training:
        bn.train()
        bn(torch.from_numpy(X))  # one training batch first, as in the notebook, then evaluation
        bn.eval()
    A = bn(X_t)
    (A * torch.from_numpy(R)).sum().backward()
    return {"A": A.detach().numpy(), "dX": X_t.grad.numpy(), "dgamma": bn.weight.grad.numpy(),
            "dbeta": bn.bias.grad.numpy(), "running_mean": bn.running_mean.numpy(), "running_var": bn.running_var.numpy()}


def test_batchnorm_by_hand_equals_torch_in_training_mode(batchnorm):
    s = {k: (np.array(v) if isinstance(v, list) else v) for k, v in batchnorm.stored.items()}
    ref = _torch_batchnorm(s["X"], s["gamma"], s["beta"], s["R"], s["eps"], training=True)
    for mine, theirs in (("A", "A"), ("glassnet_A", "A"), ("dX", "dX"), ("dX_steps", "dX"), ("glassnet_dX", "dX"),
                         ("dgamma", "dgamma"), ("dbeta", "dbeta"), ("running_mean", "running_mean"),
                         ("running_var", "running_var")):
        np.testing.assert_allclose(s[mine], ref[theirs], rtol=1e-10, atol=1e-14, err_msg=f"{mine} vs torch {theirs}")
    np.testing.assert_allclose(s["glassnet_grads"]["gamma"], ref["dgamma"], rtol=1e-10)
    np.testing.assert_allclose(s["glassnet_grads"]["beta"], ref["dbeta"], rtol=1e-10)
    np.testing.assert_allclose(s["kept"]["running_mean"], ref["running_mean"], rtol=1e-12)
    np.testing.assert_allclose(s["kept"]["running_var"], ref["running_var"], rtol=1e-12)
    assert s["loss"] == pytest.approx(float(np.sum(ref["A"] * s["R"])), rel=1e-12)
    np.testing.assert_allclose(s["dX"].sum(axis=0), 0, atol=1e-12)  # a shift of a whole feature changes nothing


def test_batchnorm_by_hand_equals_torch_in_evaluation_mode(batchnorm):
    s = {k: (np.array(v) if isinstance(v, list) else v) for k, v in batchnorm.stored.items()}
    ref = _torch_batchnorm(s["X"], s["gamma"], s["beta"], s["R"], s["eps"], training=False)
    np.testing.assert_allclose(s["eval_A"], ref["A"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(s["eval_dX"], ref["dX"], rtol=1e-10, atol=1e-14)
    assert "running statistics unchanged: True" in batchnorm.printed("evaluation")


def test_batchnorm_by_hand_finite_differences_and_the_classic_mistake(batchnorm):
    s = batchnorm.stored
    assert set(s["fd_errors"]) == {"X", "gamma", "beta"} and max(s["fd_errors"].values()) < 1e-7
    assert s["wrong_error"] > 0.1  # treating the batch statistics as constants is far off
    printed = batchnorm.printed("finite-differences")
    assert printed.count("relative error against finite differences") == 3
    # the bias before BatchNorm cannot change the loss: its gradient is 0 up to rounding, the weights' is not
    assert np.max(np.abs(s["grads"]["0.b"])) < 1e-12 < 1e-3 < np.max(np.abs(s["grads"]["0.W"]))
