"""scikit-learn's own estimator checks, every one of them, on both estimators (no expected failures)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import GlassClassifier, GlassRegressor

ESTIMATORS = [GlassClassifier(), GlassRegressor()]
# check_array_api_input only runs when SCIPY_ARRAY_API=1 was set before SciPy was first imported, which one
# shared pytest process cannot promise; test_array_api_check below runs it in a fresh interpreter instead.
_mark = parametrize_with_checks(ESTIMATORS)
_params = [p for p in _mark.args[1] if "check_array_api_input" not in str(p[1] if isinstance(p, tuple) else p.values[1])]


@pytest.mark.parametrize(_mark.args[0], _params, **_mark.kwargs)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_array_api_check_in_a_fresh_interpreter():
    code = """
import warnings
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_array_api_input
from glassnet.sklearn import GlassClassifier, GlassRegressor
warnings.simplefilter("ignore", ConvergenceWarning)
for est in (GlassClassifier(), GlassRegressor()):
    check_array_api_input(type(est).__name__, est, array_namespace="numpy")
print("ok")
"""
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_convergence_warning_is_scikit_learns():
    import numpy as np

    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        GlassClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(np.eye(4), [0, 1, 0, 1])
