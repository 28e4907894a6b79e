"""What each of ``fit``'s default callbacks costs: ``fit()`` and ``fit(monitor=False)`` alternating in one process,
every callback method of the defaults timed in the last ``fit()``:
``python3 bench/issue17/default_callbacks.py digits float64 [pairs]`` (run from the repository root)."""
import os
import sys
import time
from typing import Any

os.environ.setdefault("GLASSNET_COMPILED", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import numpy as np  # noqa: E402
from configs import make_problem  # noqa: E402
from peers import PEERS  # noqa: E402

import glassnet.core.training as training  # noqa: E402

config, dtype = sys.argv[1], sys.argv[2]
pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 6
problem = make_problem(config)
with_monitor, without = PEERS["glassnet-fit"](problem, dtype), PEERS["glassnet-nomonitor"](problem, dtype)
spent: dict[str, list[float]] = {}  # "Class.on_..." -> [calls, seconds]


class Timed:
    """A default callback whose ``on_...`` methods add their time to ``spent``."""

    def __init__(self, callback: Any) -> None:
        self._callback = callback

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._callback, name)
        if not name.startswith("on_") or not callable(method):
            return method
        key = f"{type(self._callback).__name__}.{name}"

        def timed(*args: Any) -> Any:
            start = time.perf_counter()
            result = method(*args)
            entry = spent.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start
            return result
        return timed


defaults = training._default_callbacks
training._default_callbacks = lambda *a, **k: [Timed(cb) for cb in defaults(*a, **k)]
for trainer in (with_monitor, without):
    trainer.reset()
    trainer.train()
times: dict[str, list[float]] = {"fit()": [], "fit(monitor=False)": []}
for _ in range(pairs):
    spent.clear()
    for name, trainer in (("fit()", with_monitor), ("fit(monitor=False)", without)):
        trainer.reset()
        start = time.perf_counter()
        trainer.train()
        times[name].append(time.perf_counter() - start)
print(config, dtype, "; ".join(f"{k}: best {min(v) * 1e3:.1f} ms, median {np.median(v) * 1e3:.1f}"
                               for k, v in times.items()))
print(f"without the monitor / with it (best of each): {min(times['fit(monitor=False)']) / min(times['fit()']):.3f}")
for key, (calls, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
    print(f"  {key:42s} {calls:5d} calls {seconds * 1e3:8.2f} ms")
print(f"  all callbacks, the last fit(): {sum(s for _, s in spent.values()) * 1e3:.2f} ms")
