#!/usr/bin/env bash
# Training and inference throughput of the PIM network: Burn (flex CPU backend, pim's
# kernels) against PyTorch on the CPU, same architecture, batch, step count and thread
# count, measured in one run, interleaved (burn, torch, burn, torch, ...), median of the
# rounds, at 1 thread and at every core. Also prints the baselines' training windows/s.
#
#   scripts/bench_train.sh [rounds]      (needs a CPU-only PyTorch: pip install torch --index-url https://download.pytorch.org/whl/cpu; default 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
python3 -c "import torch" 2>/dev/null || { echo "PyTorch is missing: pip install torch --index-url https://download.pytorch.org/whl/cpu" >&2; exit 1; }
cargo bench --bench train --no-run >/dev/null 2>&1
results=$(mktemp)
for threads in 1 "$(nproc)"; do
  for _ in $(seq "$rounds"); do
    RAYON_NUM_THREADS=$threads cargo bench --bench train -q 2>/dev/null | grep '^{' >> "$results"
    python3 scripts/bench_torch.py --threads "$threads" >> "$results"
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for threads in sorted({r["threads"] for r in rows}):
    by = {}
    for r in rows:
        if r["threads"] == threads:
            by.setdefault(r["framework"], []).append(r)
    med = {f: {k: statistics.median(r[k] for r in rs) for k in rs[0] if k.endswith("_per_s")} for f, rs in by.items()}
    torch = next(f for f in med if f.startswith("pytorch"))
    burn = next(f for f in med if f.startswith("burn"))
    print(f"\n{threads} thread(s), median of {len(by[torch])} interleaved rounds")
    print(f"{'framework':<24} {'PIM train windows/s':>20} {'ratio':>7} {'inference windows/s':>20} {'ratio':>7}")
    for f in (burn, torch):
        m = med[f]
        print(f"{f:<24} {m['train_windows_per_s']:>20.0f} {m['train_windows_per_s'] / med[torch]['train_windows_per_s']:>6.2f}x "
              f"{m['inference_windows_per_s']:>20.0f} {m['inference_windows_per_s'] / med[torch]['inference_windows_per_s']:>6.2f}x")
    print(f"{burn} baselines: masked reconstruction {med[burn]['masked_train_windows_per_s']:.0f}, "
          f"transformation discrimination {med[burn]['transform_train_windows_per_s']:.0f} training windows/s")
PY
rm -f "$results"
