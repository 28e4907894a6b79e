"""Cross-validated accuracy and fit time of GlassClassifier vs scikit-learn's MLPClassifier, same settings.

    python3 examples/compare_with_mlpclassifier.py [--folds 5] [--max-iter 200] [--repeats 3]

Both run in a Pipeline after StandardScaler, with the same hidden sizes, activation, solver (adam),
alpha, batch size, learning rate, max_iter, tol and n_iter_no_change. Fit time is the median over
``--repeats`` timed cross-validations (single thread is not enforced: both use the same NumPy/BLAS).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.sklearn import GlassClassifier

DATASETS = ("iris", "digits", "wine", "breast_cancer")


def settings(max_iter: int) -> dict[str, object]:
    return dict(hidden_layer_sizes=(64,), activation="relu", solver="adam", alpha=1e-4, batch_size=32,
                learning_rate_init=1e-3, max_iter=max_iter, tol=1e-4, n_iter_no_change=10)


def compare(name: str, folds: int, max_iter: int, repeats: int, seed: int = 0) -> dict[str, float]:
    X, y = gn.datasets.get_dataset(name)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out: dict[str, float] = {}
    for label, cls in (("glass", GlassClassifier), ("mlp", MLPClassifier)):
        scores, times = [], []
        for r in range(repeats):
            model = make_pipeline(StandardScaler(), cls(random_state=seed + r, **settings(max_iter)))
            res = cross_validate(model, X, y, cv=cv)
            scores.append(res["test_score"].mean())
            times.append(res["fit_time"].sum())
        out[f"{label}_acc"] = float(np.mean(scores))
        out[f"{label}_fit_s"] = float(np.median(times))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{'dataset':<14}{'glassnet acc':>13}{'MLP acc':>9}{'diff (pts)':>11}{'glassnet fit s':>16}{'MLP fit s':>11}")
    for name in DATASETS:
        r = compare(name, args.folds, args.max_iter, args.repeats)
        print(f"{name:<14}{r['glass_acc']:>13.4f}{r['mlp_acc']:>9.4f}{100 * (r['glass_acc'] - r['mlp_acc']):>11.2f}"
              f"{r['glass_fit_s']:>16.3f}{r['mlp_fit_s']:>11.3f}")


if __name__ == "__main__":
    main()
