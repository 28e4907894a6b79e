"""Freezing: ``Network.freeze`` / ``unfreeze`` / ``frozen`` against torch's ``requires_grad=False`` in float64
(rtol 1e-10, after every one of 60 steps), on the fast path and on the readable one. Frozen parameters keep their
values bit for bit and get no optimizer state; their gradients are still computed. The textbook case: a network
whose biases are all frozen at 0 trains like one without biases (written in torch with no biases at all)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core import fast
from glassnet.core.optimizers import SGD, Adam, AdamW, RMSprop
from tests.core.test_optimizers import compare, problem, steps_match_torch, torch_step
from tests.core.torch_reference import ACTIVATIONS, torch_params

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py

CASES = {
    "sgd-momentum": (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "adam": (Adam, torch.optim.Adam, dict(lr=0.01)),
    "rmsprop": (RMSprop, torch.optim.RMSprop, dict(lr=0.005, momentum=0.5)),
    "adamw": (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}
FREEZES = {"layer-0": (0,), "biases": ("0.b", "1.b", "2.b"), "mixed": ("0.W", -1)}


@pytest.fixture(params=["fast", "readable"])
def path(request, monkeypatch):
    monkeypatch.setattr(fast, "enabled", request.param == "fast")
    return request.param


def test_freeze_unfreeze_and_frozen():
    net = gn.Network.from_sizes([2, 3, 2, 1], seed=0)
    assert net.frozen == []
    assert net.freeze(1) is net and net.frozen == ["1.W", "1.b"]
    net.freeze("0.b", -1)
    assert net.frozen == ["0.b", "1.W", "1.b", "2.W", "2.b"]  # in the order of parameters()
    net.unfreeze("1.W", 2)
    assert net.frozen == ["0.b", "1.b"]
    assert net.unfreeze().frozen == [] and net.freeze().frozen == list(net.parameters())


@pytest.mark.parametrize("what, error, words", [
    ((3,), gn.ConfigError, r"there is no layer 3; this network's layers are 0 to 2 \(or -3 to -1\)"),
    ((-4,), gn.ConfigError, "there is no layer -4"),
    (("0.w",), gn.ConfigError, r"unknown parameter '0.w'; this network's parameters are \['0.W', '0.b', '1.W'"),
    (("3.b",), gn.ConfigError, "unknown parameter '3.b'"),
    ((1.0,), gn.GlassnetTypeError, r"takes layer indices \(0, 1, ...\) or parameter keys"),
    ((True,), gn.GlassnetTypeError, "got bool True"),
])
def test_bad_names_are_refused_with_the_valid_ones(what, error, words):
    net = gn.Network.from_sizes([2, 3, 2, 1], seed=0)
    for verb in ("freeze", "unfreeze"):
        with pytest.raises(error, match=words):
            getattr(net, verb)(*what)
    assert net.frozen == []  # nothing half-done


@pytest.mark.parametrize("freeze", FREEZES)
@pytest.mark.parametrize("case", CASES)
def test_frozen_steps_match_torchs_requires_grad_false_after_every_one_of_60(case, freeze, path):
    ours_cls, torch_cls, settings = CASES[case]
    net, X, y = problem("relu-bce")
    net.freeze(*FREEZES[freeze])
    params = torch_params(net)
    for key in net.frozen:
        params[key].requires_grad_(False)
    frozen_values = {key: net.parameters()[key].copy() for key in net.frozen}
    ours = ours_cls(**settings)
    theirs = torch_cls(list(params.values()), **settings)  # torch skips the parameters without a gradient
    with warnings.catch_warnings():
        warnings.simplefilter("error", gn.FastFormWarning)
        steps_match_torch(net, X, y, ours, theirs, params, 60)
    for key, value in frozen_values.items():
        assert np.array_equal(net.parameters()[key], value), f"{key} is frozen but moved"
    assert sorted(ours.state) == sorted(set(net.parameters()) - set(net.frozen)), "no state for frozen parameters"
    assert sorted(ours.state) == sorted(key for key, p in params.items() if p in theirs.state)
    if path == "fast":  # the flat state holds the trainable parameters only
        buffer = ours.state[next(iter(ours.state))][ours.buffers()[0]].base
        assert buffer is not None and buffer.size == sum(p.size for k, p in net.parameters().items()
                                                         if k not in net.frozen)
    gradients = net.gradients(X, y)  # still computed for every parameter
    assert set(gradients) == set(net.parameters()) and all(np.any(gradients[k] != 0) for k in net.frozen)


def test_a_network_with_all_biases_frozen_at_0_trains_like_one_without_biases(path):
    """The textbook case, against a torch network that has no biases at all: Z = A @ W."""
    net, X, y = problem("tanh-mse")
    net.freeze("0.b", "1.b")
    weights = {k: torch.tensor(p.copy(), requires_grad=True) for k, p in net.parameters().items() if k.endswith("W")}
    theirs = torch.optim.Adam(list(weights.values()), lr=0.01)
    ours = Adam(0.01)
    for step in range(60):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        net.step(X[rows], y[rows], ours)
        theirs.zero_grad()
        A = torch.tensor(X[rows])
        for i, layer in enumerate(net.layers):
            A = ACTIVATIONS[layer.activation.name](A @ weights[f"{i}.W"])
        torch.nn.functional.mse_loss(A, torch.tensor(y[rows])).backward()
        theirs.step()
        for key, w in weights.items():
            compare(f"{key} after step {step + 1}", net.parameters()[key], w.detach().numpy())
    assert not net.parameters()["0.b"].any() and not net.parameters()["1.b"].any()


def test_freezing_and_unfreezing_in_the_middle_of_training_matches_torch(path):
    """Adam's state of a parameter frozen for a while stays as it was (torch keeps it too, with its own step count)."""
    net, X, y = problem("tanh-mse")
    params = torch_params(net)
    ours, theirs = Adam(0.01), torch.optim.Adam(list(params.values()), lr=0.01)
    for phase, frozen in enumerate([(), ("0.W", "1.b"), (), (1,)]):
        net.unfreeze().freeze(*frozen) if frozen else net.unfreeze()
        for key, p in params.items():
            p.requires_grad_(key not in net.frozen)
        for step in range(15):
            rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
            net.step(X[rows], y[rows], ours)
            theirs.zero_grad()  # set_to_none: a frozen parameter has no gradient, so torch skips it
            torch_step(theirs, net, params, X[rows], y[rows])
            for key, p in net.parameters().items():
                compare(f"{key} in phase {phase}, step {step + 1}", p, params[key].detach().numpy())
    for key, tensor in params.items():
        assert ours.state[key]["t"] == int(theirs.state[tensor]["step"]), key


def test_fit_with_frozen_parameters_and_float32_agrees_with_the_readable_path(monkeypatch):
    X, y = problem("tanh-mse", n=20)[1:]
    runs = {}
    for dtype in ("float64", "float32"):
        for enabled in (True, False):
            monkeypatch.setattr(fast, "enabled", enabled)
            net = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1, dtype=dtype).freeze("1.W")
            with warnings.catch_warnings():
                warnings.simplefilter("error", gn.FastFormWarning)
                net.fit(X, y, epochs=15, optimizer=AdamW(0.01, max_grad_norm=0.5), batch_size=6, monitor=False)
            runs[dtype, enabled] = net.parameters()
    for key in runs["float64", True]:
        assert np.array_equal(runs["float64", True][key], runs["float64", False][key]), key
        np.testing.assert_allclose(runs["float32", True][key], runs["float32", False][key], rtol=1e-4, atol=1e-6,
                                   err_msg=key)


def test_frozen_parameters_count_nowhere_in_clipping(path):
    """torch's clip_grad_norm_ over the model's parameters skips those without a gradient: so does max_grad_norm."""
    net, X, y = problem("tanh-mse")
    net.freeze(0)
    params = torch_params(net)
    for key in net.frozen:
        params[key].requires_grad_(False)
    ours, theirs = SGD(0.1, max_grad_norm=0.05), torch.optim.SGD(list(params.values()), lr=0.1)
    for step in range(50):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        net.step(X[rows], y[rows], ours)
        theirs.zero_grad()
        from tests.core.torch_reference import torch_loss

        torch_loss(net, params, X[rows], y[rows])[1].backward()
        total = torch.nn.utils.clip_grad_norm_(list(params.values()), 0.05)
        theirs.step()
        assert ours.last_grad_norm == pytest.approx(float(total), rel=1e-10)
        for key, p in net.parameters().items():
            compare(f"{key} after step {step + 1}", p, params[key].detach().numpy())


def test_freezing_survives_save_load_and_checkpoints(tmp_path):
    net, X, y = problem("tanh-mse")
    net.freeze("0.b", 1)
    net.save(tmp_path / "m.npz")
    assert gn.load(tmp_path / "m.npz").frozen == ["0.b", "1.W", "1.b"]
    plain = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1)
    plain.save(tmp_path / "plain.npz")
    assert gn.load(tmp_path / "plain.npz").frozen == []
    # A run that stops and resumes ends where an unbroken run does, the frozen parameters where they started.
    whole = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1).freeze("0.b", 1)
    whole.fit(X, y, epochs=6, optimizer="adam", lr=0.01, batch_size=8, monitor=False)
    first = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1).freeze("0.b", 1)
    ckpt = tmp_path / "run.ckpt"
    first.fit(X, y, epochs=3, optimizer="adam", lr=0.01, batch_size=8, monitor=False, checkpoint=ckpt)
    assert gn.load(ckpt).frozen == ["0.b", "1.W", "1.b"]
    again = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1).freeze("0.b", 1)
    again.fit(X, y, epochs=6, optimizer="adam", lr=0.01, batch_size=8, monitor=False, checkpoint=ckpt, resume=True)
    for key, p in whole.parameters().items():
        assert np.array_equal(p, again.parameters()[key]), key
    other = gn.Network.from_sizes([3, 5, 2], activation="tanh", loss="mse", seed=1)  # not frozen: another run
    with pytest.raises(gn.ConfigError, match="belongs to a different run.*frozen"):
        other.fit(X, y, epochs=6, optimizer="adam", lr=0.01, batch_size=8, monitor=False, checkpoint=ckpt, resume=True)


def test_a_damaged_frozen_entry_in_a_model_file_is_refused(tmp_path):
    from glassnet import io

    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    for bad, words in (("0.b", "must be a list of parameter keys"), (["9.W"], "unknown parameter '9.W'")):
        meta = io.network_metadata(net) | {"frozen": bad}
        with pytest.raises(gn.ModelFileError, match=words):
            io.network_from_metadata(meta, "m.npz")


def test_a_layer_without_parameters_is_refused_by_name():
    net = gn.Network([gn.Dense(2, 3, "relu"), gn.Dropout(0.5), gn.Dense(3, 1)], seed=0)
    with pytest.raises(gn.ConfigError, match=r"layer 1 \(Dropout\(p=0.5, 3\)\) has no parameters to freeze"):
        net.freeze(1)
    assert net.frozen == []
