#!/usr/bin/env python3
"""Time grid cells on one thread, as `pim grid` runs them (fine-tune, then evaluate, in one
process, the windows read by the unit), for one or more pim builds, interleaved.

It reuses the finished pre-trainings of an existing grid output folder: for each fold
given, the arm's seed-0 pre-training (if it has one) is copied (windows and labels hard-linked) into a
scratch grid of that one arm, seed 0 and SHOTS, whose units each build then runs in turn.
Prints every cell's `seconds` (the grid's own timing of the cell) and checks that every
build kept the same epoch and test score.

    scripts/bench_cell.py GRID_FILE GRID_OUT ARM SHOTS FOLD[,FOLD...] ROUNDS PIM [PIM ...]
    e.g. scripts/bench_cell.py configs/grid-dsads-loso.json target/grid-dsads-loso pim 4 \\
             test-p1,test-p2,test-p3 2 target/release/pim

Stop other work on the machine while it runs (our grid: kill -STOP its workers).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 8:
        sys.exit(__doc__)
    grid_file, grid_out, arm_name, shots, folds, rounds = sys.argv[1:7]
    builds = sys.argv[7:]
    folds, rounds, shots = folds.split(","), int(rounds), int(shots)
    grid = json.load(open(grid_file))
    arm = next(a for a in grid["arms"] if a["name"] == arm_name)
    scratch = tempfile.mkdtemp()
    try:
        grid["config"] = os.path.abspath(os.path.join(os.path.dirname(grid_file), grid["config"]))
        grid["arms"] = [{k: v for k, v in arm.items() if k not in ("seeds", "shots")}]
        grid["seeds"], grid["shots"] = [0], [shots]
        grid.pop("selection", None)
        spec = os.path.join(scratch, "grid.json")
        json.dump(grid, open(spec, "w"))
        out = os.path.join(scratch, "out")
        shutil.copytree(os.path.join(grid_out, "windows"), os.path.join(out, "windows"), copy_function=os.link)
        if os.path.isdir(os.path.join(grid_out, "labels")):
            shutil.copytree(os.path.join(grid_out, "labels"), os.path.join(out, "labels"), copy_function=os.link)
        for fold in folds:
            pretrained = os.path.join(grid_out, "pretrain", arm_name, fold)
            if os.path.isdir(pretrained):  # scratch has none
                shutil.copytree(pretrained, os.path.join(out, "pretrain", arm_name, fold))
        listing = subprocess.run([builds[0], "grid", "--grid", spec, "--data-dir", "/nonexistent", "--out", out,
                                  "--list"], check=True, capture_output=True, text=True).stdout
        units = {line.split("\t")[2]: line.split("\t")[0] for line in listing.splitlines()[1:]}
        seconds, results = {b: [] for b in builds}, {}
        print(f"{'build':<40} {'fold':<8} {'seconds':>8} {'best epoch':>10} {'test macro-F1':>14}")
        for _ in range(rounds):
            for fold in folds:
                for build in builds:
                    shutil.rmtree(os.path.join(out, "cells"), ignore_errors=True)
                    subprocess.run([build, "grid", "-q", "--grid", spec, "--data-dir", "/nonexistent", "--out", out,
                                    "--unit", units[fold]], check=True, env={**os.environ, "RAYON_NUM_THREADS": "1"})
                    cell_dir = os.path.join(out, "cells", arm_name, fold, "seed0", f"shots-{shots}")
                    cell = json.load(open(os.path.join(cell_dir, "cell.json")))
                    seconds[build].append(cell["seconds"])
                    result = (cell["best_epoch"], cell["macro_f1"])
                    if results.setdefault(fold, result) != result:
                        print(f"{build} kept another epoch or score on {fold}: {result} against {results[fold]}")
                    print(f"{build:<40} {fold:<8} {cell['seconds']:>8.2f} {result[0]:>10} {result[1]:>14.4f}")
        for build in builds:
            s = seconds[build]
            print(f"{build}: {len(s)} cells, mean {statistics.mean(s):.2f} s, median {statistics.median(s):.2f} s, "
                  f"range {min(s):.2f}-{max(s):.2f} s")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
