"""The core imports NumPy alone; ``import glassnet`` pulls in no optional library."""

import subprocess
import sys

OPTIONAL = ["torch", "matplotlib", "sklearn", "rich", "scipy", "pandas"]


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="src").stdout
    return set(out.split())


def test_core_imports_numpy_alone():
    modules = imported_after("import glassnet.core")
    assert "numpy" in modules
    assert not modules & set(OPTIONAL), modules & set(OPTIONAL)


def test_import_glassnet_loads_no_optional_library():
    assert not imported_after("import glassnet") & set(OPTIONAL)
