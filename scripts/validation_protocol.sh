#!/usr/bin/env bash
# Does scoring the validation subjects less often during fine-tuning, or stopping early,
# move the test scores? Fine-tunes the same cells (method x seed x shots) under three
# protocols and prints the paired differences in test macro-F1 against scoring every epoch.
#
#   scripts/validation_protocol.sh WINDOWS ENCODER OUT [WORKERS]
#     WINDOWS  the --out folder of `pim pseudo-label --config configs/dsads.json`
#     ENCODER  a pre-trained encoder.bpk of that config (the "pim" rows)
#     OUT      a new folder for the runs and summary.csv
set -euo pipefail
cd "$(dirname "$0")/.."
windows=$1 encoder=$2 out=$3 workers=${4:-2}
# PIM_BIN: a pim binary to use (default: build this checkout's).
pim=${PIM_BIN:-target/release/pim}
[ -n "${PIM_BIN:-}" ] || cargo build --release -q
mkdir -p "$out"
# protocol name, validate_every, patience
protocols="every-epoch:1:null every-5:5:null every-5-patience-30:5:30"
for protocol in $protocols; do
  IFS=: read -r name every patience <<<"$protocol"
  python3 - configs/dsads.json "$out/$name.json" "$every" "$patience" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["finetune"]["validate_every"] = int(sys.argv[3])
config["finetune"]["patience"] = None if sys.argv[4] == "null" else int(sys.argv[4])
json.dump(config, open(sys.argv[2], "w"), indent=2)
PY
done
cells=()
for protocol in $protocols; do
  name=${protocol%%:*}
  for method in scratch pim; do
    for seed in 0 1 2 3 4; do
      for shots in 2 8; do
        cells+=("$name $method $seed $shots")
      done
    done
  done
done
run_cell() {
  read -r name method seed shots <<<"$1"
  dir="$out/$name/$method-seed$seed-shots$shots"
  [ -f "$dir/results.json" ] && return
  init=()
  [ "$method" = pim ] && init=(--init "$encoder")
  RAYON_NUM_THREADS=1 $pim -q finetune --config "$out/$name.json" --windows "$windows" "${init[@]}" \
    --shots "$shots" --seed "$seed" --out "$dir"
  RAYON_NUM_THREADS=1 $pim -q eval --run "$dir" --windows "$windows"
}
export -f run_cell
export out windows encoder pim
printf '%s\n' "${cells[@]}" | xargs -P "$workers" -I{} bash -c 'run_cell "$@"' _ {}
python3 - "$out" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
rows = []
for results in sorted(out.glob("*/*/results.json")):
    protocol, cell = results.parent.parent.name, results.parent.name
    method, seed, shots = cell.split("-")
    run = json.load(open(results.parent / "run.json"))
    metrics = (results.parent / "metrics.csv").read_text().splitlines()
    rows.append(dict(protocol=protocol, method=method, seed=seed[4:], shots=shots[5:],
                     macro_f1=json.load(open(results))["macro_f1"], best_epoch=run["best_epoch"],
                     epochs_run=len(metrics) - 1))
with open(out / "summary.csv", "w") as f:
    f.write("protocol,method,seed,shots,macro_f1,best_epoch,epochs_run\n")
    for r in rows:
        f.write(",".join(str(r[k]) for k in ("protocol", "method", "seed", "shots", "macro_f1", "best_epoch", "epochs_run")) + "\n")
base = {(r["method"], r["seed"], r["shots"]): r for r in rows if r["protocol"] == "every-epoch"}
print(f"{'protocol':<22} {'cells':>5} {'mean test macro-F1':>19} {'paired diff':>12} {'mean |diff|':>11} {'epochs run':>10}")
for protocol in sorted({r["protocol"] for r in rows}):
    mine = [r for r in rows if r["protocol"] == protocol and (r["method"], r["seed"], r["shots"]) in base]
    diffs = [r["macro_f1"] - base[(r["method"], r["seed"], r["shots"])]["macro_f1"] for r in mine]
    print(f"{protocol:<22} {len(mine):>5} {statistics.mean(r['macro_f1'] for r in mine):>19.4f} "
          f"{statistics.mean(diffs):>+12.4f} {statistics.mean(abs(d) for d in diffs):>11.4f} "
          f"{statistics.mean(r['epochs_run'] for r in mine):>10.1f}")
PY
