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
from glassnet.checkpoint import capture_state, state_fingerprint
from glassnet.interfaces.cli.main import main
from glassnet.keyframes import recording_for
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


def row_loss(net: gn.Network, X: np.ndarray, y: np.ndarray) -> float:
    """The mean squared error on every row, by hand (inf once it overflows)."""
    A = X
    with np.errstate(all="ignore"):
        for layer in net.layers:
            Z = A @ layer.params["W"] + layer.params["b"]
            A = np.tanh(Z) if layer.activation.name == "tanh" else Z
        value = float(np.mean((A[:, 0] - y) ** 2))
    return value if np.isfinite(value) else np.inf


def relu_columns(net: gn.Network, X: np.ndarray) -> np.ndarray:
    return X @ net.layers[0].params["W"] + net.layers[0].params["b"]  # Z of layer 0 on every training row


LOOKS = (1, 2, 4, 8, 16)  # the epochs the health monitor looks at (verify/health.py: 1, 2, 4, 8, ...)


def warned_look(held: list[bool]) -> tuple[int, int]:
    """From a condition after each step (index 0: before training): the first look (epoch end) at which it held,
    and the look before it (0: the start), as steps."""
    for k, epoch in enumerate(LOOKS):
        if held[epoch * 10]:
            return (LOOKS[k - 1] * 10 if k else 0), epoch * 10
    raise AssertionError("the condition never held at a look")


def onset(held: list[bool], until: int) -> int:
    """The step after which the condition held at every step up to ``until`` (the last change false -> true)."""
    step = until
    while step > 0 and held[step - 1]:
        step -= 1
    return step


def episodes(held: list[bool], start: int, end: int) -> list[tuple[int, int]]:
    """The runs of steps in (start, end) at which the condition held: (first step, first step false again)."""
    runs, began = [], None
    for s in range(start + 1, end):
        if held[s] and began is None:
            began = s
        elif not held[s] and began is not None:
            runs.append((began, s))
            began = None
    return runs


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
    held = [mask.mean() >= 0.25 for mask in dead]  # a quarter of the layer: the warning
    clean, warned = warned_look(held)
    first = onset(held, warned)
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
    # the sentence's change of the first unit's bias, with its sign, as the own loop saw it
    biases = own_loop(network(RELU["sizes"], RELU["activation"], RELU["seed"]), X, y, gn.SGD(lr=RELU["lr"]),
                      RELU["epochs"], lambda n, loss: n.layers[0].params["b"].copy())
    moved = biases[first][newly[0]] - biases[first - 1][newly[0]]
    assert f"changed its bias by {moved:+.3g}" in found.sentence and f"= {moved:+.3g})" in found.sentence
    assert f"died at step {first} (epoch {found.epoch}, batch {found.batch})" in found.sentence
    assert found.verified and found.replayed == (clean + 1, warned)  # from the clean look to the one that warned
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
    assert found.ledger is None and "No ledger of step" in found.to_text() and "overflows" in found.ledger_note
    # the loss on every row after each step, by hand: where was it lowest?
    losses = own_loop(network([2, 8, 1], "tanh", 0, output_activation="linear"), X, y, gn.SGD(lr=1.0), 20,
                      lambda n, loss: row_loss(n, X, y))
    lowest = int(np.nanargmin(losses))  # after this step (0: before training)
    start = found.replayed[0] - 1
    if lowest <= start:  # the growth is older than the replay: the sentence must not claim it began inside it
        assert f"the growth began at step {start} or earlier" in found.sentence
    else:
        assert f"lowest ({min(losses[start:]):.4g}) after step {lowest}" in found.sentence


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


def payload(page: object) -> dict:
    """The data of an HTML report (its compressed JSON payload)."""
    blobs = dict(re.findall(r'<script id="(gn-\w+)" type="application/octet-stream">([^<]*)</script>',
                            page.read_text()))  # type: ignore[attr-defined]
    return json.loads(zlib.decompress(base64.b64decode(blobs["gn-payload"])))


def test_train_report_marks_the_breaks_of_the_warnings_that_fired(relu_run, tmp_path, capsys):
    page = tmp_path / "train.html"
    train = ["train", *CLI[1:], "--no-progress", "--report", str(page)]
    assert main(train) == 0
    (mark,) = payload(page)["breaks"]
    assert (mark["condition"], mark["step"]) == ("dead_relu", relu_run[4].step)


def test_cli_and_the_report_mark(relu_run, tmp_path, capsys):
    in_memory = relu_run[4]
    out, page = tmp_path / "b.json", tmp_path / "r.html"
    assert main([*CLI, "--no-ledger", "--format", "json", "--out", str(out), "--report", str(page)]) == 0
    printed = capsys.readouterr().out
    assert "health warning (dead_relu)" in printed
    answer = json.loads(out.read_text())
    assert [b["step"] for b in answer] == [in_memory.step] and answer[0]["units"] == in_memory.units
    (mark,) = payload(page)["breaks"]
    assert (mark["step"], mark["epoch"], mark["batch"]) == (in_memory.step, in_memory.epoch, in_memory.batch)
    # where it lands on the curve (x: epochs; its first point is epoch 1): the step's place, step / steps per epoch
    assert mark["at"] == pytest.approx(max(1.0, in_memory.step / -(-N // BATCH)))
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


def test_a_unit_that_dies_comes_back_and_dies_again_with_momentum():
    # momentum keeps moving a unit after its gradient is 0: it dies at step 3, is back at 5, dies for good at 6
    X, y = moons()
    make = lambda: network([2, 8, 1], "relu", 2)  # noqa: E731
    net = make()
    quiet_fit(net, X, y, gn.SGD(lr=0.6, momentum=0.9), 16)
    found = gn.find_break(net, X, y, "dead_relu")
    Zs = own_loop(make(), X, y, gn.SGD(lr=0.6, momentum=0.9), 16, lambda n, loss: relu_columns(n, X).copy())
    held = [np.all(Z <= 0, axis=0).mean() >= 0.25 for Z in Zs]
    clean, warned = warned_look(held)
    step = onset(held, warned)
    runs = episodes(held, clean, step)
    assert runs, "the case must have an earlier episode"
    assert found.step == step and found.verified, f"glassnet {found.step} vs own loop {step}"
    assert found.numbers["episodes"] == runs
    a, b = runs[0]
    assert (f"step {a}" if b == a + 1 else f"steps {a}-{b - 1}") in found.sentence
    assert f"up to step {warned}, the look that warned" in found.sentence
    assert "from now on" not in found.sentence  # nothing said that was not checked


def test_a_unit_killed_by_the_layer_below_says_so():
    # layer 0's weights frozen: unit 0 of layer 1 gets no gradient on the batch of step 5; layer 0's biases move it
    X, y = moons()

    def make() -> gn.Network:
        n = network([2, 16, 8, 1], "relu", 2)
        n.freeze("0.W")
        return n

    net = make()
    quiet_fit(net, X, y, gn.SGD(lr=1.0), 16)
    found = gn.find_break(net, X, y, "dead_relu")

    def look(n: gn.Network, loss: object) -> tuple[np.ndarray, ...]:
        A0 = np.maximum(X @ n.layers[0].params["W"] + n.layers[0].params["b"], 0)
        return (A0 @ n.layers[1].params["W"] + n.layers[1].params["b"], A0, n.layers[0].params["b"].copy(),
                n.layers[1].params["W"].copy(), n.layers[1].params["b"].copy())

    seen = own_loop(make(), X, y, gn.SGD(lr=1.0), 16, look)
    held = [np.all(s[0] <= 0, axis=0).mean() >= 0.25 for s in seen]
    step = onset(held, warned_look(held)[1])
    assert (found.step, found.layer) == (step, 1)
    unit = found.units[0]
    (_, A_then, b0_then, W1_then, b1_then), (_, A_now, b0_now, W1_now, b1_now) = seen[step - 1], seen[step]
    assert np.array_equal(W1_then[:, unit], W1_now[:, unit]) and b1_then[unit] == b1_now[unit]  # its own: unmoved
    assert "did not move its own weights or bias" in found.sentence
    assert f"layer 0 under it by up to {np.max(np.abs(b0_now - b0_then)):.3g}" in found.sentence
    assert f"inputs on the rows checked changed by up to {np.max(np.abs(A_now - A_then)):.3g}" in found.sentence


def test_a_later_step_or_fit_and_a_schedule_are_refused_early_stopping_is_not(relu_run):
    X, y = moons()
    net = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    quiet_fit(net, X, y, gn.SGD(lr=RELU["lr"]), RELU["epochs"])
    net.step(X[:12], y[:12], optimizer=gn.SGD(lr=0.1))
    with pytest.raises(gn.ConfigError, match="network changed since the fit"):
        gn.find_break(net, X, y)
    quiet_fit(net, X, y, gn.SGD(lr=RELU["lr"]), 1, monitor=False)
    with pytest.raises(gn.ConfigError, match="needs a run to replay"):
        gn.find_break(net, X, y)
    scheduled = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    quiet_fit(scheduled, X, y, gn.SGD(lr=RELU["lr"]), RELU["epochs"], callbacks=[gn.StepLR(step_size=4, gamma=0.99)])
    with pytest.raises(gn.ConfigError, match="StepLR"):
        gn.find_break(scheduled, X, y)
    class Slower:  # not a Schedule, yet it changes the learning rate: noticed by the optimizer's settings
        def on_train_begin(self, net: gn.Network, info: dict) -> None:
            self.opt = info["optimizer"]

        def on_epoch_end(self, net: gn.Network, epoch: int, logs: dict) -> None:
            self.opt.lr *= 1.001

    slowed = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    quiet_fit(slowed, X, y, gn.SGD(lr=RELU["lr"]), RELU["epochs"], callbacks=[Slower()])
    with pytest.raises(gn.ConfigError, match="a change of the optimizer's settings during fit \\(lr 0.6 -> "):
        gn.find_break(slowed, X, y)
    stopping = network(RELU["sizes"], RELU["activation"], RELU["seed"])
    quiet_fit(stopping, X, y, gn.SGD(lr=RELU["lr"]), RELU["epochs"],
              callbacks=[gn.EarlyStopping(monitor="loss", patience=100)])
    assert gn.find_break(stopping, X, y).step == relu_run[4].step


def test_the_monitors_own_thresholds_and_a_compact_ledger_for_wide_layers():
    from glassnet.breaks import ledger_neurons
    from glassnet.explain.ledger import estimate_terms
    from glassnet.verify import health

    dead = np.array([True, True, True] + [False] * 5)  # 3 of 8: a quarter or more
    strict = health.HealthMonitor()
    strict.DEAD_SHARE = 0.5  # an instance's own threshold is obeyed
    assert health.layer_condition("dead_relu", dead) and not health.layer_condition("dead_relu", dead, strict.shares())
    # a 784-256-256-10 network, a batch of 50 rows: every layer compact, the concerned units in theirs
    wide = gn.Network.from_sizes([784, 256, 256, 10], activation="relu", loss="cross_entropy", seed=0)
    chosen = ledger_neurons(wide, 1, [7, 9], 50)
    assert chosen is not None and set(chosen) == {1, 2, 3} and 7 in chosen[2]
    assert estimate_terms(wide, 50, {k: set(v) for k, v in chosen.items()}) <= 200_000  # explain's MAX_TERMS


def test_json_on_standard_output_is_json(capsys):
    assert main([*CLI, "--no-ledger", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["condition"] == "dead_relu"
    assert "health warning (dead_relu)" in captured.err
    assert main(["breaks", "--checkpoint", "x.ckpt", "--data", "moons", "--layers", "2,8,1", "--lr", "0.5"]) != 0
    assert "--layers, --lr would be ignored with --checkpoint" in capsys.readouterr().err


def test_breaks_replays_a_glassnet_train_checkpoint_with_a_validation_split_and_standardised_rows(tmp_path, capsys):
    path = str(tmp_path / "run.ckpt")
    rows = ["--data", "moons", "--n", str(N), "--data-seed", "0", "--seed", "3", "--val-split", "0.2", "--standardize"]
    assert main(["train", *rows, "--layers", "2,8,1", "--activation", "relu", "--loss", "mse", "--lr", "0.6",
                 "--batch-size", str(BATCH), "--epochs", "2", "--checkpoint", path, "--no-progress"]) == 0
    capsys.readouterr()
    main(["breaks", *rows, "--checkpoint", path, "--epochs", "8", "--no-ledger"])
    said = capsys.readouterr()
    assert "not the data" not in said.err  # the very rows train gave fit: the same split, standardised the same way
    assert "from epoch 3 to 8" in said.err or "step" in said.out


@pytest.mark.parametrize("epochs, looks_kept", [(1, 0), (4, 2), (5, 3)])
def test_keyframes_copy_no_state_after_the_last_step_and_hash_nothing_when_nothing_fired(epochs, looks_kept,
                                                                                         monkeypatch):
    """The monitor looks at epochs 1, 2, 4, ... : each look before the last epoch keeps a keyframe (a copy of the
    state), the start keeps one, a look at the last epoch none (no step follows it). Without a warning the network is
    not hashed at the end (find_break has nothing to replay), and find_break says that nothing fired."""
    import glassnet.keyframes as keyframes
    from glassnet.verify.health import HealthWarning

    copies = []
    monkeypatch.setattr(keyframes, "capture_state", lambda net, opt, **kw: copies.append(kw) or capture_state(net, opt, **kw))
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 4, 1], "tanh", loss="mse", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HealthWarning)  # this short run must warn of nothing
        net.fit(X, y, epochs=epochs, lr=0.1)
    assert len([kw for kw in copies if kw.get("copy", True)]) == 1 + looks_kept
    record = recording_for(net)
    assert record is not None and record.fired == [] and record.final is None
    with pytest.raises(gn.ConfigError, match="no health warning"):
        gn.find_break(net, X, y)
