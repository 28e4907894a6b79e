"""The training controls of ``glassnet train`` (and ``glassnet lr-find``): layers between the Dense ones, optimizer
settings, a learning-rate schedule, early stopping. Each option becomes one glassnet object, named in the help.

* ``--dropout P`` adds ``Dropout(P)`` after each hidden layer, ``--batchnorm`` a ``BatchNorm1d`` after each hidden
  Dense layer (before the dropout, when both are given);
* ``--weight-decay`` and ``--max-grad-norm`` are the optimizer's ``weight_decay=`` and ``max_grad_norm=``;
* ``--schedule step|exponential|cosine`` (with ``--step-size``, ``--gamma``, ``--eta-min``) and ``--warmup N``
  build the schedules of ``core/schedules.py``, stepped once per epoch;
* ``--early-stopping PATIENCE`` (with ``--restore-best``) is ``EarlyStopping("val_loss", patience=PATIENCE)``,
  which needs the validation rows of ``--val-split``.

Next read: ``train.py``.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.callbacks import EarlyStopping
from glassnet.core.dropout import Dropout
from glassnet.core.network import Network
from glassnet.core.schedules import CosineAnnealingLR, ExponentialLR, LinearWarmup, Schedule, SequentialLR, StepLR
from glassnet.errors import ConfigError

SCHEDULE_CHOICES = ("step", "exponential", "cosine")
SETTINGS = {"step": ("--step-size", "--gamma"), "exponential": ("--gamma",), "cosine": ("--eta-min",)}  # by schedule


def add_layer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dropout", type=float, default=None, metavar="P",
                   help="add Dropout(P) after each hidden layer: each hidden output is dropped with probability P "
                        "while training (0 <= P < 1)")
    p.add_argument("--batchnorm", action="store_true", help="add a BatchNorm1d after each hidden Dense layer")


def add_optimizer_controls(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weight-decay", type=float, default=None,
                   help="the optimizer's weight_decay (torch's: on every parameter; decoupled for adamw), e.g. 1e-4; "
                        "default: the optimizer's own (0, or 0.01 for adamw). --l2 is the loss's penalty on weights")
    p.add_argument("--max-grad-norm", type=float, default=None,
                   help="clip the gradients by their global norm to at most this, before each update (as "
                        "torch.nn.utils.clip_grad_norm_)")


def add_schedule_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedule", default=None, choices=SCHEDULE_CHOICES,
                   help="change --lr after each epoch: step (times --gamma every --step-size epochs), exponential "
                        "(times --gamma every epoch) or cosine (down to --eta-min over the epochs after the warm-up); "
                        "the rate of each epoch is kept in the model's history")
    p.add_argument("--step-size", type=int, default=None, metavar="N", help="epochs between two decays of --schedule step")
    p.add_argument("--gamma", type=float, default=None,
                   help="the factor of --schedule step (default 0.1) or exponential (no default; e.g. 0.95)")
    p.add_argument("--eta-min", type=float, default=None, help="the lowest rate of --schedule cosine (default 0)")
    p.add_argument("--warmup", type=int, default=None, metavar="N",
                   help="raise the rate linearly over the first N epochs (epoch e uses lr * e / (N + 1)), then "
                        "follow --schedule (or stay at --lr)")


def add_early_stopping_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help="stop when the validation loss has not improved for PATIENCE epochs (Keras' rule; needs "
                        "--val-split)")
    p.add_argument("--restore-best", action="store_true",
                   help="with --early-stopping: keep the weights of the epoch with the best validation loss")


def optimizer_options(args: argparse.Namespace) -> dict[str, Any]:
    """``weight_decay`` and ``max_grad_norm`` for the optimizer, when given (the optimizer checks their values)."""
    options = {}
    if getattr(args, "weight_decay", None) is not None:
        options["weight_decay"] = args.weight_decay
    if getattr(args, "max_grad_norm", None) is not None:
        options["max_grad_norm"] = args.max_grad_norm
    return options


def with_layers(net: Network, args: argparse.Namespace) -> Network:
    """``net`` with ``--batchnorm`` and ``--dropout`` layers after each hidden layer (``net`` itself when neither)."""
    if args.dropout is None and not args.batchnorm:
        return net
    layers: list[Any] = []
    for i, layer in enumerate(net.layers):
        layers.append(layer)
        if i < len(net.layers) - 1:
            if args.batchnorm:
                layers.append(BatchNorm1d())
            if args.dropout is not None:
                layers.append(Dropout(args.dropout))  # Dropout checks p, naming the rule
    # Built again, from the same seed: the layers between draw nothing, so each Dense gets the weights it would get
    return Network(layers, loss=net.loss_fn, l2=net.l2, seed=net.seed, dtype=net.dtype.name)


def schedule(args: argparse.Namespace, epochs: int) -> Schedule | None:
    """The schedule ``--schedule`` and ``--warmup`` ask for (None for a constant rate); settings checked here."""
    name, warmup = args.schedule, args.warmup
    given = [option for option, value in (("--step-size", args.step_size), ("--gamma", args.gamma),
                                          ("--eta-min", args.eta_min)) if value is not None]
    stray = [option for option in given if option not in SETTINGS.get(name, ())]
    if stray:
        belongs = " or ".join(s for s, uses in SETTINGS.items() if stray[0] in uses)
        raise ConfigError(f"{stray[0]} is a setting of --schedule {belongs}, and "
                          + ("no --schedule was given" if name is None else f"--schedule {name} does not use it")
                          + f"; add --schedule {belongs.split()[0]}, or leave {stray[0]} out")
    if warmup is not None and (warmup < 1 or warmup >= epochs):
        raise ConfigError(f"--warmup must be a number of epochs from 1 to --epochs - 1 ({epochs - 1}), got {warmup}")
    main: Schedule | None = None
    if name == "step":
        if args.step_size is None:
            raise ConfigError("--schedule step needs --step-size N (epochs between two decays), e.g. --step-size 30")
        main = StepLR(args.step_size, 0.1 if args.gamma is None else _finite(args.gamma, "--gamma"))
    elif name == "exponential":
        if args.gamma is None:
            raise ConfigError("--schedule exponential needs --gamma (the factor per epoch), e.g. --gamma 0.95")
        main = ExponentialLR(_finite(args.gamma, "--gamma"))
    elif name == "cosine":
        eta_min = 0.0 if args.eta_min is None else _finite(args.eta_min, "--eta-min")
        main = CosineAnnealingLR(epochs - (warmup or 0), eta_min=eta_min)
    if warmup is None:
        return main
    ramp = LinearWarmup(1.0 / (warmup + 1), total_iters=warmup)  # epoch e (from 1) of the warm-up: lr * e / (N + 1)
    return ramp if main is None else SequentialLR([ramp, main], milestones=[warmup])


def _finite(value: float, option: str) -> float:
    if not math.isfinite(value):
        raise ConfigError(f"{option} must be a finite number, got {value}")
    return value


def early_stopping(args: argparse.Namespace, has_validation: bool) -> EarlyStopping | None:
    """``EarlyStopping("val_loss", patience)`` for ``--early-stopping``; None without it."""
    if args.early_stopping is None:
        if args.restore_best:
            raise ConfigError("--restore-best goes with --early-stopping PATIENCE, e.g. --early-stopping 10 --restore-best")
        return None
    if not has_validation:
        raise ConfigError("--early-stopping watches the validation loss: hold out rows for it with --val-split, e.g. "
                          f"--val-split 0.2 --early-stopping {args.early_stopping}")
    return EarlyStopping("val_loss", patience=args.early_stopping, restore_best_weights=args.restore_best)
