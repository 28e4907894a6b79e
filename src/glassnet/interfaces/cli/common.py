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
    """The help of ``--loss``: its names, and that the default is chosen to fit the target (:func:`fitting_output`)."""
    return (f"{what}: {one_of(LOSSES.names())} (default, with no --output-activation either: the one that fits the "
            f"target, {FITS_HELP})")


def output_activation_help(what: str = "output activation") -> str:
    """The help of ``--output-activation``: its default follows the loss (a fused loss needs its activation)."""
    fused = [f"{cls.fused_activation.name} for {cls.name}" for cls in LOSSES.classes() if cls.fused_activation]
    return f"{what} (default: {', '.join(fused)}, else --activation; with no --loss either: the one that fits the target)"


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


def make_optimizer(name: str, lr: float, momentum: float, **options: Any) -> Optimizer:
    """The optimizer ``--optimizer`` names, with ``--lr`` and, when given, ``--momentum`` and ``options`` (such as
    ``weight_decay``): an optimizer whose class has no such setting refuses it, saying which settings it has."""
    return get_optimizer(name, lr, **({"momentum": momentum} if momentum else {}), **options)


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


# Notes that only matter if the command goes on to work (what a fresh network's loss was chosen for): main shows
# them when the command returns, and drops them when it fails, so that a mistake stays one line.
AFTER_SUCCESS: list[str] = []


def note_after_success(message: str) -> None:
    """Show ``message`` as a note (:func:`show_note`) once the command has run, unless it ended in an error."""
    AFTER_SUCCESS.append(message)


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
    and ``--n``/``--noise``/``--data-seed`` for a generated dataset. Read once per command: a fresh network's
    loss is chosen from the same data (:func:`load_network`) as the command then uses."""
    if getattr(args, "_dataset", None) is not None:
        return args._dataset  # type: ignore[no-any-return]
    args._dataset = _read_data(args)
    return args._dataset  # type: ignore[no-any-return]


def _read_data(args: argparse.Namespace) -> Dataset:
    name = args.data
    if name.lower().endswith(".csv") or os.path.sep in name or os.path.exists(name):
        with notes():  # what --missing drop/fill_mean did
            # A float32 run uses the raw numbers (unless --standardize rescales them in float64 first), so a value
            # float32 cannot hold is refused while reading, where its line and column are known.
            raw32 = getattr(args, "dtype", None) == "float32" and not getattr(args, "standardize", False)
            return load_csv(name, target=args.target if args.target is not None else -1,
                            missing=getattr(args, "missing", "error"), dtype="float32" if raw32 else "float64")
    given = {"n": getattr(args, "n", None), "noise": getattr(args, "noise", None),
             "classes": getattr(args, "classes", None), "seed": getattr(args, "data_seed", None)}
    return get_dataset(name, **{key: value for key, value in given.items() if value is not None})


def data_command(args: argparse.Namespace, *words: str) -> str:
    """``glassnet WORDS... --data ...`` with the data options of ``args`` as the user typed them (``--data
    iris.csv --target species``), quoted for the shell: for a hint that prints a whole command, which must work
    when typed as printed."""
    import shlex

    given = [("--data", args.data), ("--target", getattr(args, "target", None)),
             ("--missing", None if getattr(args, "missing", "error") == "error" else args.missing),
             ("--n", getattr(args, "n", None)), ("--noise", getattr(args, "noise", None)),
             ("--classes", getattr(args, "classes", None)), ("--data-seed", getattr(args, "data_seed", None))]
    options = [f"{option} {shlex.quote(str(value))}" for option, value in given if value is not None]
    return " ".join(["glassnet", *map(shlex.quote, words), *options])


def add_architecture_arguments(p: argparse.ArgumentParser, layers: str, required: bool = True) -> None:
    """``--layers`` (its help ``layers``), ``--activation``, ``--output-activation`` and ``--loss``: the network a
    training command builds (train, lr-find, breaks)."""
    p.add_argument("--layers", required=required, default=None, help=layers)
    p.add_argument("--activation", default="sigmoid", help=activation_help("hidden-layer activation"))
    p.add_argument("--output-activation", default=None, help=output_activation_help())
    p.add_argument("--loss", default=None, help=loss_help())


def add_network_arguments(p: argparse.ArgumentParser) -> None:
    """A saved model, or a fresh network described by ``--layers`` (for commands that look at one network)."""
    p.add_argument("model", nargs="?", default=None, help="a saved model (.npz); or build a fresh one with --layers")
    p.add_argument("--layers", default=None, help="sizes of a fresh network, e.g. 2,3,1 (instead of MODEL)")
    p.add_argument("--activation", default="sigmoid", help=activation_help("hidden activation of a fresh network"))
    p.add_argument("--output-activation", default=None, help=output_activation_help("output activation of a fresh network"))
    p.add_argument("--loss", default=None, help=loss_help("loss of a fresh network"))
    p.add_argument("--seed", type=int, default=0, help="seed of a fresh network's weights")


def load_network(args: argparse.Namespace) -> Network:
    """The model file, or a fresh network from ``--layers`` (see :func:`add_network_arguments`); its loss and
    output activation fit ``--data`` when neither is given (:func:`fresh_network`, the choice told as a note)."""
    if (args.model is None) == (args.layers is None):
        raise ConfigError(f"give exactly one of: a model file (glassnet {args.command} model.npz ...) or --layers 2,3,1 "
                          "for a fresh network")
    if args.model is not None:
        from glassnet.io import load

        return load(args.model)
    # A note on stderr, not a line on stdout: stdout may be JSON (gradcheck --json, explain --format json).
    net, chosen = fresh_network(args, parse_sizes(args.layers), read_data(args) if args.data else None)
    if chosen:
        note_after_success(chosen)
    return net


# The loss that fits each kind of target (Loss.targets); the output activation is its fused partner, else identity.
FITTING_LOSS = {"classes": "cross_entropy", "binary": "bce", "values": "mse"}
FITS_HELP = "cross_entropy for k classes on k outputs, bce for two classes on one output, mse for numbers"


def fitting_output(data: Dataset, sizes: list[int]) -> tuple[str, str, str]:
    """The loss and output activation that fit ``data``'s target on the last of ``sizes`` outputs.

    k classes on k outputs (two included): ``cross_entropy`` with ``softmax``; two classes on one output:
    ``bce`` with ``sigmoid``; numbers: ``mse`` with ``identity``.

    Returns
    -------
    loss, output_activation, why : str
        Names as ``--loss`` and ``--output-activation`` take them, and the reason in words.

    Raises
    ------
    ConfigError
        When no loss fits that number of outputs (3 classes on 1 output, one target column on 2 outputs); the
        message gives the ``--layers`` that would fit.
    """
    n_out, name = sizes[-1], data.name or "the data"
    if data.classes is not None:
        k = len(data.classes)
        kind = "binary" if k == 2 and n_out == 1 else "classes"
        fits = [k, 1] if k == 2 else [k]
        shown = ", ".join(map(str, data.classes[:5])) + (", ..." if k > 5 else "")
        why = f"{k} classes ({shown}) on {n_out} output(s)"
    else:
        kind = "values"
        fits = [1 if data.y.ndim == 1 else data.y.shape[1]]
        why = f"numbers in {data.target_name!r}, {fits[0]} column(s) on {n_out} output(s)"
    if n_out not in fits:
        layers = " or ".join("--layers " + ",".join(map(str, [*sizes[:-1], n])) for n in fits)
        what = f"{k} classes" if data.classes is not None else f"{fits[0]} target column(s) of numbers"
        raise ConfigError(f"{name} has {what} in {data.target_name!r} but the last layer has {n_out} output(s); "
                          f"use {layers}, or choose --loss yourself")
    loss = FITTING_LOSS[kind]
    fused = LOSSES.lookup(loss).fused_activation
    return loss, fused.name if fused else "identity", why


def fresh_network(args: argparse.Namespace, sizes: list[int], data: Dataset | None,
                  **kwargs: Any) -> tuple[Network, str | None]:
    """``Network.from_sizes(sizes, ...)`` with ``--activation``, ``--output-activation``, ``--loss``, ``--seed``
    and ``kwargs``. What the user left out is chosen to fit ``data`` (:func:`fitting_output`); an explicit
    choice is never overridden, but one that does not fit ``data`` is refused here, before training, with the
    options that would fit.

    Returns
    -------
    net : Network
    chosen : str or None
        One line saying what was chosen and why; None when nothing was.
    """
    loss, output, chosen = args.loss, args.output_activation, None
    fit: tuple[str, str, str] | None = None
    misfit = ""
    if data is not None:
        try:
            fit = fitting_output(data, sizes)
        except ConfigError as exc:
            if loss is None and output is None:  # nothing given and nothing fits: say how to make it fit
                raise
            misfit = str(exc)
    if loss is None:
        if fit is None:  # no data (glassnet draw --layers ...) or nothing fits: mse, which takes any output activation
            loss = "mse"
        else:
            fit_loss, fit_output, why = fit
            # Only the output activation given: its fused loss when that is the fitting one, else mse, which takes any.
            if output is None:
                loss, output = fit_loss, fit_output
                chosen = (f"output: {output} with loss {loss}, chosen for {why} "
                          "(give --loss or --output-activation to choose otherwise)")
            else:
                loss = fit_loss if output == fit_output else "mse"
                chosen = f"loss: {loss}, chosen for --output-activation {output} and {why} (give --loss to choose otherwise)"
    net = Network.from_sizes(sizes, activation=args.activation, output_activation=output, loss=loss, seed=args.seed,
                             **kwargs)
    if data is not None:
        from glassnet.core.checks import check_targets
        from glassnet.errors import DataError, GlassnetTypeError, ShapeError

        try:  # the check fit would make, before training, with the fitting options added to the message
            check_targets(data.y, net.loss_fn, net.n_out, len(data.y), net.dtype)
        except (ShapeError, DataError, GlassnetTypeError) as exc:
            hint = (f"for {data.name or args.data}, --loss {fit[0]} --output-activation {fit[1]} would fit ({fit[2]})"
                    if fit else misfit)
            raise type(exc)(f"{exc}. On the command line: {hint}; or give neither to let glassnet choose") from None
    return net, chosen


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

    def on_train_abort(self, net: Any, error: BaseException) -> None:
        self.on_train_end(net, None)  # the bar goes, the error is shown

    def on_train_end(self, net: Any, history: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
