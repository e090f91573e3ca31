"""bench/trainer_lightning_ddp.py — PyTorch Lightning's own DDP on CPU for
bench/run_ddp_bench: the LightningModule of bench/trainer_lightning.py (the
same MLP, AdamW, data split and normalisation), trained with
Trainer(strategy="ddp", devices=N, accelerator="cpu") (Lightning's
subprocess launcher re-runs this script once per extra rank; gloo does the
all-reduce), TensorBoard and CSV loggers on, validation off, N ranks of
--batch-size each for --limit-batches batches per rank, --threads per rank.

Timed on global rank 0 from the start of batch 10 (the first ones warm up)
to the end of training, by a callback: one fit, as a user runs it.
Prints one line (rank 0): "<samples/s over all ranks>" and, with --json,
writes {"lightning_version", "torch_version", "ranks", "batch", "sps"}.

usage: trainer_lightning_ddp.py --devices N [--batch-size B] [--threads T]
                                [--limit-batches K] [--data DIR] [--json PATH]
"""
import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset

import lightning as L
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trainer_lightning import MLP  # noqa: E402  (the same module)
from trainer_torch import train_split  # noqa: E402  (the same data split)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit-batches", type=int, default=200)  # > Clock.WARM
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--root", default="")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    # one directory for every rank: the launcher re-runs this script with the
    # same arguments, so rank 0 picks it and passes it on in the environment
    root = a.root or os.environ.get("LC_BENCH_LIGHTNING_ROOT") or tempfile.mkdtemp(
        prefix="lightning-ddp-")
    os.environ["LC_BENCH_LIGHTNING_ROOT"] = root

    ds = TensorDataset(*train_split(a.data))

    class Clock(L.Callback):
        WARM = 10

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == self.WARM:
                self.t0 = time.perf_counter()

        def on_train_end(self, trainer, module):
            self.t1 = time.perf_counter()

    clock = Clock()
    L.seed_everything(42, verbose=False)
    model = MLP()
    loader = DataLoader(ds, batch_size=a.batch_size, shuffle=True, num_workers=0)
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=a.devices,
                        strategy="ddp" if a.devices > 1 else "auto",
                        logger=[TensorBoardLogger(root, name="bench"),
                                CSVLogger(root, name="bench")],
                        default_root_dir=root, limit_train_batches=a.limit_batches,
                        limit_val_batches=0, num_sanity_val_steps=0,
                        enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, callbacks=[clock])
    trainer.fit(model, loader)
    rank = trainer.global_rank
    t = clock.t1 - clock.t0
    if rank != 0:
        return
    sps = a.devices * a.batch_size * (a.limit_batches - Clock.WARM) / t
    print("%.0f" % sps, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"lightning_version": L.__version__, "torch_version": torch.__version__,
                       "ranks": a.devices, "batch": a.batch_size, "sps": sps}, f)


if __name__ == "__main__":
    main()
