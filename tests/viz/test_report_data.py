"""The report's Python side: snapshot recording, run files, the map encoding, the ledger, size, CLI."""

from __future__ import annotations

import base64
import json
import re
import zlib

import numpy as np
import pytest
from sklearn.datasets import make_moons

import glassnet as gn
from glassnet.errors import ConfigError, ModelFileError
from glassnet.io import read, save
from glassnet.viz.ledger import ledger, refs_of
from glassnet.viz.report import grid_points, report_data, write_report
from glassnet.viz.snapshots import Run, SnapshotRecorder, load_run, save_run, snapshot_epochs


def moons_net(sizes=(2, 5, 1), epochs=60, snapshots=20, seed=0):
    X, y = make_moons(60, noise=0.1, random_state=1)
    net = gn.Network.from_sizes(list(sizes), activation="tanh", loss="bce", seed=seed)
    rec = SnapshotRecorder(max_snapshots=snapshots)
    history = net.fit(X, y, epochs=epochs, optimizer="sgd", lr=0.5, callbacks=[rec])
    return net, X, y, rec.run, history


def page_parts(text):
    """The payload (JSON) and the maps (bytes) inlined in a report page."""
    blobs = dict(re.findall(r'<script id="(gn-\w+)" type="application/octet-stream">([^<]*)</script>', text))
    data = json.loads(zlib.decompress(base64.b64decode(blobs["gn-payload"])))
    maps = zlib.decompress(base64.b64decode(blobs["gn-maps"])) if blobs["gn-maps"] else b""
    return data, maps


# ----------------------------------------------------------------- recording
def test_snapshot_epochs_bounded_dense_early_and_complete():
    assert snapshot_epochs(5, 200) == [0, 1, 2, 3, 4, 5]
    chosen = snapshot_epochs(5000, 200)
    assert len(chosen) == 200 and chosen[0] == 0 and chosen[-1] == 5000 and chosen == sorted(set(chosen))
    gaps = np.diff(chosen)
    assert gaps[:20].mean() < gaps[-20:].mean() / 5  # denser early
    assert snapshot_epochs(1000, 1) == [0, 1000]  # first and last always


def test_snapshots_equal_the_parameters_of_a_run_stopped_at_that_epoch():
    """Reference: the same seeded full-batch training stopped at each recorded epoch."""
    net, X, y, run, _ = moons_net(epochs=30, snapshots=7)
    epochs = [e for e, _ in run.snapshots]
    assert epochs == snapshot_epochs(30, 7)
    for epoch, params in run.snapshots:
        ref = gn.Network.from_sizes([2, 5, 1], activation="tanh", loss="bce", seed=0)
        if epoch:
            ref.fit(X, y, epochs=epoch, optimizer="sgd", lr=0.5)
        for key, p in ref.parameters().items():
            np.testing.assert_array_equal(params[key], p, err_msg=f"epoch {epoch} {key}")


def test_curves_thinned_and_last_epoch_kept_when_stopped_early():
    class StopAt:
        def on_epoch_end(self, net, epoch, logs):
            return epoch == 17

    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    rec = SnapshotRecorder(max_snapshots=5)
    history = net.fit(X, y, epochs=100, lr=0.5, callbacks=[rec, StopAt()])
    assert history.stopped == "callback"
    assert rec.run.snapshots[-1][0] == 17 and rec.run.info["stopped"] == "callback"
    assert rec.run.curves["epoch"] == list(range(1, 18)) and rec.run.curves["loss"] == history.loss


def test_run_file_round_trip_is_exact_and_still_a_plain_model(tmp_path):
    net, X, y, run, _ = moons_net()
    path = tmp_path / "run.npz"
    save_run(net, run, path)
    assert "run" not in net.metadata  # the network itself is not changed
    plain = gn.load(path)
    np.testing.assert_array_equal(plain.forward(X), net.forward(X))
    loaded, again = load_run(path)
    assert again is not None and again.curves == run.curves and again.info == run.info
    assert [e for e, _ in again.snapshots] == [e for e, _ in run.snapshots]
    for (_, a), (_, b) in zip(again.snapshots, run.snapshots):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    net.save(tmp_path / "plain.npz")
    assert load_run(tmp_path / "plain.npz")[1] is None


def test_damaged_run_inside_a_model_file_is_reported(tmp_path):
    net, X, y, run, _ = moons_net()
    arrays = run.arrays()
    del arrays["snapshot.1.0.W"]
    net.metadata["run"] = run.metadata()
    save(net, tmp_path / "bad.npz", arrays=arrays)
    with pytest.raises(ModelFileError, match=r"recorded run inside is damaged.*snapshot\.1\.0\.W"):
        load_run(tmp_path / "bad.npz")
    assert gn.load(tmp_path / "bad.npz").n_in == 2  # the model itself still loads


# ----------------------------------------------------------------- maps
def test_maps_decode_to_each_neurons_activation_over_the_grid(tmp_path):
    """Decoded in the test (undo both deltas), each map equals tanh/sigmoid of the layer sums computed here."""
    net, X, y, run, _ = moons_net(snapshots=5)
    path = tmp_path / "r.html"
    write_report(path, net, X, y, run=run, resolution=12)
    data, raw = page_parts(path.read_text())
    R, S, U = 12, len(run.snapshots), 6
    coded = np.frombuffer(raw, dtype=np.uint8).reshape(S, U, R, R).astype(np.int64)
    q = np.cumsum(np.cumsum(coded, axis=3) % 256, axis=0) % 256
    bounds, grid = grid_points(np.asarray(X, dtype=float), R)
    assert data["grid"]["bounds"] == bounds and data["grid"]["resolution"] == R
    assert grid[0].tolist() == [bounds[0], bounds[3]]  # row 0 is the top of the picture
    for k, (_, p) in enumerate(run.snapshots):
        h = np.tanh(grid @ p["0.W"] + p["0.b"])
        out = 1 / (1 + np.exp(-(h @ p["1.W"] + p["1.b"])))
        expected = np.vstack([h.T, out.T])  # (units, points)
        lohi = np.array(data["grid"]["ranges"][k])
        values = lohi[:, :1] + q[k].reshape(U, -1) / 255 * (lohi[:, 1:] - lohi[:, :1])
        tol = (lohi[:, 1:] - lohi[:, :1]) / 510 + 1e-6
        assert np.all(np.abs(values - expected) <= tol), f"snapshot {k}"


def test_a_model_without_run_gives_one_snapshot_and_says_so():
    net, X, y, _, _ = moons_net()
    data, _ = report_data(net, X, y)
    assert data["snapshots"]["epochs"] == [0] and len(data["snapshots"]["params"]) == 1
    assert any("without a recorded run" in n for n in data["notes"])
    assert data["meta"]["recorded"] is False and data["curves"] == {}


def test_inputs_that_are_not_2d_have_no_maps_and_the_page_says_why():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    net = gn.Network.from_sizes([3, 4, 1], loss="bce", seed=0)
    data, maps = report_data(net, X, y)
    assert data["grid"] is None and maps == ""
    assert any("need 2 input features; this data has 3" in n for n in data["notes"])


def test_bad_options_are_refused():
    net, X, y, _, _ = moons_net()
    with pytest.raises(ConfigError, match="resolution must be at least 4"):
        report_data(net, X, y, resolution=2)
    with pytest.raises(ConfigError, match="ledger_samples"):
        report_data(net, X, y, ledger_samples=0)


# ----------------------------------------------------------------- ledger
def worked_example():
    """2-2-1 sigmoid, mse, one SGD step with lr 0.5, and every number of it computed here from the formulas."""
    W1, b1, W2, b2 = np.array([[0.15, 0.25], [0.2, 0.3]]), np.array([0.35, 0.35]), np.array([[0.4], [0.5]]), np.array([0.6])
    net = gn.Network([gn.Dense(2, 2, "sigmoid", init=(W1, b1)), gn.Dense(2, 1, "sigmoid", init=(W2, b2))], loss="mse")
    x, t = np.array([[0.05, 0.1]]), np.array([[0.01]])
    s = lambda z: 1 / (1 + np.exp(-z))
    z1 = x[0] @ W1 + b1
    a1 = s(z1)
    z2 = a1 @ W2 + b2
    a2 = s(z2)
    d2 = 2 * (a2 - t[0]) * a2 * (1 - a2)
    d1 = (W2 @ d2) * a1 * (1 - a1)
    hand = {"z^(1)_1": z1[0], "z^(1)_2": z1[1], "a^(1)_2": a1[1], "z^(2)_1": z2[0], "a^(2)_1": a2[0],
            "L": (a2[0] - 0.01) ** 2, "delta^(2)_1": d2[0], "delta^(1)_1": d1[0], "delta^(1)_2": d1[1],
            "dL/dw^(1)_{2,1}": x[0, 1] * d1[0], "dL/dw^(2)_{1,1}": a1[0] * d2[0], "dL/db^(1)_2": d1[1],
            "w^(1)_{2,1}": W1[1, 0] - 0.5 * x[0, 1] * d1[0], "b^(2)_1": b2[0] - 0.5 * d2[0]}
    return net, x, t, hand, (z1, a1, a2, d1, d2)


def test_the_page_ledger_of_a_worked_example_has_the_numbers_computed_by_hand():
    net, x, t, hand, (z1, a1, a2, d1, d2) = worked_example()
    entry = ledger(gn.explain(net, x, t, optimizer=gn.SGD(0.5)).to_dict())
    values = {r["symbol"]: r["value"] for r in entry["records"]}
    for symbol, value in hand.items():
        assert values[symbol] == pytest.approx(value, rel=1e-12, abs=1e-15), symbol
    sections = [r["section"] for r in entry["records"]]
    assert sections.index("loss") < sections.index("backward") < sections.index("gradient") < sections.index("update")
    z = next(r for r in entry["records"] if r["symbol"] == "z^(1)_1")
    assert z["expr"] == "w^(1)_{1,1}*a^(0)_1 + w^(1)_{2,1}*a^(0)_2 + b^(1)_1 = 0.15*0.05 + 0.2*0.1 + 0.35"
    assert z["refs"] == ["n1_0", "e1_0_0", "n0_0", "e1_1_0", "n0_1"]
    update = next(r for r in entry["records"] if r["symbol"] == "w^(1)_{2,1}" and r["section"] == "update")
    assert update["op"] == "<-" and update["refs"] == ["e1_1_0"]
    # What the diagram's tooltips show, per neuron and per edge.
    assert entry["neurons"]["n1_1"] == pytest.approx({"z": z1[1], "a": a1[1], "delta": d1[1], "grad_b": d1[1],
                                                       "new_b": 0.35 - 0.5 * d1[1]}, rel=1e-12)
    assert entry["edges"]["e2_0_0"] == pytest.approx({"grad": a1[0] * d2[0], "new": 0.4 - 0.5 * a1[0] * d2[0]}, rel=1e-12)
    assert entry["inputs"] == [0.05, 0.1] and entry["loss"] == pytest.approx(hand["L"], rel=1e-12)
    assert entry["params"] == {}  # Dense's weights and biases are all in the edges and neurons


def test_the_report_ledger_is_the_full_trace_without_latex():
    net, X, y, run, _ = moons_net(sizes=(2, 3, 2, 1))
    Y = net._targets(y[:1], 1)
    for optimizer in (gn.SGD(0.5, momentum=0.9), gn.Adam(0.01)):
        trace = gn.explain(net, X[:1], Y, optimizer=optimizer)
        lean, full = trace.to_dict(latex=False), trace.to_dict()
        assert {k: v for k, v in lean.items() if k != "records"} == {k: v for k, v in full.items() if k != "records"}
        assert len(lean["records"]) == len(full["records"]) > 40
        for mine, theirs in zip(lean["records"], full["records"]):
            assert mine == {k: theirs[k] for k in mine}
            assert set(theirs) - set(mine) == {"latex", "latex_symbol"}
        assert ledger(lean) == ledger(full)
    # The page's ledger at the last snapshot is the ledger of explain's trace of the final network.
    page = report_data(net, X, y, run=run, ledger_samples=2)[0]["ledgers"]
    assert page["snapshots"][-1] == len(run.snapshots) - 1 and len(page["samples"]) == 2
    for sample, entry in zip(page["samples"], page["traces"][-1]):
        s = sample["index"]
        assert entry == ledger(gn.explain(net, X[s:s + 1], y[s:s + 1], optimizer=gn.SGD(0.5)).to_dict())


def test_refs_name_the_diagram_elements_of_each_symbol():
    assert refs_of("z^(1)_2 = w^(1)_{1,2} x_1 + w^(1)_{2,2} x_2 + b^(1)_2") == ["n1_1", "e1_0_1", "n0_0", "e1_1_1", "n0_1"]
    assert refs_of("delta^(1)_1 = (w^(2)_{1,1}*delta^(2)_1) * tanh'(z^(1)_1)") == ["n1_0", "e2_0_0", "n2_0"]
    assert refs_of("L = -(1/1) * sum_j (y_j*log(a^(2)_j))") == []
    assert refs_of("v[b^(2)_1] <- dL/db^(2)_1 = -0.43") == ["n2_0"]


# ----------------------------------------------------------------- gradient check and health warnings
def test_gradcheck_section_passes_for_the_engine_and_fails_for_a_broken_backward():
    net, X, y, run, _ = moons_net()
    good = report_data(net, X, y, run=run)[0]["gradcheck"]
    assert good["ok"] is True and [r[0] for r in good["rows"]] == ["0.W", "0.b", "1.W", "1.b"]
    assert good["columns"][:2] == ["parameter", "verdict"] and all(good["passed"])
    rel = good["columns"].index("rel_error")
    assert all(r[rel] <= 1e-7 for r in good["rows"])

    class DoubledBias(gn.Dense):  # a bias gradient twice too large: the check must say so for "0.b" only
        def backward_from_dZ(self, dZ):
            dX = super().backward_from_dZ(dZ)
            self.grads["b"] = 2 * self.grads["b"]
            return dX

    broken = gn.Network([DoubledBias(2, 5, "tanh"), gn.Dense(5, 1, "sigmoid")], loss="bce")
    broken.set_parameters(net.parameters())
    net = broken
    bad = report_data(net, X, y, run=run)[0]["gradcheck"]
    assert bad["ok"] is False
    verdicts = {r[0]: (r[1], ok) for r, ok in zip(bad["rows"], bad["passed"])}
    assert verdicts["0.b"] == ("wrong", False) and verdicts["0.W"][1] and verdicts["1.W"][1] and verdicts["1.b"][1]


def test_health_warnings_are_recorded_and_still_shown():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    rec = SnapshotRecorder(max_snapshots=5)
    with pytest.warns(UserWarning, match="learning rate"), rec.catching_warnings():
        net.fit(X, y, epochs=20, lr=50.0, callbacks=[rec])
    checks = [w["check"] for w in rec.run.info["warnings"]]
    assert "update_ratio" in checks
    data, _ = report_data(net, X, y, run=rec.run)
    assert data["warnings_recorded"] and any("learning rate" in w["message"] for w in data["warnings"])
    quiet = SnapshotRecorder(max_snapshots=5)
    with quiet.catching_warnings():
        gn.Network.from_sizes([2, 3, 1], seed=0).fit(X, y, epochs=3, lr=0.5, callbacks=[quiet], monitor=False)
    assert quiet.run.info["warnings"] == []


# ----------------------------------------------------------------- size and CLI
def test_a_2_16_16_1_moons_report_with_200_snapshots_is_under_5_mb(tmp_path):
    X, y = make_moons(200, noise=0.15, random_state=0)
    net = gn.Network.from_sizes([2, 16, 16, 1], activation="tanh", loss="bce", seed=0)
    rec = SnapshotRecorder(max_snapshots=200)
    net.fit(X, y, epochs=400, optimizer="adam", lr=0.02, callbacks=[rec])
    assert len(rec.run.snapshots) == 200
    size = write_report(tmp_path / "moons.html", net, X, y, run=rec.run, data_name="moons")
    assert size == (tmp_path / "moons.html").stat().st_size < 5_000_000
    data, _ = page_parts((tmp_path / "moons.html").read_text())
    assert len(data["snapshots"]["params"]) == 200 and len(data["grid"]["snapshots"]) == 200
    assert any("200 of the 401 epochs" in n for n in data["notes"])  # the page says what was subsampled


def test_size_budgets_thin_what_is_stored_and_the_page_says_so():
    net, X, y, run, _ = moons_net(snapshots=20)
    full, _ = report_data(net, X, y, run=run)
    assert len(full["snapshots"]["epochs"]) == 20 and full["grid"]["resolution"] == 32
    assert len(full["ledgers"]["snapshots"]) == 6 and len(full["ledgers"]["samples"]) == 4
    data, maps = report_data(net, X, y, run=run, max_param_bytes=2500, max_map_bytes=3000, max_ledger_bytes=20000)
    shown = data["snapshots"]["epochs"]
    assert 2 <= len(shown) < 20 and shown[0] == 0 and shown[-1] == 60
    assert len(maps) <= 3000 or len(data["grid"]["snapshots"]) < len(shown)
    assert data["grid"]["resolution"] < 32
    assert len(data["ledgers"]["snapshots"]) * len(data["ledgers"]["samples"]) < 24
    notes = " ".join(data["notes"])
    for said in (f"The page shows {len(shown)} of those 20 snapshots", "Maps are drawn at", "Ledgers were kept for"):
        assert said in notes


def test_cli_train_report_then_report_from_the_run_and_from_a_plain_model(cli, tmp_path):
    out, page = tmp_path / "run.npz", tmp_path / "train.html"
    code, stdout, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "300", "--lr", "0.5",
                            "--out", str(out), "--report", str(page), "--snapshots", "30", "--print-every", "0")
    assert code == 0, err
    assert "recorded run (30 snapshots) added to" in stdout and "report written to" in stdout
    data, _ = page_parts(page.read_text())
    assert len(data["snapshots"]["epochs"]) == 30 and data["meta"]["data"] == "xor"
    assert data["warnings_recorded"] is True
    meta, arrays = read(out)
    assert "snapshot.29.1.b" in arrays
    code, stdout, err = cli("report", str(out), "--data", "xor", "-o", str(tmp_path / "again.html"))
    assert code == 0, err
    assert "with 30 snapshots" in stdout
    again, _ = page_parts((tmp_path / "again.html").read_text())
    assert again["snapshots"] == data["snapshots"] and again["ledgers"]["traces"] == data["ledgers"]["traces"]
    cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "5", "--out", str(tmp_path / "m.npz"), "--print-every", "0")
    code, stdout, err = cli("report", str(tmp_path / "m.npz"), "--data", "xor", "-o", str(tmp_path / "m.html"))
    assert code == 0 and "one snapshot (a plain model: no recorded run)" in stdout


def test_cli_report_of_a_standardised_moons_run_with_validation(cli, tmp_path):
    page, run = tmp_path / "m.html", tmp_path / "m.npz"
    code, stdout, err = cli("train", "--data", "moons", "--layers", "2,8,1", "--loss", "bce", "--activation", "tanh",
                            "--epochs", "40", "--val-split", "0.25", "--standardize", "--out", str(run),
                            "--report", str(page), "--snapshots", "10", "--print-every", "0")
    assert code == 0, err
    data, _ = page_parts(page.read_text())
    assert len(data["curves"]["val_loss"]) == len(data["curves"]["loss"]) == 40
    X = np.array(data["points"]["X"])
    assert data["meta"]["n_samples"] == len(X) < 200 and np.allclose(X.mean(axis=0), 0, atol=1e-9)  # training rows, standardised
    assert any("standardised" in n for n in data["notes"])
    code, stdout, err = cli("report", str(run), "--data", "moons", "-o", str(tmp_path / "again.html"))
    assert code == 0, err
    again, _ = page_parts((tmp_path / "again.html").read_text())
    assert np.allclose(np.array(again["points"]["X"]).std(axis=0), 1, atol=0.2)  # the same standardisation applied


def test_cli_errors_are_one_clear_line(cli, tmp_path):
    missing = str(tmp_path / "no" / "r.html")
    code, _, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "5", "--report", missing)
    assert code == 2 and "folder" in err and "does not exist" in err
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--report", str(tmp_path / "r.html"), "--resolution", "3")
    assert code == 2 and "resolution must be at least 4" in err and "done" not in out  # refused before training
    cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "5", "--out", str(tmp_path / "m.npz"), "--print-every", "0")
    csv = tmp_path / "three.csv"
    csv.write_text("a,b,c,y\n0,0,0,0\n1,1,1,1\n")
    code, _, err = cli("report", str(tmp_path / "m.npz"), "--data", str(csv), "-o", str(tmp_path / "x.html"))
    assert code == 2 and "expects 2 feature column(s)" in err
    code, _, err = cli("report", str(tmp_path / "missing.npz"), "--data", "xor")
    assert code == 2 and "does not exist" in err


def test_empty_run_is_refused():
    net, X, y, _, _ = moons_net()
    with pytest.raises(ConfigError, match="no snapshots"):
        report_data(net, X, y, run=Run())


def test_the_readme_example_runs(tmp_path, monkeypatch):
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text.split("## The training report", 1)[1].split("\n## ", 1)[0]  # up to the next section
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(block.replace("epochs=1000", "epochs=30"), "README.md", "exec"), {})  # fewer epochs: a fast test
    data, _ = page_parts((tmp_path / "report.html").read_text())
    assert data["meta"]["sizes"] == [2, 16, 16, 1] and len(data["snapshots"]["epochs"]) == 31
    assert len(load_run(tmp_path / "run.npz")[1].snapshots) == 31


# ----------------------------------------------------------------- any part, any layer
def _offset_layer():
    """A layer of the test's own, with no activation: the page must not assume Dense."""
    from tests.custom_parts import Shift

    return Shift(2)


def test_report_of_a_network_with_an_own_layer_gelu_and_huber():
    """No activation on a layer, an activation and a loss the page has never heard of by name: it still works,
    coloured from what the activation's own forward gives (centre at z = 0, range when bounded)."""
    from glassnet.core.losses import Huber

    X, y = make_moons(40, noise=0.1, random_state=1)
    net = gn.Network([_offset_layer(), gn.Dense(2, 4, "gelu"), gn.Dense(4, 1, "sigmoid")], loss=Huber(0.2), seed=0)
    rec = SnapshotRecorder(max_snapshots=4)
    net.fit(X, y, epochs=4, optimizer="rmsprop", lr=0.01, callbacks=[rec], monitor=False)
    data, _ = report_data(net, X, y, run=rec.run, resolution=8, ledger_samples=1, ledger_snapshots=1)
    meta = data["meta"]
    assert meta["activations"] == ["Shift", "gelu", "sigmoid"] and meta["loss"] == "huber"
    assert meta["outputs"] == [{"centre": 0.0, "bounds": None}, {"centre": 0.0, "bounds": None},
                               {"centre": 0.5, "bounds": [0.0, 1.0]}]
    assert data["grid"]["units"] == [["Shift", 2], ["gelu", 4], ["sigmoid", 1]]
    assert list(data["snapshots"]["params"][0][0]) == ["t"]  # each layer's own parameter names
    assert [layer["weights"] for layer in meta["layers"]] == [False, True, True] and meta["n_params"] == 2 + 12 + 5
    assert data["gradcheck"]["ok"]
    assert rec.run.info["optimizer"]["name"] == "rmsprop"
    entry = data["ledgers"]["traces"][-1][0]  # the shift t by its name, not as a bias of layer 1
    assert set(entry["params"]) == {"0.t"} and all("grad_b" not in entry["neurons"].get(f"n1_{j}", {}) for j in range(2))


def test_the_page_never_takes_a_layers_own_parameters_for_weights_or_biases():
    """A layer of one's own that calls a per-unit scale ``W`` (not a matrix) and has a scalar gain ``g``: the page
    shows both by name (the ledger's gradients against net.gradients), draws edges only for Dense's weights."""
    from glassnet.core.layers import Layer
    from glassnet.viz.ledger import weights_and_biases
    from glassnet.viz.report import render_html

    class Gain(Layer):
        """``a_j = g * W_j * x_j``."""

        name = "gain_for_report"

        def __init__(self, n: int) -> None:
            super().__init__()
            self.n_in = self.n_out = n

        def initialize(self, rng, dtype=np.float64):
            self.params = {"W": rng.uniform(0.5, 1.5, self.n_in).astype(dtype), "g": np.array(1.0, dtype)}
            self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

        def forward(self, X):
            self.cache = {"X": X, "A": self.params["g"] * self.params["W"] * X}
            return self.cache["A"]

        def backward(self, dA):
            X, W, g = self.cache["X"], self.params["W"], self.params["g"]
            self.grads = {"W": g * (dA * X).sum(axis=0), "g": np.array((dA * W * X).sum())}
            return dA * g * W

        def config(self):
            return {"name": self.name, "n": self.n_in}

    assert weights_and_biases({"W": (2, 3), "b": (3,)}, 2, 3)
    assert not weights_and_biases({"W": (3,), "b": (3,)}, 3, 3) and not weights_and_biases({"W": (2, 3)}, 2, 3)
    X, y = make_moons(30, noise=0.1, random_state=2)
    net = gn.Network([gn.Dense(2, 3, "tanh"), Gain(3), gn.Dense(3, 1, "sigmoid")], loss="bce", seed=1)
    rec = SnapshotRecorder(max_snapshots=3)
    net.fit(X, y, epochs=3, optimizer="sgd", lr=0.5, callbacks=[rec], monitor=False)
    data, maps = report_data(net, X, y, run=rec.run, resolution=6, ledger_samples=1, ledger_snapshots=1)
    assert [layer["weights"] for layer in data["meta"]["layers"]] == [True, False, True]
    assert data["meta"]["layers"][1]["params"] == ["W", "g"] and data["meta"]["n_params"] == 9 + 4 + 4
    table = data["snapshots"]["params"][-1][1]
    assert table["g"] == pytest.approx(float(net.parameters()["1.g"]), rel=1e-8) and len(table["W"]) == 3
    entry = data["ledgers"]["traces"][-1][0]
    s = data["ledgers"]["samples"][0]["index"]
    grads = net.gradients(X[s:s + 1], y[s:s + 1])
    assert set(entry["params"]) == {"1.W", "1.g"}
    np.testing.assert_allclose(entry["params"]["1.W"]["grad"], grads["1.W"], rtol=1e-12)
    assert entry["params"]["1.g"]["new"] == pytest.approx(float(net.parameters()["1.g"] - 0.5 * grads["1.g"]), rel=1e-12)
    assert {key.split("_")[0] for key in entry["edges"]} == {"e1", "e3"}  # Dense's weights only
    assert all("grad_b" not in entry["neurons"].get(f"n2_{j}", {}) for j in range(3))
    assert entry["neurons"]["n1_0"]["grad_b"] == pytest.approx(grads["0.b"][0], rel=1e-12)
    assert "glassnet report" in render_html(data, maps)  # every number is plain JSON
