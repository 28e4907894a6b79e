"""Cross-validated accuracy and fit time of GlassClassifier vs scikit-learn's MLPClassifier, same settings.

    python3 examples/compare_with_mlpclassifier.py [--folds 5] [--max-iter 200] [--repeats 3]

Both run in a Pipeline after StandardScaler, with the same hidden sizes, activation, solver (adam),
alpha, batch size, learning rate, max_iter, tol and n_iter_no_change, on the same folds and seeds.
The two are timed alternately, fold by fold, so a busy machine slows both alike; the reported fit time
is the smallest total over ``--repeats`` (seeds), and ms/epoch divides by the epochs actually run
(both stop early by the same rule, so their epoch counts differ a little).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.sklearn import GlassClassifier

DATASETS = ("iris", "digits", "wine", "breast_cancer")


def settings(max_iter: int) -> dict[str, object]:
    return dict(hidden_layer_sizes=(64,), activation="relu", solver="adam", alpha=1e-4, batch_size=32,
                learning_rate_init=1e-3, max_iter=max_iter, tol=1e-4, n_iter_no_change=10)


def compare(name: str, folds: int, max_iter: int, repeats: int) -> dict[str, dict[str, float]]:
    X, y = gn.datasets.get_dataset(name)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y))
    out = {}
    totals: dict[str, list[list[float]]] = {"glassnet": [], "MLPClassifier": []}  # per repeat: [score, seconds, epochs]
    for seed in range(repeats):
        run = {key: [0.0, 0.0, 0.0] for key in totals}
        for train, test in splits:
            for key, cls in (("glassnet", GlassClassifier), ("MLPClassifier", MLPClassifier)):
                model = clone(make_pipeline(StandardScaler(), cls(random_state=seed, **settings(max_iter))))
                started = time.perf_counter()
                model.fit(X[train], y[train])
                run[key][1] += time.perf_counter() - started
                run[key][0] += model.score(X[test], y[test]) / folds
                run[key][2] += model[-1].n_iter_
        for key in totals:
            totals[key].append(run[key])
    for key, runs in totals.items():
        arr = np.array(runs)
        out[key] = {"accuracy": float(arr[:, 0].mean()), "fit_s": float(arr[:, 1].min()),
                    "ms_per_epoch": float(1000 * arr[:, 1].sum() / arr[:, 2].sum()), "epochs": float(arr[:, 2].mean())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{args.folds}-fold CV, accuracy averaged over {args.repeats} seeds; fit time = min over seeds of the "
          "total over folds")
    print(f"{'dataset':<14}{'acc glass':>10}{'acc MLP':>9}{'diff pts':>9}{'fit s glass':>12}{'fit s MLP':>10}"
          f"{'ms/ep glass':>12}{'ms/ep MLP':>10}  epochs over all folds g/M")
    for name in DATASETS:
        r = compare(name, args.folds, args.max_iter, args.repeats)
        g, m = r["glassnet"], r["MLPClassifier"]
        print(f"{name:<14}{g['accuracy']:>10.4f}{m['accuracy']:>9.4f}{100 * (g['accuracy'] - m['accuracy']):>9.2f}"
              f"{g['fit_s']:>12.2f}{m['fit_s']:>10.2f}{g['ms_per_epoch']:>12.2f}{m['ms_per_epoch']:>10.2f}"
              f"{g['epochs']:>6.0f}/{m['epochs']:<5.0f}")


if __name__ == "__main__":
    main()
