"""One benchmark cell, run by ``run.py`` in a fresh process: one config x one peer x one dtype.

Prints one JSON object on its last line: samples/s of every timed repeat (wall clock, and per second of
this process's CPU time, all its threads together), the final loss (scored by
``configs.final_loss``), peak memory (``ru_maxrss``) and minor page faults per step over the timed
repeats (after a warm-up, so this is the steady state). ``--peer gemm`` measures the machine's
matrix-multiply peak instead (best of several large square products, in this process's dtype).
``--peer monitor-paired`` times glassnet ``fit`` with and without its health monitor, alternating in this
one process, for the monitor's cost without the process-to-process noise of comparing two cells.

A compiled cell (``peers.COMPILED``: ``glassnet-fast``, ``glassnet-fast-step``, ``monitor-paired-fast``) runs its
NumPy-engine twin with numba's loop forms, and fails (exit status 1, the reason on its last line of stderr) when
numba is missing, when ``GLASSNET_COMPILED=0``, when a loop form disagrees with its readable rule (its
``FastFormWarning`` is an error here) or when no loop form ran for its dtype: a table never calls the NumPy engine
fast. Its JSON carries ``compiled.report()``. ``--peer compile`` times the first call of every loop form that the
``--config`` list (comma-separated) uses, in each ``--dtype`` of a comma-separated list: in an empty
``NUMBA_CACHE_DIR`` that is numba compiling it, in a second process with the same directory loading it from the cache.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
import warnings
from pathlib import Path
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

    libraries_mb = load_libraries(config, peer, dtype)
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
        "libraries_mb": libraries_mb,
        "params_digest": [float(np.sum(np.abs(W), dtype=np.float64)) for W, _ in trainer.params()],
        "numba_loaded": "numba" in sys.modules,  # False in the NumPy engine's cells: nothing there imports numba
    }
    if gemm_n:
        # The peak these runs' GFLOP/s are a fraction of, measured right after them in the same process (a shared
        # machine's speed drifts between cells minutes apart); after peak_mb, whose figure its matrices would swell.
        gemm = square_gemm(dtype, gemm_n)
        result["gemm_gflops"] = [max(gemm() for _ in range(max(3, repeats)))]
    return result


def resident_mb() -> float:
    """This process's resident memory now, in MB (``/proc/self/statm``; 0 where there is no /proc)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_libraries(config: str, peer: str, dtype: str) -> float:
    """Import what the peer trains with, before any data exists, and return the resident memory then (MB): what
    the libraries' code takes, which the memory targets leave out so that they compare what training itself holds.
    A compiled cell also loads its loop forms here (numba and LLVM: about 100 MB of code, the same for any network)."""
    if peer.startswith("glassnet"):
        import glassnet  # noqa: F401
        from glassnet.core import compiled

        if compiled.always:
            compile_cost([config], [dtype])
    elif peer == "torch":
        import torch  # noqa: F401
    elif peer == "sklearn":
        import sklearn.neural_network  # noqa: F401
    return resident_mb()


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


def require_compiled() -> None:
    """Stop a compiled cell that would time the NumPy engine: numba missing or switched off. A loop form that
    disagrees with its readable rule (whose warning makes the engine step aside) stops it too."""
    from glassnet.core import compiled
    from glassnet.errors import FastFormWarning

    if not compiled.enabled:
        raise RuntimeError("GLASSNET_COMPILED=0 in a compiled cell's environment: it would time the NumPy engine")
    if compiled.numba_module() is None:
        raise RuntimeError("numba is not installed (pip install 'glassnet[fast]'): a compiled cell would time the "
                           "NumPy engine; leave these cells out with --engines numpy")
    warnings.simplefilter("error", FastFormWarning)


def compiled_report(dtype: str) -> dict[str, Any]:
    """``compiled.report()`` after a compiled cell's runs; an error if no loop form ran for ``dtype``."""
    from glassnet.core import compiled

    report = compiled.report()
    if not any(name.endswith(f"[{dtype}]") for name in report["kernels"]):
        raise RuntimeError(f"no compiled loop form ran for {dtype} (compiled.report(): {report}): "
                           "this cell timed the NumPy engine")
    return report


def compile_cost(configs: list[str], dtypes: list[str]) -> dict[str, Any]:
    """The first call of every loop form the ``configs`` use, in each of ``dtypes``: compiling it, or loading it from
    numba's cache (``cached``), whichever this process's ``NUMBA_CACHE_DIR`` makes it. One short ``fit`` per config
    and dtype of the config's network on 8 random rows (which loop forms run depends on the activations, loss and
    optimizer, not on the sizes or the data; the first loop form's time includes numba's own start-up)."""
    from configs import CONFIGS

    import glassnet as gn
    from glassnet.core import compiled

    start = time.perf_counter()
    compiled.numba_module()
    import_s = time.perf_counter() - start
    require_compiled()
    rng = np.random.default_rng(0)
    for name in configs:
        c = CONFIGS[name].scaled("smoke")
        X = rng.normal(size=(8, c.sizes[0]))
        y = np.arange(8) % c.sizes[-1] if c.loss == "cross_entropy" else (np.arange(8) % 2).reshape(-1, 1) * 1.0
        for dtype in dtypes:
            n = len(c.sizes) - 1
            layers = [gn.Dense(a, b, c.hidden if i < n - 1 else c.output) for i, (a, b) in enumerate(zip(c.sizes, c.sizes[1:]))]
            net = gn.Network(layers, loss=c.loss, seed=0, dtype=dtype)
            net.fit(X, y, epochs=1, optimizer=c.optimizer, lr=c.lr, batch_size=4, monitor=False)
    report = compiled.report()
    return {"import_s": import_s, "first_calls_s": sum(k["seconds"] for k in report["kernels"].values()),
            "seconds": time.perf_counter() - start, "report": report}


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
    from peers import COMPILED

    peer = COMPILED.get(args.peer, args.peer)  # a compiled cell runs its NumPy-engine twin's code
    if args.peer in COMPILED:
        require_compiled()
    if peer == "gemm":
        result = gemm_peak(args.dtype, args.gemm_n, max(3, args.repeats))
    elif peer == "compile":
        result = compile_cost(args.config.split(","), args.dtype.split(","))
    elif peer == "monitor-paired":
        result = run_paired_monitor(args.config, args.dtype, args.mode, args.repeats, args.warmup)
    else:
        result = run_cell(args.config, peer, args.dtype, args.mode, args.repeats, args.warmup,
                          args.gemm_n if args.config == "wide" and peer == "glassnet-fit" else 0)
    if args.peer in COMPILED:
        result["compiled"] = compiled_report(args.dtype)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
