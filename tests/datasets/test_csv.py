"""load_csv: headers, targets, labels, missing values and every malformed file the issue lists."""

import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import load_csv


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_header_target_by_name_and_text_labels(tmp_path):
    path = write(tmp_path, "sepal,petal,species\n1.0,2.0,virginica\n3,4,setosa\n5,6,virginica\n")
    d = load_csv(path, target="species")
    assert d.feature_names == ["sepal", "petal"] and d.target_name == "species"
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5, 6]])
    assert d.classes == ["setosa", "virginica"] and d.y.tolist() == [1, 0, 1]
    assert list(d.decode([0, 1, 1])) == ["setosa", "virginica", "virginica"]
    with pytest.raises(gn.DataError, match="line 2, column 'species': 'virginica' is not a number"):
        load_csv(path, target=0)  # the text column is now a feature


def test_target_by_index_and_no_header(tmp_path):
    path = write(tmp_path, "1,2,cat\n3,4,dog\n5,6,cat\n")
    d = load_csv(path)  # text over text in the first column of labels: no header
    assert d.X.shape == (3, 2) and d.feature_names == ["column 0", "column 1"] and d.classes == ["cat", "dog"]
    path = write(tmp_path, "7,1.5,2\n8,2.5,3\n9,3.5,2\n", "nums.csv")
    d = load_csv(path, target=0)
    assert d.target_name == "column 0" and d.X.tolist() == [[1.5, 2], [2.5, 3], [3.5, 2]]
    assert d.classes is None and d.y.tolist() == [7, 8, 9] and d.y.dtype == np.int64  # kept as they are
    c = load_csv(path, target=0, task="classification")
    assert c.classes == [7, 8, 9] and c.y.tolist() == [0, 1, 2]   # numbered as classes when asked
    assert load_csv(path, target=2).classes is None
    assert load_csv(write(tmp_path, "1,0\n2,2\n3,1\n", "idx.csv")).classes == [0, 1, 2]  # 0..k-1: classes
    r = load_csv(path, target=0, task="regression")
    assert r.classes is None and r.y.dtype == np.float64 and r.y.tolist() == [7.0, 8.0, 9.0]
    fl = load_csv(path, target=1)
    assert fl.classes is None and fl.y.tolist() == [1.5, 2.5, 3.5]  # non-integers: regression
    with pytest.raises(gn.DataError, match="has text \\('low'\\) but task='regression' needs numbers"):
        load_csv(write(tmp_path, "a,b\n1,low\n3,high\n", "forced.csv"), task="regression")


def test_header_false_and_true_overrides(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n5,6,0\n")
    forced = load_csv(path, header=True)
    assert forced.feature_names == ["1", "2"] and forced.target_name == "0" and len(forced) == 2
    assert len(load_csv(path, header=False)) == 3


def test_missing_values_reported_with_count_and_location(tmp_path):
    path = write(tmp_path, "a,b,y\n1,,0\n2,3,1\nNA,4,0\n5,?,1\n6,7,0\n")
    with pytest.raises(gn.DataError) as info:
        load_csv(path)
    message = str(info.value)
    assert "3 missing value(s) in 3 row(s)" in message
    assert "'a': 1" in message and "'b': 2" in message
    assert "line 2 column 'b'" in message and "line 4 column 'a'" in message
    assert "missing='drop'" in message and "missing='fill_mean'" in message
    with pytest.warns(UserWarning, match="dropped those 3 row"):
        dropped = load_csv(path, missing="drop")
    assert dropped.X.tolist() == [[2, 3], [6, 7]] and dropped.y.tolist() == [1, 0]
    with pytest.warns(UserWarning, match="filled them with their column means"):
        filled = load_csv(path, missing="fill_mean")
    # by hand: column a mean of 1, 2, 5, 6 = 3.5; column b mean of 3, 4, 7 = 14/3
    np.testing.assert_allclose(filled.X, [[1, 14 / 3], [2, 3], [3.5, 4], [5, 14 / 3], [6, 7]])


def test_missing_target_cannot_be_filled(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n2,\n3,1\n4,0\n")
    with pytest.raises(gn.DataError, match="target column 'y', which cannot be filled"):
        load_csv(path, missing="fill_mean")
    with pytest.warns(UserWarning):
        assert len(load_csv(path, missing="drop")) == 3
    with pytest.raises(gn.ConfigError, match="missing must be one of error, drop, fill_mean"):
        load_csv(path, missing="ignore")


@pytest.mark.parametrize("text, words", [
    ("", ["is empty"]),
    ("\n\n  \n", ["is empty"]),
    ("a,b,label\n", ["has a header", "no data rows"]),
    ("a,b,y\n1,2,0\n3,4\n5,6,1\n", ["line 3", "2 fields", "has 3"]),
    ("a,b,y\n1,2,0\n3,x,1\n", ["line 3", "column 'b'", "'x' is not a number"]),
    ("a,b,y\n1,2,0\n3,inf,1\n", ["line 3", "column 'b'", "not finite"]),
    ("a,b,y\n1,2,cat\n3,4,cat\n", ["single value 'cat'", "at least two classes"]),
    ("a,b,y\n1,2,1\n3,4,1\n", ["single value 1"]),
    ("a,y\n1,0\n2,1\n", None),
])
def test_malformed_files(tmp_path, text, words):
    path = write(tmp_path, text)
    if words is None:
        assert len(load_csv(path)) == 2
        return
    with pytest.raises(gn.DataError) as info:
        load_csv(path)
    for word in words:
        assert word in str(info.value)
    assert str(path) in str(info.value)


def test_bad_target_and_missing_file(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(gn.DataError, match="no target column 'label'; columns are a, b, y"):
        load_csv(path, target="label")
    with pytest.raises(gn.DataError, match="index 5 is out of range for 3 columns"):
        load_csv(path, target=5)
    with pytest.raises(gn.DataError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(gn.DataError, match="at least one feature column"):
        load_csv(write(tmp_path, "y\n1\n2\n", "one.csv"))


def test_huge_stream_is_read_once_into_compact_arrays():
    n = 30_000

    def lines():  # a generator: it can be iterated exactly once
        yield "a,b,c,d,label\n"
        for i in range(n):
            yield f"{i},{i * 0.5},{i % 7},{-i},{'yes' if i % 3 else 'no'}\n"

    source = lines()
    tracemalloc.start()
    d = load_csv(source)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert d.X.shape == (n, 4) and d.classes == ["no", "yes"] and d.y[:4].tolist() == [0, 1, 1, 0]
    assert d.X[-1].tolist() == [n - 1, (n - 1) * 0.5, (n - 1) % 7, -(n - 1)]
    assert next(source, None) is None  # consumed once, to the end
    # Holding the text rows (lists of 5 strings) would take ~25x the final array; streaming stays near 2-3x.
    assert peak < 4 * d.X.nbytes, (peak, d.X.nbytes)


def test_binary_and_other_delimiters(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"PK\x03\x04\x14\x00\xff\xfe\x00binary")
    with pytest.raises(gn.DataError, match="is not UTF-8 text.*is it a CSV file"):
        load_csv(path)
    semi = write(tmp_path, "a;b;y\n1;2;0\n3;4;1\n", "semi.csv")
    with pytest.raises(gn.DataError, match="pass delimiter="):
        load_csv(semi)
    assert load_csv(semi, delimiter=";").X.tolist() == [[1, 2], [3, 4]]


# The core CLI's use of load_csv: errors that say where, training on a named target.
def test_text_labels_are_sorted_into_classes(tmp_path):
    path = write(tmp_path, "a,b,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n")
    data = load_csv(path, target="label")
    assert data.feature_names == ["a", "b"] and data.classes == ["no", "yes"]
    assert np.array_equal(data.y, [0, 1, 1, 0]) and data.X.shape == (4, 2)


def test_no_header_integer_target_by_index(tmp_path):
    path = write(tmp_path, "1,0.5,3\n2,1.5,4\n")
    X, y = load_csv(path, target=0)
    assert np.array_equal(y, [1, 2]) and np.array_equal(X, [[0.5, 3], [1.5, 4]])


@pytest.mark.parametrize("text,target,words", [
    ("a,b,y\n1,x,0\n", "y", ["line 2", "column 'b'", "'x' is not a number"]),
    ("a,b,y\n1,2,0\n", "label", ["no target column 'label'", "columns are a, b, y"]),
    ("a,b,y\n1,2\n", "y", ["line 2", "2 fields", "has 3"]),
    ("", -1, ["empty"]),
    ("a,b,y\n", "y", ["no data rows"]),
])
def test_csv_errors_say_where(tmp_path, text, target, words):
    with pytest.raises(gn.DataError) as info:
        load_csv(write(tmp_path, text), target=target)
    for word in words:
        assert word in str(info.value)


def test_cli_trains_on_csv_with_named_target(cli, tmp_path):
    path = write(tmp_path, "x1,x2,out\n0,0,0\n0,1,1\n1,0,1\n1,1,1\n")
    code, out, err = cli("train", "--data", str(path), "--target", "out", "--layers", "2,2,1", "--epochs", "300",
                         "--lr", "2", "--no-progress")
    assert code == 0, err
    assert "accuracy 1.000" in out
