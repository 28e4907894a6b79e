"""The engine, in NumPy alone. Reading order: activations -> init -> layers (then dropout, batchnorm) -> losses ->
network -> optimizers -> training; then registry, agreement, workspace and fast (how ``fit`` runs the same maths fast).

It imports nothing outside itself and ``glassnet.errors`` (``tests/core/test_imports.py`` checks every import,
even inside functions). What ``fit`` and ``Network.save`` need from the layers above (the health monitor,
checkpoints, the model-file format) is plugged in by ``glassnet/wiring.py``.
"""

from glassnet.core.activations import ACTIVATIONS, Activation, get_activation
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.core.layers import LAYERS, Dense, Layer
from glassnet.core.losses import LOSSES, Loss, get_loss
from glassnet.core.network import Network
from glassnet.core.optimizers import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm, get_optimizer
from glassnet.core.training import History

__all__ = [
    "ACTIVATIONS", "LAYERS", "LOSSES", "OPTIMIZERS", "SGD", "Activation", "Adam", "BatchNorm1d", "Dense", "Dropout",
    "History", "Layer", "Loss",
    "Network", "Optimizer", "RMSprop", "get_activation", "get_loss", "get_optimizer",
    "AdamW", "clip_grad_norm",
]
