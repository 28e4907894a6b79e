"""glassnet.Playground without a browser: the widget's messages are sent as the frontend sends them
(``widget._handle_msg`` with a comm message), and its traitlets are read as the frontend reads them.

Expected numbers come from a twin network trained the ordinary way (``net.step``, ``net.fit``,
``net.gradients``, ``net.forward``) or by hand (the SGD update ``-lr * g``), never from the playground itself.
"""

from __future__ import annotations

import copy
import logging
import sys
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.viz import playground as playground_module
from glassnet.viz.playground import Playground


def send(pg, **content):
    """A custom message from the browser, through ipywidgets' own entry point (as the kernel's comm delivers it)."""
    pg.widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


@pytest.fixture
def no_tracebacks(caplog):
    """ipywidgets logs (outside IPython) or prints (inside) an exception that escapes a message handler."""
    caplog.set_level(logging.WARNING)
    yield
    escaped = [r.getMessage() for r in caplog.records if "Exception in" in r.getMessage()]
    assert escaped == [], escaped


def xor_net(seed=0):
    return gn.Network.from_sizes([2, 3, 1], activation="sigmoid", loss="mse", seed=seed)


@pytest.fixture
def xor():
    X, y = gn.datasets.xor()
    net = xor_net()
    pg = Playground(net, X, y, lr=0.5, epochs=100_000)
    yield pg, net, np.asarray(X, float), np.asarray(y, float)
    pg.close()


def test_a_step_trains_one_batch_as_net_step_does(xor, no_tracebacks):
    pg, net, X, y = xor
    twin = copy.deepcopy(net)
    before = twin.loss(X, y)
    grads = twin.gradients(X, y)
    expected_loss = twin.step(X, y, "sgd", lr=0.5)
    send(pg, action="step")
    w = pg.widget
    assert (w.steps, w.epoch, w.status) == (1, 1, "paused")
    assert w.batch_loss == expected_loss == before  # the batch loss is computed before the update, as in fit
    for key, p in twin.parameters().items():
        np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
    assert w.loss == pytest.approx(net.loss(X, y), rel=1e-15) and w.loss < before
    assert w.loss_curve == [[1, before]]
    # click a weight: its value, the step's gradient and the step's update (SGD: -lr * g, worked by hand)
    send(pg, action="select", kind="weight", layer=1, index=[2, 0])
    (entry,) = w.selection["entries"]
    assert (entry["key"], entry["index"]) == ("1.W", [2, 0])
    assert entry["value"] == net.parameters()["1.W"][2, 0]
    assert entry["grad"] == pytest.approx(grads["1.W"][2, 0], rel=1e-12)
    assert entry["update"] == pytest.approx(-0.5 * grads["1.W"][2, 0], rel=1e-9)
    send(pg, action="select", kind="unit", layer=0, index=[1])
    (entry,) = w.selection["entries"]
    assert entry["key"] == "0.b" and entry["grad"] == pytest.approx(grads["0.b"][1], rel=1e-12)


def test_mini_batch_steps_follow_the_rows_and_count_epochs(no_tracebacks):
    X, y = gn.datasets.xor()
    X, y = np.asarray(X, float), np.asarray(y, float)
    net, twin = xor_net(), xor_net()
    pg = Playground(net, X, y, lr=0.5, batch_size=3, shuffle=False)
    try:
        first = twin.loss(X[:3], y[:3])
        assert pg.step() == first
        assert (pg.widget.steps, pg.widget.epoch) == (1, 0)
        twin.step(X[:3], y[:3], "sgd", lr=0.5)
        second = twin.loss(X[3:], y[3:])
        send(pg, action="step")
        assert pg.widget.batch_loss == second and (pg.widget.steps, pg.widget.epoch) == (2, 1)
        twin.step(X[3:], y[3:], "sgd", lr=0.5)
        for key, p in twin.parameters().items():
            np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
        assert pg.widget.loss_curve == [[1, (3 * first + second) / 4]]  # fit's epoch loss: the row-weighted mean
    finally:
        pg.close()


def test_play_and_pause_train_exactly_as_fit(xor, no_tracebacks):
    pg, net, X, y = xor
    send(pg, action="play")
    assert pg.widget.status == "playing"
    until(lambda: pg.widget.epoch >= 300)
    send(pg, action="pause")
    assert pg.widget.status == "paused"
    epochs, steps = pg.history.epochs, pg.widget.steps
    time.sleep(0.2)
    assert (pg.history.epochs, pg.widget.steps, pg.widget.epoch) == (epochs, steps, epochs)
    send(pg, action="play")
    until(lambda: pg.history.epochs >= epochs + 200)
    pg.pause()
    twin = xor_net()
    history = twin.fit(X, y, epochs=pg.history.epochs, lr=0.5, monitor=False)
    for key, p in twin.parameters().items():
        np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
    assert pg.history.loss == history.loss
    assert pg.widget.loss == net.loss(X, y) and pg.widget.loss_curve[-1] == [history.epochs, history.loss[-1]]


def test_the_rate_slider_sets_the_optimizers_rate(xor, no_tracebacks):
    pg, net, X, y = xor
    send(pg, action="lr", value=10 ** -1.5)
    assert pg.optimizer.lr == pg.widget.lr == 10 ** -1.5
    g = net.gradients(X, y)["0.W"]
    before = net.parameters()["0.W"].copy()
    send(pg, action="step")
    np.testing.assert_allclose(net.parameters()["0.W"] - before, -(10 ** -1.5) * g, rtol=1e-9)
    send(pg, action="lr", value="0.25")  # typed in the box
    assert pg.optimizer.lr == 0.25 and pg.widget.message_kind == "info"
    send(pg, action="play")  # while playing, too
    until(lambda: pg.widget.steps > 50)
    send(pg, action="lr", value=0.125)
    assert pg.optimizer.lr == 0.125
    pg.pause()
    assert pg.widget.lr == 0.125


def test_editing_a_weight_changes_the_network_loss_and_boundary(xor, no_tracebacks):
    pg, net, X, y = xor
    send(pg, action="step")
    send(pg, action="select", kind="weight", layer=0, index=[1, 2])
    send(pg, action="edit", key="0.W", index=[1, 2], value="-1.75")
    assert net.parameters()["0.W"][1, 2] == -1.75
    assert pg.widget.loss == net.loss(X, y)
    assert pg.widget.selection["entries"][0]["value"] == -1.75
    assert pg.widget.network["layers"][0]["W"][1][2] == -1.75
    b = pg.widget.boundary
    xs, ys = np.linspace(*b["x_range"], b["n"]), np.linspace(*b["y_range"], b["n"])
    grid = np.array([[x_, y_] for y_ in ys for x_ in xs])
    np.testing.assert_array_equal(b["values"], net.forward(grid)[:, 0])
    assert str(net.loss(X, y))[:6] in pg.widget.message
    # the next step trains from the edited weight
    twin = copy.deepcopy(net)
    twin.step(X, y, "sgd", lr=0.5)
    send(pg, action="step")
    np.testing.assert_array_equal(net.parameters()["0.W"], twin.parameters()["0.W"])


def test_the_boundary_is_the_networks_output_on_the_grid(no_tracebacks):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2)) * [3.0, 0.5] + [1.0, -2.0]
    y = rng.integers(0, 3, 60)
    net = gn.Network.from_sizes([2, 5, 3], activation="tanh", loss="cross_entropy", seed=1)
    pg = Playground(net, X, y, grid=17, optimizer="adam", lr=0.01)
    try:
        b = pg.widget.boundary
        assert b["n"] == 17 and b["kind"] == "class"
        assert b["x_range"][0] < X[:, 0].min() and b["x_range"][1] > X[:, 0].max()
        assert b["y_range"][0] < X[:, 1].min() and b["y_range"][1] > X[:, 1].max()
        xs, ys = np.linspace(*b["x_range"], 17), np.linspace(*b["y_range"], 17)
        grid = np.array([[x_, y_] for y_ in ys for x_ in xs])
        np.testing.assert_array_equal(b["values"], net.forward(grid).argmax(axis=1))
        assert pg.widget.points["label"] == [float(v) for v in y]
        assert pg.widget.network["sizes"] == [2, 5, 3]
        np.testing.assert_array_equal(pg.widget.network["layers"][1]["W"], net.parameters()["1.W"])
    finally:
        pg.close()
    wide = gn.Network.from_sizes([4, 12, 1], activation="relu", loss="mse", seed=0)
    pg = Playground(wide, rng.normal(size=(8, 4)), rng.normal(size=8))
    try:
        assert pg.widget.boundary == {} and pg.widget.points == {}  # two inputs only
        assert pg.widget.network["shown"] == [4, playground_module.MAX_UNITS, 1]
    finally:
        pg.close()


@pytest.mark.parametrize("content, says", [
    ({"action": "lr", "value": -0.1}, "learning rate must be > 0"),
    ({"action": "lr", "value": 0}, "learning rate must be > 0"),
    ({"action": "lr", "value": "fast"}, "must be a number"),
    ({"action": "lr", "value": "nan"}, "finite"),
    ({"action": "lr", "value": None}, "must be a number"),
    ({"action": "edit", "key": "0.W", "index": [0, 0], "value": "nan"}, "finite"),
    ({"action": "edit", "key": "0.W", "index": [0, 0], "value": "-inf"}, "finite"),
    ({"action": "edit", "key": "0.W", "index": [0, 0], "value": ""}, "must be a number"),
    ({"action": "edit", "key": "0.W", "index": [2, 0], "value": "1"}, "outside 0.W"),
    ({"action": "edit", "key": "0.W", "index": [0], "value": "1"}, "shape (2, 3)"),
    ({"action": "edit", "key": "7.W", "index": [0, 0], "value": "1"}, "unknown parameter"),
    ({"action": "select", "kind": "weight", "layer": 5, "index": [0, 0]}, "layer must be an index"),
    ({"action": "select", "kind": "unit", "layer": 0, "index": [3]}, "outside"),
    ({"action": "fly"}, "unknown action"),
    ({}, "unknown action"),
])
def test_bad_values_are_refused_with_a_message_in_the_widget(xor, no_tracebacks, content, says):
    pg, net, X, y = xor
    before = {k: p.copy() for k, p in net.parameters().items()}
    send(pg, **content)
    assert pg.widget.message_kind == "error" and says in pg.widget.message, pg.widget.message
    assert pg.optimizer.lr == 0.5
    for key, p in before.items():
        np.testing.assert_array_equal(net.parameters()[key], p)
    send(pg, action="step")  # and it goes on working
    assert pg.widget.steps == 1 and pg.widget.message_kind == "info"


def test_a_value_that_overflows_the_loss_is_put_back(no_tracebacks):
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    net = gn.Network([gn.Dense(2, 1, "identity")], loss="mse", seed=0)
    pg = Playground(net, X, [1.0, 2.0])
    try:
        old = float(net.parameters()["0.W"][0, 0])
        send(pg, action="edit", key="0.W", index=[0, 0], value="1e300")
        assert pg.widget.message_kind == "error" and "would make the loss on the data NaN or inf" in pg.widget.message
        assert net.parameters()["0.W"][0, 0] == old and pg.widget.loss == net.loss(X, [1.0, 2.0])
    finally:
        pg.close()


def test_step_while_playing_and_play_after_the_last_epoch_are_refused(no_tracebacks):
    X, y = gn.datasets.xor()
    pg = Playground(xor_net(), X, y, epochs=3)
    try:
        send(pg, action="play")
        until(lambda: pg.widget.status == "finished")
        assert pg.widget.epoch == 3 and pg.widget.message == "all 3 epochs done"
        send(pg, action="play")
        assert pg.widget.message_kind == "error" and "epochs are done" in pg.widget.message
        send(pg, action="step")
        assert pg.widget.message_kind == "error" and pg.widget.steps == 3
    finally:
        pg.close()
    pg = Playground(xor_net(), X, y, lr=0.5)
    try:
        pg.play()
        send(pg, action="step")
        assert pg.widget.message_kind == "error" and "press pause first" in pg.widget.message
    finally:
        pg.close()


def test_a_diverging_run_stops_with_its_last_finite_weights(no_tracebacks):
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([1.0, 2.0, 3.0])
    make = lambda: gn.Network([gn.Dense(1, 1, "identity")], loss="mse", seed=0)
    net = make()
    pg = Playground(net, X, y, lr=1.0)  # each step multiplies the error by about 1 - 2 * mean(x^2) = -8.3
    try:
        send(pg, action="play")
        until(lambda: pg.widget.status == "diverged")
        assert pg.widget.message_kind == "error" and "diverged" in pg.widget.message
        assert "lower the learning rate" in pg.widget.message
        twin = make()
        with pytest.raises(gn.TrainingDiverged) as caught:
            twin.fit(X, y, epochs=10_000, lr=1.0, monitor=False)
        assert pg.history.epochs == caught.value.epoch - 1
        for key, p in twin.parameters().items():
            assert np.isfinite(p).all()
            np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
        # the last finite weights are huge (the loss on them may already overflow); typed-in weights and a smaller
        # rate, and it trains on from there
        send(pg, action="edit", key="0.W", index=[0, 0], value="0.5")
        send(pg, action="edit", key="0.b", index=[0], value="0")
        send(pg, action="lr", value=0.01)
        send(pg, action="step")
        assert pg.widget.status == "paused" and pg.widget.message_kind == "info"
        assert pg.widget.loss < pg.widget.batch_loss
    finally:
        pg.close()


def test_the_callback_redraws_a_fit_run_in_a_cell(no_tracebacks):
    X, y = gn.datasets.xor()
    net, twin = xor_net(), xor_net()
    pg = Playground(net, X, y)
    history = net.fit(X, y, epochs=500, lr=0.5, callbacks=[pg.callback()], monitor=False)
    reference = twin.fit(X, y, epochs=500, lr=0.5, monitor=False)
    for key, p in twin.parameters().items():
        np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
    assert history.loss == reference.loss == pg.history.loss
    assert (pg.widget.epoch, pg.widget.steps, pg.widget.status) == (500, 500, "ready")
    assert pg.widget.loss == net.loss(X, y)
    twin_again = copy.deepcopy(net)
    history = net.fit(X, y, epochs=100, lr=0.5, callbacks=[pg.callback(full_batch=True)], monitor=False)
    assert history.loss == twin_again.fit(X, y, epochs=100, lr=0.5, monitor=False).loss
    assert (pg.widget.epoch, pg.widget.steps) == (600, 600) and pg.history.loss[500:] == history.loss
    with pytest.raises(gn.ConfigError, match="steps per epoch"):
        net.fit(X, y, epochs=1, batch_size=2, callbacks=[pg.callback(full_batch=True)], monitor=False)
    pg.play()  # the playground's own runs refuse a concurrent watched fit
    try:
        with pytest.raises(gn.ConfigError, match="training the network in the background"):
            net.fit(X, y, epochs=2, callbacks=[pg.callback()], monitor=False)
    finally:
        pg.close()
    assert pg.widget.status == "stopped" and not pg._thread.is_alive()


def test_a_refused_watched_fit_leaves_the_background_run_alone(tmp_path, no_tracebacks):
    # the refusal's on_train_abort once redrew (a forward pass on the grid, in the kernel's thread, while the
    # trainer stepped: its cache["A"] had the grid's 1600 rows) and set the status to "ready" under a paused run
    class RefusesToBegin:
        def on_train_begin(self, net, info):
            raise ValueError("not now")

    class RefusesToCheck:
        def on_train_check(self, net):
            raise ValueError("not yet")

    X, y = gn.datasets.xor()
    saved = tmp_path / "run.gnckpt"
    xor_net().fit(X, y, epochs=4, lr=0.5, monitor=False, checkpoint=saved)  # this run, 4 epochs further on
    net, twin = xor_net(), xor_net()
    pg = Playground(net, X, y, lr=0.5)
    kept = pg.callback()
    try:
        pg.step()
        pg.step()
        assert pg.widget.status == "paused" and pg._running
        for _ in range(3):
            with pytest.raises(gn.ConfigError, match="training the network in the background"):
                net.fit(X, y, epochs=2, callbacks=[kept], monitor=False)
        # with another callback that would refuse later (on_train_begin): the playground's check comes first
        with pytest.raises(gn.ConfigError, match="training the network in the background"):
            net.fit(X, y, epochs=2, callbacks=[RefusesToBegin(), pg.callback()], monitor=False)
        # and one that refuses in its own check, before the playground's: nothing else is called at all
        with pytest.raises(ValueError, match="not yet"):
            net.fit(X, y, epochs=2, callbacks=[RefusesToCheck(), pg.callback()], monitor=False)
        # a resumed fit restores its checkpoint before any on_train_begin: the playground refuses before that
        with pytest.raises(gn.ConfigError, match="training the network in the background"):
            net.fit(X, y, epochs=6, lr=0.5, callbacks=[pg.callback()], monitor=False, checkpoint=saved, resume=True)
        assert (pg._status, pg.widget.status, pg.widget.steps, pg._running) == ("paused", "paused", 2, True)
        pg.step()
        twin.fit(X, y, epochs=3, lr=0.5, monitor=False)
        for key, p in twin.parameters().items():
            np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
    finally:
        pg.close()
    # the callback refused above, handed to a fit once the background run is over, watches it as any other
    net.fit(X, y, epochs=2, lr=0.5, callbacks=[kept], monitor=False)
    assert (pg.widget.status, pg.widget.steps, pg._steps, pg.history.epochs) == ("ready", 5, 5, 5)


def test_redraws_are_throttled(xor):
    pg, net, X, y = xor
    calls = []
    sync = pg._sync
    pg._sync = lambda: (calls.append(time.perf_counter()), sync())
    pg.fps = 20.0
    started = time.perf_counter()
    pg.play()
    until(lambda: pg.history.epochs >= 3000)
    time.sleep(0.5)
    pg.pause()
    seconds = time.perf_counter() - started
    assert pg.history.epochs > 3 * len(calls)  # many steps between two redraws
    # at most fps a second (a few more while the rate of steps is first measured, and the pause's own)
    assert 3 <= len(calls) <= 1.5 * pg.fps * seconds + 8, (len(calls), seconds)


def test_bad_settings_raise_clear_errors():
    X, y = gn.datasets.xor()
    with pytest.raises(gn.GlassnetTypeError, match="needs a glassnet Network"):
        Playground("net", X, y)
    with pytest.raises(gn.ShapeError, match="feature column"):
        Playground(xor_net(), np.zeros((4, 3)), y)
    with pytest.raises(gn.ConfigError, match="fps must be > 0"):
        Playground(xor_net(), X, y, fps=0)
    with pytest.raises(gn.ConfigError, match="grid must be between 2 and 200"):
        Playground(xor_net(), X, y, grid=1000)
    with pytest.raises(gn.ConfigError, match="learning rate"):
        Playground(xor_net(), X, y, lr=-1)


def test_glassnet_imports_without_anywidget_and_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "anywidget", None)  # import anywidget now fails
    monkeypatch.setattr(playground_module, "_widget_class", None)
    X, y = gn.datasets.xor()
    with pytest.raises(gn.MissingDependency, match=r'pip install "glassnet\[notebook\]"'):
        gn.Playground(xor_net(), X, y)


def test_dropout_and_batchnorm_train_as_fit_and_are_drawn_in_evaluation_mode(no_tracebacks):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    make = lambda: gn.Network([gn.Dense(2, 8, "relu"), gn.BatchNorm1d(), gn.Dropout(0.3), gn.Dense(8, 1, "sigmoid")],
                              loss="bce", seed=0)
    net = make()
    pg = Playground(net, X, y, batch_size=8, optimizer="adam", lr=0.01, epochs=25, fps=200)
    try:
        pg.play()
        until(lambda: pg.widget.status == "finished")
        # fit's steps train; the playground's redraws evaluate and put the mode back
        assert pg.history.epochs == 25 and net.training
        twin = make()
        twin.fit(X, y, epochs=pg.history.epochs, batch_size=8, optimizer="adam", lr=0.01, monitor=False)
        for key, p in twin.parameters().items():
            np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
        for key, b in twin.buffers().items():
            np.testing.assert_array_equal(net.buffers()[key], b, err_msg=key)
        b = pg.widget.boundary
        xs, ys = np.linspace(*b["x_range"], b["n"]), np.linspace(*b["y_range"], b["n"])
        grid = np.array([[x_, y_] for y_ in ys for x_ in xs])
        twin.eval()
        np.testing.assert_array_equal(b["values"], twin.forward(grid)[:, 0])
        assert pg.widget.loss == twin.loss(X, y)
        assert [layer["W"] is None for layer in pg.widget.network["layers"]] == [False, True, True, False]
        send(pg, action="select", kind="unit", layer=1, index=[2])
        assert [e["key"] for e in pg.widget.selection["entries"]] == ["1.gamma", "1.beta"]
    finally:
        pg.close()


def test_a_new_playground_of_the_same_network_ends_the_old_ones_run(no_tracebacks):
    X, y = gn.datasets.xor()
    net = xor_net()
    old = Playground(net, X, y)
    old.play()
    new = Playground(net, X, y)
    try:
        assert old.widget.status == "stopped" and not old._thread.is_alive() and "took over" in old.widget.message
        steps = net.parameters()["0.W"].copy()
        new.step()
        assert not np.array_equal(net.parameters()["0.W"], steps)
    finally:
        new.close()


def test_import_glassnet_does_not_import_the_widget_libraries():
    import subprocess

    code = "import sys, glassnet; print(sorted({'anywidget', 'ipywidgets', 'traitlets', 'comm'} & set(sys.modules)))"
    src = str(playground_module.ASSETS.parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=src).stdout
    assert out.strip() == "[]"


def test_boundary_called_while_playing_waits_for_a_gap_between_steps(no_tracebacks):
    # The public boundary() evaluates the network; from the kernel's thread it must not switch the layers' modes or
    # overwrite their caches in the middle of the trainer's step (the run stays exactly fit's).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    make = lambda: gn.Network([gn.Dense(2, 32, "relu"), gn.Dropout(0.3), gn.Dense(32, 32, "relu"), gn.Dropout(0.3),
                               gn.Dense(32, 1, "sigmoid")], loss="bce", seed=0)
    net = make()
    pg = Playground(net, X, y, batch_size=16, lr=0.1, epochs=60, fps=200)
    try:
        pg.play()
        deadline = time.monotonic() + 60
        while pg.widget.status != "finished" and time.monotonic() < deadline:
            assert len(pg.boundary()["values"]) == pg.grid ** 2
            time.sleep(0.005)  # as a person (or a cell) asks: the trainer gets the lock back between calls
        assert pg.widget.status == "finished"
        twin = make()
        twin.fit(X, y, epochs=60, batch_size=16, lr=0.1, monitor=False)
        for key, p in twin.parameters().items():
            np.testing.assert_array_equal(net.parameters()[key], p, err_msg=key)
    finally:
        pg.close()
