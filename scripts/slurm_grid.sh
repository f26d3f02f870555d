#!/usr/bin/env bash
# One unit (an arm at a seed: pre-train once, fine-tune every shot count) of a pim grid
# per Slurm array task. All tasks share OUT; each cell writes its own cell.json, so tasks
# can run in any order and a resubmitted array skips what is done.
#
#   n=$(target/release/pim grid --grid GRID --data-dir DATA --out OUT --list | tail -n +2 | wc -l)
#   sbatch --array=0-$((n - 1)) scripts/slurm_grid.sh GRID DATA OUT
#   target/release/pim report --grid-dir OUT      # once the array has finished
#
#SBATCH --job-name=pim-grid
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=02:00:00
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: sbatch --array=0-N $0 GRID DATA_DIR OUT" >&2
    exit 2
fi
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
exec "${PIM:-target/release/pim}" -q grid --grid "$1" --data-dir "$2" --out "$3" --unit "${SLURM_ARRAY_TASK_ID:?run under sbatch --array}"
