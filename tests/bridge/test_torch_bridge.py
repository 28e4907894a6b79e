"""glassnet <-> PyTorch: outputs and gradients agree to 1e-12 in float64; files; unsupported modules."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.torch import export_onnx, from_torch, load_torch, save_torch, to_torch

torch.set_default_dtype(torch.float64)


def make(sizes, hidden, loss, seed=0):
    net = gn.Network.from_sizes(sizes, activation=hidden, loss=loss, seed=seed)
    for p in net.parameters().values():  # non-zero biases so a wrong bias mapping shows
        p += np.random.default_rng(seed).normal(0.0, 0.3, p.shape)
    return net


CASES = [
    ([3, 5, 1], "sigmoid", "bce", torch.nn.BCEWithLogitsLoss()),
    ([3, 4, 6, 4], "relu", "cross_entropy", torch.nn.CrossEntropyLoss()),
    ([3, 5, 2], "tanh", "mse", torch.nn.MSELoss()),
    ([3, 5, 2], "leaky_relu", "mse", torch.nn.MSELoss()),
    ([3, 5, 2], "identity", "mse", torch.nn.MSELoss()),
    ([3, 5, 2], "gelu", "mse", torch.nn.MSELoss()),
]


@pytest.mark.parametrize("sizes, hidden, loss, torch_loss", CASES)
def test_outputs_and_gradients_agree_after_round_trip(sizes, hidden, loss, torch_loss):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], 7)
    elif loss == "bce":
        y = rng.integers(0, 2, (7, 1)).astype(float)
    else:
        y = rng.normal(size=(7, sizes[-1]))
    net = make(sizes, hidden, loss)
    module = to_torch(net)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), net.forward(X), rtol=1e-12, atol=1e-14)

    # gradients: for bce / cross_entropy PyTorch's loss takes logits (the module without its output activation),
    # as glassnet's fused losses do; mse takes the outputs.
    logits_module = to_torch(net, include_output_activation=loss == "mse")
    out = logits_module(torch.from_numpy(X))
    target = torch.from_numpy(y)
    torch_loss(out, target).backward()
    grads = net.gradients(X, y)
    linears = [m for m in logits_module if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(linears):
        np.testing.assert_allclose(linear.weight.grad.numpy().T, grads[f"{i}.W"], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(linear.bias.grad.numpy(), grads[f"{i}.b"], rtol=1e-12, atol=1e-13)

    back = from_torch(module)
    assert back.loss_fn.name == net.loss_fn.name and back.sizes == net.sizes
    assert [layer.activation.name for layer in back.layers] == [layer.activation.name for layer in net.layers]
    for key, value in net.parameters().items():
        assert np.array_equal(back.parameters()[key], value)  # copies, bit for bit
    again = from_torch(logits_module, loss=loss)  # logits + loss name gives the output activation back
    np.testing.assert_allclose(again.forward(X), net.forward(X), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(again.gradients(X, y)["0.W"], grads["0.W"], rtol=1e-12, atol=1e-14)


def test_huber_and_gelu_continue_in_pytorch_with_the_twins_the_classes_name():
    """``torch_loss`` and ``torch_optimizer`` read ``torch_name``/``torch_kwargs()``: Huber's delta and RMSprop's
    settings reach PyTorch, and 20 steps there equal 20 glassnet steps."""
    from glassnet.core.losses import Huber
    from glassnet.core.optimizers import RMSprop
    from glassnet.torch import torch_loss, torch_optimizer

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2)) * 3
    net = gn.Network.from_sizes([3, 5, 2], "gelu", output_activation="identity", loss=Huber(0.5), seed=0)
    module = to_torch(net)
    loss_fn = torch_loss(net)
    assert isinstance(loss_fn, torch.nn.HuberLoss) and loss_fn.delta == 0.5
    ours = RMSprop(0.01, alpha=0.9, momentum=0.5)
    theirs = torch_optimizer(ours, module.parameters())
    assert isinstance(theirs, torch.optim.RMSprop)
    assert {k: theirs.param_groups[0][k] for k in ("lr", "alpha", "eps", "momentum")} == \
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "momentum": 0.5}
    for _ in range(20):
        theirs.zero_grad()
        loss_fn(module(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        theirs.step()
        net.step(X, y, ours)
    back = from_torch(module, loss=Huber(0.5))
    assert back.loss_fn.config() == {"name": "huber", "delta": 0.5}
    for key, value in net.parameters().items():
        np.testing.assert_allclose(back.parameters()[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("name", gn.core.optimizers.OPTIMIZERS.names())
def test_every_optimizer_continues_in_pytorch_on_the_same_path(name):
    from glassnet.core.optimizers import OPTIMIZERS
    from glassnet.torch import torch_loss, torch_optimizer

    X, y = gn.datasets.blobs(n=30, seed=1)
    net = make([2, 6, 3], "tanh", "cross_entropy")
    model = to_torch(net, include_output_activation=False)  # logits: the fused loss's torch twin takes them
    loss_fn = torch_loss(net)
    assert isinstance(loss_fn, torch.nn.CrossEntropyLoss)
    ours = OPTIMIZERS.lookup(name)(0.05)
    theirs = torch_optimizer(ours, model.parameters())
    for _ in range(10):
        theirs.zero_grad()
        loss_fn(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        theirs.step()
        net.step(X, y, ours)
    back = from_torch(model, loss="cross_entropy")
    for key, value in net.parameters().items():
        np.testing.assert_allclose(back.parameters()[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_a_new_activation_class_is_bridged_by_its_torch_name_alone():
    """One class with ``torch_name`` (and registered): to_torch and from_torch need nothing else."""
    from glassnet.core.activations import ACTIVATIONS, Activation

    class SiLU(Activation):
        """``f(z) = z * sigmoid(z)``."""

        name = "silu_for_test"
        torch_name = "SiLU"

        def forward(self, Z):
            return Z / (1 + np.exp(-Z))

        def backward(self, Z, A, dA):
            s = 1 / (1 + np.exp(-Z))
            return dA * (s + Z * s * (1 - s))

    ACTIVATIONS.add(SiLU)
    try:
        net = gn.Network([gn.Dense(3, 4, SiLU()), gn.Dense(4, 1, "identity")], loss="mse", seed=0)
        module = to_torch(net)
        assert isinstance(module[1], torch.nn.SiLU)
        X = np.random.default_rng(0).normal(size=(5, 3))
        np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), net.forward(X), rtol=1e-12)
        back = from_torch(module)
        assert isinstance(back.layers[0].activation, SiLU)
    finally:
        del ACTIVATIONS.by_name[SiLU.name]


def test_an_activation_without_a_true_torch_twin_is_refused_by_name():
    from glassnet.core.activations import Activation, Sigmoid

    class Square(Activation):  # no torch_name: there is no torch.nn module for it
        name = "square"

        def forward(self, Z):
            return Z * Z

        def backward(self, Z, A, dA):
            return 2 * Z * dA

    class DoubledSigmoid(Sigmoid):  # an edited forward: torch.nn.Sigmoid no longer computes it
        def forward(self, Z):
            return 2 * super().forward(Z)

    for activation, words in [(Square(), r"layer 0 \(Dense\(2 -> 3, square\)\).*no module \(the identity\)"),
                              (DoubledSigmoid(), r"layer 0 .*Sigmoid\(\) compute different functions")]:
        net = gn.Network([gn.Dense(2, 3, activation), gn.Dense(3, 1, "identity")], loss="mse", seed=0)
        with pytest.raises(gn.ConfigError, match=words):
            to_torch(net)


def test_a_layer_other_than_dense_is_refused_by_name():
    from tests.custom_parts import Shift

    net = gn.Network([Shift(2), gn.Dense(2, 1, "identity")], loss="mse", seed=0)
    with pytest.raises(gn.GlassnetTypeError, match=r"layer 0 \(Shift\(2\)\) is a Shift; the PyTorch bridge converts "
                                                   "Dense layers .*, BatchNorm1d and Dropout only"):
        to_torch(net)


def test_parameters_are_copied_not_shared():
    net = make([2, 3, 1], "tanh", "mse")
    module = to_torch(net)
    with torch.no_grad():
        module[0].weight += 1.0
    assert not np.allclose(module[0].weight.detach().numpy().T, net.parameters()["0.W"])


def test_weight_is_w_transposed_by_hand():
    net = gn.Network([gn.Dense(2, 3, "relu", init=([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [0.1, 0.2, 0.3]))], loss="mse")
    linear = to_torch(net)[0]
    assert linear.weight.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]] and linear.bias.tolist() == [0.1, 0.2, 0.3]


def test_continue_training_in_pytorch_matches_glassnet_sgd():
    # The docstring's recipe: continue in PyTorch. One SGD step there equals one glassnet SGD step.
    X, y = gn.datasets.blobs(n=30, seed=1)
    net = make([2, 6, 3], "tanh", "cross_entropy")
    model = to_torch(net, include_output_activation=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
    opt.step()
    net.step(X, y, optimizer="sgd", lr=0.3)
    back = from_torch(model, loss="cross_entropy")
    for key, value in net.parameters().items():
        np.testing.assert_allclose(back.parameters()[key], value, rtol=1e-12, atol=1e-14)


def test_float32_is_kept():
    net = gn.Network.from_sizes([2, 3, 1], "relu", loss="mse", seed=0, dtype="float32")
    module = to_torch(net)
    assert module[0].weight.dtype == torch.float32
    assert from_torch(module).dtype == np.float32


def test_unsupported_modules_and_dtypes():
    with pytest.raises(gn.GlassnetTypeError, match=r"cannot convert module 2 \(LayerNorm\)"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.LayerNorm(3), torch.nn.Linear(3, 1)))
    with pytest.raises(gn.GlassnetTypeError, match=r"module 0 \(Linear\) has dtype torch.float16"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3, dtype=torch.float16)))
    with pytest.raises(gn.GlassnetTypeError, match=r"module 1 \(Linear\) is torch.float32 but earlier layers are torch.float64"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1, dtype=torch.float32)))
    with pytest.raises(gn.ConfigError, match=r"module 0 \(ReLU\) comes before any Linear"):
        from_torch(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(2, 1)))
    with pytest.raises(gn.ConfigError, match=r"module 2 \(Tanh\) follows another activation"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Tanh()))
    with pytest.raises(gn.ConfigError, match="dim=0"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax(dim=0)))
    with pytest.raises(gn.GlassnetTypeError, match="needs a torch.nn.Sequential"):
        from_torch(torch.nn.Conv1d(1, 1, 1))
    with pytest.raises(gn.GlassnetTypeError, match="needs a glassnet Network"):
        to_torch("model.npz")


def test_save_and_load_torch_file_without_pickle(tmp_path):
    net = make([3, 4, 2], "relu", "cross_entropy")
    path = tmp_path / "model.pt"
    save_torch(net, path)
    payload = torch.load(path, weights_only=True)  # loads with pickling of code disabled
    assert payload["architecture"]["format"] == "glassnet-torch" and "0.weight" in payload["state_dict"]
    module = load_torch(path)
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), net.forward(X), rtol=1e-12)
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(gn.ModelFileError, match="could not be read"):
        load_torch(tmp_path / "bad.pt")


def test_onnx_export_runs_the_same_function(tmp_path):
    import onnx
    from onnx.reference import ReferenceEvaluator

    net = make([3, 4, 2], "tanh", "cross_entropy")
    path = tmp_path / "model.onnx"
    export_onnx(net, path)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    X = np.random.default_rng(0).normal(size=(6, 3))  # a batch size other than the example's 1
    (out,) = ReferenceEvaluator(model).run(None, {"x": X})
    np.testing.assert_allclose(out, net.forward(X), rtol=1e-12, atol=1e-14)


def test_missing_optional_libraries_name_the_extra(monkeypatch, tmp_path):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(gn.errors.MissingDependency, match=r'ONNX export needs onnx.*pip install "glassnet\[onnx\]"'):
        export_onnx(make([2, 3, 1], "tanh", "mse"), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    monkeypatch.delitem(sys.modules, "glassnet.viz.plots", raising=False)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(gn.errors.MissingDependency, match=r'pip install "glassnet\[plot\]"'):
        importlib.import_module("glassnet.viz.plots")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_to_torch():
    from glassnet.sklearn import GlassClassifier

    X, y = gn.datasets.blobs(n=40, seed=0)
    clf = GlassClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    module = to_torch(clf)
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), clf.predict_proba(X), rtol=1e-12)
