"""bench/trainer_lightning.py — the PyTorch Lightning twin of bench_trainer's
model, for bench/run_trainer_bench and bench/run_table: the LightningModule a
user would write for the same MLP (784-512-256-10, ReLU, dropout 0.2), AdamW
(PyTorch defaults), batch 128, the same Fashion-MNIST train split (the first
55000 samples, normalised with the split's mean/std; a shuffled DataLoader,
no worker processes) and thread count. Lightning's defaults stay on where
lightc's trainer has them too: TensorBoard and CSV loggers (the defaults of
`lightc train` minus the console), checkpointing at epoch ends, logging
every 50 steps; the progress bar, model summary and sanity check are off as
in bench_trainer. Validation is off (bench_trainer runs none either).

Timed: trainer.fit(), after one warm-up fit of 30 batches. samples/s is
the median over --reps runs.

usage: trainer_lightning.py [--threads N] [--epochs E] [--reps R]
                            [--limit-batches N] [--data DIR] [--json PATH]
"""
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lightning as L
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trainer_torch import peer_args, train_split  # noqa: E402  (same options, same split)


class MLP(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                                 nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2),
                                 nn.Linear(256, 10))
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        loss = self.loss_fn(logits, y)
        # what bench_trainer's module logs every step
        self.log("train/loss", loss)
        self.log("train/acc", (logits.argmax(1) == y).float().mean())
        return loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters())


def main():
    a = peer_args()
    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")  # "does not have many workers", ...
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    ds = TensorDataset(*train_split(a.data))

    def run(root, epochs, limit):
        L.seed_everything(42, verbose=False)
        model = MLP()
        loader = DataLoader(ds, batch_size=128, shuffle=True, num_workers=0)
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1,
                            logger=[TensorBoardLogger(root, name="bench"),
                                    CSVLogger(root, name="bench")],
                            default_root_dir=root, limit_train_batches=limit or 1.0,
                            limit_val_batches=0, num_sanity_val_steps=0,
                            enable_progress_bar=False, enable_model_summary=False)
        t0 = time.perf_counter()
        trainer.fit(model, loader)
        t = time.perf_counter() - t0
        batches = min(len(loader), limit) if limit else len(loader)
        samples = epochs * min(batches * 128, len(ds))
        return t, samples

    with tempfile.TemporaryDirectory(prefix="lightning-bench-") as root:
        run(os.path.join(root, "warmup"), 1, 30)
        times = []
        for r in range(a.reps):
            t, samples = run(os.path.join(root, "rep%d" % r), a.epochs, a.limit_batches)
            times.append(t)
            print(f"rep {r}: lightning {t:.3f} s", flush=True)
    sps = samples / statistics.median(times)
    print(f"PyTorch Lightning {L.__version__} (torch {torch.__version__}) CPU, "
          f"{a.threads} thread(s): {sps:.0f} samples/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"lightning_version": L.__version__, "torch_version": torch.__version__,
                       "threads": a.threads, "lightning_sps": sps}, f)


if __name__ == "__main__":
    main()
