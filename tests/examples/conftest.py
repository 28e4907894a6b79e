"""The tutorial notebooks' kernel (a fixture), and the run times of the examples (printed at the end of the session)."""

from __future__ import annotations

import pytest

from tests.examples.notebooks import SRC, TIMES


@pytest.fixture(scope="session")
def kernel(tmp_path_factory):
    """A python3 kernelspec for this interpreter (so a fresh machine with only the pip packages runs the
    notebooks: no ``ipykernel install`` beforehand), and the environment that makes nbclient find it."""
    from ipykernel.kernelspec import install

    tmp = tmp_path_factory.mktemp("jupyter")
    env = {"PYTHONPATH": SRC, "IPYTHONDIR": str(tmp / "ipython"), "MPLBACKEND": "Agg"}
    install(kernel_name="python3", prefix=str(tmp), env=env)
    return {"JUPYTER_PATH": str(tmp / "share" / "jupyter"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}


def pytest_terminal_summary(terminalreporter) -> None:
    notebooks = {k: v for k, v in TIMES.items() if k.endswith(".ipynb")}
    if notebooks:
        terminalreporter.write_line("notebook run times: " + ", ".join(f"{k} {v:.1f} s" for k, v in notebooks.items())
                                    + f"; total {sum(notebooks.values()):.1f} s")
    for name, seconds in TIMES.items():
        if name not in notebooks:
            terminalreporter.write_line(f"{name} ran in {seconds:.1f} s")
