"""Issue 14, the data classes: numbers keep their value, CSV headers mean what they say, the Standardizer does
not overflow, seeds and flags of the datasets API are checked. One table per class; each row is one member of
the class (the issue's own cases and others like them).

Run the tables: ``python3 -m pytest -q tests/reliability/test_round2_data.py``.
"""

from __future__ import annotations

import inspect
import io
import math
import os
import socket
import threading
import warnings
from fractions import Fraction

import numpy as np
import pytest

import glassnet as gn
from glassnet import datasets
from glassnet.datasets import Standardizer, load_csv, train_test_split

INT64_GARBAGE = str(np.iinfo(np.int64).min)  # what a float beyond int64 becomes when cast: never shown to a user


def read(text, **options):
    return load_csv(io.StringIO(text), **options)


# ---------------------------------------------------------------------------------------------------------------
# 1. Numbers keep their value: a class label is text or a whole number int64 holds exactly, else refused by line.

REFUSED_TARGETS = [
    # (target cells of rows 2, 3, 4; options; words the message must hold)
    (["0", "1e20", "1"], {"task": "classification"}, ["line 3", "'y'", "'1e20'", "int64"]),
    (["0", "2.5", "1"], {"task": "classification"}, ["line 3", "'y'", "'2.5'", "not a whole number"]),
    (["1e308", "0", "1"], {"task": "classification"}, ["line 2", "'1e308'"]),
    (["0", "1", "9.3e18"], {"task": "classification"}, ["line 4", "'9.3e18'", "int64"]),
    (["0", "-1e19", "1"], {"task": "classification"}, ["line 3", "'-1e19'"]),
    (["0", "1", "1e-400"], {"task": "classification"}, ["line 4", "'1e-400'", "not a whole number"]),
    (["0", "inf", "1"], {}, ["line 3", "'inf'", "not finite"]),
    (["-inf", "0", "1"], {"task": "regression"}, ["line 2", "'-inf'", "not finite"]),
    (["0", "1", "1e400"], {"task": "classification"}, ["line 4", "'1e400'", "not finite"]),
    (["0", "1e39", "1"], {"task": "regression", "dtype": "float32"}, ["line 3", "'1e39'", "does not fit float32"]),
]


@pytest.mark.parametrize("cells, options, words", REFUSED_TARGETS,
                         ids=[f"{'/'.join(c)} {o}" for c, o, _ in REFUSED_TARGETS])
def test_a_target_that_cannot_keep_its_value_is_refused_with_the_value_as_written(cells, options, words):
    text = "a,y\n" + "".join(f"{i},{cell}\n" for i, cell in enumerate(cells))
    with pytest.raises(gn.DataError) as info:
        read(text, **options)
    message = str(info.value)
    assert INT64_GARBAGE not in message
    for word in words:
        assert word in message, message


KEPT_TARGETS = [
    # (target cells, options, expected y, expected classes)
    (["0", "-0.0", "1"], {}, [0, 0, 1], [0, 1]),                        # -0.0 is the class 0
    (["1.0", "1", "0"], {}, [1, 1, 0], [0, 1]),                         # "1.0" and "1" are one class
    (["9007199254740993", "9007199254740992", "0"], {"task": "classification"},   # 2**53 + 1 is not rounded
     [2, 1, 0], [0, 2**53, 2**53 + 1]),
    (["9223372036854775807", "-9223372036854775808", "0"], {"task": "classification"},  # int64's own ends
     [2, 0, 1], [-(2**63), 0, 2**63 - 1]),
    (["1e2", "+3", "100"], {}, [100, 3, 100], None),                    # whole numbers written otherwise: int64
    (["0.0", "2e0", "1"], {}, [0, 2, 1], [0, 1, 2]),                    # 0..k-1 however written: classes
    (["1e20", "5", "1e20"], {}, [1e20, 5.0, 1e20], None),               # beyond int64 in "auto": numbers, kept
    (["9007199254740993", "7", "8"], {}, [2**53 + 1, 7, 8], None),      # exact int64, not float64's neighbour
    (["2.5", "1", "5"], {}, [2.5, 1.0, 5.0], None),                     # fractions: regression values
    (["3e38", "1", "5"], {"dtype": "float32", "task": "regression"}, [3e38, 1.0, 5.0], None),  # fits float32
]


@pytest.mark.parametrize("cells, options, y, classes", KEPT_TARGETS, ids=[f"{'/'.join(c)} {o}" for c, o, _, _ in KEPT_TARGETS])
def test_a_target_keeps_the_value_written(cells, options, y, classes):
    text = "a,y\n" + "".join(f"{i},{cell}\n" for i, cell in enumerate(cells))
    data = read(text, **options)
    assert data.y.tolist() == y and data.classes == classes
    if all(isinstance(v, int) for v in y):
        assert data.y.dtype == np.int64


@pytest.mark.parametrize("cell, dtype, words", [
    ("1e300", "float32", ["line 3", "column 'b'", "'1e300'", "does not fit float32"]),
    ("-3.5e38", "float32", ["line 3", "column 'b'", "does not fit float32"]),
    ("1e39", np.float32, ["does not fit float32"]),
    ("inf", "float32", ["'inf'", "not finite"]),          # inf is not a float32 problem: it fits nothing
    ("1e400", "float64", ["'1e400'", "not finite"]),       # beyond float64 already: read as inf
])
def test_a_feature_beyond_the_float_type_says_it_does_not_fit(cell, dtype, words):
    with pytest.raises(gn.DataError) as info:
        read(f"a,b,y\n1,2,0\n3,{cell},1\n", dtype=dtype)
    message = str(info.value)
    assert "contains NaN or inf" not in message
    for word in words:
        assert word in message, message


def test_float32_loading_gives_float32_features_with_their_values():
    data = read("a,y\n3e38,0\n-1.5,1\n", dtype="float32")
    assert data.X.dtype == np.float32 and data.X[:, 0].tolist() == [np.float32(3e38), -1.5]
    with pytest.raises(gn.ConfigError, match="dtype must be 'float64' or 'float32'"):
        read("a,y\n1,0\n2,1\n", dtype="float16")


def test_cli_float32_run_refuses_a_number_float32_cannot_hold_naming_line_and_column(cli, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,y\n1e300,0\n2,1\n3,0\n")
    code, _, err = cli("train", "--data", str(path), "--layers", "1,1", "--dtype", "float32", "--epochs", "1")
    assert code == 2 and "line 2, column 'a'" in err and "does not fit float32" in err
    code, _, err = cli("train", "--data", str(path), "--layers", "1,1", "--dtype", "float32", "--standardize",
                       "--epochs", "1", "--no-progress")  # standardised in float64 first: it fits then
    assert code == 0, err


@pytest.mark.parametrize("label", [1e20, 2.0**63, -1e19, 1e308])
def test_python_api_class_labels_beyond_int64_are_shown_as_given(label):
    """The same class through the Python API: the core's one-hot encoding compares before it casts."""
    net = gn.Network.from_sizes([1, 3, 2], "tanh", output_activation="softmax", loss="cross_entropy")
    with pytest.raises(gn.DataError) as info:
        net.fit(np.array([[0.0], [1.0], [2.0]]), np.array([0.0, label, 1.0]), epochs=1, verbose=False)
    assert INT64_GARBAGE not in str(info.value) and f"{label:g}" in f"{float(str(info.value).split()[2]):g}"


def test_nan_target_in_a_regression_is_missing_not_a_value():
    with pytest.raises(gn.DataError, match="1 missing value.*line 3 column 'y' \\(target\\)"):
        read("a,y\n1,0.5\n2,nan\n3,1.5\n", task="regression")
    with pytest.warns(UserWarning, match="dropped those 1 row"):
        assert read("a,y\n1,0.5\n2,nan\n3,1.5\n", task="regression", missing="drop").y.tolist() == [0.5, 1.5]


# ---------------------------------------------------------------------------------------------------------------
# 2. Headers mean what they say; a path that is no CSV file says what it is.

HEADER_CASES = [
    # (text, options, expected feature names, expected target name, expected y)
    ("a,0\n1,3\n2,4\n", {"target": "0"}, ["a"], "0", [3, 4]),          # "0" is the column named 0 ...
    ("a,0\n1,3\n2,4\n", {"target": 0}, ["0"], "a", [1, 2]),            # ... an int 0 is index 0
    ("1,0\n5,7\n6,8\n", {"target": "0", "header": True}, ["1"], "0", [7, 8]),  # a numeric header, named 0 at 1
    ("x,y\n1,3\n2,4\n", {"target": "0"}, ["y"], "x", [1, 2]),          # no column named 0: an index, as in the CLI
    ("x,²\n1,3\n2,4\n", {"target": "²"}, ["x"], "²", [3, 4]),          # a unicode digit that is a name
    ("\ufeffa,b\n1,3\n2,4\n", {"target": "b"}, ["a"], "b", [3, 4]),     # a byte-order mark is not part of a name
    ("\ufeffa,b\n1,3\n2,4\n", {"target": "a"}, ["b"], "a", [1, 2]),
    ("\ufeff1,3\n2,4\n5,6\n", {}, ["column 0"], "column 1", [3, 4, 6]),  # ... nor a header on its own
    ("a ,b \n1,3\n2,4\n", {"target": "b"}, ["a"], "b", [3, 4]),         # trailing spaces in the header
    ("a ,b \n1,3\n2,4\n", {"target": " b "}, ["a"], "b", [3, 4]),       # ... and around the target's name
    ("0,1,label\n1,2,x\n3,4,y\n", {"target": "label"}, ["0", "1"], "label", [0, 1]),  # named: that row is a header
]


@pytest.mark.parametrize("text, options, features, target, y", HEADER_CASES,
                         ids=[f"{t!r} {o}" for t, o, *_ in HEADER_CASES])
def test_header_names_mean_the_column_they_name(text, options, features, target, y):
    data = read(text, **options)
    assert data.feature_names == features and data.target_name == target
    assert data.y.tolist() == y


BAD_HEADERS = [
    ("a,b,a\n1,2,3\n4,5,6\n", {}, ["columns 0 and 2", "'a'", "rename"]),
    ("a ,a,y\n1,2,3\n4,5,6\n", {"target": "y"}, ["columns 0 and 1", "'a'"]),      # the same name once stripped
    ("x,y,x,y\n1,2,3,4\n5,6,7,8\n", {}, ["columns 0 and 2", "'x'"]),
    ("a,b\n1,2\n3,4\n", {"target": "²"}, ["no target column '²'", "columns are a, b"]),   # "²".isdigit() is True
    ("a,b\n1,2\n3,4\n", {"target": "①"}, ["no target column '①'"]),
    ("a,b\n1,2\n3,4\n", {"target": "٣"}, ["no target column '٣'"]),   # int("٣") is 3, but it is no ASCII index
    ("a,b\n1,2\n3,4\n", {"target": "7"}, ["index 7 is out of range", "no column is named '7'"]),
]


@pytest.mark.parametrize("text, options, words", BAD_HEADERS, ids=[f"{t!r} {o}" for t, o, _ in BAD_HEADERS])
def test_an_ambiguous_header_or_target_name_is_a_clear_error(text, options, words):
    with pytest.raises(gn.DataError) as info:
        read(text, **options)
    for word in words:
        assert word in str(info.value), str(info.value)


def _fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        raise RuntimeError("this test needs os.mkfifo (POSIX)")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


def _socket(tmp_path):
    path = str(tmp_path / "sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    return path


def _not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("größe,y\n1,0\n".encode("latin-1"))
    return str(path)


def _empty(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    return str(path)


PATHS = [
    ("/dev/null", lambda t: "/dev/null", ["/dev/null is empty"]),
    ("an empty file", _empty, ["is empty"]),
    ("a folder", lambda t: str(t), ["is a folder, not a CSV file"]),
    ("a FIFO nothing writes to", _fifo, ["is empty"]),
    ("a socket", _socket, ["is a socket, not a CSV file"]),
    ("not UTF-8", _not_utf8, ["is not UTF-8", "byte b'\\xf6'"]),
    ("missing", lambda t: str(t / "nope.csv"), ["does not exist"]),
]


@pytest.mark.parametrize("kind, make, words", PATHS, ids=[p[0] for p in PATHS])
def test_a_path_that_is_no_csv_file_says_what_it_is(kind, make, words, tmp_path):
    path = make(tmp_path)
    outcome: list[BaseException] = []

    def attempt():
        try:
            load_csv(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    reader = threading.Thread(target=attempt, daemon=True)  # a FIFO must not hang the reader
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), f"load_csv({path!r}) hangs"
    assert len(outcome) == 1 and isinstance(outcome[0], gn.DataError), outcome
    message = str(outcome[0])
    if kind != "missing":
        assert "does not exist" not in message
    for word in words:
        assert word in message, message


def test_a_pipe_with_a_writer_is_read_to_the_end():
    """What ``--data <(command)`` gives: /dev/fd/N, a pipe whose writer is already there (no longer "does not
    exist")."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"a,y\n1,0\n2,1\n3,0\n")
        os.close(write_end)
        data = load_csv(f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
    assert data.y.tolist() == [0, 1, 0] and data.X.tolist() == [[1.0], [2.0], [3.0]]


def test_cli_data_dev_null_is_empty_not_missing(cli):
    code, _, err = cli("train", "--data", "/dev/null", "--layers", "1,1", "--epochs", "1")
    assert code == 2 and "/dev/null is empty" in err and "does not exist" not in err


# ---------------------------------------------------------------------------------------------------------------
# 3. Standardising: true statistics without overflow or underflow; "constant" only when every value is equal.

def exact_mean_std(column):
    """Mean and population standard deviation worked out in exact fractions (no overflow can happen there)."""
    values = [Fraction(float(v)) for v in column]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    scale = max(abs(v) for v in values) or Fraction(1)
    return float(mean), float(scale) * math.sqrt(variance / scale**2)


STANDARDIZE = [
    ("near +-1e308", [1e308, -1e308, 5e307], False),
    ("all near the top", [1.7e308, 1.79e308, -1.6e308, 1.75e308], False),
    ("largest float", [np.finfo(float).max, 0.0], False),
    ("tiny, squares underflow", [1e-300, 2e-300, 3e-300], False),
    ("all near the bottom", [-1e308, -1.5e308, -1.2e308, -1.7e308], False),
    ("huge among ordinary", [1e308, 1.0, -1.0, 0.0], False),
    ("ulps apart", [1.0, 1.0 + 2**-52, 1.0 + 2**-51], False),  # not constant: two ulps of spread are spread
    ("ordinary", [3.0, -1.5, 8.25, 0.125], False),
    ("constant near the top", [1e308, 1e308, 1e308], True),
    ("constant 0.1", [0.1] * 7, True),
    ("constant zero", [0.0, -0.0, 0.0], True),
]


@pytest.mark.parametrize("what, column, constant", STANDARDIZE, ids=[s[0] for s in STANDARDIZE])
def test_standardizer_statistics_are_exact_and_constant_means_constant(what, column, constant):
    X = np.array(column, dtype=np.float64).reshape(-1, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = Standardizer().fit(X)
        Z = scaler.transform(X)
    said_constant = any("constant" in str(w.message) for w in caught)
    assert said_constant == constant, [str(w.message) for w in caught]
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # no overflow on the way
    mean, std = exact_mean_std(column)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(scaler.mean_[0], mean, rtol=1e-12, atol=0)
    if constant:
        assert scaler.scale_[0] == 1.0 and np.all(Z == 0)
    else:
        np.testing.assert_allclose(scaler.scale_[0], std, rtol=1e-12)
        np.testing.assert_allclose(Z.std(), 1.0, rtol=1e-9)


def test_standardizer_gives_the_plain_formula_bit_for_bit_on_ordinary_data():
    X = np.random.default_rng(3).normal(size=(50, 4)) * [1.0, 1e3, 1e-3, 7.0] + [0.0, 5.0, -2.0, 1e6]
    scaler = Standardizer().fit(X)
    assert np.array_equal(scaler.mean_, X.mean(axis=0)) and np.array_equal(scaler.scale_, X.std(axis=0))
    assert np.array_equal(scaler.transform(X), (X - X.mean(axis=0)) / X.std(axis=0))


# ---------------------------------------------------------------------------------------------------------------
# 4. Seeds and flags of the datasets API: every public function with a seed checks it; flags are bools.

ARGUMENTS = {"train_test_split": lambda: {"X": np.arange(8.0).reshape(-1, 1), "y": np.array([0, 1] * 4)}}


def _public_functions():
    return {name: getattr(datasets, name) for name in datasets.__all__
            if inspect.isfunction(getattr(datasets, name))}


SEEDED = sorted(name for name, f in _public_functions().items() if "seed" in inspect.signature(f).parameters)
BAD_SEEDS = [(-1, gn.ConfigError), (-(2**70), gn.ConfigError), (1.5, gn.GlassnetTypeError),
             ("1", gn.GlassnetTypeError), (True, gn.GlassnetTypeError), (np.float64(2.0), gn.GlassnetTypeError)]


def test_the_seeded_functions_are_found():
    assert {"blobs", "circles", "moons", "spiral", "train_test_split"} <= set(SEEDED)


@pytest.mark.parametrize("name", SEEDED)
@pytest.mark.parametrize("seed, error", BAD_SEEDS, ids=[repr(s) for s, _ in BAD_SEEDS])
def test_every_seed_of_the_datasets_api_is_checked(name, seed, error):
    function = getattr(datasets, name)
    with pytest.raises(error) as info:
        function(**ARGUMENTS.get(name, dict)(), seed=seed)
    assert "seed" in str(info.value) and "integer >= 0" in str(info.value)


@pytest.mark.parametrize("name", SEEDED)
def test_good_seeds_still_work(name):
    function = getattr(datasets, name)
    for seed in (None, 0, np.int64(5), 2**40):
        function(**ARGUMENTS.get(name, dict)(), seed=seed)


def test_get_dataset_and_the_cli_data_seed_are_checked(cli):
    with pytest.raises(gn.ConfigError, match="seed must be an integer >= 0"):
        datasets.get_dataset("moons", seed=-1)
    code, _, err = cli("train", "--data", "moons", "--data-seed", "-1", "--layers", "2,1", "--epochs", "1")
    assert code == 2 and err.count("\n") == 1 and "seed must be an integer >= 0" in err


X8, Y8 = np.arange(8.0).reshape(-1, 1), np.array([0, 1] * 4)
BAD_FLAGS = [
    ("load_csv header='no'", lambda: read("a,y\n1,0\n2,1\n", header="no"), "header"),
    ("load_csv header=1", lambda: read("a,y\n1,0\n2,1\n", header=1), "header"),
    ("load_csv header='False'", lambda: read("a,y\n1,0\n2,1\n", header="False"), "header"),
    ("split stratify='no'", lambda: train_test_split(X8, Y8, stratify="no"), "stratify"),
    ("split stratify=1", lambda: train_test_split(X8, Y8, stratify=1), "stratify"),
    ("split stratify='yes'", lambda: train_test_split(X8, Y8, stratify="yes"), "stratify"),
]


@pytest.mark.parametrize("what, call, name", BAD_FLAGS, ids=[f[0] for f in BAD_FLAGS])
def test_a_flag_that_is_not_a_bool_is_refused(what, call, name):
    with pytest.raises(gn.GlassnetTypeError) as info:
        call()
    assert name in str(info.value) and "True or False" in str(info.value)


def test_real_bools_and_numpy_bools_are_flags():
    assert len(read("1,0\n2,1\n3,0\n", header=np.True_)) == 2 and len(read("1,0\n2,1\n3,0\n", header=False)) == 3
    plain = train_test_split(X8, Y8, stratify=False, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(plain, train_test_split(X8, Y8, stratify=None, seed=1)))
    stratified = train_test_split(X8, Y8, stratify=np.True_, test_size=4)
    assert sorted(stratified[3].tolist()) == [0, 0, 1, 1]
