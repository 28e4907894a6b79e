"""Inside training: per-layer gradient norms and update ratios (verify/inside.py), their warnings, plot and file."""

import math
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.core import fast
from glassnet.core.layers import Dense
from glassnet.verify import inside
from glassnet.verify.health import HealthWarning
from glassnet.verify.inside import LayerStatsRecorder


def _fit(net, X, y, **kwargs):
    """``net.fit`` with every health warning caught: ``({check: warning}, history)`` (history None on divergence)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history = net.fit(X, y, **kwargs)
        except gn.TrainingDiverged:
            history = None
    return {w.message.check: w.message for w in caught if issubclass(w.category, HealthWarning)}, history


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, :1] - 0.5 * X[:, 1:2] > 0).astype(float)


# ----------------------------------------------------------------- the numbers themselves
def test_one_step_worked_by_hand():
    """Dense(2 -> 1, identity), W = [1, 2], b = 0, mse on X = [[1, 1], [2, 0]], y = [0, 1], SGD lr 0.1.

    Z = [3, 2]; dA = 2 (A - y) / 2 = [3, 1]; dW = X^T dA = [5, 3]; db = 4. So ||dW|| = sqrt(34), ||db|| = 4 and the
    layer's sqrt(34 + 16) = sqrt(50). The step moves W by 0.1 [5, 3] and b by 0.4: W's ratio is 0.1 sqrt(34) / sqrt(5),
    b's is inf (b was 0 and moved), the layer's 0.1 sqrt(50) / sqrt(5) = 0.1 sqrt(10).
    """
    net = gn.Network([Dense(2, 1, "identity", init=([[1.0], [2.0]], [0.0]))], loss="mse")
    recorder = LayerStatsRecorder()
    history = net.fit([[1.0, 1.0], [2.0, 0.0]], [0.0, 1.0], epochs=1, lr=0.1, callbacks=[recorder], monitor=False)
    layers = history.layers
    assert layers["step"] == [1] and layers["epoch"] == [1] and (layers["every"], layers["first"]) == (8, 8)
    assert layers["loss"] == [pytest.approx(5.0)]  # (9 + 1) / 2
    assert layers["grad_norm"]["0.W"] == [pytest.approx(math.sqrt(34), rel=1e-12)]
    assert layers["grad_norm"]["0.b"] == [pytest.approx(4.0, rel=1e-12)]
    assert layers["grad_norm"]["0"] == [pytest.approx(math.sqrt(50), rel=1e-12)]
    assert layers["update_ratio"]["0.W"] == [pytest.approx(0.1 * math.sqrt(34) / math.sqrt(5), rel=1e-12)]
    assert layers["update_ratio"]["0.b"] == [math.inf]
    assert layers["update_ratio"]["0"] == [pytest.approx(0.1 * math.sqrt(10), rel=1e-12)]
    assert list(layers["grad_norm"]) == ["0", "0.W", "0.b"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_recorded_norms_equal_a_readable_rerun_of_every_step(optimizer, monkeypatch):
    """fit (fast path, mini-batches, L2) with a recorder every 3rd step, against the same steps re-run one by one on
    the readable path, each norm taken there with np.linalg.norm."""
    X, y = _data()
    build = lambda: gn.Network([Dense(3, 5, "tanh"), Dense(5, 4, "relu"), Dense(4, 1, "sigmoid")], loss="bce",
                               l2=0.01, seed=3)
    make = lambda: gn.SGD(0.3, momentum=0.9) if optimizer == "sgd" else gn.Adam(0.01)
    net = build()
    history = net.fit(X, y, epochs=10, optimizer=make(), batch_size=5, shuffle=False,
                      callbacks=[LayerStatsRecorder(every=3)], monitor=False)
    layers = history.layers
    assert layers["step"] == [1, *range(3, 41, 3)] and history.steps == 40

    monkeypatch.setattr(fast, "enabled", False)  # the readable Network._step, and gradients() computed apart
    twin, opt = build(), make()
    expected = {"grad_norm": {}, "update_ratio": {}, "loss": []}
    for step in range(1, 41):
        rows = slice(5 * ((step - 1) % 4), 5 * ((step - 1) % 4) + 5)
        before = {k: p.copy() for k, p in twin.parameters().items()}
        grads = twin.gradients(X[rows], y[rows])
        loss = twin.step(X[rows], y[rows], opt)
        if step in layers["step"]:
            expected["loss"].append(loss)
            for i in range(3):
                keys = [f"{i}.W", f"{i}.b"]
                change = {k: twin.parameters()[k] - before[k] for k in keys}
                for k in keys:
                    expected["grad_norm"].setdefault(k, []).append(np.linalg.norm(grads[k]))
                    expected["update_ratio"].setdefault(k, []).append(np.linalg.norm(change[k]) / np.linalg.norm(before[k])
                                                                      if np.any(before[k]) else np.inf)
                whole = lambda arrays: np.linalg.norm(np.concatenate([arrays[k].ravel() for k in keys]))
                expected["grad_norm"].setdefault(f"{i}", []).append(whole(grads))
                expected["update_ratio"].setdefault(f"{i}", []).append(whole(change) / whole(before))
    np.testing.assert_allclose(layers["loss"], expected["loss"], rtol=1e-10)
    for field in ("grad_norm", "update_ratio"):
        assert set(layers[field]) == set(expected[field])
        for key, values in expected[field].items():
            np.testing.assert_allclose(layers[field][key], values, rtol=1e-10, err_msg=f"{field} {key}: glassnet vs rerun")


@pytest.mark.parametrize("size", [1, 7, 1000, 100_000])
@pytest.mark.parametrize("scale", [1.0, 1e-30, 1e25])
def test_float32_norms_are_taken_in_float32_to_within_its_rounding(size, scale):
    """A float32 array's length is summed in float32 (no float64 copy), with the squares that would underflow
    (entries near 1e-30) or overflow (1e25) rescaled. Reference: the float64 length of the same float32 values. The
    tolerance 2e-5: each square and each addition round to float32 (eps 1.2e-7); even a left-to-right sum of 100k
    squares of random numbers errs by about 1.5e-5 (half that in the length), BLAS's partial sums far less."""
    v = (np.random.default_rng(size).standard_normal(size) * scale).astype(np.float32)
    expected = np.linalg.norm(v.astype(np.float64))
    assert inside.norm(v) == pytest.approx(expected, rel=2e-5), f"glassnet {inside.norm(v)!r} vs float64 {expected!r}"
    assert inside.norm(v.reshape(-1, 1)[::-1]) == pytest.approx(expected, rel=2e-5)  # any shape, not contiguous


@pytest.mark.parametrize("scale", [1.0, 1e-200, 1e200])
def test_float64_norms_of_large_arrays_summed_in_pieces_match_numpy(scale):
    v = np.random.default_rng(1).standard_normal(3 * inside._PIECE + 5) * scale
    expected = np.linalg.norm(v / scale) * scale  # numpy's own would under- or overflow at these scales
    assert inside.norm(v) == pytest.approx(expected, rel=1e-12)
    assert inside.norm(np.zeros(20_000)) == 0.0 and inside.norm(np.array([1.0, np.inf])) == math.inf
    assert math.isnan(inside.norm(np.array([1.0, np.nan], dtype=np.float32)))


def test_a_float32_network_records_its_first_gradient_norms():
    """The recorder on a float32 fit: step 1's gradient norms against the float64 length of the readable path's
    gradients at the same parameters (computed apart: they differ from the fast path's by float32 rounding)."""
    X, y = _data(32)
    build = lambda: gn.Network([Dense(3, 64, "relu"), Dense(64, 1, "sigmoid")], loss="bce", seed=2, dtype="float32")
    grads = build().gradients(X.astype(np.float32), y.astype(np.float32))
    history = build().fit(X.astype(np.float32), y, epochs=1, optimizer="adam", lr=0.01,
                          callbacks=[LayerStatsRecorder()], monitor=False)
    for key, g in grads.items():
        expected = np.linalg.norm(g.astype(np.float64))
        assert history.layers["grad_norm"][key][0] == pytest.approx(expected, rel=1e-4), f"{key}: glassnet vs float64"


@pytest.mark.parametrize("epochs, batch_size, count", [
    (1, None, 1), (5, None, 5), (50, None, 13),  # 1-8, 16, 24, 32, 40, 48
    (199, None, 31), (799, None, 106), (800, None, 107),  # 1-8 and the 99 (or 100) multiples of 8 above 8
    (1000, None, 108), (40, 3, 27),  # 160 steps: 1-8 and 16, ..., 160; (3000, None, 108): every 30th
    (3000, None, 108)])
def test_sampling_keeps_the_first_8_steps_then_one_in_8_or_fewer_and_at_most_120(epochs, batch_size, count):
    X, y = gn.datasets.xor()
    X, y = np.tile(X, (3, 1)), np.tile(y, 3)  # 12 rows: batches of 3 give 4 steps an epoch
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HealthWarning)  # short runs of XOR sit on its plateau: "stuck"
        history = net.fit(X, y, epochs=epochs, lr=0.5, batch_size=batch_size)
    steps = history.layers["step"]
    assert steps[0] == 1 and steps == sorted(set(steps)) and steps[-1] <= history.steps
    assert len(steps) == count and steps[:min(8, history.steps)] == list(range(1, min(8, history.steps) + 1))
    every = history.layers["every"]
    assert every == max(8, history.steps // 100) and all(s % every == 0 for s in steps[8:])
    assert (100 <= len(steps) <= 120) if history.steps >= 800 else len(steps) <= 8 + history.steps // 8
    assert all(len(v) == len(steps) for field in ("grad_norm", "update_ratio") for v in history.layers[field].values())


@pytest.mark.parametrize("readable", [False, True])
def test_training_is_bit_identical_with_and_without_the_recorder(readable, monkeypatch):
    monkeypatch.setattr(fast, "enabled", not readable)
    X, y = _data(40)
    runs = []
    for callbacks, monitor in (([], False), ([LayerStatsRecorder(every=1)], True), ([], True)):
        net = gn.Network([Dense(3, 6, "tanh"), Dense(6, 1, "sigmoid")], loss="bce", seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HealthWarning)
            history = net.fit(X, y, epochs=15, optimizer="adam", lr=0.01, batch_size=8, callbacks=callbacks,
                              monitor=monitor)
        runs.append((history.loss, {k: p.copy() for k, p in net.parameters().items()}, net.layers[0].cache["Z"].copy()))
    for loss, params, Z in runs[1:]:
        assert loss == runs[0][0]
        assert all(np.array_equal(params[k], runs[0][1][k]) for k in params)
        assert np.array_equal(Z, runs[0][2])
    assert LayerStatsRecorder.observes_only


def test_the_default_recorder_steps_aside_for_the_users_own_and_monitor_false_records_nothing():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
    mine = LayerStatsRecorder(every=7)
    history = net.fit(X, y, epochs=30, lr=0.5, callbacks=[mine])
    assert history.layers["every"] == 7 and history.layers["step"] == [1, 7, 14, 21, 28]
    assert inside.recorder_for(net) is None  # let go when training ended
    assert net.fit(X, y, epochs=3, lr=0.5, monitor=False).layers == {}
    assert net.fit(X, y, epochs=3, lr=0.5, monitor=False, callbacks=[LayerStatsRecorder()]).layers["step"] == [1, 2, 3]
    assert "layers" in history.to_dict() and history.to_dict()["layers"] is not history.layers


@pytest.mark.parametrize("every, error", [(0, gn.ConfigError), (2.5, gn.GlassnetTypeError), (True, gn.GlassnetTypeError)])
def test_a_bad_every_is_refused_with_a_clear_error(every, error):
    with pytest.raises(error, match="LayerStatsRecorder every must be a positive integer"):
        LayerStatsRecorder(every=every)


# ----------------------------------------------------------------- the warnings that point to them
def test_deep_sigmoid_stack_warns_of_vanishing_gradients_naming_the_layer():
    X, y = _data(64)
    net = gn.Network.from_sizes([3] + [16] * 10 + [1], activation="sigmoid", loss="mse", seed=0)
    found, history = _fit(net, X, y, epochs=20, lr=0.1)
    warning = found["vanishing"]
    first, top = history.layers["grad_norm"]["0"][0], history.layers["grad_norm"]["10"][0]
    assert first < 1e-4 * top  # the condition, in the record itself
    assert "layer 0 (Dense(3 -> 16, sigmoid))" in str(warning) and "last layer 10" in str(warning)
    assert f"{first:.2e}" in str(warning) and inside.SEE in str(warning)


def test_huge_initial_weights_warn_of_exploding_gradients_with_the_numbers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    W1, W2 = rng.normal(size=(4, 8)) * 3, rng.normal(size=(8, 1)) * 3
    net = gn.Network([Dense(4, 8, "identity", init=(W1, np.zeros(8))), Dense(8, 1, "identity", init=(W2, np.zeros(1)))],
                     loss="mse", seed=0)
    found, _ = _fit(net, X, X[:, 0], epochs=40, lr=0.05)  # diverges at epoch 7: the warning still comes
    warning = found["exploding"]
    assert "grew from" in str(warning) and "while the loss rose" in str(warning) and inside.SEE in str(warning)
    assert "lower the learning rate" in warning.suggestion


def test_tiny_learning_rate_warns_of_small_update_ratios_naming_the_layer():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=0)
    found, history = _fit(net, X, y, epochs=64, lr=1e-9)
    warning = found["update_ratio"]
    assert "0.W of layer 0 (Dense(2 -> 3, tanh))" in str(warning) and "raise the learning rate" in str(warning)
    assert f"{history.layers['update_ratio']['0.W'][0]:.1e}" in str(warning) and inside.SEE in str(warning)


def test_dead_units_warning_points_to_the_record():
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(32, 3)))
    W = np.abs(rng.normal(size=(3, 4)))
    W[:, 1] *= -1
    net = gn.Network([Dense(3, 4, "relu", init=(W, np.zeros(4))), Dense(4, 1, "identity")], loss="mse", seed=0)
    found, _ = _fit(net, X, X.sum(axis=1), epochs=2, lr=0.01)
    assert "units [1]" in str(found["dead_relu"]) and "its gradient norm at step" in str(found["dead_relu"])
    assert inside.SEE in str(found["dead_relu"])


def test_healthy_xor_run_warns_of_nothing_inside():
    X, y = gn.datasets.xor()
    net = gn.Network([Dense(2, 3, "sigmoid"), Dense(3, 1, "sigmoid")], loss="mse", seed=0)
    found, history = _fit(net, X, y, epochs=5000, lr=0.5)
    assert found == {} and len(history.layers["step"]) == 108  # 1-8 and the 100 multiples of 50 up to 5000


# ----------------------------------------------------------------- the figure and the file
def test_plot_layer_stats_draws_one_line_per_layer_in_each_panel():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    X, y = _data(30)
    net = gn.Network([Dense(3, 5, "tanh"), Dense(5, 4, "tanh"), Dense(4, 1, "sigmoid")], loss="bce", seed=0)
    history = net.fit(X, y, epochs=50, lr=0.5)
    for source in (history, history.to_dict(), history.layers):
        fig = gn.plot_layer_stats(source)
        FigureCanvasAgg(fig).draw()  # renders with Agg
        grad, ratio = fig.axes
        assert len(grad.lines) == 3 and [line.get_label() for line in grad.lines] == ["layer 0", "layer 1", "layer 2"]
        assert len(ratio.lines) == 3 + 1  # and the dotted 1e-3 line over the shaded band
        assert grad.get_yscale() == ratio.get_yscale() == "log"
        np.testing.assert_array_equal(grad.lines[1].get_xdata(), history.layers["step"])
        np.testing.assert_array_equal(grad.lines[1].get_ydata(), history.layers["grad_norm"]["1"])
    from matplotlib.figure import Figure

    mine = Figure()
    axes = (mine.add_subplot(2, 1, 1), mine.add_subplot(2, 1, 2))
    assert gn.plot_layer_stats(history, ax=axes) is mine and len(axes[0].lines) == 3  # drawn into the axes given
    with pytest.raises(gn.GlassnetTypeError, match="ax must be a pair of axes"):
        gn.plot_layer_stats(history, ax=axes[0])
    with pytest.raises(gn.DataError, match="no layer statistics"):
        gn.plot_layer_stats(net.fit(X, y, epochs=2, monitor=False))


def test_history_layers_round_trip_through_a_model_file(tmp_path):
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
    history = net.fit(X, y, epochs=300, lr=0.5)
    net.metadata["history"] = history.to_dict()
    net.save(tmp_path / "m.npz")
    back = gn.load(tmp_path / "m.npz").metadata["history"]["layers"]
    assert back == history.layers
    assert back["update_ratio"]["0.b"][0] == math.inf  # b started at 0: JSON keeps the infinity
    assert len(gn.plot_layer_stats(gn.load(tmp_path / "m.npz").metadata["history"]).axes[0].lines) == 2


@pytest.mark.parametrize("damage, words", [
    (lambda r: r.update(step="1, 2"), "'step' must be a list of whole numbers"),
    (lambda r: r["grad_norm"]["0.W"].pop(), "has 3 values for 4 steps"),
    (lambda r: r["update_ratio"].update({"0.W": ["x"] * 4}), "must be a list of numbers"),
    (lambda r: r.update(first="8"), "'first' must be a whole number"),
    (lambda r: r.update(every=0), "'every' must be a whole number of at least 1"),
])
def test_a_damaged_layers_record_is_refused_on_save_saying_what_is_wrong(tmp_path, damage, words):
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
    history = net.fit(X, y, epochs=4, lr=0.5)
    record = history.to_dict()
    damage(record["layers"])
    net.metadata["history"] = record
    with pytest.raises(gn.GlassnetError, match=r"history.*'layers'.*" + words.replace("(", r"\(").replace(")", r"\)")):
        net.save(tmp_path / "m.npz")


def test_glassnet_plot_kind_layers_draws_the_saved_record(tmp_path, cli):
    model = str(tmp_path / "xor.npz")
    code, out, _ = cli("train", "--data", "xor", "--layers", "2,3,1", "--activation", "sigmoid", "--loss", "mse",
                       "--optimizer", "sgd", "--lr", "0.5", "--epochs", "300", "--out", model)
    assert code == 0
    assert len(gn.load(model).metadata["history"]["layers"]["step"]) == 44  # 300 steps: 1-7 and the 37 multiples of 8
    code, out, _ = cli("plot", model, "--kind", "layers", "-o", str(tmp_path / "layers.png"))
    assert code == 0 and "layers plot written" in out and (tmp_path / "layers.png").stat().st_size > 10_000
    net = gn.load(model)
    net.metadata["history"]["layers"] = {}
    net.save(tmp_path / "bare.npz")
    code, _, err = cli("plot", str(tmp_path / "bare.npz"), "--kind", "layers", "-o", str(tmp_path / "no.png"))
    assert code != 0 and "no per-layer gradient norms" in err


def test_the_report_shows_the_layer_stats_figure():
    from glassnet.viz.report import render_html, report_data

    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
    history = net.fit(X, y, epochs=40, lr=0.5)
    data, maps = report_data(net, X, y, layer_stats=history.layers, ledger_samples=1, ledger_snapshots=1)
    assert data["layer_stats"]["step"] == history.layers["step"]
    assert data["layer_stats"]["update_ratio"]["0.b"][0] is None  # the page's JSON has no inf
    page = render_html(data, maps)
    assert 'src="data:image/svg+xml;base64,' in page
    assert "Sampled at 12 steps (each of the first 8 and every 8th, up to step 40)" in page
    bare, maps = report_data(net, X, y, ledger_samples=1, ledger_snapshots=1)  # no history in the metadata
    assert bare["layer_stats"] is None and "Not recorded" in render_html(bare, maps)


def test_a_resumed_record_saved_before_first_existed_is_continued_with_its_own_sampling():
    # A checkpoint written before the default sampled the first 8 steps holds "every" and no "first" (step 1 and
    # every 5th here): the resumed run goes on sampling that way instead of dropping the samples so far.
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
    keys = ["0", "0.W", "0.b", "1", "1.W", "1.b"]
    old = {"every": 5, "step": [1, 5, 10], "epoch": [1, 5, 10], "loss": [0.3, 0.29, 0.28],
           "grad_norm": {k: [1.0, 1.0, 1.0] for k in keys}, "update_ratio": {k: [1e-3] * 3 for k in keys}}
    history = gn.History()
    history.layers = old
    recorder = LayerStatsRecorder()
    recorder.on_train_begin(net, {"n_samples": 4, "batch_size": 4, "epochs": 20, "epochs_done": 10,
                                  "history": history})
    try:
        assert history.layers is old and (recorder.k, recorder.first) == (5, 1)
        sampled = []
        for epoch in range(11, 21):
            recorder.on_batch_begin(net, epoch, 1, X, y)
            sampled += [epoch] if recorder.before is not None else []
            recorder.before = None
        assert sampled == [15, 20]
    finally:
        recorder.on_train_abort(net, RuntimeError("test over"))


def test_a_run_stopped_and_resumed_from_its_checkpoint_records_the_same_samples(tmp_path):
    class StopAt:
        def __init__(self, epoch):
            self.epoch = epoch

        def on_epoch_end(self, net, epoch, logs):
            return epoch == self.epoch

    X, y = gn.datasets.xor()
    runs = []
    warnings.simplefilter("ignore", HealthWarning)  # XOR's plateau at epoch 121: "stuck" (pytest restores filters)
    for stop in (None, 121):
        net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
        path = tmp_path / f"run{stop}.ckpt"
        settings = {"epochs": 400, "lr": 0.5, "checkpoint": path, "checkpoint_every": 50}
        history = net.fit(X, y, callbacks=[StopAt(stop)] if stop else [], **settings)
        if stop:
            assert history.stopped == "callback" and history.layers["step"][-1] == 120
            history = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0).fit(X, y, resume=True, **settings)
        runs.append(history.layers)
    assert runs[0]["every"] == 8 and len(runs[0]["step"]) == 57  # 1-7 and the 50 multiples of 8 up to 400
    assert runs[1] == runs[0]  # the samples before the stop came back from the checkpoint; the sampling is the run's
