"""Where a default ``fit`` spends its time between the steps: ``fit()`` and ``fit(monitor=False)`` alternating in one
process, every training step timed (the step function ``fit`` asks for, wrapped), and the time between one step's end
and the next one's start (row gathering, the accuracy count, bookkeeping, and the callbacks):
``python3 bench/issue17/step_gaps.py [digits] [float64] [pairs]`` (run from the repository root)."""
import os
import sys
import time
import warnings
from typing import Any

os.environ.setdefault("GLASSNET_COMPILED", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import numpy as np  # noqa: E402
from configs import make_problem  # noqa: E402
from peers import PEERS  # noqa: E402

import glassnet.core.fast as fast  # noqa: E402
import glassnet.core.training as training  # noqa: E402

config = sys.argv[1] if len(sys.argv) > 1 else "digits"
dtype = sys.argv[2] if len(sys.argv) > 2 else "float64"
pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 12
trainer = PEERS["glassnet-fit"](make_problem(config), dtype)
c = trainer.c
spans: list[tuple[float, float]] = []  # (start, end) of each step of the current fit
step_function = fast.step_function


def timed_step_function(net: Any) -> Any:
    run_step = step_function(net)

    def timed(X: Any, Y: Any, opt: Any) -> float:
        start = time.perf_counter()
        loss = run_step(X, Y, opt)
        spans.append((start, time.perf_counter()))
        return loss
    return timed


training.fast.step_function = timed_step_function  # fit looks it up through the module at each fit
warnings.simplefilter("ignore")  # the health monitor's advice is not what is measured here


def one_fit(**kw: Any) -> tuple[float, Any, Any, Any]:
    trainer.reset()
    spans.clear()
    start = time.perf_counter()
    history = trainer.net.fit(trainer.X, trainer.y, epochs=c.epochs, optimizer=c.optimizer, lr=c.lr, batch_size=c.batch_size,
                    shuffle=True, **kw)
    total = time.perf_counter() - start
    a = np.array(spans)
    return total, a[:, 1] - a[:, 0], a[1:, 0] - a[:-1, 1], history


one_fit(monitor=False), one_fit()  # warm-up: numba's loading and the first allocations are not timed
runs: dict[str, list[tuple[float, Any, Any, Any]]] = {"fit(monitor=False)": [], "fit()": []}
for _ in range(pairs):
    runs["fit(monitor=False)"].append(one_fit(monitor=False))
    runs["fit()"].append(one_fit())
# The steps the default recorder sampled, as it recorded them (history.layers["step"], counted from 1)
n_steps = len(runs["fit()"][0][1])
sampled = np.zeros(n_steps, dtype=bool)
sampled[np.array(runs["fit()"][0][3].layers["step"]) - 1] = True
print(f"{config} {dtype}, {pairs} pairs, {n_steps} steps ({sampled.sum()} sampled by the default recorder); medians:")
for name, rs in runs.items():
    total = np.array([r[0] for r in rs])
    steps = np.array([r[1] for r in rs])
    gaps = np.array([r[2] for r in rs])
    print(f"  {name:20s} fit {np.median(total) * 1e3:6.1f} ms: steps {np.median(steps.sum(1)) * 1e3:6.1f} ms, between them "
          f"{np.median(gaps.sum(1)) * 1e3:5.1f} ms; a step {np.median(steps) * 1e6:5.1f} us, a gap "
          f"{np.median(gaps) * 1e6:5.1f} us, after a sampled step {np.median(gaps[:, sampled[:-1]]) * 1e6:5.1f} us")
