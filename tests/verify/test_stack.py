"""infer_stack, Stack, hypotheses and match on networks written here the way learners write them.

Every learner network below is plain NumPy in its own layout (row ``Z = A @ W + b`` or column ``Z = W @ A + b``);
its gradients are compared with PyTorch float64 autograd on the same code, and each backprop bug is planted by hand
in a learner's backward pass, independently of ``glassnet.verify.stack``.
"""

import numpy as np
import pytest
import torch

from glassnet.verify.stack import hypotheses, infer_stack, match

SIG = lambda z: 1 / (1 + np.exp(-z))
NP_ACT = {"sigmoid": SIG, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
          "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z)}
TORCH_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z,
             "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01)}
SCALES = {"mean": lambda N, k: 1 / (N * k), "half_sum": lambda N, k: 0.5, "sum_over_N": lambda N, k: 1 / N,
          "half_mean": lambda N, k: 1 / (2 * N)}


class Learner:
    """A dense network as a learner writes it: params W1, b1, ... in the layout's shapes, X and y, and a cost."""

    def __init__(self, sizes, hidden, out, loss, layout="row", bias="flat", scale="mean", seed=0, N=6, dtype=np.float64,
                 no_bias=(), vector_w=False):
        rng = np.random.default_rng(seed)
        self.sizes, self.hidden, self.out, self.loss, self.layout = sizes, hidden, out, loss, layout
        self.N, self.k, self.scale_kind, self.dtype = N, sizes[-1], scale, dtype
        X = rng.normal(size=(N, sizes[0]))
        if out == "softmax":
            Y = np.eye(self.k)[rng.integers(0, self.k, N)]
        elif out == "sigmoid":
            Y = rng.integers(0, 2, size=(N, self.k)).astype(float)
        else:
            Y = rng.uniform(-0.9, 0.9, size=(N, self.k))
        self.params = {}
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
            W = rng.normal(size=(n_in, n_out))
            self.params[f"W{l}"] = W if layout == "row" else W.T
            if l not in no_bias:
                b = rng.normal(size=n_out) * 0.5
                self.params[f"b{l}"] = {"flat": b, "row": b[None, :], "col": b[:, None]}[bias]
        if vector_w:  # logistic regression: X @ w with w of shape (n_in,), a scalar bias, y of shape (N,)
            self.params = {"w": rng.normal(size=sizes[0]), "b": np.array(0.3)}
            Y = Y[:, :1]
        self.X, self.Y = (X, Y) if layout == "row" else (X.T, Y.T)
        self.y = Y[:, 0] if vector_w else self.Y
        self.vector_w = vector_w
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.X, self.y = self.X.astype(dtype), self.y.astype(dtype)

    def data(self):
        return {"X": self.X, "y": self.y}

    def forward(self, t, act, exp, log, X):
        """The learner's forward pass and per-entry loss, with the given array library's functions."""
        if self.vector_w:
            a = act[self.out](X @ t["w"] + t["b"])
        else:
            a = X
            for l in range(1, len(self.sizes)):
                z = a @ t[f"W{l}"] if self.layout == "row" else t[f"W{l}"] @ a
                z = z + t[f"b{l}"] if f"b{l}" in t else z
                f = self.out if l == len(self.sizes) - 1 else self.hidden
                if f == "softmax":
                    axis = 1 if self.layout == "row" else 0
                    e = exp(z - z.max(axis, keepdims=True) if isinstance(z, np.ndarray) else z - z.amax(axis, keepdim=True))
                    a = e / e.sum(axis, keepdims=True) if isinstance(e, np.ndarray) else e / e.sum(axis, keepdim=True)
                else:
                    a = act[f](z)
        y = self.y if isinstance(a, np.ndarray) else torch.tensor(self.y, dtype=torch.float64)
        if self.loss == "squared_error":
            return (a - y) ** 2
        if self.loss == "binary_cross_entropy":
            return -(y * log(a) + (1 - y) * log(1 - a))
        return -(y * log(a))

    @property
    def expected_scale(self):
        return SCALES[self.scale_kind](self.N, self.k)

    def cost(self, t):
        return float(np.sum(self.forward(t, NP_ACT, np.exp, np.log, self.X)) * self.dtype(self.expected_scale))

    def torch_grads(self, t):
        """PyTorch float64 autograd of the same cost, in each parameter's own shape."""
        tt = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in t.items()}
        X = torch.tensor(self.X, dtype=torch.float64)
        loss = self.forward(tt, TORCH_ACT, torch.exp, torch.log, X).sum() * self.expected_scale
        loss.backward()
        return {k: v.grad.numpy() for k, v in tt.items()}


CASES = [
    dict(sizes=(2, 3, 1), hidden="sigmoid", out="sigmoid", loss="squared_error", scale="mean", N=4),
    dict(sizes=(2, 3, 1), hidden="tanh", out="sigmoid", loss="binary_cross_entropy", layout="column", bias="col",
         scale="sum_over_N"),
    dict(sizes=(4, 8, 8, 3), hidden="relu", out="softmax", loss="categorical_cross_entropy", bias="row",
         scale="sum_over_N", N=10),
    dict(sizes=(3, 5, 2), hidden="leaky_relu", out="linear", loss="squared_error", layout="column", bias="col",
         scale="half_sum"),
    dict(sizes=(3, 4, 4, 2), hidden="tanh", out="tanh", loss="squared_error", scale="half_mean"),
    dict(sizes=(3, 4, 2, 1), hidden="sigmoid", out="linear", loss="squared_error", no_bias=(2,), scale="sum_over_N"),
    dict(sizes=(5, 3, 3), hidden="sigmoid", out="softmax", loss="squared_error", layout="column", bias="col"),
    dict(sizes=(3, 6, 2), hidden="relu", out="sigmoid", loss="binary_cross_entropy", bias="row", scale="mean"),
    dict(sizes=(4, 2), hidden="linear", out="linear", loss="squared_error", layout="column", bias="col", scale="half_sum"),
    dict(sizes=(3, 1), hidden="linear", out="sigmoid", loss="binary_cross_entropy", vector_w=True, scale="sum_over_N"),
    dict(sizes=(3, 4, 2), hidden="tanh", out="sigmoid", loss="categorical_cross_entropy", scale="sum_over_N"),  # -y log a only
]


def _random_case(seed):
    rng = np.random.default_rng(100 + seed)
    depth = int(rng.integers(1, 4))
    sizes = tuple(int(n) for n in rng.integers(2, 6, size=depth + 1))
    out, loss = [("sigmoid", "squared_error"), ("sigmoid", "binary_cross_entropy"), ("linear", "squared_error"),
                 ("softmax", "categorical_cross_entropy"), ("tanh", "squared_error")][int(rng.integers(5))]
    layout = ["row", "column"][int(rng.integers(2))]
    bias = ["flat", "row"][int(rng.integers(2))] if layout == "row" else "col"
    return dict(sizes=sizes, hidden=str(rng.choice(["sigmoid", "tanh", "relu", "leaky_relu"])), out=out, loss=loss,
                layout=layout, bias=bias, scale=str(rng.choice(list(SCALES))), seed=seed, N=int(rng.integers(3, 9)))


ALL = CASES + [_random_case(s) for s in range(12)]


@pytest.mark.parametrize("case", ALL, ids=[f"{'-'.join(map(str, c['sizes']))}-{c['hidden']}-{c['out']}-{c.get('layout', 'row')}"
                                          for c in ALL])
def test_infer_stack_recovers_structure_scale_and_torch_gradients(case):
    net = Learner(**case)
    calls = []
    stack = infer_stack(net.params, net.data(), lambda t: calls.append(1) or net.cost(t))
    assert stack is not None, "no stack found"
    L = len(net.sizes) - 1
    if not net.vector_w:
        assert [x.weight for x in stack.layers] == [f"W{l}" for l in range(1, L + 1)]
        assert [x.bias for x in stack.layers] == [None if l in case.get("no_bias", ()) else f"b{l}" for l in range(1, L + 1)]
        assert [x.activation for x in stack.layers] == [net.hidden] * (L - 1) + [net.out]
    else:
        assert [(x.weight, x.bias, x.activation) for x in stack.layers] == [("w", "b", "sigmoid")]
    assert {x.layout for x in stack.layers} == {net.layout}
    assert (stack.loss, stack.X_name, stack.y_name) == (net.loss, "X", "y")
    assert stack.scale == pytest.approx(net.expected_scale, rel=1e-12)
    assert len(calls) == stack.cost_calls == 4
    assert stack.cost(net.params) == pytest.approx(net.cost(net.params), rel=1e-12)
    ours, theirs = stack.gradients(net.params), net.torch_grads(net.params)
    assert set(ours) == set(net.params)
    for name in net.params:
        assert ours[name].shape == net.params[name].shape
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-14,
                                   err_msg=f"{name}: glassnet vs torch")


def test_describe_reads_like_the_network():
    net = Learner(**CASES[0])
    stack = infer_stack(net.params, net.data(), net.cost)
    assert stack.describe() == "2 -> 3 sigmoid -> 1 sigmoid, squared error, cost = 1/4 x sum over rows (the mean)"


def test_row_gradients_add_up_to_the_gradient():
    net = Learner(**CASES[4])
    stack = infer_stack(net.params, net.data(), net.cost)
    total = stack.gradients(net.params)
    rows = [stack.row_gradients(net.params, i) for i in range(net.N)]
    for name in total:
        np.testing.assert_allclose(sum(r[name] for r in rows), total[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[5]])
def test_intermediates_equal_torch_retained_gradients(case):
    net = Learner(**case)
    stack = infer_stack(net.params, net.data(), net.cost)
    inter = stack.intermediates(net.params)
    tt = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.params.items()}
    a, kept = torch.tensor(net.X, dtype=torch.float64), {}
    L = len(net.sizes) - 1
    for l in range(1, L + 1):
        z = (a @ tt[f"W{l}"] if net.layout == "row" else tt[f"W{l}"] @ a) + (tt[f"b{l}"] if f"b{l}" in tt else 0)
        f = net.out if l == L else net.hidden
        a = torch.softmax(z, dim=1 if net.layout == "row" else 0) if f == "softmax" else TORCH_ACT[f](z)
        z.retain_grad()
        a.retain_grad()
        kept[l] = (z, a)
    y = torch.tensor(net.y, dtype=torch.float64)
    per = {"squared_error": lambda a: (a - y) ** 2, "binary_cross_entropy": lambda a: -(y * a.log() + (1 - y) * (1 - a).log()),
           "categorical_cross_entropy": lambda a: -(y * a.log())}[net.loss]
    (per(a).sum() * net.expected_scale).backward()
    for l, (z, a) in kept.items():
        for key, want in ((f"Z{l}", z), (f"A{l}", a), (f"dZ{l}", z.grad), (f"dA{l}", a.grad)):
            want = want.detach().numpy()
            np.testing.assert_allclose(inter[key], want, rtol=1e-10, atol=1e-14, err_msg=f"{key}: glassnet vs torch")
        np.testing.assert_allclose(inter[f"dW{l}"], tt[f"W{l}"].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_a_learners_own_names_and_other_arrays_in_the_namespace():
    net = Learner((4, 8, 8, 3), "tanh", "softmax", "categorical_cross_entropy", bias="row", scale="sum_over_N", N=10, seed=2)
    rename = {"W1": "self.weights[0]", "W2": "self.weights[1]", "W3": "self.weights[2]",
              "b1": "self.biases[0]", "b2": "self.biases[1]", "b3": "self.biases[2]"}
    params = {rename[k]: v for k, v in net.params.items()}
    labels = net.y.argmax(1)
    data = {"X_train": net.X, "y_train": labels, "X_test": net.X[:4], "y_test": labels[:4], "lr": np.array(0.1),
            "epochs": np.array(100)}
    calls = []

    def cost(t):  # the learner's cost: the mean of -log p at the true class
        calls.append(1)
        a = net.X
        for i in range(3):
            z = a @ t[f"self.weights[{i}]"] + t[f"self.biases[{i}]"]
            e = np.exp(z - z.max(1, keepdims=True))
            a = np.tanh(z) if i < 2 else e / e.sum(1, keepdims=True)
        return float(-np.mean(np.log(a[np.arange(len(labels)), labels])))

    stack = infer_stack(params, data, cost)
    assert [(x.weight, x.bias) for x in stack.layers] == [(f"self.weights[{i}]", f"self.biases[{i}]") for i in range(3)]
    assert (stack.X_name, stack.y_name, stack.loss, stack.scale) == ("X_train", "y_train", "categorical_cross_entropy", 0.1)
    assert len(calls) == 4
    ours, theirs = stack.gradients(params), net.torch_grads(net.params)
    for old, new in rename.items():
        np.testing.assert_allclose(ours[new], theirs[old], rtol=1e-10, atol=1e-14, err_msg=f"{new}: glassnet vs torch")


def test_float32_script_is_recognised_with_a_looser_tolerance():
    net = Learner(**CASES[0], dtype=np.float32)
    stack = infer_stack(net.params, net.data(), net.cost)
    assert stack is not None and stack.scale == 0.25 and [x.activation for x in stack.layers] == ["sigmoid", "sigmoid"]


def test_a_cost_no_stack_explains_gives_none():
    net = Learner(**CASES[0])
    l2 = lambda t: net.cost(t) + 0.1 * float(np.sum(t["W1"] ** 2))  # a regularised cost: not scale * sum of a loss
    calls = []
    assert infer_stack(net.params, net.data(), lambda t: calls.append(1) or l2(t)) is None
    assert 1 <= len(calls) <= 4
    absolute = lambda t: float(np.mean(np.abs(SIG(SIG(net.X @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]) - net.y)))
    assert infer_stack(net.params, net.data(), absolute) is None
    assert infer_stack({"W": np.ones((7, 2))}, net.data(), net.cost) is None  # shapes that chain from no X


# ---- the bugs, planted by hand in a learner's backward pass ---------------------------------------------------------------

def learner_backprop(t, X, Y, N, hidden="sigmoid", bug=None, layer=None, variant=""):
    """3 -> 4 -> 4 -> 2, row layout, sigmoid output, cost = sum((a3 - y)**2) / N, one bug planted at ``layer``."""
    f = NP_ACT[hidden]
    d = (lambda x: x * (1 - x)) if hidden == "sigmoid" else (lambda x: 1 - x ** 2)  # the learner's derivative(a)
    d_out = lambda x: x * (1 - x)
    fd = {3: d_out, 2: d, 1: d}
    z1 = X @ t["W1"] + t["b1"]; a1 = f(z1)  # noqa: E702
    z2 = a1 @ t["W2"] + t["b2"]; a2 = f(z2)  # noqa: E702
    z3 = a2 @ t["W3"] + t["b3"]; a3 = SIG(z3)  # noqa: E702
    z, a, W = {1: z1, 2: z2, 3: z3}, {0: X, 1: a1, 2: a2, 3: a3}, {1: t["W1"], 2: t["W2"], 3: t["W3"]}
    err = (Y - a3) if bug == "sign" else (a3 - Y)
    dA = 2 * err / N

    def deriv(l):  # f_l'(z_l) as this learner computes it
        if layer != l:
            return fd[l](a[l])
        if bug == "derivative_at_z":
            return fd[l](z[l])
        if bug == "derivative_twice":
            g = (SIG if l == 3 or hidden == "sigmoid" else np.tanh)(a[l])
            return fd[l](g) if variant == "at_f_of_a" else fd[l](a[l]) ** 2
        if bug == "derivative_missing":
            return 1.0
        return fd[l](a[l])

    delta = dA * deriv(3)
    if bug == "derivative_on_error":
        e = Y - a3 if variant == "y - a" else a3 - Y
        delta = (-1 if variant == "y - a" else 1) * d_out(e) / N  # delta = sigmoid_derivative(error); y - a is added
    grads = {}
    for l in (3, 2, 1):
        inp = a[l - 1]
        if layer == l and bug == "preactivation_as_input":
            inp = z[l - 1]
        if layer == l and bug == "activations_overwritten":
            inp = fd[l - 1](a[l - 1])  # a[l-1] *= (1 - a[l-1]) happened before this line
        grads[f"W{l}"] = inp.T @ delta
        if layer == l and bug == "transposed":
            grads[f"W{l}"] = delta.T @ inp
        grads[f"b{l}"] = np.full(delta.shape[1], delta.sum()) if (layer == l and bug == "bias_sum_all_axes") else delta.sum(0)
        if l > 1:
            back = delta @ W[l].T
            if layer == l - 1 and bug == "no_backprop_through_weights":
                back = np.repeat(delta.sum(1, keepdims=True), 4, axis=1) if variant == "sum" else delta
            if layer == l - 1 and bug == "untransposed_backprop":
                back = delta @ W[l]
            delta = back * deriv(l - 1)
    return grads


@pytest.fixture(params=["sigmoid", "tanh"])
def deep(request):
    net = Learner((3, 4, 4, 2), request.param, "sigmoid", "squared_error", scale="sum_over_N", N=5, seed=3)
    stack = infer_stack(net.params, net.data(), net.cost)
    return net, stack


BUGS = [("derivative_at_z", 3, ""), ("derivative_at_z", 2, ""), ("derivative_at_z", 1, ""),
        ("derivative_twice", 3, "at_f_of_a"), ("derivative_twice", 2, "at_f_of_a"), ("derivative_twice", 1, "squared"),
        ("derivative_missing", 3, ""), ("derivative_missing", 2, ""), ("derivative_on_error", 3, "y - a"),
        ("derivative_on_error", 3, "a - y"), ("no_backprop_through_weights", 2, "sum"),
        ("no_backprop_through_weights", 1, "elementwise"), ("untransposed_backprop", 1, ""),
        ("preactivation_as_input", 3, ""), ("preactivation_as_input", 2, ""), ("activations_overwritten", 3, ""),
        ("activations_overwritten", 2, ""), ("bias_sum_all_axes", 1, ""), ("bias_sum_all_axes", 3, ""),
        ("transposed", 2, ""), ("last_row_only", None, ""), ("sign", None, "")]


@pytest.mark.parametrize("bug, layer, variant", BUGS)
def test_each_hypothesis_is_the_learners_buggy_gradient_and_match_picks_it(deep, bug, layer, variant):
    net, stack = deep
    t, N = net.params, net.N
    if bug == "last_row_only":  # `dW = ...` inside the loop over rows: the last row's term survives
        want = learner_backprop(t, net.X[-1:], net.y[-1:], N, net.hidden)
    else:
        want = learner_backprop(t, net.X, net.y, N, net.hidden, bug, layer, variant)
    found = [h for h in hypotheses(stack, t) if (h.bug, h.layer) == (bug, layer) and h.variant == variant]
    assert len(found) == 1, f"{bug} at layer {layer} ({variant}): {len(found)} hypotheses"
    for name in t:
        np.testing.assert_allclose(found[0].gradients[name], want[name], rtol=1e-10, atol=1e-15,
                                   err_msg=f"{bug} {name}: glassnet vs the learner's code")
    summed = {k: N * v for k, v in want.items()}  # this learner sums over the rows where the cost averages
    best, factor = match(stack, t, summed, hypotheses(stack, t))[0]
    assert (best.bug, best.layer, best.variant) == (bug, layer, variant)
    assert factor == pytest.approx(1 / N, rel=1e-9)
    assert "layer" in best.where or best.where == "every parameter"
    assert len(best.cause) > 40


def test_derivative_of_the_back_propagated_error_in_a_hidden_layer(deep):
    """The learner works with the raw error (y - a, no 2 / N) and writes delta = error * derivative(error) for layer 2."""
    net, stack = deep
    t, X, Y, N = net.params, net.X, net.y, net.N
    f = NP_ACT[net.hidden]
    d = (lambda x: x * (1 - x)) if net.hidden == "sigmoid" else (lambda x: 1 - x ** 2)
    a1 = f(X @ t["W1"] + t["b1"]); a2 = f(a1 @ t["W2"] + t["b2"]); a3 = SIG(a2 @ t["W3"] + t["b3"])  # noqa: E702
    delta3 = (Y - a3) * a3 * (1 - a3)
    error2 = delta3 @ t["W3"].T
    delta2 = error2 * d(error2)  # the bug
    delta1 = delta2 @ t["W2"].T * d(a1)
    adds = {"W3": a2.T @ delta3, "b3": delta3.sum(0), "W2": a1.T @ delta2, "b2": delta2.sum(0), "W1": X.T @ delta1,
            "b1": delta1.sum(0)}  # what `W += lr * ...` adds
    g_obs = {k: -v for k, v in adds.items()}
    found = [h for h in hypotheses(stack, t) if (h.bug, h.layer, h.variant) == ("derivative_on_error", 2, "y - a")]
    assert len(found) == 1
    for name in t:  # the hypothesis is at the cost's scale: the raw error is 2/N of it
        np.testing.assert_allclose(found[0].gradients[name], 2 / N * g_obs[name], rtol=1e-10, atol=1e-15)
    (best, factor), *_ = match(stack, t, g_obs, hypotheses(stack, t))
    assert (best.bug, best.layer, best.variant, factor) == ("derivative_on_error", 2, "y - a", pytest.approx(2 / N))


def test_one_gradient_assigned_in_the_row_loop_and_one_with_its_own_learning_rate(deep):
    net, stack = deep
    t, N, hs = net.params, net.N, hypotheses(stack, net.params)
    right = learner_backprop(t, net.X, net.y, N, net.hidden)
    assigned = dict(right, W3=learner_backprop(t, net.X[-1:], net.y[-1:], N, net.hidden)["W3"])  # `dW3 = ...` per row
    (best, _), *_ = match(stack, t, assigned, hs)
    assert (best.bug, best.variant, best.where) == ("last_row_only", "W3", "W3 (layer 3)")
    slow = dict(right, b1=0.02 * right["b1"])  # `b1 -= 0.01 * db1` where the others use lr = 0.5
    (best, factor), = match(stack, t, slow, hs)
    assert (best.bug, best.where, factor) == ("tensor_factor", "b1", pytest.approx(1.0)) and "0.02 x" in best.cause


def test_derivative_after_a_fused_softmax_cross_entropy_delta():
    net = Learner((3, 4, 3), "tanh", "softmax", "categorical_cross_entropy", scale="sum_over_N", N=7, seed=5)
    stack = infer_stack(net.params, net.data(), net.cost)
    t, X, Y, N = net.params, net.X, net.y, net.N
    a1 = np.tanh(X @ t["W1"] + t["b1"])
    z2 = a1 @ t["W2"] + t["b2"]
    p = np.exp(z2) / np.exp(z2).sum(1, keepdims=True)
    d2 = (p - Y) / N * p * (1 - p)  # the softmax derivative multiplied again
    d1 = d2 @ t["W2"].T * (1 - a1 ** 2)
    want = {"W2": a1.T @ d2, "b2": d2.sum(0), "W1": X.T @ d1, "b1": d1.sum(0)}
    (best, factor), *_ = match(stack, t, want, hypotheses(stack, t))
    assert (best.bug, best.variant, best.layer, factor) == ("derivative_twice", "after_fused", 2, pytest.approx(1.0))


def test_column_layout_bugs():
    net = Learner((3, 4, 4, 2), "sigmoid", "sigmoid", "squared_error", layout="column", bias="col", scale="mean", seed=8)
    stack = infer_stack(net.params, net.data(), net.cost)
    t, X, Y = net.params, net.X, net.y
    a1 = SIG(t["W1"] @ X + t["b1"]); a2 = SIG(t["W2"] @ a1 + t["b2"]); a3 = SIG(t["W3"] @ a2 + t["b3"])  # noqa: E702
    d3 = 2 * (a3 - Y) / Y.size * a3 * (1 - a3)
    d2 = t["W3"].T @ d3 * a2 * (1 - a2)
    d1 = t["W2"] @ d2 * a1 * (1 - a1)  # W2, not W2.T: W2 is square so the shapes fit
    want = {"W3": d3 @ a2.T, "b3": d3.sum(1, keepdims=True), "W2": d2 @ a1.T, "b2": np.full((4, 1), d2.sum()),
            "W1": d1 @ X.T, "b1": d1.sum(1, keepdims=True)}  # ... and b2 summed over both axes
    assert match(stack, t, want, hypotheses(stack, t)) == []  # two bugs at once is not a hypothesis
    want["b2"] = d2.sum(1, keepdims=True)
    (best, _), *_ = match(stack, t, want, hypotheses(stack, t))
    assert (best.bug, best.layer) == ("untransposed_backprop", 1) and "W2.T @ dZ2" in best.cause


def test_noise_matches_nothing_and_right_gradients_match_none(deep):
    net, stack = deep
    hs = hypotheses(stack, net.params)
    rng = np.random.default_rng(0)
    assert match(stack, net.params, {k: rng.normal(size=v.shape) for k, v in net.params.items()}, hs) == []
    right = learner_backprop(net.params, net.X, net.y, net.N, net.hidden)
    (best, factor), *_ = match(stack, net.params, {k: 2 * v for k, v in right.items()}, hs)
    assert best.bug == "none" and factor == pytest.approx(0.5)


def test_one_tensor_summed_or_of_the_wrong_sign(deep):
    net, stack = deep
    hs = hypotheses(stack, net.params)
    right = learner_backprop(net.params, net.X, net.y, net.N, net.hidden)
    summed = dict(right, b3=net.N * right["b3"])
    (best, factor), = match(stack, net.params, summed, hs)
    assert (best.bug, best.where, factor) == ("tensor_factor", "b3", pytest.approx(1.0)) and "divide it by 5" in best.cause
    flipped = dict(right, W1=-right["W1"])
    (best, _), = match(stack, net.params, flipped, hs)
    assert (best.bug, best.where) == ("tensor_sign", "W1")


def test_float32_observed_gradient_matches_at_float32_tolerance():
    net = Learner((3, 4, 4, 2), "sigmoid", "sigmoid", "squared_error", scale="sum_over_N", N=5, seed=3, dtype=np.float32)
    stack = infer_stack(net.params, net.data(), net.cost)
    want = learner_backprop(net.params, net.X, net.y, np.float32(net.N), "sigmoid", "derivative_at_z", 2)
    assert all(v.dtype == np.float32 for v in want.values())
    (best, _), *_ = match(stack, net.params, want, hypotheses(stack, net.params))
    assert (best.bug, best.layer) == ("derivative_at_z", 2)
    assert match(stack, net.params, want, hypotheses(stack, net.params), rtol=1e-9) == []
