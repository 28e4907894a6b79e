"""One Ctrl-C hold alone (``with fast._whole(): pass``), then a loop of ``net.step`` on ``digits`` (compiled), holding
Ctrl-C back around each update with the ``signal`` module's functions (as before) or with ``_signal``'s, alternating
in one process: ``python3 bench/issue17/ctrl_c_hold.py float64`` (run from the repository root)."""
import os
import signal
import sys
import time
import timeit

os.environ.setdefault("GLASSNET_COMPILED", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import _signal  # noqa: E402

import numpy as np  # noqa: E402
from configs import make_problem  # noqa: E402
from peers import PEERS  # noqa: E402

import glassnet.core.fast as fast  # noqa: E402

dtype = sys.argv[1] if len(sys.argv) > 1 else "float64"
signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own handler, as in a terminal: _whole swaps it
ways = (("signal (wrapped)", signal), ("_signal", _signal))


def hold() -> None:
    with fast._whole():
        pass


for name, module in ways * 2:
    fast._signals = module
    print(f"{name:18s} {min(timeit.repeat(hold, number=20000, repeat=5)) / 20000 * 1e6:.1f} us a hold alone")
problem = make_problem("digits")
trainer = PEERS["glassnet-step"](problem, dtype)
trainer.reset()
trainer.train()
times: dict[str, list[float]] = {"signal (wrapped)": [], "_signal": []}
for r in range(12):
    for name, module in ways[:: 1 if r % 2 else -1]:
        fast._signals = module
        trainer.reset()
        start = time.perf_counter()
        trainer.train()
        times[name].append(time.perf_counter() - start)
samples = problem.config.n_samples * problem.config.epochs
steps = problem.config.epochs * problem.config.steps_per_epoch
for name, ts in times.items():
    print(f"{dtype} {name:18s} best {samples / min(ts):,.0f} samples/s, median {samples / np.median(ts):,.0f} "
          f"({min(ts) / steps * 1e6:.0f} us a step at best)")
