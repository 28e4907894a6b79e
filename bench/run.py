"""glassnet's benchmark: ``python3 bench/run.py [--quick | --smoke] [--configs tiny,moons,digits,wide] [--json out.json]``.

Trains each configuration of ``configs.py`` with every peer of ``peers.py`` (glassnet ``fit`` and a
``step`` loop, plain NumPy, PyTorch, scikit-learn; float64 and float32), each cell in a fresh
process (``cell.py``) with a warm-up and several timed repeats. glassnet runs twice: its NumPy engine
(``GLASSNET_COMPILED=0`` in the cell's environment: ``glassnet-fit``, ``-step``, ``-nomonitor``, ``monitor-paired``)
and its compiled engine (``GLASSNET_COMPILED=1``, numba's loop forms: ``glassnet-fast``, ``glassnet-fast-step``,
``monitor-paired-fast``); before the cells, the loop forms' first calls are timed with an empty numba cache
(compiling) and from it (loading). It prints:

- samples/s (median of the repeats) per cell, peak memory, page faults per step;
- the ratios glassnet/PyTorch-f32, glassnet/scikit-learn, glassnet/plain-NumPy against the targets
  of issue 5, the GEMM peak measured in the same run and the fraction of it glassnet reaches on ``wide``,
  each for both engines side by side;
- the equal-loss check: every peer started from the same weights, so they must end at the same loss
  (float64 peers within 1e-6 relative of plain NumPy float64, float32 peers within 2e-3; glassnet
  ``fit``, ``step`` and the compiled engine's fit bit-identical in float64 (within 1e-5 in float32), and to
  ``--baseline``'s fit if given; scikit-learn,
  which cannot follow glassnet's shuffled batch order and puts Adam's eps slightly differently,
  within 20%). A failed check exits with status 1.

``--baseline OTHER/src`` also measures another glassnet tree's ``fit`` (before/after in one run);
``--rounds N`` runs every cell N times round-robin, so a slow spell of a shared machine hits all peers.
``--engines numpy`` leaves the compiled cells out (without numba they fail, and the run exits with status 1).
Speed on a shared machine is noisy: compare ratios from one run, never numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

# (peer, dtype) cells run for every config, in this order (peers of one config run back to back).
CELLS = [("glassnet-fit", "float64"), ("glassnet-fit", "float32"), ("glassnet-step", "float64"),
         ("glassnet-step", "float32"), ("glassnet-nomonitor", "float64"),
         ("glassnet-fast", "float64"), ("glassnet-fast", "float32"), ("glassnet-fast-step", "float64"),
         ("numpy", "float64"), ("numpy", "float32"),
         ("torch", "float32"), ("torch", "float64"), ("sklearn", "float64"), ("sklearn", "float32")]
PAIRED = "monitor-paired"  # fit with and without the health monitor, alternating in one process (float64)
PAIRED_FAST = "monitor-paired-fast"  # the same with the compiled engine
# --smoke leaves these out (CI's time: each is a process of 5-6 s; the glassnet-fast cells cover the compiled engine)
SMOKE_SKIP = {"glassnet-fast-step", PAIRED_FAST}
MODES = {"full": {"repeats": 5, "warmup": 1}, "quick": {"repeats": 3, "warmup": 1}, "smoke": {"repeats": 1, "warmup": 0}}

# Issue 5's targets: (config, description, key into the ratios, minimum or maximum).
TARGETS = [
    ("tiny", "glassnet/PyTorch-f32 >= 6", "gn64/torch32", 6.0), ("tiny", "glassnet/PyTorch-f32 >= 6", "gn32/torch32", 6.0),
    ("moons", "glassnet/PyTorch-f32 >= 4", "gn64/torch32", 4.0), ("moons", "glassnet/PyTorch-f32 >= 4", "gn32/torch32", 4.0),
    ("digits", "glassnet/PyTorch-f32 >= 3", "gn64/torch32", 3.0), ("digits", "glassnet/PyTorch-f32 >= 3", "gn32/torch32", 3.0),
    ("wide", "glassnet-f32/PyTorch-f32 >= 1.2", "gn32/torch32", 1.2),
    ("tiny", "glassnet/plain-NumPy >= 0.8", "gn64/numpy64", 0.8), ("tiny", "glassnet/plain-NumPy >= 0.8", "gn32/numpy32", 0.8),
    ("moons", "glassnet/plain-NumPy >= 0.8", "gn64/numpy64", 0.8), ("moons", "glassnet/plain-NumPy >= 0.8", "gn32/numpy32", 0.8),
    ("wide", "glassnet/plain-NumPy >= 1.5", "gn64/numpy64", 1.5), ("wide", "glassnet/plain-NumPy >= 1.5", "gn32/numpy32", 1.5),
    ("moons", "glassnet/scikit-learn >= 2", "gn64/sklearn64", 2.0),
    ("moons", "glassnet/scikit-learn >= 2", "gn32/sklearn32", 2.0),
    ("digits", "glassnet/scikit-learn >= 2", "gn64/sklearn64", 2.0),
    ("digits", "glassnet/scikit-learn >= 2", "gn32/sklearn32", 2.0),
    ("wide", "float32 at >= 75% of GEMM peak", "gn32/gemm32", 0.75),
    ("wide", "page faults per step < 50 (f32)", "faults32", -50.0),
    ("wide", "page faults per step < 50 (f64)", "faults64", -50.0),
    ("wide", "memory (peak less libraries) <= 1.2x NumPy (f32)", "mem32/numpy32", -1.2),
    ("wide", "memory (peak less libraries) <= 1.2x NumPy (f64)", "mem64/numpy64", -1.2),
] + [(c, "health monitor (default) costs <= 5%", "monitor64", 0.95) for c in ("tiny", "moons", "digits", "wide")] + [
    (c, "tracing off costs nothing measurable (< 0.1%)", "tracing-off64", -0.001) for c in ("tiny", "moons", "digits", "wide")]
# monitor64: fit with/without the monitor alternating in one process (PAIRED), best time against best time;
# monitor64-cells compares two cells (two processes), whose +-15% process-to-process noise hides a 5% difference.

RTOL = {"float64": 1e-6, "float32": 2e-3, "sklearn": 0.2}


THREADS: int | None = None  # --threads: BLAS/OpenMP threads of every cell's process (None: the libraries' defaults)


def compiled_cell(peer: str) -> bool:
    """True for the cells of the compiled engine (``peers.COMPILED``)."""
    from peers import COMPILED

    return peer in COMPILED or peer == "compile"


def run_cell(config: str, peer: str, dtype: str, mode: str, timeout: float, src: Path = SRC,
             extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # Every cell says which engine it times: the NumPy engine exactly as without numba, or the compiled loop forms.
    env["GLASSNET_COMPILED"] = "1" if compiled_cell(peer) else "0"
    env.update(extra_env or {})
    if THREADS:
        # Only the benchmark's child processes, for every peer alike (numpy's OpenBLAS, torch's OpenMP/MKL).
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(THREADS)
    from configs import CONFIGS

    opts = dict(MODES[mode])
    if mode == "full" and config in CONFIGS and CONFIGS[config].repeats:
        opts["repeats"] = CONFIGS[config].repeats
    if compiled_cell(peer):
        # A warm-up even in --smoke: the loop forms' first call (compiling or loading them) stays out of the timed runs.
        opts["warmup"] = max(1, opts["warmup"])
    cmd = [sys.executable, str(HERE / "cell.py"), "--config", config, "--peer", peer, "--dtype", dtype, "--mode", mode,
           "--repeats", str(opts["repeats"]), "--warmup", str(opts["warmup"])]
    if mode == "smoke":
        cmd += ["--gemm-n", "256"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started  # the whole process: imports, data, warm-up, timed runs
    if "samples_per_s" in result:
        result["median"] = statistics.median(result["samples_per_s"])
        result["median_cpu"] = statistics.median(result["samples_per_cpu_s"])
        result["best"] = max(result["samples_per_s"])
    return result


BASELINE = "before:"  # label of the cells measuring --baseline's glassnet


def compile_cost(configs: list[str], dtypes: list[str], timeout: float, src: Path = SRC) -> dict[str, Any]:
    """The loop forms' first calls in two processes sharing a new, empty ``NUMBA_CACHE_DIR``: the first compiles
    them (``empty_cache``), the second loads them from the cache (``from_cache``)."""
    with tempfile.TemporaryDirectory(prefix="glassnet-numba-cache-") as cache:
        runs = [run_cell(",".join(configs), "compile", ",".join(dtypes), "smoke", timeout, src,
                         {"NUMBA_CACHE_DIR": cache}) for _ in range(2)]
    return {"configs": configs, "dtypes": dtypes, "empty_cache": runs[0], "from_cache": runs[1]}


def print_compile_cost(cost: dict[str, Any]) -> None:
    first, second = cost["empty_cache"], cost["from_cache"]
    if "error" in first or "error" in second:
        print(f"compiled loop forms: FAILED: {first.get('error') or second.get('error')}")
        return
    kernels = first["report"]["kernels"]
    loaded = second["report"]["kernels"]
    print(f"compiled loop forms (numba {first['report']['numba']}), first call of each of the {len(kernels)} that "
          f"{','.join(cost['configs'])} use in {','.join(cost['dtypes'])}: compiling (empty NUMBA_CACHE_DIR) "
          f"{first['first_calls_s']:.2f} s, loading from numba's cache (second process) {second['first_calls_s']:.2f} s; "
          f"import numba {first['import_s']:.2f} s. Paid once per machine; the timed cells run after a warm-up.")
    for name, k in kernels.items():
        again = loaded.get(name, {})
        print(f"  {name:<36}{k['seconds']:>8.3f} s{' (cached!)' if k['cached'] else '':<10}"
              f"{fmt(again.get('seconds'), '.3f'):>8} s{'' if again.get('cached') else ' (not from the cache!)'}")


def merge(cells: dict[str, dict[str, Any]], key: str, result: dict[str, Any]) -> None:
    """Add one round's result for a cell: pool the repeats, keep the worst memory and faults, check the loss."""
    cell = cells.get(key)
    if cell is None or "error" in result:
        cells[key] = result if cell is None or "error" in result else cell
        return
    if "error" in cell:
        return
    if "ratios" in cell:  # the paired monitor cell
        for name in ("ratios", "seconds_on", "seconds_off", "best_ratio", "hook_check_s"):
            cell[name] = cell[name] + result[name]
        return
    for name in ("samples_per_s", "samples_per_cpu_s", "seconds", "gemm_gflops"):  # ("compiled": the first round's)
        if name in cell:
            cell[name] = cell[name] + result[name]
    cell["peak_mb"] = max(cell["peak_mb"], result["peak_mb"])
    cell["faults_per_step"] = max(cell["faults_per_step"], result["faults_per_step"])
    cell["rounds_agree"] = cell.get("rounds_agree", True) and result["final_loss"] == cell["final_loss"]
    cell["median"] = statistics.median(cell["samples_per_s"])
    cell["median_cpu"] = statistics.median(cell["samples_per_cpu_s"])
    cell["best"] = max(cell["samples_per_s"])


def ratios(cells: dict[str, dict[str, Any]], gemm: dict[str, float], flops: int, clock: str = "median") -> dict[str, float]:
    """Speed ratios of the issue's targets, from each cell's median samples/s; ``clock="median_cpu"`` uses samples
    per CPU-second instead, ``clock="best"`` each cell's fastest run (the speed ratios only)."""

    def rate(key: str) -> float | None:
        cell = cells.get(key, {})
        return cell.get(clock)

    out: dict[str, float] = {}
    pairs = {"gn64/torch32": ("glassnet-fit/float64", "torch/float32"), "gn32/torch32": ("glassnet-fit/float32", "torch/float32"),
             "gn64/numpy64": ("glassnet-fit/float64", "numpy/float64"), "gn32/numpy32": ("glassnet-fit/float32", "numpy/float32"),
             "gn64/sklearn64": ("glassnet-fit/float64", "sklearn/float64"),
             "gn32/sklearn32": ("glassnet-fit/float32", "sklearn/float32"),
             "step/fit64": ("glassnet-step/float64", "glassnet-fit/float64"),
             "monitor64-cells": ("glassnet-fit/float64", "glassnet-nomonitor/float64"),
             "torch64/torch32": ("torch/float64", "torch/float32"),
             "after/before64": ("glassnet-fit/float64", BASELINE + "glassnet-fit/float64"),
             "after/before32": ("glassnet-fit/float32", BASELINE + "glassnet-fit/float32")}
    for name, (a, b) in pairs.items():
        ra, rb = rate(a), rate(b)
        if ra and rb:
            out[name] = ra / rb
    paired = cells.get(f"{PAIRED}/float64", {})
    if paired.get("ratios") and clock == "median":  # the monitor's cost measured inside one process (cell.run_paired_monitor)
        # Best time off / best time on within one process (other work on the machine only ever adds time, so the
        # fastest of many runs is the closest to what the code itself costs: timeit's rule), the median over the
        # rounds' processes; the median of all pairs' ratios beside it.
        out["monitor64"] = statistics.median(paired["best_ratio"])
        out["monitor64-pairs"] = statistics.median(paired["ratios"])
        # what tracing costs while it is off, as a share of a fit without the monitor
        out["tracing-off64"] = max(paired["hook_check_s"]) / min(paired["seconds_off"])
    for bits, dtype in (("64", "float64"), ("32", "float32")):
        gn = cells.get(f"glassnet-fit/{dtype}", {})
        ref = cells.get(f"numpy/{dtype}", {})
        if clock != "median":
            continue
        if "median" in gn:
            out[f"gflops{bits}"] = gn["median"] * flops / 1e9
            peaks = gn.get("gemm_gflops")
            if peaks:  # against the square product measured right after the timed runs, in their process (one per round)
                out[f"gn{bits}/gemm{bits}"] = out[f"gflops{bits}"] / statistics.median(peaks)
                if gemm.get(dtype):
                    out[f"gn{bits}/gemm{bits}-start"] = out[f"gflops{bits}"] / gemm[dtype]
            elif gemm.get(dtype):
                out[f"gn{bits}/gemm{bits}"] = out[f"gflops{bits}"] / gemm[dtype]
            out[f"faults{bits}"] = gn["faults_per_step"]
        if "peak_mb" in gn and "peak_mb" in ref:
            # training's own memory: the peak less what the libraries' code took before any data existed
            # (cell.load_libraries; numba's ~100 MB of code in a compiled cell), for both cells alike
            own = lambda cell: cell["peak_mb"] - cell.get("libraries_mb", 0.0)  # noqa: E731
            out[f"mem{bits}/numpy{bits}"] = own(gn) / own(ref)
    return out


def compiled_view(cells: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The cells as the compiled engine sees them, for :func:`ratios`: each compiled cell under the name of its
    NumPy-engine twin (``glassnet-fast/float32`` as ``glassnet-fit/float32``), the NumPy engine's glassnet cells left
    out (``glassnet-nomonitor`` too: it has no compiled twin), every other peer as it is."""
    from peers import COMPILED

    numpy_engine = set(COMPILED.values()) | {"glassnet-nomonitor"}
    view = {key: cell for key, cell in cells.items() if key.split("/")[0] not in numpy_engine | set(COMPILED)}
    for key, cell in cells.items():
        peer, dtype = key.split("/")
        if peer in COMPILED:
            view[f"{COMPILED[peer]}/{dtype}"] = cell
    return view


def loss_checks(config: str, cells: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every peer's final loss against plain NumPy float64, and glassnet fit against step bit for bit."""
    checks = []
    ref = cells.get("numpy/float64", {}).get("final_loss")
    for key, cell in cells.items():
        if "final_loss" not in cell or key == "numpy/float64" or ref is None:
            continue
        peer, dtype = key.split("/")
        if peer == "sklearn" and config == "tiny":
            checks.append({"cell": key, "loss": cell["final_loss"], "reference": ref, "rtol": None, "ok": None,
                           "note": "not compared: MLPClassifier cannot train on MSE (it uses log-loss)"})
            continue
        rtol = RTOL["sklearn" if peer == "sklearn" else dtype]
        ok = abs(cell["final_loss"] - ref) <= rtol * abs(ref)
        checks.append({"cell": key, "loss": cell["final_loss"], "reference": ref, "rtol": rtol, "ok": bool(ok)})
    for key, cell in cells.items():
        if cell.get("rounds_agree") is False:
            checks.append({"cell": key, "loss": cell["final_loss"], "reference": None, "rtol": 0.0, "ok": False,
                           "note": "rounds ended at different losses"})
    # Same arithmetic, so the same bits in float64: fit against a step loop, against the compiled engine (whose loop
    # forms are bit for bit the readable rules in float64, to rounding in float32), and against the baseline's fit.
    for other, label in (("glassnet-step", "glassnet fit == step"), ("glassnet-fast", "glassnet fast == fit"),
                         ("glassnet-fast-step", "glassnet fast step == fit"),
                         (BASELINE + "glassnet-fit", "glassnet fit == baseline fit")):
        for dtype in ("float64", "float32"):
            fit, step = cells.get(f"glassnet-fit/{dtype}", {}), cells.get(f"{other}/{dtype}", {})
            if "final_loss" in fit and "final_loss" in step:
                same = fit["final_loss"] == step["final_loss"] and fit["params_digest"] == step["params_digest"]
                close = abs(fit["final_loss"] - step["final_loss"]) <= 1e-5 * abs(fit["final_loss"])
                checks.append({"cell": f"{label} ({dtype})", "loss": fit["final_loss"], "reference": step["final_loss"],
                               "rtol": 0.0 if dtype == "float64" else 1e-5, "ok": bool(same if dtype == "float64" else close)})
    return checks


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "torch", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def fmt(x: float | None, spec: str = ",.0f") -> str:
    return "-" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer epochs and repeats (a few minutes)")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks that everything runs (CI)")
    ap.add_argument("--configs", default="tiny,moons,digits,wide", help="comma-separated subset of tiny,moons,digits,wide")
    ap.add_argument("--peers", default="", help="comma-separated subset of peers (default: all)")
    ap.add_argument("--json", metavar="PATH", help="also write every number as JSON")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    ap.add_argument("--src", type=Path, default=SRC, help="the glassnet source tree to measure (default: this checkout's src/)")
    ap.add_argument("--baseline", type=Path, help="another glassnet source tree whose fit is measured in the same run "
                                                  "(before/after ratios from one run)")
    ap.add_argument("--threads", type=int, help="BLAS/OpenMP threads for every cell (default: each library's own)")
    ap.add_argument("--rounds", type=int, default=1, help="run every cell this many times, round-robin (loaded machines)")
    ap.add_argument("--engines", default="numpy,compiled",
                    help="glassnet's engines to time: numpy (GLASSNET_COMPILED=0), compiled (=1, needs numba), or both")
    args = ap.parse_args(argv)
    run_mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    global THREADS
    THREADS = args.threads
    from configs import CONFIGS

    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f"unknown config(s) {unknown}; choose from {sorted(CONFIGS)}")
    wanted = {p.strip() for p in args.peers.split(",") if p.strip()}
    engines = {e.strip() for e in args.engines.split(",") if e.strip()}
    if not engines or engines - {"numpy", "compiled"}:
        ap.error(f"--engines {args.engines!r}: choose numpy, compiled or numpy,compiled")

    def engine_ok(peer: str) -> bool:  # glassnet's cells run for the engines asked for; every other peer always
        if compiled_cell(peer):
            return "compiled" in engines
        return "numpy" in engines or not peer.startswith(("glassnet", PAIRED))

    cells_to_run = [(p, d) for p, d in CELLS if (not wanted or p in wanted) and engine_ok(p)
                    and not (run_mode == "smoke" and p in SMOKE_SKIP)]
    paired = [peer for peer, twin in ((PAIRED, "glassnet-nomonitor"), (PAIRED_FAST, "glassnet-fast"))
              if engine_ok(peer) and (not wanted or peer in wanted or twin in wanted)
              and not (run_mode == "smoke" and peer in SMOKE_SKIP)]
    started = time.time()
    report: dict[str, Any] = {
        "mode": run_mode, "rounds": args.rounds, "threads": args.threads,
        "baseline": str(args.baseline) if args.baseline else None,
        "src": str(args.src.resolve()), "python": platform.python_version(), "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "loadavg_start": list(os.getloadavg()), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "versions": versions(), "configs": {},
    }
    gemm: dict[str, float] = {}
    if "wide" in names:
        for dtype in ("float32", "float64"):
            g = run_cell("wide", "gemm", dtype, run_mode, args.timeout, args.src)
            gemm[dtype] = g.get("gflops", 0.0)
        report["gemm_peak_gflops"] = gemm
        print(f"GEMM peak (numpy.matmul, square): float32 {gemm['float32']:.1f} GFLOP/s, float64 {gemm['float64']:.1f} GFLOP/s")
    if any(compiled_cell(p) for p, _ in cells_to_run) or PAIRED_FAST in paired:
        # In --smoke float64 only (CI's time); the dtype changes what is compiled, not how long it takes much.
        report["compile"] = compile_cost(names, ["float64"] if run_mode == "smoke" else ["float64", "float32"],
                                         args.timeout, args.src)
        print_compile_cost(report["compile"])
    all_ok = True
    for name in names:
        c = CONFIGS[name].scaled(run_mode)
        cells: dict[str, dict[str, Any]] = {}
        print(f"\n== {name}: sizes {'-'.join(map(str, c.sizes))}, {c.hidden}/{c.output}, {c.loss}, {c.optimizer} lr {c.lr}, "
              f"batch {c.batch_size or 'full'}, {c.epochs} epochs of {c.n_samples} samples")
        print(f"{'peer':<22}{'dtype':<9}{'samples/s':>12}{'min..max':>22}{'per CPU-s':>11}{'peak MB':>9}{'faults/step':>12}"
              f"{'final loss':>14}")
        plan = [(peer, dtype, args.src.resolve()) for peer, dtype in cells_to_run]
        if args.baseline:
            plan += [(BASELINE + "glassnet-fit", dtype, args.baseline.resolve()) for dtype in ("float64", "float32")]
        plan += [(peer, "float64", args.src.resolve()) for peer in paired]
        # Rounds: every cell once per round (a fresh process each time), so that a slow spell of a shared
        # machine falls on all peers alike instead of on whichever ran then.
        for _ in range(args.rounds):
            for peer, dtype, src in plan:
                result = run_cell(name, peer.removeprefix(BASELINE), dtype, run_mode, args.timeout, src)
                merge(cells, f"{peer}/{dtype}", result)
        for peer, dtype, _ in plan:
            cell = cells[f"{peer}/{dtype}"]
            if "error" in cell:
                print(f"{peer:<22}{dtype:<9}  FAILED: {cell['error']}")
                all_ok = False
                continue
            if peer in (PAIRED, PAIRED_FAST):
                rs = cell["ratios"]
                on, off = cell["seconds_on"], cell["seconds_off"]
                print(f"{peer:<22}{dtype:<9}  monitor on/off in one process, {len(rs)} pairs: best {min(off) / min(on):.3f} "
                      f"({min(on):.4f} s on, {min(off):.4f} s off), median of pairs {statistics.median(rs):.3f} "
                      f"({min(rs):.3f}..{max(rs):.3f}); tracing off: hook checks "
                      f"{1e6 * max(cell['hook_check_s']):.1f} us per fit")
                continue
            lo, hi = min(cell["samples_per_s"]), max(cell["samples_per_s"])
            print(f"{peer:<22}{dtype:<9}{fmt(cell['median']):>12}{fmt(lo) + '..' + fmt(hi):>22}{fmt(cell['median_cpu']):>11}"
                  f"{cell['peak_mb']:>9.0f}"
                  f"{cell['faults_per_step']:>12.1f}{cell['final_loss']:>14.8f}")
            if "compiled" in cell:
                ran = [k for k in cell["compiled"]["kernels"] if k.endswith(f"[{dtype}]")]
                print(f"{'':<22}{'':<9}  compiled loop forms that ran: {', '.join(k.split('[')[0] for k in ran)}")
        flops = c.matmul_flops_per_sample()
        fast_cells = compiled_view(cells)
        r, r_cpu, r_best = (ratios(cells, gemm, flops, clock) for clock in ("median", "median_cpu", "best"))
        rc, rc_cpu, rc_best = (ratios(fast_cells, gemm, flops, clock) for clock in ("median", "median_cpu", "best"))
        checks = loss_checks(name, cells)
        ok = all(ch["ok"] is not False for ch in checks)  # no comparisons at all: --peers left out numpy
        all_ok &= ok
        for engine, (a, b, d) in (("numpy engine", (r, r_cpu, r_best)), ("compiled", (rc, rc_cpu, rc_best))):
            if not a:
                continue
            print(f"ratios ({engine}): " + ", ".join(f"{k} {v:.3g}" for k, v in a.items()))
            print(f"ratios ({engine}) per CPU-second (threads summed; see README): "
                  + ", ".join(f"{k} {v:.3g}" for k, v in b.items()))
            print(f"ratios ({engine}) of each cell's fastest run (slow spells of the machine only ever lower a run; "
                  "see README): " + ", ".join(f"{k} {v:.3g}" for k, v in d.items()))
        bad = [ch["cell"] for ch in checks if ch["ok"] is False]
        verdict = "not run (needs the numpy peer)" if not checks else "passed" if ok else "FAILED for " + ", ".join(bad)
        print(f"equal-loss check: {verdict} ({len(checks)} comparisons)")
        report["configs"][name] = {"config": {k: getattr(c, k) for k in ("sizes", "hidden", "output", "loss", "optimizer", "lr",
                                                                         "batch_size", "epochs", "n_samples")},
                                   "cells": cells, "ratios": r, "ratios_cpu": r_cpu, "ratios_best": r_best,
                                   "ratios_compiled": rc, "ratios_compiled_cpu": rc_cpu, "ratios_compiled_best": rc_best,
                                   "loss_check": {"ok": ok, "comparisons": checks}}
    targets = []
    # What `pip install "glassnet[fast]"` gives as installed (GLASSNET_COMPILED unset, "auto"): the compiled engine for a
    # network of at least MIN_PARAMETERS parameters, the NumPy engine below (the compiled cells force the loop forms).
    # The threshold is the measured tree's, from the compiled.report() its compiled cells carry (None without them).
    threshold = next((cell["compiled"]["min_parameters"] for c in report["configs"].values()
                      for cell in c["cells"].values() if "min_parameters" in cell.get("compiled", {})), None)
    report["min_parameters"] = threshold
    as_installed = ("" if threshold is None else ", and glassnet[fast] as installed (auto: the compiled engine from "
                    f"{threshold} parameters on, the NumPy engine below)")
    print("\n== targets (issue 5), ratios from this run: medians (the verdict), and of each cell's fastest run, for "
          f"glassnet's NumPy engine and its compiled one (every network: GLASSNET_COMPILED=1){as_installed}")
    print(f"{'':<70}{'numpy engine':^26}  {'compiled':^26}  {'as installed' if as_installed else '':^26}".rstrip())
    for config, text, key, bound in TARGETS:
        ratios_of = report["configs"].get(config, {})
        value, fast = ratios_of.get("ratios", {}).get(key), ratios_of.get("ratios_compiled", {}).get(key)
        if config not in names or (value is None and fast is None):
            continue
        row: dict[str, Any] = {"config": config, "target": text, "key": key}
        results: dict[str, dict[str, Any]] = {}  # per engine: value, met, best
        verdicts: dict[str, str] = {}
        line = f"{config:<8}{text:<46}{key:<16}"
        for engine, suffix in (("numpy", ""), ("compiled", "_compiled")):
            v, best = ratios_of[f"ratios{suffix}"].get(key), ratios_of[f"ratios{suffix}_best"].get(key)
            met = None if v is None else v >= bound if bound > 0 else v < -bound if "faults" in key else v <= -bound
            verdict = "-" if met is None else "met" if met else "MISSED"
            if best is not None and met is not None and (best >= bound) != met:
                verdict += "*"  # the fastest runs disagree with the medians
            line += f"{fmt(v, '.3g'):>9}{fmt(best, '.3g'):>9}  {verdict:<8}"
            results[engine], verdicts[engine] = {"value": v, "met": met, "best": best}, verdict
        row.update(results["numpy"])  # the keys of earlier runs' JSON: today's engine
        row["compiled"] = results["compiled"]
        size = CONFIGS[config].scaled(run_mode).n_parameters
        if threshold is None:  # no compiled cell ran (--engines numpy): what glassnet[fast] gives is not measured
            row["installed"] = None
        else:
            installed = "compiled" if size >= threshold else "numpy"
            got = results[installed]  # None values, "-": that engine's cells for this target did not run (--smoke)
            line += f"{fmt(got['value'], '.3g'):>9}{fmt(got['best'], '.3g'):>9}  {verdicts[installed]:<8}({installed})"
            row["installed"] = {"engine": installed, "parameters": size, **got}
        targets.append(row)
        print(line.rstrip())
    print("(* the ratio of each cell's fastest run is on the other side of the target)")
    report["targets"] = targets
    report["loss_check_ok"] = all_ok
    report["loadavg_end"] = list(os.getloadavg())
    report["seconds"] = time.time() - started
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print(f"\nequal-loss check overall: {'passed' if all_ok else 'FAILED'}; {report['seconds']:.0f} s; "
          f"load average {report['loadavg_start'][0]:.1f} -> {report['loadavg_end'][0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
