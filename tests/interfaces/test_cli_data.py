"""The CLI reads every built-in dataset with its options, and CSV files with --missing."""


def test_train_on_moons_with_options(cli):
    code, out, err = cli("train", "--data", "moons", "--n", "120", "--noise", "0.1", "--data-seed", "3",
                         "--layers", "2,8,1", "--activation", "tanh", "--loss", "bce", "--optimizer", "adam",
                         "--lr", "0.05", "--epochs", "150", "--no-progress")
    assert code == 0, err
    assert "moons (120 samples)" in out and "accuracy" in out


def test_dataset_option_it_does_not_take(cli):
    code, _, err = cli("train", "--data", "xor", "--n", "10", "--layers", "2,3,1", "--epochs", "1")
    assert code == 2 and "dataset 'xor' has no option(s) n" in err


def test_csv_missing_values_need_a_choice(cli, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n0,0,0\n0,1,1\n1,,1\n1,1,0\n0,0,0\n")
    code, _, err = cli("train", "--data", str(path), "--layers", "2,3,1", "--epochs", "1")
    assert code == 2 and "1 missing value(s)" in err and "--missing drop" in err
    code, out, err = cli("train", "--data", str(path), "--missing", "drop", "--layers", "2,3,1", "--epochs", "1",
                         "--no-progress")
    assert code == 0 and "(4 samples)" in out
    assert "glassnet: note:" in err and "dropped those 1 row(s), 4 remain" in err


def test_spiral_with_classes_option(cli):
    code, out, err = cli("train", "--data", "spiral", "--classes", "4", "--n", "80", "--layers", "2,8,4", "--loss",
                         "cross_entropy", "--activation", "relu", "--optimizer", "adam", "--lr", "0.05", "--epochs", "5",
                         "--no-progress")
    assert code == 0, err
    assert "spiral (80 samples)" in out
    code, _, err = cli("train", "--data", "spiral", "--classes", "4", "--layers", "2,8,3", "--loss", "cross_entropy",
                       "--epochs", "1", "--no-progress")
    assert code == 2 and "class label 3" in err and "outside 0..2" in err
