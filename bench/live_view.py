"""What the live notebook view costs: the same training steps with and without glassnet.Playground's bookkeeping.

Headless (no browser, no kernel): the widget's messages are JSON-encoded, as a kernel would before sending them,
and then dropped. Per configuration, in one process, pair after pair, alternating which goes first:

* ``fit``         ``net.fit(X, y, epochs=E, monitor=False)``: the training the playground runs, without it;
* ``playground``  ``Playground(net, X, y, epochs=E).play()`` then wait until the E epochs are done: the same
                  ``fit`` in the playground's thread, with its callback, its lock and its throttled redraws
                  (``fps`` of them a second: outputs on the boundary grid, the loss on all the data, the drawn
                  weights, the loss curve, all encoded);
* ``watched``     ``net.fit(..., callbacks=[playground.callback()])``: a fit in a cell, redrawn live
                  (``callback(full_batch=True)`` for the full-batch configuration).

Each run starts from the same weights. The ratio is the best playground (or watched) time over the best fit time
(other work on the machine only ever adds time: timeit's rule), and the median of the pairs' ratios beside it;
both in wall-clock time and in the process's CPU time (all its threads: steadier when the machine is shared).
The issue's bound is 2x. Run: ``python3 bench/live_view.py [--seconds 20] [--fps 10]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import glassnet as gn  # noqa: E402
from glassnet.viz.playground import Playground  # noqa: E402


def moons(n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with noise (scikit-learn's make_moons, written out to need only NumPy)."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    X = np.where(upper[:, None], np.column_stack([np.cos(t), np.sin(t)]), np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + rng.normal(0, 0.2, X.shape), (~upper).astype(float)


def configs() -> list[dict]:
    X4, y4 = gn.datasets.xor()
    Xm, ym = moons()
    rng = np.random.default_rng(1)
    Xd = rng.normal(size=(1797, 64))
    yd = rng.integers(0, 10, 1797)
    return [
        {"name": "tiny", "about": "2-3-1 sigmoid, MSE, SGD lr 0.5, full batch (4 rows)", "sizes": [2, 3, 1],
         "activation": "sigmoid", "loss": "mse", "X": X4, "y": y4, "optimizer": "sgd", "lr": 0.5, "batch": None, "epochs": 20000},
        {"name": "moons", "about": "2-16-16-1 tanh, BCE, Adam lr 0.01, batch 32 (1000 rows)", "sizes": [2, 16, 16, 1],
         "activation": "tanh", "loss": "bce", "X": Xm, "y": ym, "optimizer": "adam", "lr": 0.01, "batch": 32, "epochs": 60},
        {"name": "digits-like", "about": "64-128-10 relu, cross-entropy, Adam lr 0.001, batch 64 (1797 rows; no boundary)",
         "sizes": [64, 128, 10], "activation": "relu", "loss": "cross_entropy", "X": Xd, "y": yd, "optimizer": "adam",
         "lr": 0.001, "batch": 64, "epochs": 20},
    ]


def encode_messages(widget) -> None:
    """Make the widget's comm JSON-encode every message (what the kernel would do before sending it), then drop it."""
    def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
        json.dumps(data, separators=(",", ":"))

    widget.comm.publish_msg = publish


def build(c: dict) -> gn.Network:
    return gn.Network.from_sizes(c["sizes"], activation=c["activation"], loss=c["loss"], seed=0)


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(started: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clocks()
    return wall - started[0], cpu - started[1]


def run_fit(c: dict, fps: float) -> tuple[float, float]:
    net = build(c)
    started = clocks()
    net.fit(c["X"], c["y"], epochs=c["epochs"], optimizer=c["optimizer"], lr=c["lr"], batch_size=c["batch"], monitor=False)
    return since(started)


def run_playground(c: dict, fps: float) -> tuple[float, float]:
    net = build(c)
    pg = Playground(net, c["X"], c["y"], optimizer=c["optimizer"], lr=c["lr"], batch_size=c["batch"], epochs=c["epochs"], fps=fps)
    encode_messages(pg.widget)
    started = clocks()
    pg.play()
    while pg._running:  # what wait() does, polling more often: the time to notice the end is not the playground's
        time.sleep(0.001)
    took = since(started)
    if pg.history.epochs != c["epochs"]:
        raise SystemExit(f"the playground trained {pg.history.epochs} epochs, not {c['epochs']}: {pg.widget.message}")
    pg.close()
    return took


def run_watched(c: dict, fps: float) -> tuple[float, float]:
    net = build(c)
    pg = Playground(net, c["X"], c["y"], optimizer=c["optimizer"], lr=c["lr"], batch_size=c["batch"], epochs=c["epochs"], fps=fps)
    encode_messages(pg.widget)
    started = clocks()
    net.fit(c["X"], c["y"], epochs=c["epochs"], optimizer=c["optimizer"], lr=c["lr"], batch_size=c["batch"], monitor=False,
            callbacks=[pg.callback(full_batch=c["batch"] is None)])
    return since(started)


RUNS = {"fit": run_fit, "playground": run_playground, "watched": run_watched}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="time per configuration (at least 3 pairs)")
    parser.add_argument("--fps", type=float, default=10.0, help="the playground's redraws per second")
    parser.add_argument("--configs", default="tiny,moons,digits-like")
    args = parser.parse_args()
    wanted = args.configs.split(",")
    worst = 0.0
    print(f"glassnet live view: fit vs Playground (fps {args.fps:g}); best times, ratio = best / best fit "
          "(median of pairs in brackets)")
    for c in configs():
        if c["name"] not in wanted:
            continue
        for run in RUNS.values():  # warm-up: plans, agreement checks
            run(c, args.fps)
        times: dict[str, list[tuple[float, float]]] = {kind: [] for kind in RUNS}
        started, pair = time.perf_counter(), 0
        while pair < 3 or time.perf_counter() - started < args.seconds:
            for kind in (list(RUNS) if pair % 2 == 0 else list(RUNS)[::-1]):
                times[kind].append(RUNS[kind](c, args.fps))
            pair += 1
        steps = c["epochs"] * -(-len(c["X"]) // (c["batch"] or len(c["X"])))
        print(f"\n{c['name']}: {c['about']}, {steps} steps, {pair} pairs")
        print(f"  {'':<11} {'wall us/step':>12}  {'ratio':>6} {'[pairs]':>8}   {'cpu us/step':>12}  {'ratio':>6} {'[pairs]':>8}")
        for kind in RUNS:
            line = f"  {kind:<11}"
            for clock in (0, 1):
                best = min(t[clock] for t in times[kind]) / min(t[clock] for t in times["fit"])
                pairs = statistics.median(t[clock] / f[clock] for t, f in zip(times[kind], times["fit"]))
                line += f" {min(t[clock] for t in times[kind]) * 1e6 / steps:12.1f}  {best:6.3f} [{pairs:6.3f}]  "
                if clock == 0 and kind != "fit":
                    worst = max(worst, best)
            print(line)
    print(f"\nworst wall-clock ratio {worst:.3f} (the bound is 2)")
    return 0 if worst <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
