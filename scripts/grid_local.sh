#!/usr/bin/env bash
# Run a pim grid on one machine with WORKERS processes of one thread each. Each worker
# takes the next unit nobody has claimed (a claim is a folder made atomically under
# OUT/.claims), so long and short units spread evenly over the workers. One process per
# unit, as a Slurm array would. Small fine-tuning batches use one core poorly, so separate
# processes keep every core busy. Rerunning resumes: finished cells are skipped, a cut
# pre-training resumes.
#
#   scripts/grid_local.sh WORKERS GRID DATA_DIR OUT
#   e.g. scripts/grid_local.sh 2 configs/grid-dsads-loso.json target/dsads target/grid-dsads-loso
#
# Uses target/release/pim (or $PIM); logs go to OUT/logs/worker-<w>.log. Run one instance
# per OUT at a time.
set -euo pipefail
if [ $# -ne 4 ]; then
    echo "usage: $0 WORKERS GRID DATA_DIR OUT" >&2
    exit 2
fi
workers=$1 grid=$2 data=$3 out=$4
pim=${PIM:-target/release/pim}
units=$("$pim" grid --grid "$grid" --data-dir "$data" --out "$out" --list | tail -n +2 | wc -l)
mkdir -p "$out/logs"
# Claims of an earlier, interrupted run are stale: its units resume.
rm -rf "$out/.claims"
mkdir -p "$out/.claims"
started=$(date +%s)
for ((w = 0; w < workers; w++)); do
    (
        for ((unit = 0; unit < units; unit++)); do
            mkdir "$out/.claims/$unit" 2>/dev/null || continue
            RAYON_NUM_THREADS=1 "$pim" grid --grid "$grid" --data-dir "$data" --out "$out" --unit "$unit"
        done
    ) >"$out/logs/worker-$w.log" 2>&1 &
done
status=0
for job in $(jobs -p); do
    wait "$job" || status=1
done
echo "grid: $units units on $workers workers in $(($(date +%s) - started)) s (exit $status); logs in $out/logs" >&2
exit $status
