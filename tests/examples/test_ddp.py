"""``examples/ddp/train_ddp.py``: a glassnet model trained further with DistributedDataParallel (two local CPU
processes, gloo), matching one process on the whole batches, and imported back into glassnet.

The script runs as a learner runs it (``python examples/ddp/train_ddp.py --out DIR``); this test then trains the
exported starting point again in plain PyTorch of its own (its own ``nn.Sequential`` and ``torch.optim.Adam``, no
glassnet bridge) on the batches the script used, whole, and compares with what the two processes saved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import glassnet as gn
from tests.examples.notebooks import TIMES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "ddp" / "train_ddp.py"


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=out)
    TIMES["examples/ddp/train_ddp.py"] = time.perf_counter() - started  # printed at the end of the session
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout, json.loads((out / "result.json").read_text())


def _reference(start, X, y, batches, lr):
    """One process, whole batches: Linear-Tanh-Linear from ``start``, BCE with logits (mean), torch.optim.Adam."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 16, dtype=torch.float64), torch.nn.Tanh(),
                                torch.nn.Linear(16, 1, dtype=torch.float64))
    model.load_state_dict(start)
    adam = torch.optim.Adam(model.parameters(), lr=lr)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.float64)[:, None])
    losses = []
    for rows in batches:
        adam.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X_t[rows]), y_t[rows])
        loss.backward()
        adam.step()
        losses.append(loss.item())
    return model, np.array(losses)


def test_ddp_on_two_processes_matches_one_process_on_whole_batches(ddp_run):
    out, stdout, result = ddp_run
    assert result["processes"] == 2 and result["steps"] == len(result["batches"]) >= 10
    for rows in result["batches"]:  # every batch full and split evenly: two halves of equal size
        assert len(rows) == len(set(rows)) == result["batch_size"] and result["batch_size"] % 2 == 0
    X, y = gn.datasets.moons(n=256, noise=0.2, seed=0)
    start = torch.load(out / "start.pt", weights_only=True)
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    model, losses = _reference(start, X, y, result["batches"], result["lr"])
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(ranks[0]["state_dict"][key].numpy(), value.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=f"{key}: DDP (process 0) vs one process")
        np.testing.assert_array_equal(ranks[1]["state_dict"][key].numpy(), ranks[0]["state_dict"][key].numpy())
        assert not torch.equal(value, start[key])  # it trained
    # each process's loss is the mean over its half; the whole batch's mean is the mean of the two
    np.testing.assert_allclose((np.array(ranks[0]["losses"]) + ranks[1]["losses"]) / 2, losses, rtol=1e-10)
    assert "agree" in stdout.splitlines()[-1] and "DISAGREE" not in stdout


def test_ddp_result_imported_into_glassnet_gives_the_torch_models_outputs(ddp_run):
    out, _, _ = ddp_run
    state = torch.load(out / "rank0.pt", weights_only=True)["state_dict"]
    net = gn.load(out / "model.npz")
    assert net.sizes == [2, 16, 1] and net.loss_fn.name == "bce"
    for i, name in ((0, "0"), (1, "2")):  # nn.Linear.weight is W.T
        np.testing.assert_array_equal(net.parameters()[f"{i}.W"], state[f"{name}.weight"].numpy().T)
        np.testing.assert_array_equal(net.parameters()[f"{i}.b"], state[f"{name}.bias"].numpy())
    X, _ = gn.datasets.moons(n=256, noise=0.2, seed=0)
    with torch.no_grad():
        W1, b1, W2, b2 = (state[k] for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
        expected = torch.sigmoid(torch.tanh(torch.from_numpy(X) @ W1.T + b1) @ W2.T + b2).numpy()
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12, atol=1e-15)
