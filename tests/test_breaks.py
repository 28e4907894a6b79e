"""When did it break? ``glassnet.find_break`` against an independent loop written here.

Each test trains a small network with ``fit`` (the health monitor on, as by default), asks ``find_break`` for the
step, and runs its own loop (``net.step`` per batch, the same shuffled batches drawn from the network's generator)
that checks the condition after every step with plain NumPy: ``max(X @ W + b) <= 0`` on every training row for a
dead ReLU unit, ``a * (1 - a) / 0.25 < 0.01`` on 95% of the rows for a saturated sigmoid unit (a quarter / a half of
the layer, as the warnings are documented), the gradient norm against the first step's for exploding gradients.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
import zlib

import numpy as np
import pytest

import glassnet as gn
from glassnet.breaks import recording_for
from glassnet.checkpoint import capture_state, state_fingerprint
from glassnet.interfaces.cli.main import main
from glassnet.replay import replay

N, BATCH = 120, 12  # 10 steps an epoch
RELU = {"sizes": [2, 8, 1], "activation": "relu", "seed": 3, "lr": 0.6, "epochs": 8}


def moons(scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    X, y = gn.datasets.moons(n=N, seed=0)
    return X * scale, np.asarray(y, dtype=float)


def network(sizes: list[int], activation: str, seed: int, **kw: object) -> gn.Network:
    return gn.Network.from_sizes(sizes, activation=activation, loss="mse", seed=seed, **kw)


def quiet_fit(net: gn.Network, X: np.ndarray, y: np.ndarray, opt: object, epochs: int, **kw: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y, epochs=epochs, optimizer=opt, batch_size=BATCH, **kw)


def own_loop(net: gn.Network, X: np.ndarray, y: np.ndarray, opt: object, epochs: int, look: object) -> list[object]:
    """``look(net, loss)`` after every step of ``epochs`` epochs run by hand; index 0 is the state before training."""
    seen = [look(net, None)]
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            order = net.rng.permutation(N)
            for start in range(0, N, BATCH):
                rows = order[start:start + BATCH]
                try:
                    loss = net.step(X[rows], y[rows], optimizer=opt)
                except gn.TrainingDiverged:
                    return seen
                seen.append(look(net, loss))
    return seen


def relu_columns(net: gn.Network, X: np.ndarray) -> np.ndarray:
    return X @ net.layers[0].params["W"] + net.layers[0].params["b"]  # Z of layer 0 on every training row


@pytest.fixture(scope="module")
def relu_run():
    X, y = moons()
    net = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    opt = gn.SGD(lr=RELU["lr"])
    quiet_fit(net, X, y, opt, RELU["epochs"])
    return net, opt, X, y, gn.find_break(net, X, y, "dead_relu")


def test_dead_relu_is_the_first_step_after_which_units_are_at_most_zero_on_every_row(relu_run):
    net, _, X, y, found = relu_run
    Zs = own_loop(network(RELU["sizes"], RELU["activation"], RELU["seed"]), X, y, gn.SGD(lr=RELU["lr"]),
                  RELU["epochs"], lambda n, loss: relu_columns(n, X).copy())
    dead = [np.all(Z <= 0, axis=0) for Z in Zs]  # per step: which units are at most 0 on every row
    first = next(s for s, mask in enumerate(dead) if mask.mean() >= 0.25)  # a quarter of the layer: the warning
    assert found.condition == "dead_relu" and found.layer == 0
    assert found.step == first, f"glassnet {found.step} vs own loop {first}"
    assert (found.epoch, found.batch) == ((first - 1) // 10 + 1, (first - 1) % 10 + 1)
    newly = np.flatnonzero(dead[first] & ~dead[first - 1]).tolist()
    assert found.units == newly and newly
    for k, unit in enumerate(newly):  # the unit's largest pre-activation: above 0 before the step, at most 0 after
        before, after = Zs[first - 1][:, unit].max(), Zs[first][:, unit].max()
        assert before > 0 >= after
        assert np.isclose(found.numbers["max_z_before"][k], before, rtol=1e-12, atol=1e-15)
        assert np.isclose(found.numbers["max_z_after"][k], after, rtol=1e-12, atol=1e-15)
        # plain SGD: the bias moved by the learning rate times its gradient, as the sentence says
        b0, b1, g = (found.numbers[key][k] for key in ("b_before", "b_after", "b_grad"))
        assert np.isclose(b1, b0 - RELU["lr"] * g, rtol=1e-12)
        assert f"Unit {unit} of layer 0" in found.sentence
    assert f"died at step {first} (epoch {found.epoch}, batch {found.batch})" in found.sentence
    assert found.verified and found.replayed == (21, 40)  # the clean look at epoch 2, the warning at epoch 4
    # the ledger is that step's, on its batch, for those units
    ledger = found.ledger
    assert ledger is not None and ledger.n_samples == BATCH
    assert "the ledger of step" in found.to_text().lower() and json.dumps(found.to_dict(), allow_nan=False)


def test_the_replay_is_bit_for_bit_and_a_changed_network_is_refused(relu_run):
    net, opt, X, y, _ = relu_run
    record = recording_for(net)
    key = record.fired[0].keyframe  # the last clean look before the dead_relu warning
    settings = {**record.settings, "steps_per_epoch": 10}
    end = replay(net, X, net._targets(y, N), settings, key.state, key.steps, 80, [])
    assert end.steps == 80
    for name, p in net.parameters().items():  # the replay ends where fit ended, every bit
        assert np.array_equal(end.net.parameters()[name], p), name
    assert end.fingerprint == state_fingerprint(capture_state(net, opt))
    assert net.rng.bit_generator.state == end.net.rng.bit_generator.state
    with pytest.raises(gn.ConfigError, match="not the data"):
        gn.find_break(net, X + 1e-9, y)
    changed = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    quiet_fit(changed, X, y, gn.SGD(lr=RELU["lr"]), RELU["epochs"])
    recording_for(changed).fired[0].keyframe.state["params"]["0.W"][0, 0] += 1e-12  # not the state fit had there
    with pytest.raises(gn.ConfigError, match="did not arrive at the state fit had"):
        gn.find_break(changed, X, y)


def test_saturated_sigmoid_units_with_a_high_learning_rate():
    X, y = moons(scale=30.0)
    sizes, lr, epochs = [2, 8, 1], 20.0, 16
    net = network(sizes, "sigmoid", 0)
    quiet_fit(net, X, y, gn.SGD(lr=lr), epochs)
    found = gn.find_break(net, X, y, "saturated")

    def flat(n: gn.Network, loss: object) -> np.ndarray:
        A = 1 / (1 + np.exp(-(X @ n.layers[0].params["W"] + n.layers[0].params["b"])))
        return np.mean(A * (1 - A) / 0.25 < 0.01, axis=0) >= 0.95  # per unit: flat on 95% of the rows

    masks = own_loop(network(sizes, "sigmoid", 0), X, y, gn.SGD(lr=lr), epochs, flat)
    first = next(s for s, mask in enumerate(masks) if mask.mean() >= 0.5)
    assert found.step == first and found.layer == 0 and found.verified
    assert found.units == np.flatnonzero(masks[first] & ~masks[first - 1]).tolist()
    assert "saturated at step" in found.sentence


@pytest.fixture(scope="module")
def diverging_run():
    X, y = moons()
    net = network([2, 8, 1], "tanh", 0, output_activation="linear")
    with pytest.raises(gn.TrainingDiverged) as raised:
        quiet_fit(net, X, y * 100, gn.SGD(lr=1.0), 20)
    return net, X, y * 100, raised.value


def test_divergence_is_found_at_the_step_fit_stopped_on(diverging_run):
    net, X, y, error = diverging_run
    found = gn.find_break(net, X, y, "diverged")
    assert found.step == (error.epoch - 1) * 10 + error.step and found.verified
    assert (found.epoch, found.batch) == (error.epoch, error.step)
    assert found.numbers["growth_from"] <= found.step


def test_exploding_and_vanishing_gradients(diverging_run):
    net, X, y, _ = diverging_run
    found = gn.find_break(net, X, y, "exploding")

    def norms(n: gn.Network, loss: object) -> tuple[object, list[float]]:
        return loss, [float(np.sqrt(sum(np.sum(g ** 2) for g in layer.grads.values()))) if layer.grads else 0.0
                      for layer in n.layers]

    seen = own_loop(network([2, 8, 1], "tanh", 0, output_activation="linear"), X, y, gn.SGD(lr=1.0), 2, norms)
    loss1, start = seen[1]
    first = next(s for s, (loss, now) in enumerate(seen) if s > 1 and loss > loss1
                 and any(g0 > 0 and g > 1e3 * g0 for g0, g in zip(start, now)))
    assert found.step == first and found.verified
    # vanishing: the first layer's gradient below 1e-4 times the last layer's, at one step
    faint = gn.find_break(net, X, y, "vanishing")
    first = next(s for s, (_, now) in enumerate(seen) if s >= 1 and now[0] < 1e-4 * now[-1])
    assert (faint.step, faint.layer) == (first, 0) and faint.verified


def test_from_a_checkpoint_file(relu_run, tmp_path, capsys):
    _, _, X, y, in_memory = relu_run
    path = tmp_path / "run.ckpt"
    net = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    quiet_fit(net, X, y, gn.SGD(lr=RELU["lr"]), 2, checkpoint=path)  # before any unit died
    found = gn.find_break(gn.load(path), X, y, "dead_relu", checkpoint=path, epochs=4)
    assert (found.step, found.units) == (in_memory.step, in_memory.units)
    assert found.replayed[0] == 21 and not found.verified
    with pytest.raises(gn.GlassnetTypeError, match="epochs"):
        gn.find_break(net, X, y, checkpoint=path)
    with pytest.raises(gn.ConfigError, match="not the data"):
        gn.find_break(net, X[::-1], y[::-1], checkpoint=path, epochs=4)
    # the command line, replaying on from the same file
    assert main(["breaks", "--checkpoint", str(path), "--data", "moons", "--n", str(N), "--data-seed", "0",
                 "--epochs", "4", "--condition", "dead_relu", "--no-ledger"]) == 0
    assert f"died at step {in_memory.step}" in capsys.readouterr().out


CLI = ["breaks", "--data", "moons", "--n", str(N), "--data-seed", "0", "--layers", "2,8,1", "--activation", "relu",
       "--loss", "mse", "--lr", str(RELU["lr"]), "--batch-size", str(BATCH), "--epochs", "8", "--seed", "3"]


def test_cli_and_the_report_mark(relu_run, tmp_path, capsys):
    in_memory = relu_run[4]
    out, page = tmp_path / "b.json", tmp_path / "r.html"
    assert main([*CLI, "--no-ledger", "--format", "json", "--out", str(out), "--report", str(page)]) == 0
    printed = capsys.readouterr().out
    assert "health warning (dead_relu)" in printed
    answer = json.loads(out.read_text())
    assert [b["step"] for b in answer] == [in_memory.step] and answer[0]["units"] == in_memory.units
    blobs = dict(re.findall(r'<script id="(gn-\w+)" type="application/octet-stream">([^<]*)</script>',
                            page.read_text()))
    data = json.loads(zlib.decompress(base64.b64decode(blobs["gn-payload"])))
    (mark,) = data["breaks"]
    assert (mark["step"], mark["epoch"], mark["batch"]) == (in_memory.step, in_memory.epoch, in_memory.batch)
    assert mark["at"] == pytest.approx(in_memory.epoch - 1 + in_memory.batch / 10)
    assert "died at step" in mark["sentence"]
    assert main([*CLI, "--condition", "dead_relu"]) == 0
    assert f"died at step {in_memory.step}" in capsys.readouterr().out


def test_the_readme_example_prints_what_it_shows(capsys):
    from pathlib import Path

    section = (Path(__file__).parents[1] / "README.md").read_text().split("### When did it break?", 1)[1]
    block = re.findall(r"```python\n(.*?)```", section.split("\n### ", 1)[0], flags=re.S)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, "README.md", "exec"), {"gn": gn})
    shown = " ".join(line[2:] for line in block.splitlines() if line.startswith("# "))
    assert " ".join(shown.split()) in " ".join(capsys.readouterr().out.split())
