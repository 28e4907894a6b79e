"""Smoke test of the benchmark (bench/run.py): it runs, prints its tables, writes JSON, and its
equal-loss check is present, passes on real runs and fails on a wrong answer. glassnet's two engines: the NumPy
engine's cells run without numba, the compiled engine's cells ran loop forms, give the NumPy engine's bits in float64,
and fail without numba. Speed is never asserted."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glassnet.core import compiled

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench_modules() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import run

        yield run
    finally:
        sys.path.remove(str(BENCH))


def test_smoke_run_prints_tables_writes_json_and_passes_the_equal_loss_check(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke", "--configs", "moons", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert "== moons" in text and "samples/s" in text and "faults/step" in text
    assert "equal-loss check: passed" in text
    assert "== targets (issue 5)" in text and "glassnet/PyTorch-f32 >= 4" in text
    report = json.loads(out.read_text())
    assert report["mode"] == "smoke" and report["loss_check_ok"] is True
    moons = report["configs"]["moons"]
    expected = {"glassnet-fit/float64", "glassnet-fit/float32", "glassnet-step/float64", "numpy/float64",
                "numpy/float32", "torch/float32", "torch/float64", "sklearn/float64", "sklearn/float32"}
    assert expected <= set(moons["cells"])
    for key in expected:
        cell = moons["cells"][key]
        assert cell["median"] > 0 and cell["peak_mb"] > 0 and cell["faults_per_step"] >= 0, key
    checked = {c["cell"] for c in moons["loss_check"]["comparisons"]}
    assert {"torch/float32", "torch/float64", "sklearn/float64", "glassnet-fit/float64",
            "glassnet fit == step (float64)"} <= checked
    assert all(c["ok"] for c in moons["loss_check"]["comparisons"])
    for key in ("gn64/torch32", "gn32/torch32", "gn64/numpy64", "gn64/sklearn64", "gn32/sklearn32", "monitor64"):
        assert moons["ratios"][key] > 0
    paired = moons["cells"]["monitor-paired/float64"]  # monitor on and off alternating in one process
    assert len(paired["ratios"]) == len(paired["seconds_on"]) == len(paired["seconds_off"]) >= 2
    assert [moons["ratios"]["monitor64"]] == paired["best_ratio"] == [min(paired["seconds_off"]) / min(paired["seconds_on"])]
    assert moons["ratios"]["monitor64-pairs"] == statistics.median(paired["ratios"])
    assert "monitor on/off in one process" in text and "tracing off: hook checks" in text
    # Microseconds of checks against a fit of milliseconds: measured (the benchmark's target, on full runs, is
    # < 0.1%), and only bounded loosely here. A smoke fit is so short that the flag read's loop-difference timing,
    # times its steps, is mostly noise: a clean CI run measured 0.010006 against a bound of 0.01.
    assert 0 < moons["ratios"]["tracing-off64"] < 0.05
    assert {t["key"] for t in report["targets"] if t["config"] == "moons"} >= {"gn64/torch32", "gn64/sklearn64"}
    _check_both_engines(report, text)


def _check_both_engines(report: dict[str, Any], text: str) -> None:
    moons = report["configs"]["moons"]
    cells = moons["cells"]
    for key in ("glassnet-fit/float64", "glassnet-fit/float32", "glassnet-step/float64", "glassnet-nomonitor/float64"):
        assert cells[key]["numba_loaded"] is False, key  # GLASSNET_COMPILED=0: today's engine, numba never imported
    for dtype in ("float64", "float32"):
        fast = cells[f"glassnet-fast/{dtype}"]
        assert fast["median"] > 0 and fast["numba_loaded"] is True
        ran = [name for name in fast["compiled"]["kernels"] if name.endswith(f"[{dtype}]")]
        assert any(name.startswith("Adam.update_loop") for name in ran), ran  # moons trains with Adam
    # The compiled engine's fit is the NumPy engine's fit bit for bit in float64 (compared here, beside the bench's check).
    fit64, fast64 = cells["glassnet-fit/float64"], cells["glassnet-fast/float64"]
    assert fast64["final_loss"] == fit64["final_loss"] and fast64["params_digest"] == fit64["params_digest"]
    fit32, fast32 = cells["glassnet-fit/float32"], cells["glassnet-fast/float32"]
    assert abs(fast32["final_loss"] - fit32["final_loss"]) <= 1e-5 * fit32["final_loss"]
    by_cell = {c["cell"]: c["ok"] for c in moons["loss_check"]["comparisons"]}
    assert by_cell["glassnet fast == fit (float64)"] is True and by_cell["glassnet fast == fit (float32)"] is True
    assert by_cell["glassnet-fast/float64"] is True and by_cell["glassnet-fast/float32"] is True
    assert moons["ratios_compiled"]["gn64/torch32"] == fast64["median"] / cells["torch/float32"]["median"]
    assert moons["ratios"]["gn64/torch32"] == fit64["median"] / cells["torch/float32"]["median"]
    assert "monitor-paired-fast/float64" not in cells  # --smoke leaves it out (test_compiled_engine_ratios_...: its ratio)
    target = next(t for t in report["targets"] if t["config"] == "moons" and t["key"] == "gn64/torch32")
    assert target["value"] == moons["ratios"]["gn64/torch32"]
    assert target["compiled"]["value"] == moons["ratios_compiled"]["gn64/torch32"]
    # As installed (GLASSNET_COMPILED unset): moons' 337 parameters are below compiled.MIN_PARAMETERS, so a default
    # install trains it on the NumPy engine, and the "as installed" verdict is that engine's.
    assert report["min_parameters"] == compiled.MIN_PARAMETERS > 337
    assert target["installed"] == {"engine": "numpy", "parameters": 337, "value": target["value"], "met": target["met"],
                                   "best": target["best"]}
    assert "as installed" in text and "(numpy)" in text
    assert "glassnet-fast" in text and "numpy engine" in text and "compiled loop forms that ran" in text
    # Compile time: an empty cache compiles every loop form, a second process loads the same ones from it.
    empty, cached = report["compile"]["empty_cache"]["report"], report["compile"]["from_cache"]["report"]
    assert empty["kernels"] and set(empty["kernels"]) == set(cached["kernels"])
    assert not any(k["cached"] for k in empty["kernels"].values()) and all(k["cached"] for k in cached["kernels"].values())
    assert "compiling (empty NUMBA_CACHE_DIR)" in text and "loading from numba's cache" in text


def test_equal_loss_check_fails_on_a_wrong_answer(bench_modules: Any) -> None:
    cell = {"final_loss": 0.30, "params_digest": [1.0]}
    cells = {"numpy/float64": dict(cell), "glassnet-fit/float64": dict(cell), "glassnet-step/float64": dict(cell),
             "torch/float32": {"final_loss": 0.3003}}
    checks = bench_modules.loss_checks("moons", cells)
    assert all(c["ok"] for c in checks)
    cells["glassnet-fit/float64"] = {"final_loss": 0.30 * (1 + 1e-5), "params_digest": [1.0]}
    by_cell = {c["cell"]: c["ok"] for c in bench_modules.loss_checks("moons", cells)}
    assert by_cell["glassnet-fit/float64"] is False
    assert by_cell["glassnet fit == step (float64)"] is False


def test_ratios_and_gemm_fraction(bench_modules: Any) -> None:
    cells = {"glassnet-fit/float32": {"median": 300.0, "faults_per_step": 2.0, "peak_mb": 110.0},
             "numpy/float32": {"median": 100.0, "peak_mb": 100.0}, "torch/float32": {"median": 150.0}}
    r = bench_modules.ratios(cells, {"float32": 1.0}, 1_000_000)
    assert r["gn32/torch32"] == 2.0 and r["gn32/numpy32"] == 3.0
    assert r["gflops32"] == pytest.approx(300.0 * 1e6 / 1e9) and r["gn32/gemm32"] == pytest.approx(0.3)
    assert r["faults32"] == 2.0 and r["mem32/numpy32"] == pytest.approx(1.1)
    # With a GEMM peak measured in the cell's process after its timed runs (one per round): their median.
    cells["glassnet-fit/float32"]["gemm_gflops"] = [0.4, 0.5, 2.0]
    r = bench_modules.ratios(cells, {"float32": 1.0}, 1_000_000)
    assert r["gn32/gemm32"] == pytest.approx(0.6)  # 0.3 GFLOP/s against 0.5
    assert r["gn32/gemm32-start"] == pytest.approx(0.3)  # against the peak measured at the start of the run
    cells["glassnet-fit/float32"]["best"], cells["torch/float32"]["best"] = 400.0, 160.0
    best = bench_modules.ratios(cells, {"float32": 1.0}, 1_000_000, "best")
    assert best["gn32/torch32"] == 2.5 and "gn32/gemm32" not in best  # fastest runs: speed ratios only


def test_rounds_pool_repeats_and_baseline_must_match_bit_for_bit(bench_modules: Any) -> None:
    run = bench_modules
    cells: dict[str, Any] = {}
    first = {"samples_per_s": [10.0], "samples_per_cpu_s": [20.0], "seconds": [1.0], "peak_mb": 5.0,
             "faults_per_step": 1.0, "final_loss": 0.25, "params_digest": [2.0], "median": 10.0, "median_cpu": 20.0}
    run.merge(cells, "glassnet-fit/float64", dict(first))
    run.merge(cells, "glassnet-fit/float64", {**first, "samples_per_s": [30.0, 50.0], "peak_mb": 7.0})
    cell = cells["glassnet-fit/float64"]
    assert cell["samples_per_s"] == [10.0, 30.0, 50.0] and cell["median"] == 30.0 and cell["peak_mb"] == 7.0
    assert cell["rounds_agree"] is True
    cells["numpy/float64"] = dict(first)
    cells[run.BASELINE + "glassnet-fit/float64"] = {**first, "final_loss": 0.25 + 1e-15}
    by_cell = {c["cell"]: c["ok"] for c in run.loss_checks("digits", cells)}
    assert by_cell["glassnet fit == baseline fit (float64)"] is False
    run.merge(cells, "numpy/float64", {**first, "final_loss": 0.3})
    assert any(c["ok"] is False and c.get("note") for c in run.loss_checks("digits", cells))


def test_paired_monitor_rounds_pool_their_pairs_and_give_the_monitor_ratio(bench_modules: Any) -> None:
    run = bench_modules
    cells: dict[str, Any] = {}
    key = run.PAIRED + "/float64"
    run.merge(cells, key, {"ratios": [0.90, 0.96], "seconds_on": [1.0, 1.1], "seconds_off": [0.9, 1.056], "hook_check_s": [1e-6],
                           "best_ratio": [0.9]})
    run.merge(cells, key, {"ratios": [0.99], "seconds_on": [1.2], "seconds_off": [1.188], "hook_check_s": [3e-6],
                           "best_ratio": [0.99]})
    run.merge(cells, key, {"ratios": [0.97], "seconds_on": [1.3], "seconds_off": [1.261], "hook_check_s": [2e-6],
                           "best_ratio": [0.97]})
    assert cells[key]["ratios"] == [0.90, 0.96, 0.99, 0.97] and cells[key]["seconds_on"] == [1.0, 1.1, 1.2, 1.3]
    cells["glassnet-fit/float64"] = {"median": 94.0, "faults_per_step": 0.0}
    cells["glassnet-nomonitor/float64"] = {"median": 100.0}
    r = run.ratios(cells, {}, 1)
    # best off / best on within each round's process (0.9, 0.99, 0.97), their median; not the two cells' 0.94,
    # and not the best off and best on of different processes (0.9 / 1.0)
    assert r["monitor64"] == pytest.approx(0.97)
    assert r["monitor64-pairs"] == pytest.approx(0.965)
    assert r["tracing-off64"] == pytest.approx(3e-6 / 0.9)  # the slowest check against the fastest fit
    assert r["monitor64-cells"] == pytest.approx(0.94)


def test_compiled_engine_ratios_come_from_its_own_cells(bench_modules: Any) -> None:
    run = bench_modules
    cells = {"glassnet-fit/float32": {"median": 300.0, "faults_per_step": 2.0, "peak_mb": 110.0},
             "glassnet-fast/float32": {"median": 450.0, "faults_per_step": 1.0, "peak_mb": 120.0},
             "glassnet-fit/float64": {"median": 94.0, "faults_per_step": 0.0},
             "glassnet-nomonitor/float64": {"median": 100.0}, "glassnet-fast/float64": {"median": 200.0, "faults_per_step": 0.0},
             "numpy/float32": {"median": 100.0, "peak_mb": 100.0}, "torch/float32": {"median": 150.0},
             run.PAIRED + "/float64": {"ratios": [0.9], "best_ratio": [0.9], "hook_check_s": [1e-6], "seconds_off": [1.0]},
             run.PAIRED_FAST + "/float64": {"ratios": [0.8], "best_ratio": [0.8], "hook_check_s": [2e-6],
                                            "seconds_off": [0.5]}}
    numpy_engine, fast = run.ratios(cells, {}, 1), run.ratios(run.compiled_view(cells), {}, 1)
    assert numpy_engine["gn32/torch32"] == 2.0 and numpy_engine["gn32/numpy32"] == 3.0 and numpy_engine["monitor64"] == 0.9
    assert fast["gn32/torch32"] == 3.0 and fast["gn32/numpy32"] == 4.5 and fast["gn64/torch32"] == 200.0 / 150.0
    assert fast["faults32"] == 1.0 and fast["mem32/numpy32"] == pytest.approx(1.2)
    assert fast["monitor64"] == 0.8 and fast["tracing-off64"] == pytest.approx(2e-6 / 0.5)
    assert "monitor64-cells" not in fast  # no compiled twin of glassnet-nomonitor: not a ratio across engines


def test_compiled_fit_must_match_the_numpy_engine_bit_for_bit_in_float64(bench_modules: Any) -> None:
    cell = {"final_loss": 0.30, "params_digest": [1.0]}
    cells = {"numpy/float64": dict(cell), "glassnet-fit/float64": dict(cell), "glassnet-fast/float64": dict(cell),
             "glassnet-fit/float32": dict(cell), "glassnet-fast/float32": {**cell, "final_loss": 0.30 * (1 + 1e-6)}}
    by_cell = {c["cell"]: c["ok"] for c in bench_modules.loss_checks("moons", cells)}
    assert by_cell["glassnet fast == fit (float64)"] is True and by_cell["glassnet fast == fit (float32)"] is True
    cells["glassnet-fast/float64"] = {**cell, "params_digest": [1.0 + 2.0**-52]}  # one unit in the last place
    cells["glassnet-fast/float32"] = {**cell, "final_loss": 0.30 * (1 + 3e-5)}
    by_cell = {c["cell"]: c["ok"] for c in bench_modules.loss_checks("moons", cells)}
    assert by_cell["glassnet fast == fit (float64)"] is False and by_cell["glassnet fast == fit (float32)"] is False


def test_a_compiled_cell_without_numba_fails_and_says_why(bench_modules: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # A numba that cannot be imported, ahead of the installed one on the cell's path: the cell must not time the
    # NumPy engine under the compiled engine's name.
    (tmp_path / "numba.py").write_text("raise ImportError('numba is hidden by this test')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = bench_modules.run_cell("tiny", "glassnet-fast", "float64", "smoke", 120.0)
    assert "numba is not installed" in result["error"][0]
    assert "numba_loaded" not in result
