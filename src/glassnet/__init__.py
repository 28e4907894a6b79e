"""glassnet: a glass-box neural-network library. Every number of training can be seen and checked.

Reading order for a newcomer (each module's docstring says what to read next):

1. ``core/activations.py``  each activation: its function and derivative, and beside them the same maths
                            into preallocated buffers (``*_into``), which is what ``fit`` runs
2. ``core/init.py``         how weights start
3. ``core/layers.py``       the ``Layer`` interface and ``Dense``: ``Z = X @ W + b``, forward caches, backward
                            reads the cache; then ``core/dropout.py`` and ``core/batchnorm.py`` (training and
                            evaluation modes, BatchNorm's backward derived)
4. ``core/losses.py``       mse, Huber, bce, cross-entropy; batch averaging lives in the loss gradient
5. ``core/network.py``      the stack of layers: forward, loss, backward, step
6. ``core/optimizers.py``   SGD, Adam, RMSprop and AdamW, keyed by parameter names ``"0.W"``, ``"0.b"``, ...;
                            weight decay (torch's, beside the network's ``l2``) and clipping by global norm
7. ``core/training.py``     ``fit``: epochs, mini-batches, history, callbacks, clean stops; the callbacks
                            glassnet ships: ``core/schedules.py`` (learning rates), ``core/callbacks.py``
                            (early stopping)
8. ``core/registry.py``     names to classes: how ``"sigmoid"`` becomes ``Sigmoid()`` (the CLI's choices too)
9. ``core/agreement.py``    why the fast forms can be trusted: each is checked against its readable form
10. ``core/fast.py``        the training step on preallocated buffers (flat parameters, workspaces); no maths
                            of its own, only bookkeeping around the parts' ``*_into`` forms
11. ``io.py``               save and load (``.npz`` + JSON, atomic, checksummed)
12. ``verify/``             ``gradcheck`` for glassnet networks, ``doctor`` for your own backprop (``verify/script/``
                            reads your training script as written), health checks, bug hunts for a class
                            (``verify/hunt/``: one planted bug per student, and the check of their fix);
                            starts at ``verify/report.py`` (its ``__init__`` gives the order)
13. ``explain/``            one training step, every number with its formula (text, Markdown, LaTeX,
                            JSON, a diagram, a worksheet and its grading: ``explain/grade.py``; predict, then
                            check: ``explain/predict.py``); starts at ``explain/records.py``
14. ``checkpoint.py``       resume an interrupted ``fit`` bit for bit; ``keyframes.py`` (the state ``fit`` keeps),
                            ``replay.py`` and ``breaks.py`` (with ``break_sentences.py``) replay a run step by step
                            to find when a health warning's condition became true
15. ``wiring.py``           where the layers above plug into the core: ``fit``'s health monitor and
                            checkpoints, ``Network.save``'s file format (the core imports none of them)
16. ``errors.py``           the exception hierarchy and how errors are reported

Beside them, read when you meet them: ``errors.py`` (the exception hierarchy) and ``core/checks.py``
(every input check and its message).

Around the core (each imports its optional library only when used):

* ``datasets/``             built-in, generated and real datasets, CSV files, train/test split, standardising
                            (starts at ``datasets/dataset.py``)
* ``sklearn.py``            ``GlassClassifier`` / ``GlassRegressor`` for scikit-learn pipelines
* ``lr_finder.py``          the learning-rate range test (``lr_finder``, ``glassnet lr-find``)
* ``torch.py``              ``to_torch`` / ``from_torch`` and PyTorch/ONNX export
* ``viz/plots.py``          training curves, decision boundaries, per-neuron maps, confusion matrices
                            (public name ``glassnet.plots``)
* ``viz/snapshots.py``      recording a run for the HTML training report; then ``viz/ledger.py`` (the page's
                            form of explain's trace), ``viz/report.py`` and ``viz/report_assets/``
* ``viz/playground.py``     ``Playground(net, X, y)``: training live in a notebook (play, pause, step, the rate,
                            the boundary, click and edit weights); ``pip install "glassnet[notebook]"``
* ``interfaces/cli/``       the ``glassnet`` command: ``main.py`` builds it from one module per subcommand

Quick start::

    import glassnet as gn
    X, y = gn.datasets.xor()
    net = gn.Network([gn.Dense(2, 3, "sigmoid"), gn.Dense(3, 1, "sigmoid")], loss="mse", seed=0)
    history = net.fit(X, y, epochs=5000, optimizer="sgd", lr=0.5)
    net.predict(X)
"""

from glassnet import datasets, wiring
from glassnet._version import __version__
from glassnet.breaks import Break, find_break
from glassnet.core import LAYERS, SGD, Adam, AdamW, BatchNorm1d, Dense, Dropout, History, Layer, Network, RMSprop
from glassnet.core.callbacks import EarlyStopping
from glassnet.core.init import normal
from glassnet.core.schedules import CosineAnnealingLR, ExponentialLR, LinearWarmup, SequentialLR, StepLR
from glassnet.errors import (
    ConfigError,
    DataError,
    FastFormWarning,
    GlassnetError,
    GlassnetTypeError,
    MissingDependency,
    ModelFileError,
    OutputFileError,
    ShapeError,
    TrainingDiverged,
    UserCodeError,
)
from glassnet.explain import Trace, explain, plot_network, worksheet
from glassnet.explain.grade import Grading, grade
from glassnet.explain.predict import Prediction, predict_then_check
from glassnet.explain.sheetfile import load_worksheet
from glassnet.io import load
from glassnet.lr_finder import lr_finder
from glassnet.verify import doctor
from glassnet.verify.gradcheck import gradcheck
from glassnet.verify.hunt import Hunt, hunt
from glassnet.verify.inside import LayerStatsRecorder
from glassnet.viz.playground import Playground  # the live notebook view (anywidget, imported when one is made)

# fit's health monitor and checkpoints, and Network.save's file format, plugged into the core (see wiring.py).
wiring.install()


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext glassnet`` in IPython or Jupyter: adds the ``%%doctor`` cell magic (see ``verify/notebook.py``)."""
    from glassnet.verify.notebook import load_ipython_extension as load

    load(ipython)


def plot_layer_stats(history: object, ax: object = None) -> object:
    """Each layer's gradient norm and update ratio over training, in one figure; see
    :func:`glassnet.viz.plots.plot_layer_stats` (imports matplotlib lazily)."""
    from glassnet.viz.plots import plot_layer_stats as plot

    return plot(history, ax)  # type: ignore[arg-type]


__all__ = [
    "BatchNorm1d", "Dropout",
    "AdamW",
    "LayerStatsRecorder", "plot_layer_stats",
    "Playground",
    "Hunt", "hunt",
    "Break", "find_break",
    "Grading", "grade", "load_worksheet",
    "Prediction", "predict_then_check",
    "CosineAnnealingLR", "EarlyStopping", "ExponentialLR", "LinearWarmup", "SequentialLR", "StepLR", "lr_finder",
    "LAYERS", "SGD", "Adam", "ConfigError", "DataError", "Dense", "GlassnetError", "GlassnetTypeError", "History", "Layer",
    "RMSprop", "FastFormWarning",
    "MissingDependency", "ModelFileError", "Network", "OutputFileError", "ShapeError", "Trace", "TrainingDiverged",
    "UserCodeError", "__version__", "datasets", "doctor", "explain", "gradcheck", "load", "normal", "plot_network", "worksheet",
]
