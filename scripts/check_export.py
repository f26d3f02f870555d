#!/usr/bin/env python3
"""Check `pim export` both ways: pre-train and fine-tune on the bundled sample with the pim
binary, export the fine-tuned run as safetensors, load it into the PyTorch module below
(the one docs/export.md shows) with load_state_dict(strict=True), and compare its embeddings and
class predictions with `pim embed` and `pim eval` on the same windows.

    pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install safetensors numpy
    python3 scripts/check_export.py [--pim target/release/pim]

Prints the largest absolute difference of the embeddings and how many test predictions
agree, then PASS or FAIL: the embeddings must agree within 2e-6 of the largest embedding
value (float32 sums of a few thousand terms, in another order), and every prediction.
"""
import argparse
import csv
import json
import pathlib
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn


# --- the module of docs/export.md -----------------------------------------
class Encoder(nn.Module):
    """pim's encoder: z-normalisation, three unpadded Conv1d + ReLU blocks, max over time."""

    def __init__(self, channels, filters=(32, 64, 96), kernels=(24, 16, 8)):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        sizes = (channels, *filters)
        self.convs = nn.ModuleList(nn.Conv1d(sizes[i], sizes[i + 1], k) for i, k in enumerate(kernels))

    def forward(self, windows):  # [batch, channels, time] in physical units, as windows.npy
        x = (windows - self.mean[:, None]) / self.std[:, None]
        for conv in self.convs:
            x = F.relu(conv(x))
        return x.amax(dim=2)  # [batch, filters[-1]]


class Classifier(nn.Module):
    """pim's fine-tuned network: the encoder, then Linear -> ReLU -> Linear."""

    def __init__(self, channels, classes, embedding=96, hidden=1024):
        super().__init__()
        self.encoder = Encoder(channels)
        self.classifier = nn.ModuleDict({"hidden": nn.Linear(embedding, hidden), "output": nn.Linear(hidden, classes)})

    def forward(self, windows):
        return self.classifier["output"](F.relu(self.classifier["hidden"](self.encoder(windows))))
# --------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pim", default="target/release/pim")
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parents[1]
    pim = str(root / args.pim)
    config, sample = str(root / "configs/dsads.json"), str(root / "data/dsads-sample")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        run = lambda *a: subprocess.run([pim, "-q", *map(str, a)], check=True, cwd=root)
        run("pseudo-label", "--config", config, "--data-dir", sample, "--out", tmp / "labels")
        run("pretrain", "--config", config, "--labels", tmp / "labels", "--windows", tmp / "labels",
            "--epochs", 3, "--out", tmp / "pretrain")
        run("finetune", "--config", config, "--windows", tmp / "labels", "--init", tmp / "pretrain",
            "--shots", 4, "--epochs", 5, "--out", tmp / "finetune")
        run("eval", "--run", tmp / "finetune", "--windows", tmp / "labels")
        run("embed", "--run", tmp / "finetune", "--windows", tmp / "labels")
        run("export", "--run", tmp / "finetune")

        classes = len(json.loads((tmp / "finetune/config.json").read_text())["dataset"]["classes"])
        windows = torch.from_numpy(np.load(tmp / "labels/windows.npy"))
        model = Classifier(windows.shape[1], classes)
        model.load_state_dict(load_file(tmp / "finetune/model.safetensors"), strict=True)
        model.eval()
        with torch.no_grad():
            embeddings = model.encoder(windows).numpy()
            predicted = model(windows).argmax(dim=1).numpy()
        pim_embeddings = np.load(tmp / "finetune/embeddings.npy")
        difference = np.abs(embeddings - pim_embeddings).max()
        scale = np.abs(pim_embeddings).max()

        names = [c["name"] for c in json.loads((tmp / "finetune/config.json").read_text())["dataset"]["classes"]]
        index = {(r["source"], r["start"]): i for i, r in enumerate(csv.DictReader(open(tmp / "labels/windows.csv")))}
        rows = list(csv.DictReader(open(tmp / "finetune/predictions.csv")))
        agree = sum(names[predicted[index[(r["source"], r["start"])]]] == r["predicted"] for r in rows)
    tolerance = 2e-6 * max(scale, 1.0)
    passed = difference <= tolerance and agree == len(rows)
    print(f"embeddings: {pim_embeddings.shape[0]} windows x {pim_embeddings.shape[1]}; "
          f"largest absolute difference {difference:.2e} (largest value {scale:.2f}, tolerance {tolerance:.2e}); "
          f"test predictions agreeing: {agree}/{len(rows)}; torch {torch.__version__}")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
