"""glassnet.Playground in a real JupyterLab, driven by Debian's chromium through Playwright.

A JupyterLab server (from the package index: the test extra) starts on a free port with a token, in a temporary
directory with its own settings, and a kernel of this interpreter that imports this checkout's glassnet. The
browser opens a notebook that builds a Playground on XOR and runs its cells; then: the widget renders, play
advances the epoch counter, pause stops it, the learning-rate slider changes the rate the kernel uses (the widget
shows the rate the kernel sends back), a clicked weight shows its value and a typed one is taken, and nothing is
logged to the console as an error. The server is shut down in any case. Screenshots go to ``artifacts/``.

Needs ``apt-get install chromium`` and ``pip install -e ".[test]"`` (never ``playwright install``). Without
chromium the test skips locally; in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
KERNEL = "glassnet-test"

if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
    pytest.skip("needs Debian's chromium (apt-get install chromium); CI installs it", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (after the skip: CI must have it)

CELLS = [
    "import glassnet as gn\n"
    "X, y = gn.datasets.xor()\n"
    "net = gn.Network.from_sizes([2, 3, 1], activation='sigmoid', loss='mse', seed=0)\n"
    "pg = gn.Playground(net, X, y, lr=0.5, fps=20)",
    "pg",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_notebook(path: Path) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": src}
             for i, src in enumerate(CELLS)]
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": KERNEL, "display_name": "glassnet test", "language": "python"}}}
    path.write_text(json.dumps(notebook), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server of its own; yields (base URL, token). Stopped (and its kernels with it) in any case."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "notebooks"
    root.mkdir()
    write_notebook(root / "playground.ipynb")
    data = home / "data"
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "glassnet test", "language": "python"}), encoding="utf-8")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(data),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "IPYTHONDIR": str(home / "ipython"),
           # the kernel imports this checkout's glassnet, whatever is installed
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    port, token = free_port(), secrets.token_hex(16)
    log = open(home / "server.log", "w")  # noqa: SIM115  (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.allow_root=True", "--ServerApp.terminals_enabled=False",  # CI runs as root
         # window.jupyterapp for the test; nothing fetched from the internet (news, updates, the extension index)
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"JupyterLab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
            time.sleep(0.25)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"playground-{name}.png"), full_page=True)


def number(page, selector) -> int:
    return int(page.text_content(selector) or "-1")


def test_the_playground_trains_live_in_jupyterlab(lab):
    url, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/lab/tree/playground.ipynb?token={token}")
            # the notebook is open and its kernel (this interpreter, KERNEL) is idle
            page.wait_for_function("""(name) => {
                const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                return kernel && kernel.name === name && kernel.status === "idle";
            }""", arg=KERNEL, timeout=45000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_selector(".gn-pg[data-ready]", timeout=45000)
            widget = page.locator(".gn-pg")
            assert widget.is_visible()
            assert number(page, ".gn-epoch") == 0 and page.text_content(".gn-status") == "ready"
            assert page.locator(".gn-net circle").count() == 2 + 3 + 1 and page.locator(".gn-weight-hit").count() == 6 + 3
            shot(page, "rendered")

            page.click(".gn-play")  # play: the epoch counter advances
            page.wait_for_function("Number(document.querySelector('.gn-epoch').textContent) >= 50")
            page.click(".gn-play")  # pause: it stops
            page.wait_for_function("document.querySelector('.gn-status').textContent === 'paused'")
            paused = number(page, ".gn-epoch")
            time.sleep(0.5)
            assert number(page, ".gn-epoch") == paused > 0
            shot(page, "paused")

            page.fill(".gn-lr-slider", "-2")  # the slider: 10^-2, sent to the kernel, whose rate comes back
            page.wait_for_function("document.querySelector('.gn-lr-value').textContent === 'rate in use: 0.01'")
            page.click(".gn-step")
            page.wait_for_function(f"Number(document.querySelector('.gn-steps').textContent) === {paused + 1}")

            page.locator(".gn-weight-hit").first.click(force=True)  # a weight: its value, gradient and last update
            page.wait_for_selector(".gn-detail .gn-entry")
            assert page.text_content(".gn-detail .gn-key") == "0.W[0, 0]"
            page.fill(".gn-detail .gn-edit", "2.5")
            page.press(".gn-detail .gn-edit", "Enter")
            page.wait_for_function("document.querySelector('.gn-detail .gn-value').textContent === '2.5'")
            assert "0.W[0, 0] set to 2.5" in page.text_content(".gn-message")
            page.fill(".gn-lr-input", "-3")  # a bad rate: refused, in the widget
            page.press(".gn-lr-input", "Enter")
            page.wait_for_selector(".gn-message.gn-error")
            assert "learning rate must be > 0" in page.text_content(".gn-message")
            shot(page, "edited")
            assert errors == [], errors
        finally:
            browser.close()
