"""glassnet train --val-split --plot, glassnet plot (every kind) and glassnet export (torch, onnx)."""

import numpy as np
import pytest
import torch

import glassnet as gn


@pytest.fixture(scope="module")
def moons_model(tmp_path_factory):
    from glassnet.interfaces.cli import main

    folder = tmp_path_factory.mktemp("cli")
    model, curves = folder / "moons.npz", folder / "curves.png"
    code = main(["train", "--data", "moons", "--n", "100", "--layers", "2,6,1", "--activation", "tanh", "--loss", "bce",
                 "--optimizer", "adam", "--lr", "0.05", "--epochs", "40", "--val-split", "0.2", "--out", str(model),
                 "--plot", str(curves), "--no-progress"])
    assert code == 0
    return model, curves


def test_train_keeps_history_and_saves_curves(moons_model):
    model, curves = moons_model
    assert curves.read_bytes()[:4] == b"\x89PNG"
    history = gn.load(model).metadata["history"]
    assert len(history["loss"]) == len(history["val_loss"]) == len(history["val_accuracy"]) == 40
    assert history["epoch"] == list(range(1, 41))


@pytest.mark.parametrize("kind", ["loss", "boundary", "neurons", "confusion"])
def test_plot_every_kind(cli, moons_model, tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    code, stdout, err = cli("plot", str(moons_model[0]), "--data", "moons", "--n", "100", "--kind", kind, "-o", str(out))
    assert code == 0, err
    assert out.read_bytes()[:4] == b"\x89PNG" and f"{kind} plot written" in stdout


def test_plot_errors(cli, moons_model, tmp_path):
    code, _, err = cli("plot", str(moons_model[0]), "--kind", "boundary", "-o", str(tmp_path / "b.png"))
    assert code == 2 and "--kind boundary needs --data" in err
    code, _, err = cli("plot", str(moons_model[0]), "--data", "iris", "--kind", "boundary", "-o", str(tmp_path / "b.png"))
    assert code == 2 and "expects 2 feature column(s); iris has 4" in err
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    net.save(tmp_path / "bare.npz")
    code, _, err = cli("plot", str(tmp_path / "bare.npz"), "--kind", "loss", "-o", str(tmp_path / "l.png"))
    assert code == 2 and "holds no training history" in err


def test_history_is_thinned_for_long_runs():
    from glassnet.interfaces.cli.train import history_metadata

    history = gn.History(loss=[float(i) for i in range(5000)], epochs=5000)
    data = history_metadata(history, max_points=100)
    assert len(data["loss"]) == 100 and data["epoch"][0] == 1 and data["epoch"][-1] == 5000
    assert all(data["loss"][k] == data["epoch"][k] - 1 for k in range(100))


def test_export_torch_and_onnx(cli, moons_model, tmp_path):
    net = gn.load(moons_model[0])
    X = gn.datasets.moons(n=10).X
    code, out, err = cli("export", str(moons_model[0]), "--to", "torch", "-o", str(tmp_path / "m.pt"))
    assert code == 0, err
    from glassnet.torch import load_torch

    module = load_torch(tmp_path / "m.pt")
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), net.forward(X), rtol=1e-12)
    code, out, err = cli("export", str(moons_model[0]), "--to", "onnx", "--logits", "-o", str(tmp_path / "m.onnx"))
    assert code == 0, err
    import onnx
    from onnx.reference import ReferenceEvaluator

    (logits,) = ReferenceEvaluator(onnx.load(tmp_path / "m.onnx")).run(None, {"x": X})
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), net.forward(X), rtol=1e-12)


def test_standardize_is_kept_and_applied_by_predict(cli, tmp_path):
    model = tmp_path / "iris.npz"
    code, out, err = cli("train", "--data", "iris", "--layers", "4,8,3", "--activation", "tanh", "--loss",
                         "cross_entropy", "--optimizer", "adam", "--lr", "0.05", "--epochs", "60", "--val-split", "0.2",
                         "--standardize", "--out", str(model), "--no-progress")
    assert code == 0, err
    assert "120 samples, 30 held out for validation" in out
    net = gn.load(model)
    X, y = gn.datasets.iris()
    train_rows = gn.datasets.train_test_split(np.arange(150), y, test_size=0.2, seed=0, stratify=y)[0]
    mean = X[train_rows].mean(axis=0)  # the training rows' statistics, not all rows'
    np.testing.assert_allclose(net.metadata["standardize"]["mean"], mean)
    assert not np.allclose(net.metadata["standardize"]["mean"], X.mean(axis=0))
    code, out, err = cli("predict", str(model), "--data", "iris")
    assert code == 0, err
    predicted = [line.split()[-2] for line in out.strip().splitlines()[1:]]  # columns ..., prediction, probability
    accuracy = np.mean(np.array(predicted) == np.array(gn.datasets.iris().decode(y)))
    assert accuracy > 0.9  # raw (unstandardised) inputs would not give this
