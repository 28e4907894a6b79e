"""The PyTorch bridge with BatchNorm1d and Dropout: to_torch / from_torch round trips (float64, bit for bit), the
module's mode, torch's training steps equal to glassnet's, refusals, and ONNX export in evaluation mode."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.torch import export_onnx, from_torch, to_torch

torch.set_default_dtype(torch.float64)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _net(p=0.3, eps=1e-3, momentum=0.2):
    net = gn.Network([gn.Dense(3, 5, "tanh"), BatchNorm1d(eps=eps, momentum=momentum), Dropout(p),
                      gn.Dense(5, 2, "identity")], loss="mse", seed=0)
    rng = np.random.default_rng(4)
    for p_ in net.parameters().values():  # gamma not 1, beta not 0: a swapped mapping shows
        p_ += rng.normal(0.0, 0.3, p_.shape)
    bn = net.layers[1]
    bn.buffers["running_mean"][...] = rng.normal(0.0, 0.5, 5)
    bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 5)
    return net


def _eval_forward(net, X):
    with net.evaluating():
        return net.forward(X)


def test_to_torch_maps_batchnorm_and_dropout_with_every_setting():
    net = _net()
    module = to_torch(net)
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "BatchNorm1d", "Dropout", "Linear"]
    bn, drop, layer = module[2], module[3], net.layers[1]
    assert (bn.eps, bn.momentum, bn.num_features, drop.p) == (1e-3, 0.2, 5, 0.3)
    assert bn.weight.dtype == torch.float64
    for theirs, ours in [(bn.weight, layer.params["gamma"]), (bn.bias, layer.params["beta"]),
                         (bn.running_mean, layer.buffers["running_mean"]), (bn.running_var, layer.buffers["running_var"])]:
        assert np.array_equal(theirs.detach().numpy(), ours)  # copies, bit for bit
    assert module.training and all(m.training for m in module)
    X = np.random.default_rng(1).normal(size=(7, 3))
    with torch.no_grad():
        out = module.eval()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, _eval_forward(net, X), rtol=1e-12, atol=1e-14)


def test_the_modules_mode_follows_the_networks():
    net = _net()
    net.eval()
    module = to_torch(net)
    assert not module.training and not any(m.training for m in module)
    back = from_torch(module)
    assert [layer.training for layer in back.layers] == [False] * 4
    assert from_torch(module.train()).layers[1].training


def test_round_trip_is_bit_exact_in_float64():
    net = _net()
    back = from_torch(to_torch(net))
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
    assert (back.layers[1].eps, back.layers[1].momentum, back.layers[2].p) == (1e-3, 0.2, 0.3)
    for key, value in net.parameters().items():
        assert np.array_equal(back.parameters()[key], value), key
    for name, value in net.layers[1].buffers.items():
        assert np.array_equal(back.layers[1].buffers[name], value), name
    X = np.random.default_rng(2).normal(size=(6, 3))
    assert np.array_equal(_eval_forward(back, X), _eval_forward(net, X))


def test_twenty_training_steps_in_torch_equal_twenty_in_glassnet():
    """Training mode with Dropout(0): batch statistics, gradients through BatchNorm and the running statistics
    after every step agree at 1e-10 (the dropout masks themselves come from different generators)."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(16, 3)) * 2 + 1, rng.normal(size=(16, 2))
    net = _net(p=0.0)
    module = to_torch(net)
    opt = torch.optim.SGD(module.parameters(), lr=0.05)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    bn, layer = module[2], net.layers[1]
    for step in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(module(Xt), Yt)
        loss.backward()
        opt.step()
        ours = net.step(X, Y, optimizer="sgd", lr=0.05)
        assert ours == pytest.approx(loss.item(), rel=1e-10), step
        np.testing.assert_allclose(layer.buffers["running_mean"], bn.running_mean.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.buffers["running_var"], bn.running_var.numpy(), rtol=1e-10, atol=1e-14)
    back = from_torch(module)
    for key, value in net.parameters().items():
        np.testing.assert_allclose(back.parameters()[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_from_torch_refuses_what_glassnet_cannot_hold():
    lin = torch.nn.Linear(3, 4)
    cases = [
        (torch.nn.BatchNorm1d(4, affine=False), r"module 1 \(BatchNorm1d\).*needs affine=True"),
        (torch.nn.BatchNorm1d(4, track_running_stats=False), r"needs track_running_stats=True"),
        (torch.nn.BatchNorm1d(4, momentum=None), r"needs a momentum \(not None"),
    ]
    for bn, words in cases:
        with pytest.raises(gn.ConfigError, match=words):
            from_torch(torch.nn.Sequential(lin, bn, torch.nn.Linear(4, 1)))
    with pytest.raises(gn.ConfigError, match=r"module 2 \(ReLU\) follows BatchNorm1d; .*put BatchNorm1d or Dropout "
                                             "after the activation"):
        from_torch(torch.nn.Sequential(lin, torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 1)))
    with pytest.raises(gn.ConfigError, match=r"module 0 \(BatchNorm1d\) comes before any Linear"):
        from_torch(torch.nn.Sequential(torch.nn.BatchNorm1d(3), lin))
    with pytest.raises(gn.GlassnetTypeError, match=r"is torch.float32 but the Linear layers before it are torch.float64"):
        from_torch(torch.nn.Sequential(lin, torch.nn.BatchNorm1d(4, dtype=torch.float32)))


def test_a_batchnorm_that_computes_something_else_is_not_exported_as_torchs():
    class Shifted(BatchNorm1d):
        def forward(self, X):
            return super().forward(X) + 1.0

    net = gn.Network([gn.Dense(3, 4, "tanh"), Shifted(), gn.Dense(4, 1, "identity")], loss="mse", seed=0)
    with pytest.raises(gn.ConfigError, match=r"layer 1 \(BatchNorm1d\(4\)\).*compute different functions in evaluation"):
        to_torch(net)


def _onnx_outputs(path, X):
    import onnx
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(path)
    onnx.checker.check_model(model)
    (out,) = ReferenceEvaluator(model).run(None, {"x": X})
    return model, out


def test_onnx_export_is_the_evaluation_function_with_batchnorm_and_no_dropout(tmp_path):
    net = _net(p=0.5)  # in training mode: the export is still the evaluation-mode function
    path = tmp_path / "bn.onnx"
    export_onnx(net, path)
    X = np.random.default_rng(5).normal(size=(9, 3))
    model, out = _onnx_outputs(path, X)
    ops = [node.op_type for node in model.graph.node]
    assert "Dropout" not in ops
    assert "BatchNormalization" in ops or ops.count("Gemm") == 2  # kept, or folded into the Linear after it
    np.testing.assert_allclose(out, _eval_forward(net, X), rtol=1e-12, atol=1e-14)
    assert net.layers[1].training  # the network's mode is left alone


def test_cli_export_of_a_batchnorm_dropout_model(cli, tmp_path):
    net = _net()
    net.save(tmp_path / "bn.npz")
    code, out, err = cli("export", str(tmp_path / "bn.npz"), "--to", "onnx", "-o", str(tmp_path / "bn.onnx"))
    assert code == 0, err
    X = np.random.default_rng(6).normal(size=(5, 3))
    _, onnx_out = _onnx_outputs(tmp_path / "bn.onnx", X)
    np.testing.assert_allclose(onnx_out, net.predict(X), rtol=1e-12, atol=1e-14)  # predict evaluates
    np.testing.assert_allclose(onnx_out, _eval_forward(net, X), rtol=1e-12, atol=1e-14)


def test_save_torch_and_load_torch_keep_the_running_statistics(tmp_path):
    from glassnet.torch import load_torch, save_torch

    net = _net()
    save_torch(net, tmp_path / "bn.pt")
    module = load_torch(tmp_path / "bn.pt")
    assert np.array_equal(module[2].running_var.numpy(), net.layers[1].buffers["running_var"])
    X = np.random.default_rng(7).normal(size=(4, 3))
    with torch.no_grad():
        out = module.eval()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, _eval_forward(net, X), rtol=1e-12, atol=1e-14)


def test_frozen_parameters_cross_to_torch_as_requires_grad_false():
    import torch

    net = gn.Network([gn.Dense(2, 3, "tanh"), gn.BatchNorm1d(), gn.Dense(3, 1, "sigmoid")], loss="bce", seed=0)
    net.freeze("0.b", 1)
    module = to_torch(net)
    flags = {name: p.requires_grad for name, p in module.named_parameters()}
    assert flags == {"0.weight": True, "0.bias": False, "2.weight": False, "2.bias": False, "3.weight": True,
                     "3.bias": True}
    # a step of torch on the exported module leaves them where glassnet's own step leaves them
    X, y = gn.datasets.xor()
    optimizer = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.5)
    loss = torch.nn.BCELoss()(module(torch.tensor(X)), torch.tensor(y, dtype=torch.float64).reshape(-1, 1))
    loss.backward()
    optimizer.step()
    net.step(X, y, "sgd", lr=0.5)
    np.testing.assert_array_equal(module[0].bias.detach().numpy(), net.parameters()["0.b"])
    np.testing.assert_allclose(module[0].weight.detach().numpy().T, net.parameters()["0.W"], rtol=1e-12)
