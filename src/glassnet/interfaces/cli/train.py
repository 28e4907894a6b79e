"""``glassnet train``: build a network, train it on built-in or CSV data, save it."""

from __future__ import annotations

import argparse
import time
from typing import Any

from glassnet.checkpoint import checkpoint_settings, saved_epoch
from glassnet.core.training import DEFAULT_EPOCHS, History
from glassnet.datasets import Standardizer, train_test_split
from glassnet.errors import ConfigError
from glassnet.interfaces.cli import controls
from glassnet.interfaces.cli.common import (
    HelpFormatter,
    ProgressCallback,
    add_architecture_arguments,
    add_data_arguments,
    add_optimizer_arguments,
    data_command,
    fresh_network,
    make_optimizer,
    notes,
    parse_sizes,
    read_data,
)
from glassnet.interfaces.cli.outputs import CHECKPOINT, FIGURE, MODEL, REPORT, attempt, check_files, keep_model_and_report
from glassnet.interfaces.cli.report import add_train_options, model_saver, recording, write_training_report
from glassnet.io import metadata_problem

EXAMPLES = """examples:
  glassnet train --data xor --layers 2,3,1 --activation sigmoid --loss mse --optimizer sgd --lr 0.5 \\
                 --epochs 5000 --out xor.npz
  glassnet train --data iris.csv --target species --layers 4,8,3 --activation tanh --loss cross_entropy \\
                 --optimizer adam --lr 0.01 --batch-size 16 --epochs 200 --out iris.npz
  glassnet train --data xor --layers 2,3,1 --epochs 100000 --checkpoint xor.ckpt --resume --out xor.npz
      (run it again after a crash or Ctrl-C: it continues where the checkpoint left off, bit for bit)
  glassnet train --data moons --layers 2,16,16,1 --activation tanh --loss bce --optimizer adam --lr 0.02 \\
                 --epochs 1000 --val-split 0.2 --standardize --plot curves.png --out run.npz --report report.html
  glassnet train --data moons --layers 2,32,32,1 --activation relu --optimizer adamw --lr 0.01 --weight-decay 0.01 \\
                 --batchnorm --dropout 0.2 --batch-size 32 --epochs 300 --warmup 5 --schedule cosine \\
                 --val-split 0.2 --early-stopping 20 --restore-best --out moons.npz
      (find a --lr first: glassnet lr-find --data moons --layers 2,32,32,1 --activation relu --optimizer adamw)
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("train", help="train a network and save it", epilog=EXAMPLES,
                              formatter_class=HelpFormatter)
    add_data_arguments(p)
    add_architecture_arguments(p, "layer sizes from inputs to outputs, e.g. 2,3,1")
    add_optimizer_arguments(p, lr="learning rate", momentum="momentum")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="passes over the data (the same default as Network.fit)")
    p.add_argument("--batch-size", type=int, default=None, help="rows per step (default: all rows)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for initialisation and shuffling (default: 0; when resuming, the checkpoint's)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty (alpha/2)*sum(W**2) on the weights")
    controls.add_optimizer_controls(p)
    controls.add_layer_arguments(p)
    p.add_argument("--init", default="glorot", help="glorot, he, zeros or normal")
    p.add_argument("--dtype", default="float64", help="float64 or float32")
    p.add_argument("--print-every", type=int, default=None, help="print the loss every N epochs (default: epochs/10)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--val-split", type=float, default=None,
                   help="hold out this fraction of the rows (stratified for classes, seeded) as validation data")
    controls.add_schedule_arguments(p)
    controls.add_early_stopping_arguments(p)
    p.add_argument("--standardize", action="store_true",
                   help="standardise the features with the training rows' mean and std (kept in the model file and "
                        "applied again by predict and plot)")
    p.add_argument("--plot", default=None, help="save the loss/accuracy curves to this image file (needs matplotlib)")
    p.add_argument("--out", default=None, help="where to save the trained model (.npz)")
    add_train_options(p)
    p.add_argument("--checkpoint", default=None,
                   help="save the training state to this file every --checkpoint-every epochs, at the end and on Ctrl-C")
    p.add_argument("--checkpoint-every", type=int, default=None,
                   help="epochs between checkpoints (default: about 100 checkpoints per run)")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if the file exists, else start fresh: after a crash, run the "
                        "same command again")
    p.set_defaults(func=run)


def history_metadata(history: History, max_points: int = 1000) -> dict[str, Any]:
    """``history.to_dict()`` thinned to at most ``max_points`` evenly spaced epochs (always the first and
    last), with their numbers under ``"epoch"``, so a long run stays small in the model file."""
    from glassnet.viz.snapshots import thin

    data = history.to_dict()
    keep = thin(len(history.loss), max_points).tolist()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        data[key] = [data[key][i] for i in keep if i < len(data[key])]
    data["epoch"] = [i + 1 for i in keep]
    return data


def training_rows(args: argparse.Namespace, data: Any, net: Any) -> tuple[Any, Any, tuple[Any, Any] | None]:
    """The rows ``fit`` is given: ``--val-split`` (seeded by ``--seed``, stratified for classes) and ``--standardize``
    (the training rows' mean and std, kept in ``net.metadata``). ``glassnet breaks`` uses it too, so that it
    replays the very rows a ``glassnet train`` run was trained on.

    Returns
    -------
    X : array of shape (n_train, n_in)
    y : array of shape (n_train,) or (n_train, n_out)
    validation : (X_val, y_val) or None
    """
    X, y, validation = data.X, data.y, None
    if args.val_split is not None:
        X, X_val, y, y_val = train_test_split(X, y, test_size=args.val_split, seed=args.seed,
                                              stratify=data.y if data.classes is not None else None)
        validation = (X_val, y_val)
    if args.standardize:
        with notes():  # e.g. a constant column
            scaler = Standardizer().fit(X, data.feature_names)  # the training rows only: nothing leaks from validation
        X = scaler.transform(X)
        validation = (scaler.transform(validation[0]), validation[1]) if validation else None
        net.metadata["standardize"] = scaler.to_dict()
    return X, y, validation


def run(args: argparse.Namespace) -> int:
    check_files(inputs={"--data": args.data},  # before an hour of training, not after it
                outputs={"--out": (args.out, MODEL), "--plot": (args.plot, FIGURE), "--report": (args.report, REPORT),
                         "--checkpoint": (args.checkpoint, CHECKPOINT)})
    data = read_data(args)
    sizes = parse_sizes(args.layers)
    if sizes[0] != data.X.shape[1]:
        raise ConfigError(
            f"--layers starts with {sizes[0]} inputs but {data.name or args.data} has {data.X.shape[1]} feature "
            f"column(s); use --layers {data.X.shape[1]},{','.join(map(str, sizes[1:]))}"
        )
    if args.resume and args.checkpoint and saved_epoch(args.checkpoint) is not None:
        # Resuming: what was not given now is what the checkpointed run had (chosen by this command's rule, or by
        # Network.fit's defaults), so the same command line resumes the same run.
        before = checkpoint_settings(args.checkpoint)
        if args.loss is None and args.output_activation is None and before["loss"] is not None:
            args.loss, args.output_activation = before["loss"], before["output_activation"]
            print(f"output: {args.output_activation} with loss {args.loss}, as in checkpoint {args.checkpoint}")
        if args.seed is None:
            args.seed = before["seed"]  # may be None (Network.fit's default): the weights come from the checkpoint
    elif args.seed is None:
        args.seed = 0
    net, chosen = fresh_network(args, sizes, data, init=args.init, l2=args.l2, dtype=args.dtype)
    net = controls.with_layers(net, args)  # --batchnorm, --dropout
    # What the model file will say about the data, checked by the rule save applies, before training, not after.
    about_data = {"feature_names": list(data.feature_names),
                  **({"classes": list(data.classes)} if data.classes is not None else {})}
    if (problem := metadata_problem(about_data, net)) is not None:
        raise ConfigError(f"{net} cannot be saved with {data.name or args.data}'s description: {problem}. Change "
                          "--layers (or --loss) so that the network fits the data")
    if chosen:
        print(chosen)
    # Adam refuses a momentum (and an optimizer without weight decay a --weight-decay), with a clear message
    optimizer = make_optimizer(args.optimizer, args.lr, args.momentum, **controls.optimizer_options(args))
    schedule = controls.schedule(args, args.epochs)
    every = args.print_every if args.print_every is not None else max(1, args.epochs // 10)
    if every < 0:
        raise ConfigError(f"--print-every must be 0 (print nothing) or a positive number of epochs, got {every}")
    X, y, validation = training_rows(args, data, net)
    stopper = controls.early_stopping(args, validation is not None)
    print(f"training {net} on {data.name or args.data} ({X.shape[0]} samples"
          f"{f', {len(validation[0])} held out for validation' if validation else ''}) with {optimizer}"
          + (f", learning rate {schedule}" if schedule else "") + (f", {stopper}" if stopper else ""), flush=True)
    if (args.resume or args.checkpoint_every is not None) and not args.checkpoint:
        raise ConfigError("--resume and --checkpoint-every need --checkpoint FILE, e.g. --checkpoint run.ckpt --resume")
    if args.resume and (done := saved_epoch(args.checkpoint)) is not None:
        print(f"resuming from {args.checkpoint} after epoch {done} of {args.epochs}", flush=True)
    started = time.perf_counter()
    with recording(args) as recorders:
        history = net.fit(X, y, epochs=args.epochs, optimizer=optimizer, batch_size=args.batch_size,
                          validation_data=validation,
                          verbose=every,
                          # the best weights are back (stopper.on_train_end) before the recorders take their last look
                          callbacks=[*filter(None, [schedule, stopper]), ProgressCallback(not args.no_progress), *recorders],
                          checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume)
    seconds = time.perf_counter() - started
    if data.classes is not None:
        net.metadata["classes"] = list(data.classes)
    net.metadata["feature_names"] = list(data.feature_names)
    net.metadata["history"] = history_metadata(history)  # `glassnet plot MODEL --kind loss` draws it
    summary = [f"final loss {history.loss[-1]:.6f}"] if history.loss else ["no epoch completed"]
    if history.accuracy:
        summary.append(f"accuracy {history.accuracy[-1]:.3f}")
    summary.append(f"{history.epochs} epochs in {seconds:.2f} s")
    if history.stopped == "interrupted":
        summary.append("stopped early by Ctrl-C")
    if stopper is not None and stopper.stopped_epoch:
        summary.append(f"stopped early: val_loss did not improve for {stopper.patience} epochs after epoch "
                       f"{stopper.best_epoch}")
    print("done: " + ", ".join(summary))
    if stopper is not None and stopper.restore_best_weights and stopper.best_weights is not None:
        print(f"kept the weights of epoch {stopper.weights_epoch} (val_loss {stopper.best:.6f}), the best one")
    if args.checkpoint:
        again = "; run the same command with --resume to continue" if history.stopped == "interrupted" else ""
        print(f"checkpoint saved to {args.checkpoint} (epoch {history.epochs}){again}")
    # The model first, then the pictures: a write that fails after training is reported once every other write
    # has had its chance, and the trained model is kept whatever failed (outputs.keep_model_and_report).
    failed: list[str] = []
    save_model = model_saver(net, recorders)
    saved = bool(args.out) and attempt("--out", args.out, lambda: save_model(args.out), failed)
    if saved:
        print(f"model saved to {args.out}")
        if recorders:
            print(f"recorded run ({len(recorders[0].run.snapshots)} snapshots) added to {args.out}: "
                  f"`{data_command(args, 'report', args.out)}` reads it")
    elif not args.out:
        print("model not saved (add --out model.npz to keep it)")
    if args.plot and history.loss:
        from glassnet.viz.plots import plot_history, save_figure

        draw = lambda: save_figure(plot_history(history, title=f"{net} on {data.name or args.data}"), args.plot)
        if attempt("--plot", args.plot, draw, failed):
            print(f"training curves saved to {args.plot}")
    write_training_report(args, net, X, y, data.name or args.data, recorders, failed)
    keep_model_and_report(failed, args.out if saved else None, save_model)
    return 0
