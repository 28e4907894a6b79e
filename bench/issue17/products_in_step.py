"""``wide`` float32: each matrix product timed inside the compiled ``fit(monitor=False)`` (median over 3 fits of 32
steps), and the same shapes alone afterwards (fresh contiguous operands, 30 calls each):
``python3 bench/issue17/products_in_step.py`` (run from the repository root)."""
import os
import sys
import time
from typing import Any

os.environ.setdefault("GLASSNET_COMPILED", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import numpy as np  # noqa: E402
from configs import make_problem  # noqa: E402
from peers import PEERS  # noqa: E402

import glassnet.core.layers as layers  # noqa: E402

trainer = PEERS["glassnet-nomonitor"](make_problem("wide"), "float32")
matmul = np.matmul
in_step: dict[tuple[Any, ...], list[float]] = {}


def timed(*args: Any) -> Any:
    start = time.perf_counter()
    result = matmul(*args)
    in_step.setdefault((args[0].shape, args[1].shape), []).append(time.perf_counter() - start)
    return result


trainer.reset()
trainer.train()
layers.np = type(sys)("numpy_with_a_timed_matmul")  # only layers.py's products are timed
layers.np.__dict__.update(np.__dict__, matmul=timed)
fits = []
for _ in range(3):
    trainer.reset()
    start = time.perf_counter()
    trainer.train()
    fits.append(time.perf_counter() - start)
layers.np = np
rng = np.random.default_rng(0)
total_in, total_alone = 0.0, 0.0
for (a, b), ts in in_step.items():
    if 256 not in (a[0], b[0]):  # the agreement probe's few rows, not a step's 256
        continue
    A, B = rng.standard_normal(a).astype(np.float32), rng.standard_normal(b).astype(np.float32)
    out = np.empty((a[0], b[1]), np.float32)
    alone = []
    for _ in range(30):
        start = time.perf_counter()
        matmul(A, B, out)
        alone.append(time.perf_counter() - start)
    per_step = len(ts) // (3 * 32)  # two products of one shape: A1 @ W2 forward, dZ2 @ W2.T backward
    total_in += per_step * float(np.median(ts))
    total_alone += per_step * float(np.median(alone))
    print(f"{a} @ {b} (x{per_step}): in the step {np.median(ts) * 1e3:.3f} ms, alone {np.median(alone) * 1e3:.3f} ms "
          "(medians)")
print(f"the step's products {total_in * 1e3:.2f} ms in the step, {total_alone * 1e3:.2f} ms alone; "
      f"a step of fit(monitor=False) {min(fits) / 32 * 1e3:.2f} ms at best (with this script's timing of each product)")
