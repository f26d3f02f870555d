#!/usr/bin/env python3
"""Golden values for pim report's fold-level comparisons (src/grid/report.rs, stats.rs):
seeded synthetic test macro-F1 for three arms over 8 folds x 3 seeds x 3 shot counts; for
PIM minus each baseline at each shot count, each fold's mean difference over its seeds,
scipy.stats.wilcoxon on the 8 fold differences (exact), and statsmodels'
multipletests(method="holm") over the family of all 9 tests. Writes
tests/fixtures/golden/fold_statistics.json; cargo test never runs this script.

    python3 scripts/reference/fold_statistics.py      (numpy, scipy, statsmodels from PyPI)
"""
import json
import pathlib

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

rng = np.random.default_rng(20261207)
folds = [f"test-p{i}" for i in range(1, 9)]
seeds = [0, 1, 2]
shots = [1, 2, 4]
# PIM's edge over each baseline, by shot count: one clear, one null, one reversed.
edge = {"masked": [0.0, 0.0, 0.0], "scratch": [0.08, 0.06, 0.05], "transform": [-0.06, -0.02, 0.0]}
cells = []
for f, fold in enumerate(folds):
    subject = rng.normal(0.0, 0.08)  # every arm shares its fold's difficulty
    for s in seeds:
        for k, shot in enumerate(shots):
            base = 0.45 + 0.08 * k + subject
            cells.append({"arm": "pim", "fold": fold, "seed": s, "shots": shot,
                          "macro_f1": round(base + rng.normal(0, 0.03), 6)})
            for arm, gains in edge.items():
                cells.append({"arm": arm, "fold": fold, "seed": s, "shots": shot,
                              "macro_f1": round(base - gains[k] + rng.normal(0, 0.03), 6)})


def score(arm, fold, seed, shot):
    return next(c["macro_f1"] for c in cells
                if (c["arm"], c["fold"], c["seed"], c["shots"]) == (arm, fold, seed, shot))


comparisons = []
for shot in shots:  # the report's order: shot counts, then baselines
    for baseline in edge:
        per_fold = [np.mean([score("pim", fold, s, shot) - score(baseline, fold, s, shot) for s in seeds])
                    for fold in folds]
        result = stats.wilcoxon(per_fold)
        comparisons.append({"baseline": baseline, "shots": shot, "fold_differences": per_fold,
                            "mean": float(np.mean(per_fold)), "p_value": float(result.pvalue)})
adjusted = multipletests([c["p_value"] for c in comparisons], method="holm")[1]
for c, p in zip(comparisons, adjusted):
    c["holm_p"] = float(p)
out = {"scipy_version": scipy.__version__, "statsmodels_version": statsmodels.__version__,
       "cells": cells, "comparisons": comparisons}
path = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "golden" / "fold_statistics.json"
path.write_text(json.dumps(out, indent=1) + "\n")
for c in comparisons:
    print(f'{c["shots"]} {c["baseline"]:<10} mean {c["mean"]:+.4f} p {c["p_value"]:.5f} holm {c["holm_p"]:.5f}')
