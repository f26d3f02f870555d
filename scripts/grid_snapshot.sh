#!/usr/bin/env bash
# Copy the record of a grid (its grid.json, every finished cell's cell.json, every
# pre-training's metrics.csv and checkpoints.json) from one output folder to another,
# leaving models, windows and labels behind. `pim report --grid-dir` reads the copy as it
# reads the original, and copying a snapshot back into an empty output folder lets
# `pim grid` resume there: finished cells are skipped, unfinished units pre-train again
# (their copied metrics are overwritten). A long grid on a machine whose disk does not
# survive between sessions commits its snapshot as it goes.
#
#   scripts/grid_snapshot.sh FROM TO
#   e.g. scripts/grid_snapshot.sh target/grid-dsads-loso results/dsads-loso/grid   (save)
#        scripts/grid_snapshot.sh results/dsads-loso/grid target/grid-dsads-loso   (restore)
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 FROM TO" >&2
    exit 2
fi
from=$1 to=$2
if [ ! -f "$from/grid.json" ]; then
    echo "$from has no grid.json: pass the --out folder of \`pim grid\` (or a snapshot of one)" >&2
    exit 1
fi
mkdir -p "$to"
cp "$from/grid.json" "$to/grid.json"
# Whole files only: pim writes each of these to a temporary file and renames it.
dest=$(cd "$to" && pwd)
(
    cd "$from"
    { find cells -name cell.json -print0 2>/dev/null || true
      find pretrain \( -name metrics.csv -o -name checkpoints.json \) -print0 2>/dev/null || true; } |
        xargs -0 -r cp --parents -t "$dest"
)
echo "$(find "$to/cells" -name cell.json 2>/dev/null | wc -l) cells copied from $from to $to" >&2
