# ruff: noqa: E501 - one row of the table per line reads best
"""The bad-input table: malformed inputs across the API, CSV loading, model and checkpoint files and the
command line. Each row names the exception class glassnet must raise and the key words of its message
(what is wrong, where, how to fix it). None may escape as a NumPy or Python traceback.

The doctor, gradcheck, explain and the scikit-learn estimators have their own sections.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import glassnet as gn
from glassnet.core.activations import LeakyReLU
from glassnet.core.optimizers import get_optimizer
from glassnet.datasets import load_csv
from glassnet.explain import explain
from glassnet.sklearn import GlassClassifier, GlassRegressor
from glassnet.verify.doctor import check_gradients, check_script, check_step
from glassnet.verify.gradcheck import gradcheck

X, Y = gn.datasets.xor()
X3 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def net(**options: Any) -> gn.Network:
    return gn.Network.from_sizes([2, 3, 1], "tanh", **{"seed": 0, **options})


def classifier() -> gn.Network:
    return gn.Network.from_sizes([2, 3, 3], "tanh", loss="cross_entropy", seed=0)


def csv_file(tmp: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


Row = tuple[str, Callable[[Path], Any], type[Exception], str]

API: list[Row] = [
    # Network and Dense construction
    ("network of one Dense", lambda t: gn.Network(gn.Dense(2, 1)), gn.GlassnetTypeError, "list of Dense layers"),
    ("network of None", lambda t: gn.Network(None), gn.GlassnetTypeError, "list of Dense layers"),
    ("network of no layers", lambda t: gn.Network([]), gn.ConfigError, "at least one layer"),
    ("network of a non-layer", lambda t: gn.Network([gn.Dense(2, 3), "relu"]), gn.GlassnetTypeError, "layer 1 is str"),
    ("layers that do not chain", lambda t: gn.Network([gn.Dense(2, 3), gn.Dense(4, 1)]), gn.ConfigError,
     "layer 0 (Dense(2 -> 3, sigmoid)) has 3 outputs but layer 1"),
    ("softmax in a hidden layer", lambda t: gn.Network([gn.Dense(2, 3, "softmax"), gn.Dense(3, 1)]), gn.ConfigError,
     "softmax, which couples its outputs and is for the output layer only"),
    ("bce on a tanh output", lambda t: gn.Network([gn.Dense(2, 1, "tanh")], loss="bce"), gn.ConfigError, "needs a sigmoid"),
    ("unknown loss", lambda t: net(loss="mae"), gn.ConfigError, "unknown loss 'mae'"),
    ("misspelt loss", lambda t: net(loss="cross_entropi"), gn.ConfigError, "Did you mean 'cross_entropy'"),
    ("negative l2", lambda t: net(l2=-1), gn.ConfigError, "l2 must be a number >= 0"),
    ("nan l2", lambda t: net(l2=float("nan")), gn.ConfigError, "l2 must be a number >= 0"),
    ("float16 dtype", lambda t: net(dtype="float16"), gn.ConfigError, "dtype must be 'float64' or 'float32'"),
    ("text seed", lambda t: net(seed="abc"), gn.GlassnetTypeError, "seed must be an integer >= 0"),
    ("negative seed", lambda t: net(seed=-1), gn.ConfigError, "seed must be an integer >= 0"),
    ("float seed", lambda t: net(seed=1.5), gn.GlassnetTypeError, "seed must be an integer"),
    ("Dense seed text", lambda t: gn.Dense(2, 3, seed="x"), gn.GlassnetTypeError, "Dense seed must be an integer"),
    ("sizes as text", lambda t: gn.Network.from_sizes("2,3,1"), gn.GlassnetTypeError, "list of layer sizes"),
    ("sizes None", lambda t: gn.Network.from_sizes(None), gn.GlassnetTypeError, "list of layer sizes"),
    ("one size", lambda t: gn.Network.from_sizes([2]), gn.ConfigError, "at least an input and an output size"),
    ("zero units", lambda t: gn.Dense(2, 0), gn.ConfigError, "Dense n_out must be a positive integer"),
    ("float units", lambda t: gn.Dense(2.0, 3), gn.GlassnetTypeError, "Dense n_in must be a positive integer"),
    ("unknown activation", lambda t: gn.Dense(2, 3, "relu6"), gn.ConfigError, "unknown activation 'relu6'"),
    ("activation None", lambda t: gn.Dense(2, 3, None), gn.ConfigError, "unknown activation None"),
    ("leaky slope text", lambda t: gn.Dense(2, 3, LeakyReLU("a")), gn.ConfigError, "LeakyReLU slope must be a finite number"),
    ("unknown initialiser", lambda t: gn.Dense(2, 3, init="xavier_normal"), gn.ConfigError, "unknown initialiser"),
    ("normal negative scale", lambda t: gn.Dense(2, 3, init=gn.normal(-1)), gn.ConfigError, "scale must be a finite number >= 0"),
    ("init arrays of text", lambda t: gn.Dense(2, 3, init=("a", "b")), gn.GlassnetTypeError, "init 'W' has dtype <U1"),
    ("init ragged arrays", lambda t: gn.Dense(2, 3, init=([[1, 2, 3], [1]], [0, 0, 0])), gn.ShapeError,
     "init 'W' could not be read as an array"),
    ("init wrong shape", lambda t: gn.Dense(2, 3, init=(np.zeros((3, 2)), np.zeros(3))), gn.ShapeError,
     "init 'W' has shape (3, 2); expected (2, 3)"),
    ("init with NaN", lambda t: gn.Dense(2, 1, init=(np.full((2, 1), np.nan), [0.0])), gn.ConfigError,
     "contains NaN or inf; parameters must be finite"),
    ("init dict without b", lambda t: gn.Dense(2, 1, init={"W": np.zeros((2, 1))}), gn.ConfigError, "needs both 'W' and 'b'"),
    ("initialiser of the wrong shape", lambda t: gn.Dense(2, 3, init=lambda n_in, n_out, rng: np.zeros((3, 3))),
     gn.ShapeError, "init 'W' has shape (3, 3); expected (2, 3)"),
    ("initialiser giving NaN", lambda t: gn.Dense(2, 3, init=lambda n_in, n_out, rng: np.full((n_in, n_out), np.nan)),
     gn.ConfigError, "the initialiser's W contains NaN"),
    ("layer too large for memory", lambda t: gn.Dense(10**7, 10**7), gn.ConfigError, "GiB, more memory than is free"),
    # optimizers
    ("negative learning rate", lambda t: gn.SGD(-0.1), gn.ConfigError, "learning rate lr must be a positive number"),
    ("text learning rate", lambda t: gn.Adam("0.1"), gn.ConfigError, "learning rate lr must be a positive number"),
    ("momentum of 1", lambda t: gn.SGD(0.1, momentum=1.0), gn.ConfigError, "momentum must be a number in [0, 1)"),
    ("nesterov without momentum", lambda t: gn.SGD(0.1, nesterov=True), gn.ConfigError, "nesterov=True needs a momentum"),
    ("nesterov as text", lambda t: gn.SGD(0.1, momentum=0.5, nesterov="no"), gn.ConfigError, "nesterov must be True or False"),
    ("Adam betas a number", lambda t: gn.Adam(0.1, betas=0.9), gn.ConfigError, "betas must be two numbers in [0, 1)"),
    ("Adam betas text", lambda t: gn.Adam(0.1, betas=("a", "b")), gn.ConfigError, "betas must be two numbers"),
    ("Adam eps zero", lambda t: gn.Adam(0.1, eps=0), gn.ConfigError, "eps must be a positive number"),
    ("unknown optimizer setting", lambda t: get_optimizer("adam", 0.1, momentum=0.9), gn.ConfigError,
     "Adam has no setting(s) 'momentum'; its settings are lr, betas, eps"),
    ("unknown optimizer", lambda t: net().fit(X, Y, optimizer="rmsprpo"), gn.ConfigError, "unknown optimizer 'rmsprpo'"),
    # fit
    ("zero epochs", lambda t: net().fit(X, Y, epochs=0), gn.ConfigError, "epochs must be a positive integer"),
    ("float epochs", lambda t: net().fit(X, Y, epochs=2.5), gn.GlassnetTypeError, "epochs must be a positive integer"),
    ("zero batch size", lambda t: net().fit(X, Y, batch_size=0), gn.ConfigError, "batch_size must be a positive integer"),
    ("lr None", lambda t: net().fit(X, Y, lr=None), gn.ConfigError, "learning rate lr must be a positive number"),
    ("lr inf", lambda t: net().fit(X, Y, lr=float("inf")), gn.ConfigError, "must be a positive number, got inf"),
    ("callbacks one object", lambda t: net().fit(X, Y, epochs=1, callbacks=object()), gn.GlassnetTypeError,
     "callbacks must be a list"),
    ("validation not a pair", lambda t: net().fit(X, Y, validation_data=(X,)), gn.GlassnetTypeError, "pair (X_val, y_val)"),
    ("validation wrong width", lambda t: net().fit(X, Y, validation_data=(X[:, :1], Y)), gn.ShapeError,
     "X has 1 feature column(s) but the first layer (layer 0) expects 2"),
    ("validation targets NaN", lambda t: net().fit(X, Y, validation_data=(X, [np.nan] * 4)), gn.DataError, "y contains NaN"),
    ("verbose negative", lambda t: net().fit(X, Y, epochs=1, verbose=-1), gn.ConfigError, "verbose must be a positive integer"),
    ("X None", lambda t: net().fit(None, Y), gn.GlassnetTypeError, "X has dtype object"),
    ("X text", lambda t: net().fit([["a", "b"]] * 4, Y), gn.GlassnetTypeError, "must contain numbers only"),
    ("X scalar", lambda t: net().fit(3.0, Y), gn.ShapeError, "X must be 2-D"),
    ("X 3-D", lambda t: net().fit(np.zeros((4, 2, 1)), Y), gn.ShapeError, "got shape (4, 2, 1)"),
    ("X empty", lambda t: net().fit(np.zeros((0, 2)), []), gn.DataError, "X is empty (0 rows)"),
    ("X ragged", lambda t: net().fit([[1, 2], [3]], [0, 1]), gn.DataError, "could not be read as an array"),
    ("X complex", lambda t: net().fit(X + 1j, Y), gn.GlassnetTypeError, "complex"),
    ("X NaN", lambda t: net().fit(np.where(X == 1, np.nan, X), Y), gn.DataError, "X contains NaN or inf in 3 row(s) (1, 2, 3)"),
    ("X inf", lambda t: net().fit(np.where(X == 1, np.inf, X), Y), gn.DataError, "Remove or fill those rows"),
    ("X masked", lambda t: net().fit(np.ma.masked_array(X, mask=X == 0), Y), gn.GlassnetTypeError, "masked array"),
    ("X dates", lambda t: net().fit(np.zeros((4, 2), dtype="M8[D]"), Y), gn.GlassnetTypeError, "dates or durations"),
    ("X integers too large for a float", lambda t: net().fit([[10**400, 1]] * 4, Y), gn.GlassnetTypeError, "dtype object"),
    ("y missing rows", lambda t: net().fit(X, Y[:3]), gn.ShapeError, "X has 4 rows but y has 3"),
    ("y None", lambda t: net().fit(X, None), gn.ShapeError, "y has a scalar"),
    ("y too many columns", lambda t: net().fit(X, np.zeros((4, 2))), gn.ShapeError, "y has 2 column(s) but the last layer has 1"),
    ("bce target 2", lambda t: net(loss="bce").fit(X, [0, 1, 2, 0]), gn.DataError, "needs targets in [0, 1]"),
    ("class label too large", lambda t: classifier().fit(X, [0, 1, 3, 0]), gn.DataError, "class label 3 in row 2 is outside 0..2"),
    ("negative class label", lambda t: classifier().fit(X, [-1, 1, 2, 0]), gn.DataError, "class label -1 in row 0"),
    ("fractional class label", lambda t: classifier().fit(X, [0.5, 1, 2, 0]), gn.DataError, "integer class labels"),
    ("text class labels", lambda t: classifier().fit(X, ["a", "b", "c", "a"]), gn.GlassnetTypeError, "integer class labels"),
    ("one-hot rows not summing to 1", lambda t: classifier().fit(X, np.ones((4, 3))), gn.DataError, "one-hot rows"),
    # step, set_parameters, predict, forward, loss, gradients
    ("step wrong width", lambda t: net().step(X[:, :1], Y), gn.ShapeError, "expects 2"),
    ("step unknown optimizer", lambda t: net().step(X, Y, optimizer=3), gn.ConfigError, "unknown optimizer 3"),
    ("step zero lr", lambda t: net().step(X, Y, lr=0), gn.ConfigError, "must be a positive number, got 0"),
    ("set_parameters None", lambda t: net().set_parameters(None), gn.GlassnetTypeError, "needs a dict"),
    ("set_parameters unknown name", lambda t: net().set_parameters({"2.W": 0}), gn.ConfigError, "unknown parameter name(s) ['2.W']"),
    ("set_parameters text", lambda t: net().set_parameters({"0.W": "abc"}), gn.GlassnetTypeError, "0.W (Dense(2 -> 3, tanh)) has dtype"),
    ("set_parameters ragged", lambda t: net().set_parameters({"0.W": [[1, 2, 3], [1]]}), gn.ShapeError, "could not be read"),
    ("set_parameters complex", lambda t: net().set_parameters({"0.b": [1j, 0, 0]}), gn.GlassnetTypeError, "must be real numbers"),
    ("set_parameters wrong shape", lambda t: net().set_parameters({"0.W": np.zeros((3, 2))}), gn.ShapeError,
     "0.W (Dense(2 -> 3, tanh)) must have shape (2, 3), got (3, 2)"),
    ("set_parameters inf", lambda t: net().set_parameters({"1.b": [np.inf]}), gn.ConfigError, "1.b (Dense(3 -> 1, tanh)) contains NaN"),
    ("predict wrong width", lambda t: net().predict(np.zeros((2, 3))), gn.ShapeError, "X has 3 feature column(s)"),
    ("predict no columns", lambda t: net().predict(np.zeros((2, 0))), gn.ShapeError, "X has 0 feature column(s)"),
    ("predict_proba of a regressor", lambda t: net().predict_proba(X), gn.ConfigError, "predict_proba needs a classifier"),
    ("forward overflowing to NaN", lambda t: gn.Network([gn.Dense(2, 2, "identity", init=([[1, -1], [1, -1]], [0, 0])),
                                                         gn.Dense(2, 1, "identity", init=([[1], [1]], [0]))]).forward(
        [[1e308, 1e308]]), gn.DataError, "outputs overflowed to NaN or inf"),
    ("loss with too few targets", lambda t: net().loss(X, [1, 2]), gn.ShapeError, "X has 4 rows but y has 2"),
    ("gradients of NaN input", lambda t: net().gradients(np.full((4, 2), np.nan), Y), gn.DataError, "X contains NaN"),
    ("diverging step", lambda t: gn.Network([gn.Dense(1, 1, "identity")], seed=0).step([[1e300]], [1e300]),
     gn.TrainingDiverged, "Try a smaller learning rate"),
]

FILES: list[Row] = [
    # CSV loading
    ("csv missing", lambda t: load_csv(t / "nope.csv"), gn.DataError, "does not exist"),
    ("csv path None", lambda t: load_csv(None), gn.GlassnetTypeError, "CSV path must be a string"),
    ("csv empty", lambda t: load_csv(csv_file(t, "")), gn.DataError, "is empty"),
    ("csv header only", lambda t: load_csv(csv_file(t, "a,b\n")), gn.DataError, "but no data rows"),
    ("csv one column", lambda t: load_csv(csv_file(t, "1\n2\n")), gn.DataError, "needs at least one feature column"),
    ("csv ragged row", lambda t: load_csv(csv_file(t, "a,b\n1,2\n3\n")), gn.DataError, "line 3: 1 field"),
    ("csv text feature", lambda t: load_csv(csv_file(t, "a,b\n1,2\nx,3\n")), gn.DataError, "line 3, column 'a': 'x' is not a number"),
    ("csv unknown target", lambda t: load_csv(csv_file(t, "a,b\n1,2\n"), target="c"), gn.DataError, "no target column 'c'; columns are a, b"),
    ("csv target index out of range", lambda t: load_csv(csv_file(t, "a,b\n1,2\n"), target=5), gn.DataError, "index 5 is out of range"),
    ("csv target a float", lambda t: load_csv(csv_file(t, "a,b\n1,2\n"), target=1.5), gn.ConfigError, "target must be a column name"),
    ("csv latin-1 bytes", lambda t: load_csv(csv_file(t, "a,\xe9\n1,2\n".encode("latin-1"))), gn.DataError, "is not UTF-8 text"),
    ("csv binary garbage", lambda t: load_csv(csv_file(t, b"\xff\xfe\x00\x01a,b\n")), gn.DataError, "is not UTF-8 text"),
    ("csv field too large", lambda t: load_csv(csv_file(t, 'a,b\n"' + "1" * 200_000 + '",2\n')), gn.DataError, "could not be read as CSV"),
    ("csv empty delimiter", lambda t: load_csv(csv_file(t, "a,b\n1,2\n"), delimiter=""), gn.ConfigError, "delimiter must be one character"),
    ("csv a folder", lambda t: load_csv(t), gn.DataError, "is a folder, not a CSV file"),
    # model and checkpoint files (the full corrupted-file table is tests/reliability/test_model_files.py)
    ("load None", lambda t: gn.load(None), gn.GlassnetTypeError, "model path must be a string"),
    ("load missing", lambda t: gn.load(t / "model.npz"), gn.ModelFileError, "does not exist; train one with"),
    ("load a CSV", lambda t: gn.load(csv_file(t, "a,b\n1,2\n")), gn.ModelFileError, "not a glassnet model file"),
    ("save to None", lambda t: net().save(None), gn.GlassnetTypeError, "file path must be a string"),
    ("save into a missing folder", lambda t: net().save(t / "no" / "m.npz"), gn.ModelFileError, "folder"),
    ("save non-JSON metadata", lambda t: (setattr(n := net(), "metadata", {"f": print}), n.save(t / "m.npz")),
     gn.GlassnetTypeError, "JSON data only"),
    ("checkpoint every 0", lambda t: net().fit(X, Y, checkpoint=t / "c.ckpt", checkpoint_every=0), gn.ConfigError,
     "checkpoint_every must be a positive integer"),
    ("checkpoint path a number", lambda t: net().fit(X, Y, checkpoint=7), gn.GlassnetTypeError, "checkpoint must be a file path"),
    ("resume a model file", lambda t: (net().save(t / "m.npz"), net().fit(X, Y, checkpoint=t / "m.npz", resume=True)),
     gn.ModelFileError, "not a glassnet checkpoint"),
]


# ----------------------------------------------------------------------------- the doctor and gradcheck (verify/)
LOSS = lambda p: float(np.sum(p["w"] ** 2))
W = {"w": np.ones(2)}


def script(tmp: Path, text: str) -> str:
    path = tmp / "my_net.py"
    path.write_text(text)
    return str(path)


DOCTOR: list[Row] = [
    ("doctor: parameter of text", lambda t: check_gradients(LOSS, {"w": "ab"}, lambda p: p), gn.GlassnetTypeError, "has dtype <U2"),
    ("doctor: loss not callable", lambda t: check_gradients(3, W, lambda p: p), gn.UserCodeError, "your loss function raised TypeError"),
    ("doctor: no gradients", lambda t: check_gradients(LOSS, W, lambda p: {}), gn.ConfigError, "gradients is an empty dict"),
    ("doctor: loss is NaN", lambda t: check_gradients(lambda p: float("nan"), W, lambda p: W), gn.DataError, "your loss function returned nan"),
    ("doctor: loss raises", lambda t: check_gradients(lambda p: 1 / 0, W, lambda p: W), gn.UserCodeError, "raised ZeroDivisionError"),
    ("doctor: loss returns text", lambda t: check_gradients(lambda p: "x", W, lambda p: W), gn.GlassnetTypeError, "must return one number"),
    ("doctor: negative lr", lambda t: check_step(lambda p: None, W, LOSS, lr=-1), gn.ConfigError, "lr must be a positive number"),
    ("doctor: missing script", lambda t: check_script(str(t / "none.py")), gn.ModelFileError, "does not exist"),
    ("doctor: script without loss", lambda t: check_script(script(t, "import numpy as np\ndef params():\n    return {'w': np.ones(2)}\n")),
     gn.ConfigError, "lacks loss(params)"),
    ("doctor: script raising", lambda t: check_script(script(t, "raise RuntimeError('boom')\n")), gn.UserCodeError, "raised RuntimeError: boom"),
    ("doctor: script not Python", lambda t: check_script(script(t, "this is not python(\n")), gn.UserCodeError, "raised SyntaxError"),
    ("gradcheck: X of the wrong width", lambda t: gradcheck(gn.Network.from_sizes([2, 3, 1]), np.zeros((2, 3)), [0, 1]), gn.ShapeError, "expects 2"),
    ("gradcheck: negative eps", lambda t: gradcheck(gn.Network.from_sizes([2, 3, 1]), X, Y, eps=-1), gn.ConfigError, "eps must be a small positive number"),
    ("gradcheck: sample=0", lambda t: gradcheck(gn.Network.from_sizes([2, 3, 1]), X, Y, sample=0), gn.ConfigError, "sample (entries to check per tensor) must be a positive integer"),
]

# ----------------------------------------------------------------------------- explain (explain/)

EXPLAIN: list[Row] = [
    ("explain: trace too large to make", lambda t: explain(gn.Network.from_sizes([200, 200, 200, 10], seed=0), np.zeros((50, 200)), np.zeros((50, 10))), gn.ConfigError, "more than anyone can read (max_terms="),
    ("explain: renderer refuses a trace too large", lambda t: explain(net(), X, Y).to_text(max_records=3), gn.ConfigError, "more than max_records=3 to render"),
    ("explain: Markdown renderer too", lambda t: explain(net(), X, Y).to_markdown(max_records=3), gn.ConfigError, "more than max_records=3"),
    ("explain: not a network", lambda t: explain("net", X, Y), gn.GlassnetTypeError, "explain needs a glassnet Network"),
    ("explain: X of the wrong width", lambda t: explain(net(), np.zeros((4, 3)), Y), gn.ShapeError, "expects 2"),
    ("explain: zero digits", lambda t: explain(net(), X, Y, digits=0), gn.ConfigError, "digits must be an integer from 1 to 17"),
    ("explain: unknown format", lambda t: explain(net(), X, Y).render("html"), gn.ConfigError, "unknown format 'html'"),
    ("explain: unknown optimizer", lambda t: explain(net(), X, Y, optimizer="rms"), gn.ConfigError, "unknown optimizer 'rms'"),
    ("explain: row labels not one per sample", lambda t: explain(net(), X, Y, rows=[10]), gn.ShapeError, "one row number per sample: 4 sample(s), got [10]"),
    ("explain: save into a folder", lambda t: explain(net(), X, Y).save(t), gn.OutputFileError, "is a folder"),
    ("explain: save into a missing folder", lambda t: explain(net(), X, Y).save(t / "no" / "t.md"), gn.OutputFileError,
     "/no does not exist"),
    ("diagram: save into a missing folder", lambda t: gn.plot_network(net(), path=t / "no" / "d.svg"), gn.OutputFileError,
     "/no does not exist"),
]

# ----------------------------------------------------------------------------- scikit-learn estimators (sklearn.py)
# Malformed X/y get scikit-learn's own ValueError (check_estimator requires its messages), an unfitted
# estimator NotFittedError: clear one-line errors too, and the classes scikit-learn users catch.
ESTIMATORS: list[Row] = [
    ("estimator: one class", lambda t: GlassClassifier(max_iter=5).fit(X, [0, 0, 0, 0]), gn.DataError, "needs at least two classes"),
    ("estimator: negative layer size", lambda t: GlassClassifier(hidden_layer_sizes=(-1,), max_iter=5).fit(X, Y), gn.ConfigError, "hidden_layer_sizes must be positive integers"),
    ("estimator: unknown activation", lambda t: GlassClassifier(activation="gelu", max_iter=5).fit(X, Y), gn.ConfigError, "activation must be one of"),
    ("estimator: unknown solver", lambda t: GlassClassifier(solver="lbfgs", max_iter=5).fit(X, Y), gn.ConfigError, "glassnet has no 'lbfgs'"),
    ("estimator: negative learning rate", lambda t: GlassClassifier(learning_rate_init=-1, max_iter=5).fit(X, Y), gn.ConfigError, "learning_rate_init must be a number"),
    ("estimator: zero max_iter", lambda t: GlassRegressor(max_iter=0).fit(X, [0.0, 1, 1, 0]), gn.ConfigError, "max_iter must be a positive integer"),
    ("estimator: negative alpha", lambda t: GlassRegressor(alpha=-1, max_iter=5).fit(X, [0.0, 1, 1, 0]), gn.ConfigError, "alpha must be a number"),
    ("estimator: zero batch size", lambda t: GlassRegressor(batch_size=0, max_iter=5).fit(X, [0.0, 1, 1, 0]), gn.ConfigError, "batch_size must be 'auto' or a positive integer"),
    # scikit-learn's own validation (required by check_estimator):
    ("estimator: sklearn checks X of text", lambda t: GlassClassifier(max_iter=5).fit([["a", "b"]] * 4, [0, 1, 1, 0]), ValueError, "could not convert string to float"),
    ("estimator: sklearn checks X with NaN", lambda t: GlassClassifier(max_iter=5).fit(np.full((4, 2), np.nan), [0, 1, 1, 0]), ValueError, "Input X contains NaN"),
    ("estimator: sklearn checks y too short", lambda t: GlassClassifier(max_iter=5).fit(X, [0, 1]), ValueError, "inconsistent numbers of samples"),
    ("estimator: sklearn checks predict before fit", lambda t: GlassClassifier().predict(X), NotFittedError, "is not fitted yet"),
    ("estimator: sklearn checks predict wrong width", lambda t: GlassClassifier(max_iter=5).fit(X, Y).predict(np.zeros((2, 3))), ValueError, "X has 3 features"),
]

TABLE = API + FILES + DOCTOR + EXPLAIN + ESTIMATORS


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the diverging step overflows on its way to the error
@pytest.mark.parametrize("case, call, error, words", TABLE, ids=[row[0] for row in TABLE])
def test_bad_input_raises_a_glassnet_error_with_a_clear_message(tmp_path, case, call, error, words):
    with pytest.raises(error) as info:
        call(tmp_path)
    assert isinstance(info.value, gn.GlassnetError) or case.startswith("estimator: sklearn checks")
    assert words in str(info.value), str(info.value)


CLI: list[tuple[str, list[str], str]] = [  # (case, argv, words on stderr); exit code 2, no traceback
    ("no such dataset", ["train", "--data", "xr", "--layers", "2,3,1"], "Did you mean 'xor'"),
    ("missing CSV", ["train", "--data", "missing.csv", "--layers", "2,3,1"], "does not exist"),
    ("layers not numbers", ["train", "--data", "xor", "--layers", "2,x,1"], "--layers must be comma-separated integers"),
    ("layers too short", ["train", "--data", "xor", "--layers", "2"], "--layers needs at least two positive sizes"),
    ("layers wrong input", ["train", "--data", "xor", "--layers", "3,3,1"], "use --layers 2,3,1"),
    ("zero epochs", ["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "0"], "epochs must be a positive integer"),
    ("negative lr", ["train", "--data", "xor", "--layers", "2,3,1", "--lr", "-1"], "must be a positive number"),
    ("momentum with adam", ["train", "--data", "xor", "--layers", "2,3,1", "--optimizer", "adam", "--momentum", "0.9"],
     "Adam has no setting(s) 'momentum'"),
    ("unknown loss", ["train", "--data", "xor", "--layers", "2,3,1", "--loss", "hinge"], "unknown loss 'hinge'"),
    ("unknown activation", ["train", "--data", "xor", "--layers", "2,3,1", "--activation", "gelo"], "unknown activation 'gelo'"),
    ("unknown init", ["train", "--data", "xor", "--layers", "2,3,1", "--init", "ones"], "unknown initialiser 'ones'"),
    ("bad dtype", ["train", "--data", "xor", "--layers", "2,3,1", "--dtype", "int8"], "dtype must be 'float64' or 'float32'"),
    ("zero batch size", ["train", "--data", "xor", "--layers", "2,3,1", "--batch-size", "0"], "batch_size must be a positive"),
    ("negative seed", ["train", "--data", "xor", "--layers", "2,3,1", "--seed", "-3"], "seed must be an integer >= 0"),
    ("resume without checkpoint", ["train", "--data", "xor", "--layers", "2,3,1", "--resume"], "need --checkpoint FILE"),
    ("predict missing model", ["predict", "missing.npz", "--data", "xor"], "does not exist"),
    ("explain missing model", ["explain", "missing.npz", "--data", "xor"], "does not exist"),
    ("explain sample out of range", ["explain", "--layers", "2,3,1", "--data", "xor", "--sample", "9"], "--sample 9 is out of range"),
    ("explain sample not a number", ["explain", "--layers", "2,3,1", "--data", "xor", "--sample", "x"], "--sample must be a row number or 'all'"),
    ("explain unknown layer", ["explain", "--layers", "2,3,1", "--data", "xor", "--neurons", "9:0"], "layer 9 does not exist"),
    ("explain without a network", ["explain", "--data", "xor"], "give exactly one of"),
    ("doctor missing script", ["doctor", "missing.py"], "does not exist (or is not a file)"),
    ("doctor without a script", ["doctor"], "give your script"),
    ("doctor unknown gallery program", ["doctor", "--gallery", "nosuch"], "unknown gallery program 'nosuch'"),
    ("gradcheck without a network", ["gradcheck", "--data", "xor"], "give exactly one of: a model file"),
    ("gradcheck zero sample", ["gradcheck", "--data", "xor", "--layers", "2,3,1", "--sample", "0"], "must be a positive integer"),
    ("toy dataset too large for memory", ["train", "--data", "moons", "--n", "100000000000", "--layers", "2,3,1"],
     "more than the 10,000,000 samples a toy dataset may have"),
    ("report into a missing folder", ["train", "--data", "xor", "--layers", "2,3,1", "--report", "no/such/r.html"],
     "folder no/such does not exist"),
    ("worksheet into a missing folder", ["explain", "--layers", "2,3,1", "--data", "xor", "--worksheet", "--out", "no/w.md"],
     "cannot write no/w.md: folder no does not exist"),
    ("trace into a missing folder", ["explain", "--layers", "2,3,1", "--data", "xor", "--out", "no/t.md"],
     "cannot write no/t.md: folder no does not exist"),
    ("drawing into a missing folder", ["draw", "--layers", "2,3,1", "-o", "no/d.svg"], "cannot write no/d.svg: folder no"),
    ("report with zero snapshots", ["train", "--data", "xor", "--layers", "2,3,1", "--report", "r.html", "--snapshots", "0"],
     "must be a positive integer, got 0"),
]


@pytest.mark.parametrize("case, argv, words", CLI, ids=[row[0] for row in CLI])
def test_cli_bad_input_is_one_line_and_exit_code_2(cli, tmp_path, monkeypatch, case, argv, words):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*argv)
    assert code == 2
    assert words in err and err.startswith("glassnet: error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_predict_refuses_a_damaged_model_and_data_of_the_wrong_width(cli, tmp_path):
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04 not really")
    code, _, err = cli("predict", str(tmp_path / "model.npz"), "--data", "xor")
    assert code == 2 and "not a glassnet model file" in err and "Traceback" not in err
    gn.Network.from_sizes([3, 2, 1], seed=0).save(tmp_path / "three.npz")
    code, _, err = cli("predict", str(tmp_path / "three.npz"), "--data", "xor")
    assert code == 2 and "expects 3 feature column(s); xor has 2" in err
    code, _, err = cli("predict", str(tmp_path / "three.npz"), "--data", "xor", "--out", str(tmp_path))
    assert code == 2
    gn.Network.from_sizes([2, 2, 1], seed=0).save(tmp_path / "two.npz")
    code, _, err = cli("predict", str(tmp_path / "two.npz"), "--data", "xor", "--out", str(tmp_path / "no" / "p.csv"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err


def test_reports_pictures_and_traces_that_cannot_be_written_raise_output_file_error(tmp_path):
    """Not ModelFileError: the file is not a model. (Model files keep ModelFileError, see test_model_files.)"""
    from glassnet.viz.report import write_report

    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 2, 1], seed=0)
    for write in (lambda: write_report(tmp_path / "no" / "r.html", net, X, y),
                  lambda: explain(net, X, y).save(tmp_path / "no" / "t.json"),
                  lambda: gn.plot_network(net, path=tmp_path / "no" / "d.png")):
        with pytest.raises(gn.OutputFileError, match="does not exist") as info:
            write()
        assert not isinstance(info.value, gn.ModelFileError)
    with pytest.raises(gn.ModelFileError, match="does not exist"):
        net.save(tmp_path / "no" / "m.npz")


def test_cli_report_refuses_a_grid_that_would_exhaust_memory(cli, tmp_path):
    gn.Network.from_sizes([2, 3, 1], seed=0).save(tmp_path / "m.npz")
    code, _, err = cli("report", str(tmp_path / "m.npz"), "--data", "xor", "--resolution", "100000",
                       "-o", str(tmp_path / "r.html"))  # 100000 x 100000 points: 75 GiB per neuron map
    assert code == 2 and "resolution must be at most 256 grid points per side" in err
    assert not (tmp_path / "r.html").exists()


def test_cli_argument_of_the_wrong_type_is_argparse_usage_error(cli, capsys):
    with pytest.raises(SystemExit) as info:
        cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "ten")
    assert info.value.code == 2
    assert "invalid int value: 'ten'" in capsys.readouterr().err


def test_table_is_large_enough():
    assert len(TABLE) + len(CLI) >= 60


