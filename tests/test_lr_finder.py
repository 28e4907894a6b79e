"""The learning-rate range test: its steps against PyTorch (float64, rtol 1e-10), its smoothing and rules worked by
hand, its stop on divergence, its plot, and the network it was given left exactly as it was."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.lr_finder import RULES, suggest
from tests.core.torch_reference import torch_loss, torch_params

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def data(n=64, seed=0):
    X, y = gn.datasets.get_dataset("moons", n=n, noise=0.2, seed=seed)
    return X, y


def test_the_steps_are_torchs_sgd_at_the_growing_rates():
    X, y = data()
    net = gn.Network.from_sizes([2, 8, 1], activation="tanh", loss="bce", seed=1)
    result = gn.lr_finder(net, X, y, start_lr=1e-4, end_lr=1.0, num_steps=40, batch_size=None, diverge=1e9)
    params = torch_params(net)
    opt = torch.optim.SGD(list(params.values()), lr=1e-4)
    theirs = []
    for i in range(40):
        opt.param_groups[0]["lr"] = 1e-4 * (1.0 / 1e-4) ** (i / 39)
        opt.zero_grad()
        _, loss = torch_loss(net, params, X, y)
        loss.backward()
        opt.step()
        theirs.append(loss.item())
    np.testing.assert_allclose(result.raw_losses, theirs, rtol=1e-10)
    np.testing.assert_allclose(result.lrs, [1e-4 * 1e4 ** (i / 39) for i in range(40)], rtol=1e-12)
    assert result.lrs[0] == 1e-4 and math.isclose(result.lrs[-1], 1.0, rel_tol=1e-12) and result.stopped == "completed"


def test_the_smoothing_is_fastais_debiased_average():
    X, y = data()
    result = gn.lr_finder(gn.Network.from_sizes([2, 8, 1], loss="bce", seed=0), X, y, num_steps=30, smooth=0.9,
                          batch_size=16)
    raw = np.array(result.raw_losses)
    for i in range(len(raw)):  # the weighted mean of the losses so far, weights 0.9 ** age, normalised
        weights = 0.1 * 0.9 ** np.arange(i, -1, -1)
        assert math.isclose(result.losses[i], float(weights @ raw[: i + 1]) / (1 - 0.9 ** (i + 1)), rel_tol=1e-12)


def test_the_run_stops_once_the_smoothed_loss_passes_diverge_times_its_best():
    X, y = data()
    result = gn.lr_finder(gn.Network.from_sizes([2, 8, 1], activation="relu", loss="bce", seed=0), X, y,
                          start_lr=1e-3, end_lr=1e6, num_steps=200, diverge=2.0)
    assert result.stopped in ("diverged", "not finite") and len(result.lrs) < 200
    if result.stopped == "diverged":
        assert result.losses[-1] > 2.0 * min(result.losses[:-1])
        assert all(loss <= 2.0 * min(result.losses[: i + 1]) for i, loss in enumerate(result.losses[:-1]))


def test_the_rules_on_a_curve_worked_by_hand():
    lrs = [10.0 ** (i - 10) for i in range(20)]
    losses = [5, 5, 5, 5, 4.9, 4.5, 3.0, 2.0, 1.5, 1.2, 1.0, 0.9, 0.95, 1.5, 3, 6, 9, 12, 15, 20]
    found = suggest(lrs, losses, num_steps=20)  # reads points 2 .. 14 (a tenth of the steps off the start, 5 off the end)
    # steepest: the largest fall per decade is 4.5 -> 3.0 (points 5 -> 6), so the rate of point 5
    assert math.isclose(found["steepest"], 1e-5)
    # minimum: the lowest loss 0.9 at point 11 (rate 10), divided by 10
    assert math.isclose(found["minimum"], 1.0)
    # valley: the longest decreasing run 5 > 4.9 > ... > 0.9 covers points 2 .. 11 (9 steps after its start);
    # fastai's index: start + int(9/3) + int(9/6) = 2 + 3 + 1 = point 6
    assert math.isclose(found["valley"], 1e-4)


def test_the_result_names_its_rule_and_offers_the_others():
    X, y = data()
    net = gn.Network.from_sizes([2, 8, 1], activation="tanh", loss="bce", seed=0)
    for rule, words in RULES.items():
        result = gn.lr_finder(net, X, y, suggest_rule=rule)
        assert result.rule == words and result.suggestion == result.suggestions[rule]
        assert set(result.suggestions) == set(RULES) and 1e-7 <= result.suggestion <= 10
    short = gn.lr_finder(net, X, y, num_steps=2)
    assert short.suggestion is None and short.rule.startswith("no suggestion: only 2 step(s)")


def test_the_network_is_left_exactly_as_it_was():
    X, y = data()
    net = gn.Network([gn.Dense(2, 8, "relu"), gn.BatchNorm1d(), gn.Dropout(0.3), gn.Dense(8, 1, "sigmoid")],
                     loss="bce", seed=2)
    net.fit(X, y, epochs=3, batch_size=16, monitor=False)
    net.eval()
    before = {k: v.copy() for k, v in {**net.parameters(), **net.buffers()}.items()}
    rng_state = net.rng.bit_generator.state
    optimizer = gn.Adam(0.01)
    gn.lr_finder(net, X, y, optimizer=optimizer, num_steps=50)
    after = {**net.parameters(), **net.buffers()}
    assert before.keys() == after.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)
    assert net.rng.bit_generator.state == rng_state
    assert net.training is False and not any(layer.training for layer in net.layers)
    assert optimizer.lr == 0.01 and optimizer.state == {}  # the optimizer given is copied, not used


def test_plot_marks_the_suggestion(tmp_path):
    X, y = data()
    result = gn.lr_finder(gn.Network.from_sizes([2, 8, 1], activation="tanh", loss="bce", seed=0), X, y)
    fig = result.plot()
    (ax,) = fig.axes
    curve, line, marker = ax.lines  # the curve, a vertical line at the suggestion, the point on the curve
    assert ax.get_xscale() == "log" and list(curve.get_xdata()) == result.lrs
    assert line.get_xdata()[0] == marker.get_xdata()[0] == result.suggestion
    assert "valley" in ax.get_legend().texts[1].get_text()
    from matplotlib.figure import Figure

    from glassnet.viz.plots import save_figure

    own = Figure().add_subplot(1, 1, 1)
    assert result.plot(ax=own) is own.figure
    save_figure(fig, tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 1000


@pytest.mark.parametrize("settings, error, words", [
    (dict(start_lr=0), gn.ConfigError, "start_lr must be a positive number"),
    (dict(start_lr=1.0, end_lr=0.1), gn.ConfigError, "end_lr (0.1) must be larger than start_lr (1)"),
    (dict(num_steps=1), gn.ConfigError, "num_steps must be at least 2"),
    (dict(smooth=1.0), gn.ConfigError, "smooth must be a number in [0, 1)"),
    (dict(diverge=1.0), gn.ConfigError, "diverge must be a number > 1"),
    (dict(suggest_rule="best"), gn.ConfigError, "suggest_rule must be one of steepest, valley, minimum"),
    (dict(optimizer=3), gn.GlassnetTypeError, "optimizer must be a name"),
    (dict(optimizer="adamm"), gn.ConfigError, "adam"),
    (dict(batch_size=0), gn.ConfigError, "batch_size must be a positive integer"),
])
def test_bad_settings_say_what_is_wrong(settings, error, words):
    X, y = data()
    with pytest.raises(error) as info:
        gn.lr_finder(gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0), X, y, **settings)
    assert words in str(info.value)


def test_the_readme_section_runs_as_written(tmp_path, monkeypatch, capsys, cli):
    import re
    import shlex
    import warnings
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Training controls: schedules, early stopping, a learning-rate finder", 1)[1]
    section = section.split("\n## ", 1)[0]
    (python,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (bash,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the health monitor's notes
        exec(compile(python, "README.md", "exec"), {})
        printed = capsys.readouterr().out.splitlines()
        assert printed[0].startswith("0.004862")
        assert printed[0].endswith("halfway along the longest decreasing stretch of the smoothed loss")
        for line in bash.replace("\\\n", " ").splitlines():
            argv = shlex.split(line)
            code, out, err = cli(*argv[1:])
            assert code == 0, (line, err)
    assert (tmp_path / "lr.png").exists() and (tmp_path / "moons.npz").exists()
