"""One benchmark cell, run by ``run.py`` in a fresh process: one config x one peer x one dtype.

Prints one JSON object on its last line: samples/s of every timed repeat (wall clock, and per second of
this process's CPU time, all its threads together), the final loss (scored by
``configs.final_loss``), peak memory (``ru_maxrss``) and minor page faults per step over the timed
repeats (after a warm-up, so this is the steady state). ``--peer gemm`` measures the machine's
matrix-multiply peak instead (best of several large square products, in this process's dtype).
``--peer monitor-paired`` times glassnet ``fit`` with and without its health monitor, alternating in this
one process, for the monitor's cost without the process-to-process noise of comparing two cells.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from typing import Any

import numpy as np


def gemm_peak(dtype: str, n: int, repeats: int) -> dict[str, Any]:
    gemm = square_gemm(dtype, n)
    return {"gflops": max(gemm() for _ in range(repeats)), "n": n}


def square_gemm(dtype: str, n: int) -> Any:
    """A function that multiplies two n x n matrices once and returns the GFLOP/s it reached."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    C = np.empty((n, n), dtype)
    np.matmul(A, B, out=C)

    def gemm() -> float:
        t = time.perf_counter()
        np.matmul(A, B, out=C)
        return 2.0 * n**3 / (time.perf_counter() - t) / 1e9

    return gemm


def run_cell(config: str, peer: str, dtype: str, mode: str, repeats: int, warmup: int,
             gemm_n: int = 0) -> dict[str, Any]:
    from configs import final_loss, make_problem
    from peers import PEERS

    problem = make_problem(config, mode)
    c = problem.config
    trainer = PEERS[peer](problem, dtype)
    for _ in range(warmup):
        trainer.reset()
        trainer.train()
    rates, cpu_rates, faults, times = [], [], 0, []
    steps = c.epochs * c.steps_per_epoch
    train_loss = 0.0
    for _ in range(repeats):
        trainer.reset()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t, cpu = time.perf_counter(), time.process_time()
        train_loss = trainer.train()
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        times.append(elapsed)
        rates.append(c.epochs * c.n_samples / elapsed)
        cpu_rates.append(c.epochs * c.n_samples / max(cpu, 1e-9))
    loss = final_loss(c, trainer.params(), problem.X, problem.Y)
    result = {
        "samples_per_s": rates, "samples_per_cpu_s": cpu_rates, "seconds": times, "steps": steps, "final_loss": loss,
        "train_loss_sum": train_loss, "faults_per_step": faults / max(1, steps * repeats),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "params_digest": [float(np.sum(np.abs(W), dtype=np.float64)) for W, _ in trainer.params()],
    }
    if gemm_n:
        # The peak these runs' GFLOP/s are a fraction of, measured right after them in the same process (a shared
        # machine's speed drifts between cells minutes apart); after peak_mb, whose figure its matrices would swell.
        gemm = square_gemm(dtype, gemm_n)
        result["gemm_gflops"] = [max(gemm() for _ in range(max(3, repeats)))]
    return result


def run_paired_monitor(config: str, dtype: str, mode: str, repeats: int, warmup: int,
                       budget_s: float = 10.0) -> dict[str, Any]:
    """``fit()`` (monitor on) and ``fit(monitor=False)`` back to back, pair after pair, the order of each pair
    alternating: at least ``2 * repeats`` pairs, more (up to 200) while they fit in ``budget_s`` seconds,
    since a few percent is within one fit's noise. ``ratios`` are the per-pair speed ratios on/off
    (time off / time on)."""
    from configs import make_problem
    from peers import PEERS

    problem = make_problem(config, mode)
    on, off = PEERS["glassnet-fit"](problem, dtype), PEERS["glassnet-nomonitor"](problem, dtype)

    def seconds(trainer: Any) -> float:
        trainer.reset()
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start

    pair = 0.0
    for _ in range(max(1, warmup)):
        pair = seconds(on) + seconds(off)
    budget = budget_s if mode != "smoke" else 0.0
    n_pairs = min(200, max(2 * max(1, repeats), math.ceil(budget / max(pair, 1e-9))))
    ratios, seconds_on, seconds_off = [], [], []
    for i in range(n_pairs):
        if i % 2:
            t_off, t_on = seconds(off), seconds(on)
        else:
            t_on, t_off = seconds(on), seconds(off)
        seconds_on.append(t_on)
        seconds_off.append(t_off)
        ratios.append(t_off / t_on)
    return {"ratios": ratios, "seconds_on": seconds_on, "seconds_off": seconds_off,
            # one value per process, as lists so that rounds pool like the pairs
            "best_ratio": [min(seconds_off) / min(seconds_on)], "hook_check_s": [hook_checks_per_fit(off, problem.config)]}


def hook_checks_per_fit(trainer: Any, c: Any) -> float:
    """Seconds per ``fit`` of the only code that runs because explanations (tracing) exist, while none is on:
    the fast path's checks that nothing is hooked (network and optimizer, once per fit and again after a
    callback that may change the network) and the flag each step reads to know they were made. Timed
    directly, since their share of a fit is far below what two timed fits can tell apart."""
    from glassnet.core import fast
    from glassnet.core.optimizers import get_optimizer

    net, opt, n = trainer.net, get_optimizer(c.optimizer, c.lr), 20000

    def per_call(check: Any, *args: Any) -> float:
        start = time.perf_counter()
        for _ in range(n):
            check(*args)
        return (time.perf_counter() - start) / n

    plan = fast.plan_for(net)
    if plan is None:
        return 0.0
    plan.optimizer_state(opt)  # its flat state made once, as the first step of a fit does
    start = time.perf_counter()
    for _ in range(n):
        plan.optimizer_checked  # noqa: B018 (the attribute read each step makes, less the loop around it)
    middle = time.perf_counter()
    for _ in range(n):
        pass
    flag_read = max(0.0, (middle - start) - (time.perf_counter() - middle)) / n
    steps = c.epochs * c.steps_per_epoch
    return per_call(fast.step_function, net) + per_call(plan.optimizer_state, opt) + steps * flag_read


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--gemm-n", type=int, default=2048)
    args = ap.parse_args(argv)
    if args.peer == "gemm":
        result = gemm_peak(args.dtype, args.gemm_n, max(3, args.repeats))
    elif args.peer == "monitor-paired":
        result = run_paired_monitor(args.config, args.dtype, args.mode, args.repeats, args.warmup)
    else:
        result = run_cell(args.config, args.peer, args.dtype, args.mode, args.repeats, args.warmup,
                          args.gemm_n if args.config == "wide" and args.peer == "glassnet-fit" else 0)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
