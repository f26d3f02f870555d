#!/usr/bin/env python3
"""Golden values for pim's Wilcoxon signed-rank test (src/grid/stats.rs): scipy.stats.wilcoxon
with its defaults (two-sided, zero_method "wilcox", no continuity correction, method "auto":
exact without ties or zeros up to 50 pairs, an exact permutation test with ties or zeros up
to 13 pairs, the normal approximation with tie correction otherwise), on seeded paired
differences that reach each branch. Writes tests/fixtures/golden/wilcoxon.json; cargo test
never runs this script.

    python3 scripts/reference/wilcoxon.py      (numpy and scipy from PyPI)
"""
import json
import pathlib

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261122)
cases = {
    "exact_24_pairs": np.round(rng.normal(0.02, 0.05, 24), 6),
    "exact_5_pairs_all_positive": np.array([0.01, 0.03, 0.02, 0.05, 0.04]),
    "exact_15_pairs_no_shift": np.round(rng.normal(0.0, 0.1, 15), 6),
    "ties_10_pairs_permutation": np.array([0.1, -0.1, 0.2, 0.2, 0.3, -0.05, 0.1, 0.4, 0.2, -0.3]),
    "zeros_12_pairs_permutation": np.array([0.0, 0.1, 0.2, -0.1, 0.0, 0.3, 0.25, 0.15, -0.05, 0.35, 0.12, 0.18]),
    "ties_and_zeros_30_pairs_normal": np.round(rng.integers(-3, 6, 30) / 100.0, 2),
    "continuous_60_pairs_normal": np.round(rng.normal(-0.01, 0.04, 60), 6),
}
out = {"scipy_version": scipy.__version__, "cases": []}
for name, d in cases.items():
    result = stats.wilcoxon(d)
    out["cases"].append({
        "name": name,
        "differences": d.tolist(),
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
    })
path = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "golden" / "wilcoxon.json"
path.write_text(json.dumps(out, indent=1) + "\n")
for case in out["cases"]:
    print(f'{case["name"]:<32} T = {case["statistic"]:<8} p = {case["p_value"]:.6g}')
