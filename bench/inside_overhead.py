"""What recording the inside of training costs: ``fit`` with and without its ``LayerStatsRecorder``, per step.

    python3 bench/inside_overhead.py                  # tiny (XOR 2-3-1, 5000 steps) and wide (784-512-512-10, 3 epochs)
    python3 bench/inside_overhead.py --seconds 20 --configs tiny

Both runs of a pair call ``fit`` as users do (``monitor=True``) on the same network from the same start; for one of
them the default callbacks (``glassnet/wiring.py``) are installed less the layer-stats recorder, so the only
difference is the recorder with its default sampling (each of the first 8 steps, then every ``max(8, steps // 100)``-th). The pairs
alternate which run goes first, in one process, for as many pairs as fit in the time budget: this machine is shared
and its speed drifts by more than the recorder costs. Reported: the overhead per step as a percentage, from the best
time of each kind (other work only ever adds time: ``timeit``'s rule) and as the median of the pairs' ratios; the
samples kept; the direct cost of one sampled step's recording and of an unsampled step's (the two callback calls,
timed on their own) and from those ``direct``, the overhead per step that the drift cannot blur.

The ``wide`` run is the worst case for the recorder: 96 steps, so 19 are sampled, a fifth (each copies the 670k
parameters and takes three norms of that size). A longer run samples at most about 120 steps whatever its length (until
issue 17 a run shorter than 200 steps sampled every step).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))            # configs.py beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # this checkout's glassnet

from configs import make_problem  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import wiring  # noqa: E402
from glassnet.core import training  # noqa: E402
from glassnet.verify.inside import LayerStatsRecorder  # noqa: E402

# CPU seconds of this process (all its threads): a loaded machine's preemptions add wall time to whichever run they
# hit, not CPU time. --wall times by the wall clock instead.
CLOCK = time.process_time
RUNS = {"tiny": ("tiny", None), "wide": ("wide", 3)}  # name: (bench config, epochs instead of its own)


def _without_recorder(run: Any, **settings: Any) -> list[Any]:
    """fit's default callbacks (glassnet/wiring.py) less the layer-stats recorder: the health monitor alone."""
    return [cb for cb in wiring.default_callbacks(run, **settings) if not isinstance(cb, LayerStatsRecorder)]


def trainer(name: str) -> tuple[Any, dict[str, Any]]:
    """A function that trains a fresh copy of the config's network (recording or not), and the config."""
    config, epochs = RUNS[name]
    problem = make_problem(config)
    c = problem.config
    epochs = epochs or c.epochs
    sizes = list(zip(c.sizes, c.sizes[1:]))

    def train(record: bool, callbacks: tuple[Any, ...] = ()) -> tuple[float, Any]:
        layers = [gn.Dense(a, b, c.hidden if i < len(sizes) - 1 else c.output, init=(W.copy(), bias.copy()))
                  for i, ((a, b), (W, bias)) in enumerate(zip(sizes, problem.init))]
        net = gn.Network(layers, loss=c.loss, seed=0)
        # fit(monitor=True) as users call it; without recording, the same defaults less the recorder.
        previous = training.install_default_callbacks(wiring.default_callbacks if record else _without_recorder)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # health warnings of the short runs: not what is measured
                start = CLOCK()
                history = net.fit(problem.X, problem.y, epochs=epochs, optimizer=c.optimizer, lr=c.lr,
                                  batch_size=c.batch_size, callbacks=list(callbacks))
                seconds = CLOCK() - start
        finally:
            training.install_default_callbacks(previous)
        return seconds, history

    return train, {"epochs": epochs, "sizes": c.sizes, "batch_size": c.batch_size, "n_samples": c.n_samples}


_last_net: list[Any] = [None]


class _Keep:
    """Keeps the network a fit trained (for timing the recorder's calls on it afterwards)."""

    observes_only = True

    def on_train_begin(self, net: Any, info: dict[str, Any]) -> None:
        _last_net[0] = net


def measure(name: str, seconds: float) -> dict[str, Any]:
    train, info = trainer(name)
    train(False), train(True)  # warm-up: plans, workspaces, caches
    off, on, ratios, samples, steps = [], [], [], 0, 0
    budget_end = time.perf_counter() + seconds
    pair = 0
    while pair < 4 or (time.perf_counter() < budget_end and pair < 400):
        if pair % 2:
            t_on, history = train(True)
            t_off, _ = train(False)
        else:
            t_off, _ = train(False)
            t_on, history = train(True)
        off.append(t_off)
        on.append(t_on)
        ratios.append(t_on / t_off)
        samples, steps = len(history.layers["step"]), history.steps
        pair += 1
    train(True, (_Keep(),))
    sampled, unsampled = sampled_step_cost_on(_last_net[0]), unsampled_step_cost_on(_last_net[0])
    step_off = min(off) / steps
    # The recorder's own cost per step, from its calls timed directly: robust to the machine's drift between fits.
    direct = (samples * sampled + (steps - samples) * unsampled) / steps
    return {"name": name, **info, "steps": steps, "samples": samples, "pairs": pair,
            "step_off_us": step_off * 1e6, "step_on_us": min(on) / steps * 1e6,
            "overhead_best_pct": 100 * (min(on) / min(off) - 1), "overhead_median_pct": 100 * (statistics.median(ratios) - 1),
            "sampled_step_us": sampled * 1e6, "unsampled_step_us": unsampled * 1e6,
            "overhead_direct_pct": 100 * direct / step_off}


def unsampled_step_cost_on(net: Any, repeats: int = 20000) -> float:
    """Seconds per step of what the recorder adds to a step it does not sample: its two calls (fit runs its own
    callbacks under its own NumPy error settings, so nothing else)."""
    recorder = LayerStatsRecorder(every=10**9)
    recorder.on_train_begin(net, {"n_samples": 1, "batch_size": 1, "epochs": 10**6, "epochs_done": 0})
    start = time.perf_counter()
    for i in range(repeats):
        recorder.on_batch_begin(net, i + 2, 1, None, None)
        recorder.on_batch_end(net, i + 2, 1, 0.0)
    cost = (time.perf_counter() - start) / repeats
    recorder.on_train_end(net, gn.History())
    return cost


def sampled_step_cost_on(net: Any, repeats: int = 20) -> float:
    """Seconds of one sampled step's recording on ``net`` (best of ``repeats``): ``on_batch_begin`` copies the
    parameters, ``on_batch_end`` takes the norms of the gradients its last step left and of the change."""
    recorder = LayerStatsRecorder(every=1)
    recorder.on_train_begin(net, {"n_samples": 1, "batch_size": 1, "epochs": 10**6, "epochs_done": 0})
    best = float("inf")
    for i in range(repeats):
        start = time.perf_counter()
        recorder.on_batch_begin(net, i + 1, 1, None, None)
        recorder.on_batch_end(net, i + 1, 1, 0.0)
        best = min(best, time.perf_counter() - start)
    recorder.on_train_end(net, gn.History())
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="tiny,wide", help="comma-separated: tiny, wide")
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget per config for the pairs")
    parser.add_argument("--wall", action="store_true", help="time the fits by the wall clock, not CPU time")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    print(f"{'run':6} {'network':>16} {'steps':>6} {'samples':>7} {'pairs':>5} {'step off':>10} {'step on':>10} "
          f"{'overhead best':>13} {'median':>7} {'direct':>7} {'sampled':>9} {'unsampled':>9}")
    for name in args.configs.split(","):
        r = measure(name, args.seconds)
        print(f"{r['name']:6} {'-'.join(map(str, r['sizes'])):>16} {r['steps']:>6} {r['samples']:>7} {r['pairs']:>5} "
              f"{r['step_off_us']:>8.1f}us {r['step_on_us']:>8.1f}us {r['overhead_best_pct']:>12.1f}% "
              f"{r['overhead_median_pct']:>6.1f}% {r['overhead_direct_pct']:>6.1f}% {r['sampled_step_us']:>7.0f}us "
              f"{r['unsampled_step_us']:>7.2f}us", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
