"""The same network written in PyTorch (float64), as the outside reference for glassnet's numbers.

Written functionally with the glassnet orientation (``Z = X @ W + b``, ``W`` of shape
``(n_in, n_out)``) so parameters can be shared one to one; autograd supplies the gradients.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

# Written independently of glassnet's classes (no torch_name lookups): the reference must not share their mistakes.
# A class added to glassnet without an entry here fails the registry-driven tests until one is written.
ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "softmax": lambda z: torch.softmax(z, dim=1),
    "gelu": lambda z: F.gelu(z, approximate="none"),
}


def torch_params(net) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in net.parameters().items()}


def torch_loss(net, params: dict[str, torch.Tensor], X: np.ndarray, y: np.ndarray):
    """Return ``(outputs, loss)`` of ``net``'s architecture evaluated by PyTorch on ``params``."""
    A = torch.tensor(X, dtype=torch.float64)
    Z = A
    for i, layer in enumerate(net.layers):
        Z = A @ params[f"{i}.W"] + params[f"{i}.b"]
        A = ACTIVATIONS[layer.activation.name](Z)
    loss_name = net.loss_fn.name
    if loss_name == "mse":
        Y = torch.tensor(np.asarray(y, dtype=np.float64).reshape(A.shape))
        loss = F.mse_loss(A, Y)
    elif loss_name == "huber":
        Y = torch.tensor(np.asarray(y, dtype=np.float64).reshape(A.shape))
        loss = F.huber_loss(A, Y, delta=net.loss_fn.delta)
    elif loss_name == "bce":
        Y = torch.tensor(np.asarray(y, dtype=np.float64).reshape(A.shape))
        loss = F.binary_cross_entropy_with_logits(Z, Y)
    else:
        loss = F.cross_entropy(Z, torch.tensor(np.asarray(y), dtype=torch.long))
    if net.l2:
        loss = loss + net.l2 / 2 * sum((params[f"{i}.W"] ** 2).sum() for i in range(len(net.layers)))
    return A, loss


def torch_gradients(net, X, y) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    params = torch_params(net)
    A, loss = torch_loss(net, params, X, y)
    loss.backward()
    return A.detach().numpy(), loss.detach().item(), {k: p.grad.numpy() for k, p in params.items()}


def assert_matches_torch(name: str, ours, theirs, rtol: float, atol: float) -> None:
    """``np.testing.assert_allclose`` of glassnet's array against torch's, printing both arrays when they differ.

    Checked first without a message: formatting both arrays for every passing comparison cost more than the
    comparison (about a second of each RMSprop trajectory test); a failure checks again, with the message.
    """
    try:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    except AssertionError:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: glassnet vs torch\nglassnet:\n{ours}\ntorch:\n{theirs}")
