"""A real ``glassnet train`` process killed with SIGKILL at random moments, then resumed with the same
command, ends bit for bit where the uninterrupted run ends: parameters, optimizer state, history."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.checkpoint import read_checkpoint

SRC = Path(__file__).resolve().parents[2] / "src"
# Mini-batches of one row, shuffled, Adam: every epoch changes the RNG, the parameters and m, v, t.
ARGS = ["train", "--data", "xor", "--layers", "2,4,1", "--activation", "tanh", "--loss", "bce", "--optimizer", "adam",
        "--lr", "0.05", "--batch-size", "1", "--epochs", "80", "--seed", "3", "--checkpoint-every", "1",
        "--resume", "--no-progress", "--print-every", "0"]


def command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "glassnet", *ARGS, "--checkpoint", str(folder / "run.ckpt"),
            "--out", str(folder / "model.npz")]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC)
    return env


def assert_same_run(a: Path, b: Path) -> None:
    meta_a, arrays_a = read_checkpoint(a)
    meta_b, arrays_b = read_checkpoint(b)
    assert sorted(arrays_a) == sorted(arrays_b)
    for key in arrays_a:  # parameters, optimizer:<param>:m/v, history:loss/accuracy
        assert arrays_a[key].dtype == arrays_b[key].dtype and np.array_equal(arrays_a[key], arrays_b[key]), key
    section_a, section_b = dict(meta_a["checkpoint"]), dict(meta_b["checkpoint"])
    section_a.pop("seconds")
    section_b.pop("seconds")
    assert section_a == section_b  # epoch, steps, RNG state, Adam's t per parameter, settings


def test_killed_at_random_moments_and_resumed_equals_uninterrupted(tmp_path, cli):
    reference = tmp_path / "reference"
    reference.mkdir()
    started = time.monotonic()
    code, _, err = cli(*ARGS, "--checkpoint", str(reference / "run.ckpt"), "--out", str(reference / "model.npz"))
    assert code == 0, err
    training_seconds = time.monotonic() - started  # kills land within this span after the first checkpoint
    assert read_checkpoint(reference / "run.ckpt")[0]["checkpoint"]["epoch"] == 80

    kills = 0
    for trial in range(3):
        rng = random.Random(trial)
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        for attempt in range(2):  # killed twice, the second time while resuming
            delay = rng.uniform(0.0, (0.3 if attempt == 0 else 0.8) * training_seconds)
            if kill_after_first_checkpoint(folder, delay):
                kills += 1
            # Whatever moment the kill hit, the checkpoint on disk is a complete, verified one.
            assert read_checkpoint(folder / "run.ckpt")[0]["checkpoint"]["epoch"] >= 1
        finished = subprocess.run(command(folder), env=environment(), capture_output=True, text=True, timeout=60)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert_same_run(reference / "run.ckpt", folder / "run.ckpt")
        a, b = gn.load(reference / "model.npz"), gn.load(folder / "model.npz")
        for key, value in a.parameters().items():
            assert np.array_equal(value, b.parameters()[key]), key
        # A writer killed mid-write leaves its hidden temporary file; resuming removes the checkpoint's ones.
        assert not list(folder.glob(".run.ckpt.*.tmp"))
    if kills < 2:  # the machine got much faster than the reference run: no kill landed mid-run
        pytest.fail(f"only {kills} of 6 runs were killed: they finished before the kill; make them longer")


def kill_after_first_checkpoint(folder: Path, delay: float) -> bool:
    """Run the command; once a checkpoint exists wait ``delay`` seconds and SIGKILL it. True if it was killed."""
    process = subprocess.Popen(command(folder), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 60
    while not (folder / "run.ckpt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert killed or process.returncode == 0, out + err
    return killed


def test_ctrl_c_in_a_real_process_saves_the_checkpoint_and_the_rerun_finishes_the_same(tmp_path, cli):
    reference = tmp_path / "reference"
    reference.mkdir()
    assert cli(*ARGS, "--checkpoint", str(reference / "run.ckpt"), "--out", str(reference / "model.npz"))[0] == 0
    folder = tmp_path / "interrupted"
    folder.mkdir()
    process = subprocess.Popen(command(folder), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (folder / "run.ckpt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    if "stopped early by Ctrl-C" not in out:
        pytest.fail(f"the run was not interrupted (finished first?): {out} {err}")
    assert process.returncode == 0, err
    assert "run the same command with --resume to continue" in out
    epoch = read_checkpoint(folder / "run.ckpt")[0]["checkpoint"]["epoch"]
    assert 1 <= epoch < 80
    finished = subprocess.run(command(folder), env=environment(), capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0 and f"resuming from {folder / 'run.ckpt'} after epoch {epoch} of 80" in finished.stdout
    assert_same_run(reference / "run.ckpt", folder / "run.ckpt")
