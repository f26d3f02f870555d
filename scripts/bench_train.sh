#!/usr/bin/env bash
# Training and inference throughput of the PIM network: Burn (flex CPU backend) against
# PyTorch on the CPU, same architecture, batch, step count and thread count, measured in
# one run, interleaved (burn, torch, burn, torch, ...), median of the rounds.
#
#   scripts/bench_train.sh [rounds]      (needs: pip install torch; default 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=$(nproc)
python3 -c "import torch" 2>/dev/null || { echo "PyTorch is missing: pip install torch" >&2; exit 1; }
cargo bench --bench train --no-run >/dev/null 2>&1
results=$(mktemp)
for i in $(seq "$rounds"); do
  RAYON_NUM_THREADS=$threads cargo bench --bench train -q 2>/dev/null | grep '^{' >> "$results"
  python3 scripts/bench_torch.py --threads "$threads" >> "$results"
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["framework"], []).append(r)
med = {f: {k: statistics.median(r[k] for r in rs) for k in ("train_windows_per_s", "inference_windows_per_s")} for f, rs in by.items()}
torch = next(f for f in med if f.startswith("pytorch"))
print(f"{'framework':<22} {'train windows/s':>16} {'ratio':>7} {'inference windows/s':>20} {'ratio':>7}   ({rows[0]['threads']} threads, {len(rows)//len(by)} rounds)")
for f, m in med.items():
    print(f"{f:<22} {m['train_windows_per_s']:>16.0f} {m['train_windows_per_s']/med[torch]['train_windows_per_s']:>6.2f}x {m['inference_windows_per_s']:>20.0f} {m['inference_windows_per_s']/med[torch]['inference_windows_per_s']:>6.2f}x")
PY
rm -f "$results"
