#!/usr/bin/env python3
"""PyTorch twin of benches/train.rs: the same PIM network (Conv1d 45->32 k24, 32->64 k16,
64->96 k8, ReLU, dropout 0.1, max over time; heads Linear 96->256->n*11 for 5, 15 and 2
columns), the same batch (64 x 45 x 125), Adam(lr 1e-3, eps 1e-8), the same step count
and thread count; inference is the encoder and the classifier (Linear 96->1024->19) on
batches of 256, to the predicted class. Prints one JSON line. Run by scripts/bench_train.sh;
needs torch from PyPI.
"""
import argparse
import json
import time

import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=20)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

BATCH, CHANNELS, TIME, BINS, ROUNDS = 64, 45, 125, 11, 3
COLUMNS = [5, 15, 2]
INFERENCE_BATCH, CLASSES = 256, 19


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers, c_in = [], CHANNELS
        for c_out, k in [(32, 24), (64, 16), (96, 8)]:
            layers += [nn.Conv1d(c_in, c_out, k), nn.ReLU(), nn.Dropout(0.1)]
            c_in = c_out
        self.encoder = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(96, 256), nn.ReLU(), nn.Linear(256, n * BINS)) for n in COLUMNS)

    def forward(self, x):
        e = self.encoder(x).amax(dim=2)
        return [h(e).view(x.shape[0], n, BINS) for h, n in zip(self.heads, COLUMNS)]


model = Net()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
x = torch.randn(BATCH, CHANNELS, TIME)
targets = [torch.tensor([(i * 7) % 11 for i in range(BATCH * n)]).view(BATCH, n) for n in COLUMNS]
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    outs = model(x)
    loss = sum(loss_fn(o.reshape(-1, BINS), t.reshape(-1)) for o, t in zip(outs, targets))
    loss.item()
    loss.backward()
    opt.step()


model.train()
for _ in range(3):
    step()
train = []
for _ in range(ROUNDS):
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    train.append(args.steps * BATCH / (time.perf_counter() - t))

# Inference: the encoder and the activity classifier (Linear 96->1024->19), batch 256.
model.eval()
classifier = nn.Sequential(nn.Linear(96, 1024), nn.ReLU(), nn.Linear(1024, CLASSES)).eval()
windows = torch.randn(INFERENCE_BATCH, CHANNELS, TIME)
infer = []
with torch.inference_mode():
    classifier(model.encoder(windows).amax(dim=2)).argmax(dim=1)
    for _ in range(ROUNDS):
        t = time.perf_counter()
        for _ in range(args.steps // 2):
            classifier(model.encoder(windows).amax(dim=2)).argmax(dim=1)
        infer.append(args.steps // 2 * INFERENCE_BATCH / (time.perf_counter() - t))

print(json.dumps({
    "framework": f"pytorch-{torch.__version__}",
    "threads": args.threads,
    "train_windows_per_s": round(sorted(train)[1], 1),
    "inference_windows_per_s": round(sorted(infer)[1], 1),
}))
