"""Learning-rate schedules against ``torch.optim.lr_scheduler`` in float64 (rtol 1e-10), and worked by hand.

Each schedule's rate sequence is compared with torch's scheduler stepping the same number of times; whole training
runs (per epoch and per batch, a warm-up chained to a cosine) are compared parameter by parameter after every epoch
with torch running the same steps on the same batches. ``History.lr`` records the rate of every epoch, a resumed
checkpoint run keeps it, and the optimizer gets its base rate back when training ends.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core.schedules import SCHEDULES, Schedule
from tests.core.torch_reference import torch_loss, torch_params

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py

RTOL = 1e-10
lrs = torch.optim.lr_scheduler

# glassnet schedule and the torch scheduler with the same settings
CASES = {
    "step": (lambda: gn.StepLR(7, gamma=0.5), lambda o: lrs.StepLR(o, 7, gamma=0.5)),
    "step-default-gamma": (lambda: gn.StepLR(3), lambda o: lrs.StepLR(o, 3)),
    "exponential": (lambda: gn.ExponentialLR(0.93), lambda o: lrs.ExponentialLR(o, 0.93)),
    "cosine": (lambda: gn.CosineAnnealingLR(20), lambda o: lrs.CosineAnnealingLR(o, 20)),
    "cosine-eta-min": (lambda: gn.CosineAnnealingLR(13, eta_min=0.004), lambda o: lrs.CosineAnnealingLR(o, 13, 0.004)),
    "warmup-defaults": (lambda: gn.LinearWarmup(), lambda o: lrs.LinearLR(o)),
    "warmup": (lambda: gn.LinearWarmup(0.1, 0.9, total_iters=8), lambda o: lrs.LinearLR(o, 0.1, 0.9, 8)),
    "warmup-then-cosine": (
        lambda: gn.SequentialLR([gn.LinearWarmup(0.2, total_iters=5), gn.CosineAnnealingLR(30, eta_min=0.01)], [5]),
        lambda o: lrs.SequentialLR(o, [lrs.LinearLR(o, 0.2, total_iters=5), lrs.CosineAnnealingLR(o, 30, 0.01)], [5])),
    "three-in-a-row": (
        lambda: gn.SequentialLR([gn.LinearWarmup(0.5, total_iters=3), gn.StepLR(4, 0.5), gn.ExponentialLR(0.9)], [3, 15]),
        lambda o: lrs.SequentialLR(o, [lrs.LinearLR(o, 0.5, total_iters=3), lrs.StepLR(o, 4, 0.5),
                                       lrs.ExponentialLR(o, 0.9)], [3, 15])),
}


def torch_rates(make, base: float, n: int) -> list[float]:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's step(0) and "step() before optimizer.step()" notes
        scheduler = make(opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
    return out


def close(ours, theirs, what: str) -> None:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    # atol for the rates torch reaches by repeated multiplication and glassnet in closed form near 0 (cosine's end)
    if not np.allclose(ours, theirs, rtol=RTOL, atol=1e-15):
        i = int(np.argmax(np.abs(ours - theirs)))
        pytest.fail(f"{what}: glassnet vs torch differ first at index {i}: {ours[i]!r} vs {theirs[i]!r}")


@pytest.mark.parametrize("case", list(CASES))
def test_rates_equal_torch_schedulers_over_60_steps(case):
    ours, theirs = CASES[case]
    close(ours().rates(0.3, 60), torch_rates(theirs, 0.3, 60), case)


def test_rates_worked_by_hand():
    assert gn.StepLR(2, 0.5).rates(0.4, 5) == [0.4, 0.4, 0.2, 0.2, 0.1]
    assert gn.ExponentialLR(0.5).rates(1.0, 4) == [1.0, 0.5, 0.25, 0.125]
    # (1 + cos(pi t / 4)) / 2 for t = 0..4: 1, (1 + 0.70710678)/2, 0.5, (1 - 0.70710678)/2, 0; then back up
    np.testing.assert_allclose(gn.CosineAnnealingLR(4).rates(1.0, 6),
                               [1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0, 0.14644660940672627],
                               rtol=1e-15, atol=1e-16)
    # LinearLR: factor 0.25 + 0.75 * t / 3, then 1
    np.testing.assert_allclose(gn.LinearWarmup(0.25, total_iters=3).rates(2.0, 5), [0.5, 1.0, 1.5, 2.0, 2.0], rtol=1e-15)
    chain = gn.SequentialLR([gn.LinearWarmup(0.5, total_iters=2), gn.StepLR(1, 0.1)], milestones=[2])
    np.testing.assert_allclose(chain.rates(1.0, 5), [0.5, 0.75, 1.0, 0.1, 0.01], rtol=1e-15)


# ---------------------------------------------------------------------------------------------- whole trajectories
def torch_run(net: gn.Network, X, y, epochs: int, batch: int, make_opt, make_scheduler, per: str):
    """The same run in torch: batches in order (glassnet's fit with shuffle=False), scheduler.step() per epoch
    or per batch; the parameters after every epoch."""
    params = torch_params(net)
    opt = make_opt(list(params.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(opt)
    after, rates = [], []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        for start in range(0, len(X), batch):
            opt.zero_grad()
            _, loss = torch_loss(net, params, X[start:start + batch], y[start:start + batch])
            loss.backward()
            opt.step()
            if per == "batch":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scheduler.step()
        if per == "epoch":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scheduler.step()
        after.append({k: p.detach().numpy().copy() for k, p in params.items()})
    return after, rates


class Snapshots:
    """A callback keeping the parameters after every epoch."""

    observes_only = True

    def __init__(self) -> None:
        self.after: list[dict[str, np.ndarray]] = []

    def on_epoch_end(self, net, epoch, logs):
        self.after.append({k: p.copy() for k, p in net.parameters().items()})


def data(n=48, n_in=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    y = (X[:, 0] * X[:, 1] - X[:, 2] > 0).astype(float)
    return X, y


RUNS = {  # schedule (glassnet, torch), optimizer (glassnet, torch), per
    "sgd-momentum-step-per-epoch": (CASES["step"], (lambda: gn.SGD(0.2, momentum=0.9),
                                                    lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9)), "epoch"),
    "adam-warmup-cosine-per-epoch": (CASES["warmup-then-cosine"], (lambda: gn.Adam(0.01),
                                                                    lambda p: torch.optim.Adam(p, lr=0.01)), "epoch"),
    "sgd-exponential-per-batch": ((lambda: gn.ExponentialLR(0.995, per="batch"), lambda o: lrs.ExponentialLR(o, 0.995)),
                                  (lambda: gn.SGD(0.5), lambda p: torch.optim.SGD(p, lr=0.5)), "batch"),
    "rmsprop-cosine-per-batch": ((lambda: gn.CosineAnnealingLR(50, eta_min=1e-4, per="batch"),
                                  lambda o: lrs.CosineAnnealingLR(o, 50, 1e-4)),
                                 (lambda: gn.RMSprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)), "batch"),
}


@pytest.mark.parametrize("run", list(RUNS))
def test_training_with_a_schedule_equals_torch_after_every_epoch(run):
    (schedule, scheduler), (make_ours, make_theirs), per = RUNS[run]
    X, y = data()
    net = gn.Network.from_sizes([3, 6, 1], activation="tanh", loss="bce", seed=3)
    epochs, batch = 40, 16
    expected, rates = torch_run(net, X, y, epochs, batch, make_theirs, scheduler, per)
    snaps, optimizer = Snapshots(), make_ours()
    history = net.fit(X, y, epochs=epochs, optimizer=optimizer, batch_size=batch, shuffle=False,
                      callbacks=[schedule(), snaps], monitor=False)
    close(history.lr, rates, f"{run}: History.lr")
    for epoch, (ours, theirs) in enumerate(zip(snaps.after, expected), start=1):
        for key in ours:
            close(ours[key], theirs[key], f"{run}: {key} after epoch {epoch}")
    assert optimizer.lr == make_ours().lr  # the base rate is back in the optimizer


def test_history_lr_without_a_schedule_is_the_constant_rate_and_is_saved(tmp_path):
    X, y = data()
    net = gn.Network.from_sizes([3, 4, 1], activation="tanh", loss="bce", seed=0)
    history = net.fit(X, y, epochs=3, lr=0.05, monitor=False)
    assert history.lr == [0.05, 0.05, 0.05]
    assert history.to_dict()["lr"] == [0.05, 0.05, 0.05]
    net.metadata["history"] = history.to_dict()
    net.save(tmp_path / "m.npz")
    assert gn.load(tmp_path / "m.npz").metadata["history"]["lr"] == [0.05, 0.05, 0.05]


def test_a_rate_set_in_on_batch_begin_is_the_one_recorded():
    class Halve:
        def on_batch_begin(self, net, epoch, step, X, Y):
            self.opt.lr = 0.5 ** epoch

        def on_train_begin(self, net, info):
            self.opt = info["optimizer"]

    X, y = data()
    history = gn.Network.from_sizes([3, 4, 1], loss="bce", seed=0).fit(X, y, epochs=3, callbacks=[Halve()], monitor=False)
    assert history.lr == [0.5, 0.25, 0.125]


@pytest.mark.parametrize("per", ["epoch", "batch"])
def test_a_resumed_checkpoint_run_continues_the_schedule_bit_for_bit(tmp_path, per):
    X, y = data()

    def run(epochs: int, path) -> tuple[gn.Network, gn.History]:
        net = gn.Network.from_sizes([3, 5, 1], activation="tanh", loss="bce", seed=4)
        schedule = gn.SequentialLR([gn.LinearWarmup(0.1, total_iters=4, per=per), gn.CosineAnnealingLR(20, per=per)], [4])
        history = net.fit(X, y, epochs=epochs, optimizer="adam", lr=0.01, batch_size=16, callbacks=[schedule],
                          checkpoint=path, checkpoint_every=1, resume=True, monitor=False)
        return net, history

    whole_net, whole = run(15, tmp_path / "whole.ckpt")
    run(6, tmp_path / "part.ckpt")  # stopped after 6 epochs, then resumed to 15
    resumed_net, resumed = run(15, tmp_path / "part.ckpt")
    assert resumed.lr == whole.lr and len(whole.lr) == 15
    assert resumed.loss == whole.loss
    for key, p in whole_net.parameters().items():
        np.testing.assert_array_equal(resumed_net.parameters()[key], p)


def test_every_registered_schedule_names_its_torch_twin():
    for cls in SCHEDULES.classes():
        assert cls.torch_name and hasattr(lrs, cls.torch_name), cls
    twin = gn.CosineAnnealingLR(10, eta_min=0.1)
    torch_twin = getattr(lrs, twin.torch_name)(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0),
                                               **twin.torch_kwargs())
    assert torch_twin.T_max == 10 and torch_twin.eta_min == 0.1


@pytest.mark.parametrize("bad, words", [
    (lambda: gn.StepLR(0), "step_size must be a positive integer"),
    (lambda: gn.StepLR(2, gamma=math.nan), "gamma must be a number"),
    (lambda: gn.ExponentialLR(-0.5), "gamma must be a number"),
    (lambda: gn.CosineAnnealingLR(10, eta_min=-1), "eta_min must be a number"),
    (lambda: gn.LinearWarmup(0.0), "start_factor must be a number in (0, 1]"),
    (lambda: gn.LinearWarmup(total_iters=2.5), "total_iters must be a positive integer"),
    (lambda: gn.StepLR(2, per="step"), "per must be 'epoch'"),
    (lambda: gn.SequentialLR([gn.StepLR(2)], [3]), "1 schedules need 0 milestone"),
    (lambda: gn.SequentialLR([gn.StepLR(2), gn.StepLR(2, per="batch")], [3]), "give them all the same per="),
    (lambda: gn.SequentialLR([gn.StepLR(2), gn.StepLR(2), gn.StepLR(3)], [5, 5]), "milestones must increase"),
])
def test_bad_settings_say_what_is_wrong(bad, words):
    with pytest.raises(gn.ConfigError, match=None) as info:
        bad()
    assert words in str(info.value)


def test_a_schedule_keeps_the_fast_path():
    assert Schedule.observes_only
