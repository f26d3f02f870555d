#!/usr/bin/env python3
"""One pre-training step of pim against PyTorch on identical weights and batch: runs
`cargo run --release --example one_step` (pim's seeded initial weights, the first 64
training windows of the bundled sample with their pseudo-label bins, pim's gradients and
its weights after one Adam step, dropout off), repeats the step in PyTorch, and prints, per
parameter, the largest absolute difference of the gradients and of the updated weights.

    pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install safetensors
    scripts/compare_step.py
"""
import pathlib
import subprocess
import tempfile

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

BINS = 11


class Head(nn.Module):
    def __init__(self, columns, embedding=96, hidden=256):
        super().__init__()
        self.hidden, self.output, self.columns = nn.Linear(embedding, hidden), nn.Linear(hidden, columns * BINS), columns

    def forward(self, e):
        return self.output(F.relu(self.hidden(e))).view(e.shape[0], self.columns, BINS)


class Pretrain(nn.Module):
    def __init__(self, channels, columns, filters=(32, 64, 96), kernels=(24, 16, 8)):
        super().__init__()
        sizes = (channels, *filters)
        self.encoder = nn.Module()
        self.encoder.convs = nn.ModuleList(nn.Conv1d(sizes[i], sizes[i + 1], k) for i, k in enumerate(kernels))
        self.heads = nn.ModuleList(Head(c) for c in columns)

    def features(self, x):
        for conv in self.encoder.convs:
            x = F.relu(conv(x))
        return x

    def forward(self, x):
        e = self.features(x).amax(dim=2)
        return [h(e) for h in self.heads]


def main():
    root = pathlib.Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        # PIM_CONV=burn in the environment runs Burn's own convolutions instead of pim's.
        subprocess.run(["cargo", "run", "-q", "--release", "--example", "one_step", "--", tmp], check=True, cwd=root)
        tmp = pathlib.Path(tmp)
        batch, initial = load_file(tmp / "batch.safetensors"), load_file(tmp / "initial.safetensors")
        pim_grads, pim_updated = load_file(tmp / "gradients.safetensors"), load_file(tmp / "updated.safetensors")
        pim_loss = float(safe_open(tmp / "gradients.safetensors", "pt").metadata()["loss"])
    tasks = [k.split(".", 1)[1] for k in batch if k.startswith("targets.")]
    order = [t for t in ("speed", "angle", "symmetry") if t in tasks]
    model = Pretrain(batch["windows"].shape[1], [batch[f"targets.{t}"].shape[1] for t in order]).double()
    model.load_state_dict({k: v.double() for k, v in initial.items()}, strict=True)
    with torch.no_grad():
        features = model.features(batch["windows"].double())
    outputs = model(batch["windows"].double())
    loss = sum(F.cross_entropy(o.reshape(-1, BINS), batch[f"targets.{t}"].long().reshape(-1)) for o, t in zip(outputs, order))
    loss.backward()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    optimizer.step()
    print(f"loss: pim {pim_loss:.7f}, PyTorch (float64) {loss.item():.7f}")
    print(f"{'parameter':<26} {'|gradient| max':>14} {'gradient diff':>14} {'relative':>9} {'updated diff':>13}")
    worst = 0.0
    for name, p in model.named_parameters():
        g, pg = grads[name], pim_grads[name].double()
        diff = (g - pg).abs().max().item()
        relative = diff / max(g.abs().max().item(), 1e-30)
        worst = max(worst, relative)
        updated = (p.detach() - pim_updated[name].double()).abs().max().item()
        print(f"{name:<26} {g.abs().max().item():>14.3e} {diff:>14.3e} {relative:>9.1e} {updated:>13.3e}")
    print(f"largest relative gradient difference: {worst:.1e}")
    ours = batch["argmax"].long()
    theirs = features.argmax(dim=2)
    flips = (ours != theirs).nonzero().tolist()
    print(f"max over time: {len(flips)} of {ours.numel()} (window, filter) pairs fall at another time step")
    for w, f in flips:
        a, b = features[w, f, ours[w, f]].item(), features[w, f, theirs[w, f]].item()
        print(f"  window {w}, filter {f}: pim's step {ours[w, f].item()} ({a:.9f}) against {theirs[w, f].item()} ({b:.9f}): "
              f"a near tie, {abs(a - b):.1e} apart")


if __name__ == "__main__":
    main()
