"""CSV loading as the core CLI uses it: header detection, target by name or index, clear errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import load_csv


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_header_target_by_name_and_text_labels(tmp_path):
    path = write(tmp_path, "a,b,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n")
    data = load_csv(path, target="label")
    assert data.feature_names == ["a", "b"] and data.classes == ["no", "yes"]
    assert np.array_equal(data.y, [0, 1, 1, 0]) and data.X.shape == (4, 2)


def test_no_header_target_by_index(tmp_path):
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
