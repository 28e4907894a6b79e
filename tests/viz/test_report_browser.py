"""The HTML report in a real headless browser: Debian's chromium driven by Playwright.

It loads from a file:// URL with no console errors and no network requests; the slider (mouse or
keyboard) changes the boundary picture and the diagram's numbers; choosing a sample changes the ledger;
hovering a neuron shows its value; clicking a ledger line highlights what it involves; and the numbers
on the page equal the trace JSON and the recorded parameters. Screenshots go to ``artifacts/``.

Needs ``apt-get install chromium`` and ``pip install playwright`` (never ``playwright install``). Without
chromium the tests skip locally; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons

import glassnet as gn
from glassnet.viz.report import _fresh_optimizer, write_report
from glassnet.viz.snapshots import SnapshotRecorder

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
    pytest.skip("needs Debian's chromium (apt-get install chromium); CI installs it", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (after the skip: CI must have it)


@pytest.fixture(scope="module")
def run_report(tmp_path_factory):
    """A 2-4-3-1 tanh network trained on moons, its recording and its report page."""
    X, y = make_moons(80, noise=0.1, random_state=3)
    net = gn.Network.from_sizes([2, 4, 3, 1], activation="tanh", loss="bce", seed=2)
    rec = SnapshotRecorder(max_snapshots=25)
    net.fit(X, y, epochs=150, optimizer="sgd", lr=0.5, callbacks=[rec])
    path = tmp_path_factory.mktemp("report") / "moons report.html"  # a space: the URL must be built properly
    write_report(path, net, X, y, run=rec.run, data_name="moons", warnings=["UserWarning: a test warning"],
                 resolution=24, ledger_samples=3, ledger_snapshots=5)
    return path, net, X, y, rec.run


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A loaded report page plus everything it logged and requested."""

    def __init__(self, browser, path, bypass_csp=True):
        # bypass_csp: the page's own policy would also block Playwright's evaluate(); the request log
        # below is what proves the page fetches nothing (test_works_under_its_own_policy runs with it).
        self.context = browser.new_context(viewport={"width": 1300, "height": 1000}, bypass_csp=bypass_csp)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10000)
        self.errors, self.requests = [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.url = Path(path).as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]", state="attached", timeout=20000)

    def __getattr__(self, name):
        return getattr(self.page, name)


@pytest.fixture
def page(browser, run_report):
    p = Page(browser, run_report[0])
    yield p
    p.context.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)


def canvas(page):
    return page.evaluate("document.getElementById('boundary').toDataURL()")


def biases(page):
    return page.evaluate("[...document.querySelectorAll('#network .bias-value')].map(t => t.textContent)")


def test_loads_offline_without_errors_and_requests_nothing(page):
    assert page.evaluate("document.body.dataset.ready") == "1", page.text_content("#status")
    assert page.errors == []
    assert page.requests and all(u == page.url or u.startswith("data:") for u in page.requests), page.requests
    assert "2-4-3-1 network on moons" in page.title()
    assert "UserWarning: a test warning" in page.text_content("#warnings")
    assert "Backpropagation agrees with finite differences" in page.text_content("#gradcheck")
    assert page.locator("#gradcheck tr").count() == 1 + 6  # header + W and b of 3 layers
    assert "Parameters were recorded at 25 of the 151 epochs" in page.text_content("#notes")
    shot(page, "loaded")


def test_works_under_its_own_content_security_policy(browser, run_report):
    """With the page's policy in force (nothing may load from anywhere), it still draws without errors."""
    p = Page(browser, run_report[0], bypass_csp=False)
    try:
        assert p.get_attribute("body", "data-ready") == "1" and p.errors == []
        assert p.locator("#network image").count() == 4 + 3 + 1 and p.locator("#ledger li").count() > 50
    finally:
        p.context.close()


def test_a_browser_without_decompression_streams_is_told_why(browser, run_report):
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.add_init_script("delete window.DecompressionStream")
        page.goto(Path(run_report[0]).as_uri())
        page.wait_for_selector("body[data-ready]", state="attached", timeout=10000)
        assert page.get_attribute("body", "data-ready") == "error"
        assert "lacks DecompressionStream; use a current browser" in page.text_content("#status")
    finally:
        context.close()


def test_slider_changes_the_boundary_and_the_diagram_numbers(page, run_report):
    _, net, _, _, run = run_report
    last_picture, last_numbers = canvas(page), biases(page)
    page.fill("#epoch", "0")  # sets the value and fires input
    page.dispatch_event("#epoch", "input")
    assert canvas(page) != last_picture
    first_numbers = biases(page)
    assert first_numbers != last_numbers
    # The numbers are those of the recorded snapshot, 3 significant digits, in diagram order.
    for numbers, (_, params) in ((first_numbers, run.snapshots[0]), (last_numbers, run.snapshots[-1])):
        expect = np.concatenate([params[f"{i}.b"] for i in range(3)])
        shown = np.array([float(t.split()[1]) for t in numbers])
        np.testing.assert_allclose(shown, expect, rtol=5e-3, atol=1e-12)
    assert page.text_content("#epoch-label").startswith("epoch 0 of 150")
    shot(page, "epoch0")


def test_keyboard_moves_the_slider(page, run_report):
    n = len(run_report[4].snapshots)
    page.focus("#epoch")
    page.keyboard.press("Home")
    assert page.input_value("#epoch") == "0"
    before = canvas(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.input_value("#epoch") == "2"
    assert canvas(page) != before
    assert page.text_content("#epoch-label").startswith(f"epoch {run_report[4].snapshots[2][0]} of 150")
    page.keyboard.press("End")
    assert page.input_value("#epoch") == str(n - 1)
    assert page.get_attribute("#epoch", "aria-valuetext").startswith("epoch 150 of 150")


def ledger_lines(page):
    return page.evaluate("""[...document.querySelectorAll('#ledger li')].map(li => [
        li.querySelector('.sym').textContent, li.querySelector('.val').textContent])""")


def trace_for(page, run_report):
    """The trace JSON of the step the page shows, computed here from the recorded parameters."""
    _, net, X, y, run = run_report
    epoch = int(page.get_attribute("#ledger", "data-epoch"))
    sample = int(page.get_attribute("#ledger", "data-sample"))
    params = dict(run.snapshots)[epoch]
    copy = gn.Network.from_sizes([2, 4, 3, 1], activation="tanh", loss="bce")
    copy.set_parameters(params)
    trace = gn.explain(copy, X[sample:sample + 1], y[sample:sample + 1], optimizer=_fresh_optimizer(run.info["optimizer"]))
    return json.loads(trace.to_json())


def test_ledger_numbers_equal_the_trace_json_and_choosing_a_sample_changes_them(page, run_report):
    for option in ("0", "2"):
        page.select_option("#sample", option)
        lines = ledger_lines(page)
        records = trace_for(page, run_report)["records"]
        assert [sym for sym, _ in lines] == [r["symbol"] for r in records]
        shown = np.array([np.nan if v == "n/a" else float(v) for _, v in lines])
        expect = np.array([np.nan if r["value"] is None else r["value"] for r in records])
        np.testing.assert_allclose(shown, expect, rtol=5e-6, atol=1e-300, equal_nan=True)  # 6 significant digits
        # The formulas on the page are the trace's, without the leading symbol and the trailing value.
        formulas = page.evaluate("[...document.querySelectorAll('#ledger li')].map(li => li.textContent)")
        for text, r in zip(formulas, records):
            body = r["formula"].split(f" {r['op']} ", 1)[1].rsplit(" = ", 1)[0]
            assert text.startswith(f"{r['symbol']} {r['op']} ") and (body in text or r["value"] is None), (text, r["formula"])
        if option == "0":
            first = lines
    assert lines != first
    assert page.get_attribute("#ledger", "data-sample") == str(run_report[2].shape[0] - 1)
    # A snapshot between ledger snapshots shows the nearest ledger, and says so.
    page.fill("#epoch", "1")
    page.dispatch_event("#epoch", "input")
    assert "the nearest snapshot with a ledger" in page.text_content("#ledger-info")
    # The buttons jump to the snapshots that have a ledger.
    page.click("#ledger-epochs button >> nth=1")
    epoch = int(page.text_content("#ledger-epochs button >> nth=1"))
    assert page.text_content("#epoch-label").startswith(f"epoch {epoch} of 150")
    assert page.get_attribute("#ledger", "data-epoch") == str(epoch)
    assert "the nearest snapshot" not in page.text_content("#ledger-info")


def test_hovering_a_neuron_or_edge_shows_value_gradient_and_update(page, run_report):
    records = {r["symbol"]: r["value"] for r in trace_for(page, run_report)["records"]}
    page.evaluate("document.getElementById('network').scrollIntoView()")  # clear of the sticky slider bar
    page.hover("#n1_1")
    tip = page.text_content("#tooltip")
    assert page.is_visible("#tooltip")
    a = float(tip.split("a = ")[1].split()[0])
    delta = float(tip.split("delta = dL/dz = ")[1].split(",")[0])
    assert a == pytest.approx(records["a^(1)_2"], rel=5e-6) and delta == pytest.approx(records["delta^(1)_2"], rel=5e-6)
    shot(page, "hover-neuron")
    trace = trace_for(page, run_report)
    page.focus("[data-edge=e2_1_0]")  # keyboard focus shows the same tooltip
    tip = page.text_content("#tooltip")
    assert float(tip.split("dL/dw = ")[1].split()[0]) == pytest.approx(trace["gradients"]["1.W"][1][0], rel=5e-6)
    assert float(tip.split("w -> ")[1].split()[0]) == pytest.approx(trace["params_after"]["1.W"][1][0], rel=5e-6)


def test_clicking_a_ledger_line_highlights_its_neurons_and_edges(page):
    line = page.locator("#ledger li", has_text="dL/dw^(2)_{3,2}").first
    line.click()
    highlighted = page.evaluate("[...document.querySelectorAll('#network .hl')].map(e => e.id).sort()")
    assert highlighted == ["e2_2_1", "n1_2", "n2_1"]
    assert "selected" in line.get_attribute("class")
    page.locator("#ledger li", has_text="z^(1)_1").first.press("Enter")
    highlighted = page.evaluate("[...document.querySelectorAll('#network .hl')].map(e => e.id).sort()")
    assert highlighted == ["e1_0_0", "e1_1_0", "n0_0", "n0_1", "n1_0"]
    shot(page, "ledger-highlight")


def test_play_moves_through_snapshots_and_pause_stops(page):
    page.focus("#epoch")
    page.keyboard.press("Home")
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.wait_for_function("Number(document.getElementById('epoch').value) >= 2", timeout=5000)
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "false"
    stopped = page.input_value("#epoch")
    page.wait_for_timeout(400)
    assert page.input_value("#epoch") == stopped != "0"


def test_text_alternatives_describe_the_figures(page):
    label = page.get_attribute("#boundary", "aria-label")
    assert label.startswith("Decision boundary. Epoch 150:") and "class 0: circle, class 1: cross" in label
    assert "Training loss went from" in page.text_content("#curves-caption")
    assert page.get_attribute("#n1_0", "aria-label").startswith("h^(1)_1, bias b^(1)_1 = ")
    assert page.locator("#weights-tables table").count() == 3


def test_a_plain_model_and_data_that_is_not_2d(browser, tmp_path):
    net = gn.Network.from_sizes([3, 4, 2], loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    write_report(tmp_path / "plain.html", net, X, y)
    p = Page(browser, tmp_path / "plain.html")
    try:
        assert p.evaluate("document.body.dataset.ready") == "1" and p.errors == []
        assert "without a recorded run" in p.text_content("#notes")
        assert p.is_disabled("#epoch") and p.is_hidden("#boundary-fig")
        assert "need 2 input features" in p.text_content("#notes")
        assert len(ledger_lines(p)) > 20
        shot(p, "plain-3d")
    finally:
        p.context.close()


def test_regression_with_two_outputs(browser, tmp_path):
    X = np.random.default_rng(2).uniform(-1, 1, size=(40, 2))
    y = np.column_stack([X[:, 0] * X[:, 1], X[:, 0] + 0.5])
    net = gn.Network.from_sizes([2, 5, 2], activation="tanh", output_activation="identity", loss="mse", seed=0)
    rec = SnapshotRecorder(max_snapshots=6)
    net.fit(X, y, epochs=20, lr=0.1, callbacks=[rec])
    write_report(tmp_path / "regression.html", net, X, y, run=rec.run)
    p = Page(browser, tmp_path / "regression.html")
    try:
        assert p.evaluate("document.body.dataset.ready") == "1" and p.errors == []
        label = p.get_attribute("#boundary", "aria-label")
        assert "output 1 (of 2) is above" in label and "circles; filled darker for larger targets" in label
    finally:
        p.context.close()


def test_multiclass_boundary(browser, tmp_path):
    X = np.random.default_rng(1).normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    net = gn.Network.from_sizes([2, 6, 3], activation="relu", loss="cross_entropy", seed=0)
    rec = SnapshotRecorder(max_snapshots=10)
    net.fit(X, y, epochs=50, optimizer="adam", lr=0.05, callbacks=[rec])
    write_report(tmp_path / "multi.html", net, X, y, run=rec.run)
    p = Page(browser, tmp_path / "multi.html")
    try:
        assert p.evaluate("document.body.dataset.ready") == "1" and p.errors == []
        label = p.get_attribute("#boundary", "aria-label")
        assert "class 2: triangle" in label and "class 0 (plain)" in label and "class 2 (hatched \\)" in label
        shot(p, "multiclass")
    finally:
        p.context.close()


def test_chromium_is_what_ci_installs():
    assert shutil.which("chromium") == CHROMIUM
