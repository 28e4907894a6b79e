"""Plots are built and inspected (axes, titles, artists, colorbars, labels), not just written."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

import glassnet as gn
from glassnet.plots import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    plot_neurons,
    save_figure,
)


@pytest.fixture(scope="module")
def moons_net():
    X, y = gn.datasets.moons(n=80, noise=0.1)
    net = gn.Network.from_sizes([2, 4, 3, 1], "tanh", loss="bce", seed=0)
    history = net.fit(X, y, epochs=30, optimizer="adam", lr=0.05, validation_data=(X[:20], y[:20]))
    return net, history, X, y


def colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_history_curves(moons_net):
    _, history, _, _ = moons_net
    fig = plot_history(history, title="moons")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "moons"
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "Loss" and acc_ax.get_title() == "Accuracy" and loss_ax.get_xlabel() == "epoch"
    assert [line.get_label() for line in loss_ax.get_lines()] == ["training", "validation"]
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_ydata(), history.loss)
    np.testing.assert_array_equal(acc_ax.get_lines()[1].get_ydata(), history.val_accuracy)
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_xdata(), np.arange(1, 31))
    # a regression history (no accuracy) has one panel; a dict with thinned epochs uses their numbers
    one = plot_history({"loss": [4.0, 2.0, 1.0], "epoch": [1, 50, 100]})
    assert len(one.axes) == 1 and list(one.axes[0].get_lines()[0].get_xdata()) == [1, 50, 100]


def test_decision_boundary_binary_has_probability_colorbar_and_data(moons_net):
    net, _, X, y = moons_net
    fig = plot_decision_boundary(net, X, y, resolution=30)
    ax = [a for a in fig.axes if a.get_label() != "<colorbar>"][0]
    assert ax.get_title() == "Decision boundary" and ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    (bar,) = colorbars(fig)
    assert bar.get_ylabel() == "P(class 1)"
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1 and len(points[0].get_offsets()) == len(X)
    np.testing.assert_array_equal(points[0].get_array(), y)  # coloured by class


def test_decision_boundary_reads_probability_from_the_loss_not_an_activation_name():
    """A binary classifier's output (``loss.targets == "binary"``) is P(class 1); a regression output is a value,
    whatever its activation, and a layer without an activation is labelled by its class."""
    from tests.custom_parts import Shift

    X, y = gn.datasets.moons(n=40, noise=0.1)
    regression = gn.Network([Shift(2), gn.Dense(2, 3, "gelu"), gn.Dense(3, 1, "sigmoid")], loss="huber", seed=0)
    (bar,) = colorbars(plot_decision_boundary(regression, X, y, resolution=12))
    assert bar.get_ylabel() == "output"
    titles = [ax.get_title() for ax in plot_neurons(regression, X, y, resolution=8).axes if ax.get_title()]
    assert titles[0] == "L0 unit 0 (Shift)" and titles[2] == "L1 unit 0 (gelu)"
    classifier = gn.Network([Shift(2), gn.Dense(2, 3, "gelu"), gn.Dense(3, 1, "sigmoid")], loss="bce", seed=0)
    (bar,) = colorbars(plot_decision_boundary(classifier, X, y, resolution=12))
    assert bar.get_ylabel() == "P(class 1)"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_decision_boundary_multiclass_colours_by_predicted_class():
    X, y = gn.datasets.blobs(n=60, seed=1)
    net = gn.Network.from_sizes([2, 5, 3], "relu", loss="cross_entropy", seed=0)
    fig = plot_decision_boundary(net, X, y, resolution=25, title="blobs")
    assert not colorbars(fig) and fig.axes[0].get_title() == "blobs"
    from glassnet.sklearn import GlassClassifier

    clf = GlassClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    assert len(plot_decision_boundary(clf, X, y, resolution=10).axes) == 1  # an estimator's network_ is drawn
    np.testing.assert_array_equal(plot_history(clf).axes[0].get_lines()[0].get_ydata(), clf.loss_curve_)
    with pytest.raises(gn.GlassnetTypeError, match="needs a glassnet Network"):
        plot_decision_boundary("net.npz", X)
    with pytest.raises(gn.ShapeError, match="needs 2 inputs; this one has 4"):
        plot_decision_boundary(gn.Network.from_sizes([4, 2, 3], loss="cross_entropy"), np.zeros((3, 4)))


def test_neuron_maps_one_image_per_unit(moons_net):
    net, _, X, y = moons_net
    fig = plot_neurons(net, X, y, resolution=20)
    maps = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(maps) == 4 + 3 + 1 and all(len(ax.images) == 1 for ax in maps)
    assert len(colorbars(fig)) == 3  # one per layer row
    titles = [ax.get_title() for ax in maps]
    assert titles[0] == "L0 unit 0 (tanh)" and titles[4] == "L1 unit 0 (tanh)" and titles[-1] == "L2 output 0 (sigmoid)"
    # the map of layer 0 unit 2 is tanh(x1 * W[0, 2] + x2 * W[1, 2] + b[2]) at the grid corner (bottom left)
    W, b = net.layers[0].params["W"], net.layers[0].params["b"]
    image = maps[2].images[0].get_array()
    x0, x1 = maps[2].images[0].get_extent()[0], maps[2].images[0].get_extent()[2]
    assert image.shape == (20, 20)
    assert image[0, 0] == pytest.approx(np.tanh(x0 * W[0, 2] + x1 * W[1, 2] + b[2]))
    hidden_only = plot_neurons(net, resolution=10, include_output=False)
    assert len([ax for ax in hidden_only.axes if ax.get_label() != "<colorbar>"]) == 7
    capped = plot_neurons(net, resolution=10, max_units=2)  # 2 + 2 + 1 maps; 2 + 1 units left out
    assert len([ax for ax in capped.axes if ax.get_label() != "<colorbar>"]) == 5
    assert capped.get_suptitle().endswith("(first 2 units of each layer; 3 not shown)")


def test_confusion_matrix_counts_by_hand():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    assert confusion_matrix(y_true, y_pred).tolist() == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    fig = plot_confusion_matrix(y_true, y_pred, classes=["cat", "dog", "eel"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.get_title() == "Confusion matrix (accuracy 0.667)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    assert sorted(t.get_text() for t in ax.texts) == sorted("110021001")
    assert len(ax.images) == 1 and len(colorbars(fig)) == 1
    with pytest.raises(gn.DataError, match="class index 3 is outside the 3 classes given"):
        confusion_matrix([0, 3], [0, 1], n_classes=3)
    with pytest.raises(gn.ShapeError, match="y_true has 2 labels but y_pred has 3"):
        confusion_matrix([0, 1], [0, 1, 1])


def test_save_figure_atomic_and_checked(tmp_path, moons_net):
    fig = plot_history(moons_net[1])
    save_figure(fig, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(gn.ConfigError, match="cannot save a figure as 'xyz'"):
        save_figure(fig, tmp_path / "curves.xyz")
    assert sorted(os.listdir(tmp_path)) == ["curves.png"]  # no temporary file left behind


def test_no_pyplot_and_backend_untouched(tmp_path):
    code = ("import sys, matplotlib; matplotlib.use('svg'); import glassnet as gn; from glassnet.plots import plot_history;"
            "plot_history({'loss': [1.0, 0.5]}).savefig(sys.argv[1]);"
            "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.png")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "False"]
