"""How close a compiled ``wide`` float32 step can come to 75% of the GEMM peak, in one process:
``python3 bench/issue17/gemm_ceiling.py`` (run from the repository root).

Measures the square-GEMM peak (as ``run.py``: 2048 x 2048, best of several, before and after the rest, the higher
kept), the step's eight products alone (best of many each), and, inside a loop of real ``net.step`` calls, the
whole step and the optimizer's update (Adam's check and write passes over 670k parameters, which in a step find
them out of cache: the products just went through). The products at their best alone plus the update as it runs
in a step, before anything else a step does, are printed as a share of the peak beside the 75% target.
"""
import os
import sys
import time
from functools import partial

os.environ.setdefault("GLASSNET_COMPILED", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import numpy as np  # noqa: E402
from cell import square_gemm  # noqa: E402
from step_profile import best_ms  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.core import fast  # noqa: E402

gemm = square_gemm("float32", 2048)
peak = max(gemm() for _ in range(5))
sizes, batch = (784, 512, 512, 10), 256
rng = np.random.default_rng(0)
net = gn.Network([gn.Dense(a, b, "relu" if i < 2 else "softmax", init="he", seed=i)
                  for i, (a, b) in enumerate(zip(sizes, sizes[1:]))], loss="cross_entropy", dtype="float32")
opt = gn.Adam(0.001)
X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
y = rng.integers(0, sizes[-1], batch)
for _ in range(3):
    net.step(X, y, opt)

# The products of one step, alone: forward X @ W for each layer, backward dW = A.T @ dZ for each, dX = dZ @ W.T but
# into the data (the FLOPs that run.py counts).
Ws = [layer.params["W"] for layer in net.layers]
As = [X] + [rng.standard_normal((batch, n)).astype(np.float32) for n in sizes[1:]]
products = [(As[i], Ws[i]) for i in range(3)] + [(As[i].T, As[i + 1]) for i in range(3)]
products += [(As[i + 1], Ws[i].T) for i in (1, 2)]
alone = sum(best_ms(partial(np.matmul, a, b, np.empty((a.shape[0], b.shape[1]), np.float32))) for a, b in products)
flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in products)

# In real steps: the whole step and the update's share of it.
state = fast.plan_for(net).opt_states[opt]
update_times: list[float] = []
loop_update = state.loop_update


def timed_update(*args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    loop_update(*args)
    update_times.append(time.perf_counter() - start)


state.loop_update = timed_update
steps = [best_ms(lambda: net.step(X, y, opt), seconds=0.0) for _ in range(60)]  # 60 x best of 5
update_in_step = 1e3 * float(np.median(update_times))
update_hot = best_ms(lambda: loop_update(opt, 1.0, state.t + 1))  # the same passes, the arrays in cache
step = float(np.min(steps))
# At most: the products and the update in the best step take at least their time alone and their fastest
rest = step - 1e3 * float(np.min(update_times)) - alone
peak = max(peak, *(gemm() for _ in range(5)))  # a slow spell at the start would make every share too high
target_ms = flops / (0.75 * peak * 1e9) * 1e3
print(f"square GEMM peak {peak:.1f} GFLOP/s; {flops / 1e6:.1f} MFLOP of products a step; 75% of the peak is a step "
      f"of {target_ms:.2f} ms")
print(f"the step's 8 products alone, best of each: {alone:.2f} ms ({flops / alone / 1e6:.1f} GFLOP/s, "
      f"{flops / alone / 1e6 / peak:.0%} of the peak)")
print(f"Adam's update (check and write passes): in a step {update_in_step:.2f} ms (median), repeated in cache "
      f"{update_hot:.2f} ms (best)")
print(f"whole net.step, best of 300: {step:.2f} ms = {flops / step / 1e6 / peak:.0%} of the peak; "
      f"besides the products alone and the update: at most {rest:.2f} ms"
      + (" (below 0: the products alone were timed in a slower spell of the machine than the best step)"
         if rest < 0 else ""))
print(f"products alone + update in a step: {alone + update_in_step:.2f} ms = "
      f"{flops / (alone + update_in_step) / 1e6 / peak:.0%} of the peak, before anything else a step does")
