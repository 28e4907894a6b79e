"""Pieces shared by the subcommands: reading data arguments, parsing lists, a rich progress callback.

The names the options accept (``--activation``, ``--loss``, ``--optimizer``) and their help texts come from
the registries (``ACTIVATIONS.names()``, ...): a class added to its core module is offered here at once.
An unknown name is refused by the registry itself, as a one-line error naming the closest valid name.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from glassnet.core.activations import ACTIVATIONS
from glassnet.core.losses import LOSSES
from glassnet.core.network import Network
from glassnet.core.optimizers import OPTIMIZERS, Optimizer, get_optimizer
from glassnet.core.training import DEFAULT_LR
from glassnet.datasets import BUILTIN, Dataset, get_dataset, load_csv
from glassnet.errors import ConfigError


def one_of(names: Iterable[str]) -> str:
    """``"a, b or c"``."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def activation_help(what: str) -> str:
    return f"{what}: {one_of(ACTIVATIONS.names())}"


def loss_help(what: str = "loss") -> str:
    return f"{what}: {one_of(LOSSES.names())}"


def output_activation_help(what: str = "output activation") -> str:
    """The help of ``--output-activation``: its default follows the loss (a fused loss needs its activation)."""
    fused = [f"{cls.fused_activation.name} for {cls.name}" for cls in LOSSES.classes() if cls.fused_activation]
    return f"{what} (default: {', '.join(fused)}, else --activation)"


def optimizers_with(setting: str) -> list[str]:
    """The optimizers whose class takes ``setting`` (e.g. ``"momentum"``), for the help of that option."""
    return [cls.name for cls in OPTIMIZERS.classes() if setting in inspect.signature(cls).parameters]


def add_optimizer_arguments(p: argparse.ArgumentParser, lr: str, momentum: str, none: str | None = None) -> None:
    """``--optimizer`` (any registered one; ``none`` too when ``none`` says what it means), ``--lr``, ``--momentum``."""
    names = f"{', '.join(OPTIMIZERS.names())}, or none {none}" if none else one_of(OPTIMIZERS.names())
    p.add_argument("--optimizer", default="sgd", help=names)
    p.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"{lr} (the same default as Network.fit)")
    p.add_argument("--momentum", type=float, default=0.0,
                   help=f"{momentum} (only {one_of(optimizers_with('momentum'))} have one)")


def make_optimizer(name: str, lr: float, momentum: float) -> Optimizer:
    """The optimizer ``--optimizer`` names, with ``--lr`` and, when given, ``--momentum``: an optimizer whose class
    has no momentum setting refuses it, saying which settings it has."""
    return get_optimizer(name, lr, **({"momentum": momentum} if momentum else {}))


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples in each epilog as written and shows defaults: only real ones (not None or a
    flag's False), and not where the help already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def add_data_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--data", required=required,
                        help=f"built-in dataset ({', '.join(BUILTIN)}) or a CSV file path")
    parser.add_argument("--target", default=None,
                        help="target column of a CSV file, by name or 0-based index (default: the last column)")
    parser.add_argument("--missing", default="error", choices=("error", "drop", "fill_mean"),
                        help="missing CSV cells: report them, drop their rows, or fill features with column means")
    parser.add_argument("--n", type=int, default=None, help="number of samples of a generated dataset (moons, ...)")
    parser.add_argument("--noise", type=float, default=None, help="noise of a generated dataset")
    parser.add_argument("--classes", type=int, default=None, help="number of classes of spiral or blobs")
    parser.add_argument("--data-seed", type=int, default=None, help="seed of a generated dataset")


def show_note(message: Warning | str, *_: Any, **__: Any) -> None:
    """A warning as one line ``glassnet: note: ...`` on stderr (the CLI's ``warnings.showwarning``)."""
    print(f"glassnet: note: {message}", file=sys.stderr)


@contextmanager
def notes() -> Iterator[None]:
    """Print the warnings raised inside, every one even if repeated, as notes (:func:`show_note`) at the end."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                show_note(warning.message)


def read_data(args: argparse.Namespace) -> Dataset:
    """The dataset named by ``--data`` (built-in name or CSV path), with ``--target``/``--missing`` for a CSV
    and ``--n``/``--noise``/``--data-seed`` for a generated dataset."""
    name = args.data
    if name.lower().endswith(".csv") or os.path.sep in name or os.path.exists(name):
        with notes():  # what --missing drop/fill_mean did
            return load_csv(name, target=args.target if args.target is not None else -1,
                            missing=getattr(args, "missing", "error"))
    given = {"n": getattr(args, "n", None), "noise": getattr(args, "noise", None),
             "classes": getattr(args, "classes", None), "seed": getattr(args, "data_seed", None)}
    return get_dataset(name, **{key: value for key, value in given.items() if value is not None})


def add_network_arguments(p: argparse.ArgumentParser) -> None:
    """A saved model, or a fresh network described by ``--layers`` (for commands that look at one network)."""
    p.add_argument("model", nargs="?", default=None, help="a saved model (.npz); or build a fresh one with --layers")
    p.add_argument("--layers", default=None, help="sizes of a fresh network, e.g. 2,3,1 (instead of MODEL)")
    p.add_argument("--activation", default="sigmoid", help=activation_help("hidden activation of a fresh network"))
    p.add_argument("--output-activation", default=None, help=output_activation_help("output activation of a fresh network"))
    p.add_argument("--loss", default="mse", help=loss_help("loss of a fresh network"))
    p.add_argument("--seed", type=int, default=0, help="seed of a fresh network's weights")


def load_network(args: argparse.Namespace) -> Network:
    """The model file, or a fresh network from ``--layers`` (see :func:`add_network_arguments`)."""
    if (args.model is None) == (args.layers is None):
        raise ConfigError(f"give exactly one of: a model file (glassnet {args.command} model.npz ...) or --layers 2,3,1 "
                          "for a fresh network")
    if args.model is not None:
        from glassnet.io import load

        return load(args.model)
    return Network.from_sizes(parse_sizes(args.layers), activation=args.activation,
                              output_activation=args.output_activation, loss=args.loss, seed=args.seed)


def model_inputs(net: Any, data: Dataset, model: str | None) -> Any:
    """``data.X`` as ``net`` (from the file ``model``, or a fresh one when None) expects it: the column count
    checked and, for a model trained with ``--standardize``, the training split's standardisation (kept in the
    model file) applied."""
    from glassnet.errors import ShapeError

    if data.X.shape[1] != net.n_in:
        raise ShapeError(f"{model or 'the network'} expects {net.n_in} feature column(s); "
                         f"{data.name or 'the data'} has {data.X.shape[1]}")
    if "standardize" in net.metadata:
        from glassnet.datasets import Standardizer

        return Standardizer.from_dict(net.metadata["standardize"]).transform(data.X)
    return data.X


def parse_sizes(text: str) -> list[int]:
    """``"2,3,1"`` -> ``[2, 3, 1]``."""
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ConfigError(f"--layers must be comma-separated integers like 2,3,1; got {text!r}") from None
    if len(sizes) < 2 or min(sizes) <= 0:
        raise ConfigError(f"--layers needs at least two positive sizes (inputs and outputs), like 2,3,1; got {text!r}")
    return sizes


class ProgressCallback:
    """A rich progress bar over epochs showing the current loss (on stderr; off when not a terminal)."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.progress: Any = None

    def on_train_begin(self, net: Any, info: dict[str, Any]) -> None:
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(),
                                 console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task("train", total=info["epochs"], loss="-")

    def on_epoch_end(self, net: Any, epoch: int, logs: dict[str, float]) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=epoch, loss=f"{logs['loss']:.6f}")

    def on_train_end(self, net: Any, history: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
