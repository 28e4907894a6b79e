"""Where one training step's time goes: ``python3 bench/step_profile.py [--config wide|digits] [--dtype float32]``.

Times each part of ``Network.step`` on one batch, the way the fast path runs it (``core/fast.py``): every layer's
forward (and its matrix product alone, for comparison), the loss, every layer's backward, the gradients'
finiteness check and the optimizer's update, then the whole step; each the best of many runs, so a loaded machine
only ever adds to it. Run twice, with ``GLASSNET_COMPILED=0`` (NumPy's in-place forms) and ``GLASSNET_COMPILED=1``
(the compiled loop forms of ``glassnet[fast]``), to see what the loop forms change. The sums of the parts fall a
little short of the whole step: the step also gathers its batch and checks that nothing is hooked.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import glassnet as gn
from glassnet.core import compiled, fast
from glassnet.core.checks import all_finite_flat

SIZES = {"wide": ((784, 512, 512, 10), 256), "digits": ((64, 128, 10), 64)}


def best_ms(f: Callable[[], Any], seconds: float = 0.5) -> float:
    """The fastest of as many calls of ``f`` as fit in about ``seconds`` (at least 5), in milliseconds."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < 5 or time.perf_counter() < deadline:
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def profile(config: str, dtype: str) -> list[tuple[str, float]]:
    sizes, batch = SIZES[config]
    rng = np.random.default_rng(0)
    layers = [gn.Dense(a, b, "relu" if i < len(sizes) - 2 else "softmax", init="he", seed=i)
              for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    net = gn.Network(layers, loss="cross_entropy", dtype=dtype)
    opt = gn.Adam(0.001)
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch)
    Y = np.eye(sizes[-1], dtype=dtype)[y]
    for _ in range(3):
        net.step(X, y, opt)
    plan = fast.plan_for(net)
    work = plan.workspace(batch)
    rows: list[tuple[str, float]] = []
    A = X
    for i, (forward, w) in enumerate(zip(plan.forward_forms, work)):
        rows.append((f"layer {i} forward", best_ms(partial(forward, A, w))))
        rows.append(("  its X @ W alone", best_ms(partial(np.matmul, A, plan.layers[i].params["W"], w.Z))))
        A = forward(A, w)
    cache = plan.layers[-1].cache
    with np.errstate(all="ignore"):  # repeated, the loss takes the log of its own buffers again: numbers only timed
        rows.append(("loss and its gradient", best_ms(partial(plan.loss_form, cache["Z"], cache["A"], Y, work[-1].G,
                                                              work[-1]))))
    plan.gradients(X, Y)  # the loss above took the log of its buffers in place: start the backward pass afresh
    d = work[-1].G
    for j, (backward, w) in enumerate(zip(reversed(plan.backward_forms), reversed(work))):
        rows.append((f"layer {len(work) - 1 - j} backward", best_ms(partial(backward, d, w))))
        d = backward(d, w)
    rows.append(("gradients finite (one dot)", best_ms(lambda: all_finite_flat(plan.gflat))))
    rows.append(("optimizer update", best_ms(lambda: plan.update(opt))))
    rows.append(("whole net.step", best_ms(lambda: net.step(X, y, opt))))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=sorted(SIZES), default="wide")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = ap.parse_args()
    rows = profile(args.config, args.dtype)
    ran = sorted(compiled.report()["kernels"]) or ["none (NumPy's in-place forms)"]
    print(f"{args.config} {args.dtype}, GLASSNET_COMPILED: loop forms that ran: {', '.join(ran)}")
    for name, ms in rows:
        print(f"{name:<30}{ms:9.3f} ms")


if __name__ == "__main__":
    main()
