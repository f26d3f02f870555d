#!/usr/bin/env python3
"""Independent numpy/scipy/scikit-learn implementation of pim's pseudo-labels
(docs/method.md), used to produce the golden fixtures in tests/fixtures/golden/.

It shares no code with pim: filters by numpy's FFT, integrates with scipy's
cumulative_trapezoid, detrends with scipy.signal.detrend, correlates by direct dot
products, computes DTW with the textbook full table, and bins with scikit-learn's
KBinsDiscretizer. cargo test never runs it; rerun it after a deliberate change to the
method:

    pip install numpy scipy scikit-learn
    python3 scripts/reference/pseudo_labels.py

Samples are read as float32 and widened to float64, as pim stores them, so both sides
compute from identical inputs.
"""
import json
import pathlib
import warnings

import numpy as np
import sklearn
from scipy.integrate import cumulative_trapezoid
from scipy.signal import detrend
from sklearn.preprocessing import KBinsDiscretizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
CONFIG = json.loads((ROOT / "configs" / "dsads.json").read_text())
FS = CONFIG["dataset"]["sampling_rate_hz"]
PHYS = CONFIG["physics"]
TIE_TOLERANCE, TIE_FLOOR = 1e-9, 1e-12


def fft_mask(x, keep):
    n = len(x)
    pad = n // 2
    padded = np.pad(x, pad, mode="reflect")
    freqs = np.abs(np.fft.fftfreq(len(padded), d=1.0 / FS))
    spectrum = np.fft.fft(padded)
    spectrum[~keep(freqs)] = 0.0
    return np.real(np.fft.ifft(spectrum))[pad : pad + n]


def gravity_and_body(acc):
    lo = PHYS["gravity_cutoff_hz"]
    band_lo, band_hi = PHYS["body_band_hz"][0], min(PHYS["body_band_hz"][1], FS / 2)
    gravity = np.stack([fft_mask(a, lambda f: f <= lo) for a in acc])
    body = np.stack([fft_mask(a - g, lambda f: (f > band_lo) & (f <= band_hi)) for a, g in zip(acc, gravity)])
    return gravity, body


def speed(body):
    v = cumulative_trapezoid(body, dx=1.0 / FS, axis=1, initial=0)
    v = detrend(v, axis=1, type="linear")
    return np.mean(np.linalg.norm(v, axis=0))


def circular_mean(a):
    return np.arctan2(np.mean(np.sin(a)), np.mean(np.cos(a)))


def angles(gravity, mag):
    gx, gy, gz = gravity
    roll = np.arctan2(gy, gz)
    pitch = np.arctan2(-gx, np.sqrt(gy**2 + gz**2))
    mx, my, mz = mag
    mxh = mx * np.cos(pitch) + my * np.sin(roll) * np.sin(pitch) + mz * np.cos(roll) * np.sin(pitch)
    myh = my * np.cos(roll) - mz * np.sin(roll)
    yaw = np.arctan2(-myh, mxh)
    return [circular_mean(roll), circular_mean(pitch), circular_mean(yaw)]


def correlation(left, right, tau):
    w = len(left)
    return np.dot(left[: w - tau], right[tau:]) if tau >= 0 else np.dot(left[-tau:], right[: w + tau])


def dtw(x, y):
    n, m = len(x), len(y)
    d = np.full((n + 1, m + 1), np.inf)
    d[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = abs(x[i - 1] - y[j - 1]) + min(d[i - 1, j], d[i, j - 1], d[i - 1, j - 1])
    return d[n, m]


def symmetry(acc_left, acc_right):
    nl = np.linalg.norm(acc_left, axis=0)
    nr = np.linalg.norm(acc_right, axis=0)
    nl, nr = nl - nl.mean(), nr - nr.mean()
    w = len(nl)
    max_lag = int(np.floor(w * PHYS["max_lag_fraction"]))
    lags = [0] + [s for k in range(1, max_lag + 1) for s in (-k, k)]
    values = {tau: correlation(nl, nr, tau) for tau in lags}
    tolerance = TIE_TOLERANCE * np.sqrt(np.dot(nl, nl) * np.dot(nr, nr)) + TIE_FLOOR
    best = max(values.values())
    tau = next(t for t in lags if values[t] >= best - tolerance)
    left, right = (nl[: w - tau], nr[tau:]) if tau >= 0 else (nl[-tau:], nr[: w + tau])
    return dtw(left, right) / (len(left) + len(right))


def window_features(data):
    sensors = CONFIG["dataset"]["sensors"]
    acc = {s["name"]: data[:, s["columns"]["acc"]].T for s in sensors}
    mag = {s["name"]: data[:, s["columns"]["mag"]].T for s in sensors}
    split = {s["name"]: gravity_and_body(acc[s["name"]]) for s in sensors}
    row = [speed(split[s["name"]][1]) for s in sensors]
    for s in sensors:
        row += angles(split[s["name"]][0], mag[s["name"]])
    for pair in CONFIG["dataset"]["pairs"]:
        row.append(symmetry(acc[pair["left"]], acc[pair["right"]]))
    return row


def sample_golden():
    sample = ROOT / "data" / "dsads-sample"
    files = sorted(p.relative_to(sample).as_posix() for p in sample.glob("a*/p*/s*.txt"))
    train = set(CONFIG["dataset"]["split"]["train"])
    rows, is_train = [], []
    for source in files:
        data = np.loadtxt(sample / source, delimiter=",", dtype=np.float32).astype(np.float64)
        rows.append(window_features(data))
        is_train.append(source.split("/")[1] in train)
    values = np.array(rows)
    kbins = KBinsDiscretizer(n_bins=11, encode="ordinal", strategy="uniform")
    kbins.fit(values[np.array(is_train)])
    bins = kbins.transform(values).astype(int)
    return {
        "made_by": f"scripts/reference/pseudo_labels.py with numpy {np.__version__}, scikit-learn {sklearn.__version__}",
        "sources": files,
        "features": values.tolist(),
        "labels": bins.tolist(),
        "edges": [e.tolist() for e in kbins.bin_edges_],
    }


def discretiser_golden():
    rng = np.random.default_rng(20261121)
    n = 200
    columns = {
        "normal": rng.normal(0.0, 1.0, n),
        "skewed": rng.exponential(2.0, n),
        "few_values": rng.integers(0, 4, n).astype(float),
        "constant": np.full(n, 3.25),
    }
    fit = np.column_stack(list(columns.values()))
    probe = np.column_stack([np.concatenate([c, [c.min() - 1, c.max() + 1, c.min(), c.max()]]) for c in columns.values()])
    cases = []
    for strategy in ["uniform", "quantile"]:
        kbins = KBinsDiscretizer(n_bins=11, encode="ordinal", strategy=strategy, quantile_method="linear")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kbins.fit(fit)
            # scikit-learn's edges for a constant column are [-inf, inf]; pim stores [c, c].
            edges = [e.tolist() if np.all(np.isfinite(e)) else None for e in kbins.bin_edges_]
            cases.append({"strategy": strategy, "edges": edges, "bins": kbins.transform(probe).astype(int).tolist()})
    return {
        "made_by": f"scripts/reference/pseudo_labels.py with numpy {np.__version__}, scikit-learn {sklearn.__version__}",
        "names": list(columns),
        "fit": fit.tolist(),
        "probe": probe.tolist(),
        "cases": cases,
    }


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / "discretiser.json").write_text(json.dumps(discretiser_golden()) + "\n")
    (GOLDEN / "dsads_sample.json").write_text(json.dumps(sample_golden()) + "\n")
    print("wrote", GOLDEN / "discretiser.json", "and", GOLDEN / "dsads_sample.json")
