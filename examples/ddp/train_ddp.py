"""A glassnet model trained further with PyTorch's DistributedDataParallel on CPU, then brought back to glassnet.

When one process is no longer enough, the usual next step is PyTorch's ``DistributedDataParallel`` (DDP): every
process holds a copy of the model, computes the gradients on its own share of each batch, and DDP averages the
gradients across the processes before each optimizer step, so all copies take the same step. This script:

1. trains a 2-16-1 tanh network on moons in glassnet for a few epochs (a head start);
2. exports it with ``glassnet.torch.to_torch`` (ending in ``nn.Linear``: logits for ``BCEWithLogitsLoss``);
3. trains it on two local processes (``torch.multiprocessing.spawn``, the gloo backend, ``127.0.0.1`` and a free
   port): every batch is split in two halves, process ``r`` computes the loss as the mean over half ``r``;
4. trains the same export on one process on the whole batches (same batches, same optimizer), the reference;
5. imports the DDP result back with ``glassnet.torch.from_torch`` and checks it.

Why the two runs agree: DDP *averages* the gradients of the processes. With two equal halves and each loss the
mean over its half, ``(grad mean(half 0) + grad mean(half 1)) / 2 = grad mean(whole batch)``: the single-process
gradient, up to the order of the sums. In float64 the parameters agree to about 1e-15 relative, tensor by tensor
(the script requires 1e-10; ``tests/examples/test_ddp.py`` checks every entry to rtol 1e-10). Two things would
break it: halves of different sizes (the average would weight the rows unequally) and a loss that sums instead
of averaging (DDP would halve it).

Run it::

    python examples/ddp/train_ddp.py                 # prints the comparison; exit status 0 when everything agrees
    python examples/ddp/train_ddp.py --out runs/ddp  # also keeps the files (start.pt, rank0.pt, rank1.pt,
                                                     # result.json, model.npz: the glassnet model after import)

Everything runs on the CPU; a machine with one core runs it too (the two processes take turns).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

import glassnet as gn
from glassnet.torch import from_torch, to_torch, torch_loss, torch_optimizer

WORLD = 2  # processes; each batch is split into WORLD equal parts


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it; it stays free for the moment the processes need)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def batch_schedule(n_rows: int, batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """The rows of every batch, in order: a fresh shuffle of the rows per epoch; every batch is full."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(epochs):
        order = rng.permutation(n_rows)
        batches += [order[i:i + batch_size].tolist() for i in range(0, n_rows - batch_size + 1, batch_size)]
    return batches


def train(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, batches: list[list[int]], lr: float,
          part: int = 0, parts: int = 1) -> list[float]:
    """Adam steps on ``model`` over ``batches``; each step's loss is the mean over part ``part`` of ``parts`` equal
    parts of the batch (``parts=1``: the whole batch). Returns the losses before each step's update."""
    loss_fn = torch_loss("bce")  # nn.BCEWithLogitsLoss(): the mean over the rows it is given
    optimizer = torch_optimizer(gn.Adam(lr), model.parameters())
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.reshape(-1, 1).astype(np.float64))
    losses = []
    for rows in batches:
        share = len(rows) // parts
        mine = torch.tensor(rows[part * share:(part + 1) * share])
        optimizer.zero_grad()
        loss = loss_fn(model(X_t[mine]), y_t[mine])
        loss.backward()  # under DDP, this also averages the gradients across the processes
        optimizer.step()
        losses.append(loss.item())
    return losses


def worker(rank: int, port: int, net: gn.Network, X: np.ndarray, y: np.ndarray, batches: list[list[int]], lr: float,
           folder: str) -> None:
    """One DDP process: its own export of ``net``, its half of every batch, its final parameters in rank<r>.pt.

    The glassnet network (NumPy arrays) is what crosses to the process: a torch module given to ``mp.spawn``
    would arrive with its parameters in memory shared by both processes, so each would step the other's too.
    """
    torch.set_num_threads(1)  # two processes on a small machine; tiny tensors gain nothing from threads
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        model = to_torch(net, include_output_activation=False)
        ddp = DistributedDataParallel(model)  # copies rank 0's parameters to every process, then averages gradients
        losses = train(ddp, X, y, batches, lr, part=rank, parts=WORLD)
        torch.save({"state_dict": model.state_dict(), "losses": losses}, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def relative_difference(a: dict, b: dict) -> float:
    """The largest max|a - b| / max|b| over the tensors of two state dicts (a near-zero entry cannot inflate it)."""
    worst = 0.0
    for key in b:
        x, ref = np.asarray(a[key], dtype=np.float64), np.asarray(b[key], dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(x - ref)) / max(float(np.max(np.abs(ref))), 1e-300)))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder for the files (default: a temporary folder, removed after)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of DDP training (default 5)")
    parser.add_argument("--batch-size", type=int, default=64, help="rows per batch, split in two (default 64)")
    parser.add_argument("--lr", type=float, default=0.02, help="Adam's learning rate (default 0.02)")
    args = parser.parse_args(argv)
    if args.batch_size % WORLD:
        parser.error(f"--batch-size must split evenly into {WORLD} halves, got {args.batch_size}")
    started = time.perf_counter()

    # 1. A head start in glassnet.
    X, y = gn.datasets.moons(n=256, noise=0.2, seed=0)
    net = gn.Network.from_sizes([2, 16, 1], "tanh", loss="bce", seed=0)
    history = net.fit(X, y, epochs=20, optimizer="adam", lr=0.02, batch_size=32)
    print(f"glassnet: {history}")

    # 2. The same batches for both runs (the export happens in each process, and once more for the reference).
    batches = batch_schedule(len(X), args.batch_size, args.epochs, seed=1)

    with tempfile.TemporaryDirectory(prefix="glassnet-ddp-") as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(to_torch(net, include_output_activation=False).state_dict(), folder / "start.pt")

        # 3. Two processes, each on its half of every batch.
        port = free_port()
        mp.spawn(worker, args=(port, net, X, y, batches, args.lr, str(folder)), nprocs=WORLD, join=True)
        ranks = [torch.load(folder / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]

        # 4. The reference: one process, whole batches, from the same export.
        torch.set_num_threads(1)
        single = to_torch(net, include_output_activation=False)
        single_losses = train(single, X, y, batches, args.lr)

        # 5. Back to glassnet.
        ddp_model = to_torch(net, include_output_activation=False)
        ddp_model.load_state_dict(ranks[0]["state_dict"])
        back = from_torch(ddp_model, loss="bce")
        with torch.no_grad():
            torch_outputs = torch.sigmoid(ddp_model(torch.from_numpy(X))).numpy()
        back.save(folder / "model.npz")

        mean_of_halves = np.mean([r["losses"] for r in ranks], axis=0)
        result = {
            "steps": len(batches), "batch_size": args.batch_size, "processes": WORLD, "lr": args.lr,
            "batches": batches,
            "losses_single": single_losses, "losses_rank0": ranks[0]["losses"], "losses_rank1": ranks[1]["losses"],
            # the whole batch's mean is the mean of the two halves' means (equal halves)
            "loss_difference": float(np.max(np.abs(mean_of_halves / np.array(single_losses) - 1))),
            "ddp_vs_single": relative_difference(ranks[0]["state_dict"], single.state_dict()),
            "rank1_vs_rank0": relative_difference(ranks[1]["state_dict"], ranks[0]["state_dict"]),
            "glassnet_vs_torch_outputs": float(np.max(np.abs(back.forward(X) - torch_outputs))),
            "accuracy_before": float(np.mean(net.predict(X) == y)), "accuracy_after": float(np.mean(back.predict(X) == y)),
            "seconds": time.perf_counter() - started,
        }
        (folder / "result.json").write_text(json.dumps(result, indent=1) + "\n")

    print(f"DDP on {WORLD} processes (gloo, CPU), {result['steps']} Adam steps of {args.batch_size} rows "
          f"({args.batch_size // WORLD} per process):")
    print(f"  losses, mean of the two halves vs one process on the whole batch: largest relative difference "
          f"{result['loss_difference']:.2e}")
    print(f"  parameters, DDP vs one process: largest relative difference {result['ddp_vs_single']:.2e}")
    print(f"  parameters, process 1 vs process 0: {result['rank1_vs_rank0']:.2e}")
    print(f"  back in glassnet: outputs differ from torch's by {result['glassnet_vs_torch_outputs']:.2e}; "
          f"accuracy {result['accuracy_before']:.3f} before, {result['accuracy_after']:.3f} after")
    if args.out:
        print(f"files in {args.out}: start.pt, rank0.pt, rank1.pt, result.json, model.npz")
    agree = (result["ddp_vs_single"] <= 1e-10 and result["loss_difference"] <= 1e-10
             and result["rank1_vs_rank0"] == 0.0 and result["glassnet_vs_torch_outputs"] <= 1e-12)
    print(f"{'agree' if agree else 'DISAGREE'} (in {result['seconds']:.1f} s)")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
