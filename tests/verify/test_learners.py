"""The doctor on real learners' buggy scripts collected from public posts (``learners/``, sources in its README).

Each case has the author's script, unchanged, and its fix from the accepted answer; ``learners/cases.py``
records what the answer said and which parameters are wrong. The table printed here (``pytest -s``) is the
measurement of issue 12; the assertions hold the measured level so a regression fails.
"""

import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from glassnet.errors import GlassnetError
from glassnet.verify.script.isolate import diagnose_file

FOLDER = Path(__file__).parent / "learners"
sys.path.insert(0, str(FOLDER))
from cases import CASES  # noqa: E402

CAUSE = {  # the doctor's verdict or cause id -> the corpus's bug class
    "changed_in_loop": "changed_during_accumulation", "never_accumulated": "never_accumulated",
    "never_reset": "never_reset", "mean_vs_sum": "mean_vs_sum", "uphill": "sign", "sign": "sign",
    "transposed": "transposed", "hardcoded_lr": "hardcoded_lr", "updated_before_used": "updated_before_used",
    "bias_sum_all_axes": "bias_sum_all_axes", "symmetric": "init_small_or_symmetric",
}


def canonical(name: str) -> str:
    """``self.W1`` and ``nn.W1`` are the same parameter; quotes do not matter."""
    name = name.replace('"', "'")
    return re.sub(r"^\w+\.", "", name) if "." in name.split("[")[0] else name


def within(name: str, truth: set[str]) -> str:
    """An entry of a parameter the truth names whole (``weights[0][1]`` of a list-of-lists ``weights``) counts as it."""
    return next((t for t in truth if name.startswith(t + "[")), name)


def diagnose(path: Path):
    started = time.perf_counter()
    try:
        report = diagnose_file(str(path), timeout=40)
    except GlassnetError as exc:
        return None, str(exc), time.perf_counter() - started
    return report, "", time.perf_counter() - started


# Each diagnosis runs in its own subprocess and this process only waits for it, so two scripts are checked at a
# time: the four that run out of time (40 s each, two thirds of the serial run) no longer run one after another.
# Not more than one per core: the doctor probes fewer entries when a pass of the loop is slow (analysis.PROBE_SECONDS),
# so a script that shares its core is diagnosed as on a slower machine (11_kvfrans is near that edge: a pass of about
# 1 ms against 2.2 ms, and the cause is named only below it). Each case's seconds are still its own wall time.
WORKERS = min(2, os.cpu_count() or 1)


@pytest.fixture(scope="module")
def table():
    paths = [FOLDER / f"{case['name']}_{version}.py" for case in CASES for version in ("buggy", "fixed")]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = dict(zip(paths, pool.map(diagnose, paths)))  # map keeps the order of the paths
    rows = []
    for case in CASES:
        buggy, why, seconds = answers[FOLDER / f"{case['name']}_buggy.py"]
        fixed, _, fixed_seconds = answers[FOLDER / f"{case['name']}_fixed.py"]
        truth = {canonical(p) for p in case["buggy_params"]}
        flagged = {within(canonical(f.param), truth) for f in buggy.failed()} if buggy else set()
        causes = {CAUSE.get(f.verdict, f.details.get("cause", f.verdict)) for f in buggy.failed()} if buggy else set()
        rows.append({"case": case["name"], "class": case["bug_class"], "diagnosed": buggy is not None,
                     "flagged_right": flagged == truth, "flagged_overlap": bool(flagged & truth),
                     "cause_right": case["bug_class"] in causes, "false_alarm": fixed is None or not fixed.ok,
                     "seconds": seconds, "fixed_seconds": fixed_seconds, "why": why, "flagged": sorted(flagged),
                     "truth": sorted(truth)})
    print("\ncase | class | diagnosed unchanged | flagged = truth | cause named | fixed version clean | s (buggy/fixed)")
    for r in rows:
        print(f"{r['case']} | {r['class']} | {'yes' if r['diagnosed'] else 'no: ' + r['why'][:80]} | "
              f"{'yes' if r['flagged_right'] else 'no ' + str(r['flagged'])} | {'yes' if r['cause_right'] else 'no'} | "
              f"{'no' if r['false_alarm'] else 'yes'} | {r['seconds']:.1f}/{r['fixed_seconds']:.1f}")
    total = len(rows)
    print(f"totals of {total}: diagnosed {sum(r['diagnosed'] for r in rows)}, flagged right "
          f"{sum(r['flagged_right'] for r in rows)}, overlapping {sum(r['flagged_overlap'] for r in rows)}, cause right "
          f"{sum(r['cause_right'] for r in rows)}, false alarms {sum(r['false_alarm'] for r in rows)}")
    return rows


def test_the_corpus_has_at_least_fifteen_real_cases_with_sources():
    assert len(CASES) >= 15
    assert all(c["source"].startswith("http") and c["accepted_answer"] for c in CASES)
    assert all((FOLDER / f"{c['name']}_buggy.py").exists() and (FOLDER / f"{c['name']}_fixed.py").exists() for c in CASES)


# Measured on this machine (see the note of issue 12): diagnosed 14, flagged = truth 11, overlapping 13, cause named
# 8, false alarms 2 (the two it cannot check). The bounds leave one case of slack for a slower machine.
def test_the_doctor_diagnoses_most_scripts_unchanged(table):
    assert sum(r["diagnosed"] for r in table) >= 13


def test_the_flagged_parameters_are_the_truth(table):
    assert sum(r["flagged_right"] for r in table) >= 10
    assert sum(r["flagged_overlap"] for r in table) >= 12


def test_the_cause_is_named_as_the_accepted_answer_named_it(table):
    assert sum(r["cause_right"] for r in table) >= 7


def test_the_fixed_versions_raise_few_false_alarms(table):
    assert sum(r["false_alarm"] for r in table) <= 3


def test_every_script_takes_seconds_not_its_whole_training(table):
    assert all(r["seconds"] < 45 for r in table)  # a clear time-limit message at worst
