"""`import glassnet` stays light: optional libraries load only when their feature is used."""

import os
import subprocess
import sys
from pathlib import Path


def test_import_glassnet_loads_no_optional_library():
    code = ("import sys, glassnet, glassnet.datasets;"
            "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib', 'pandas', 'onnx') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
