#!/usr/bin/env python3
"""Tiny fixtures in the published layouts of PAMAP2, WEAR, MM-Fit and USC-HAD, with the
quirks each reader must handle, and what an independent reading of them must give.

Writes tests/fixtures/readers/<dataset>/ and tests/fixtures/readers/expected.json: for every
dataset, the recordings (subject, activity, source, start, samples as [channels][time] in SI
units) and the number of samples filled in. tests/integration/readers.rs reads the fixtures with pim's
readers and compares. The expected values come from numpy and scipy (np.interp for gaps and
resampling, scipy.io for MATLAB files), not from pim's code.

    python3 scripts/reference/reader_fixtures.py   # numpy, scipy; rerun only to change them
"""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import scipy.io

ROOT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "readers"
G = 9.80665
rng = np.random.default_rng(7)


def fill(channel):
    """Linear interpolation over NaNs, ends held (pim's gaps.rs contract)."""
    channel = np.asarray(channel, dtype=np.float64)
    valid = ~np.isnan(channel)
    t = np.arange(len(channel))
    return np.interp(t, t[valid], channel[valid]), int((~valid).sum())


def recording(subject, activity, source, start, samples):
    return {"subject": subject, "activity": activity, "source": source, "start": start,
            "samples": [[float(np.float32(v)) for v in row] for row in samples]}


def runs(keys):
    """(first, end) of every run of equal consecutive keys."""
    out, first = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[first]:
            out.append((first, i))
            first = i
    return out


def pamap2():
    """Activity 0 rows dropped; a timestamp jump cuts a run; NaN IMU samples filled (one at a
    recording's start, held); heart rate NaN and never read; a readme skipped; Optional/ not
    listed in the config, so not read."""
    out = ROOT / "pamap2"
    imu_columns = [4, 5, 6, 10, 11, 12, 13, 14, 15, 21, 22, 23, 27, 28, 29, 30, 31, 32,
                   38, 39, 40, 44, 45, 46, 47, 48, 49]
    plans = {
        "101": [("0", 5), ("1", 20), ("2", 7), ("jump", 0), ("2", 8), ("0", 3), ("3", 6)],
        "102": [("3", 12), ("0", 2), ("3", 9)],
    }
    recordings, filled = [], 0
    for subject, plan in plans.items():
        rows, time = [], 5.0
        for activity, count in plan:
            if activity == "jump":
                time += 0.05
                continue
            for _ in range(count):
                values = np.round(rng.normal(0.0, 5.0, 54), 5)
                values[0], values[1] = round(time, 2), float(activity)
                values[2] = np.nan if len(rows) % 9 else 100.0
                rows.append(values)
                time += 0.01
        data = np.array(rows)
        if subject == "101":
            data[8:10, 4] = np.nan          # inside the first activity-1 recording
            data[5, 10] = np.nan            # that recording's first sample: held
            data[33, 40] = np.nan           # inside the second activity-2 run
        # As in the release: the activity id an integer, every other value a decimal or NaN.
        text = lambda v: "NaN" if math.isnan(v) else repr(float(v))
        lines = [" ".join([text(row[0]), str(int(row[1]))] + [text(v) for v in row[2:]]) for row in data]
        (out / "Protocol").mkdir(parents=True, exist_ok=True)
        (out / "Protocol" / f"subject{subject}.dat").write_text("\n".join(lines) + "\n")
        activity = data[:, 1].astype(int).astype(str)
        gap = np.r_[False, np.diff(data[:, 0]) > 0.015]
        keys, run_id = [], 0
        for i in range(len(data)):
            run_id += gap[i] or (i > 0 and activity[i] != activity[i - 1])
            keys.append(run_id)
        for first, end in runs(keys):
            if activity[first] == "0":
                continue
            channels = []
            for column in imu_columns:
                values, count = fill(data[first:end, column].astype(np.float32).astype(np.float64))
                channels.append(values)
                filled += count
            recordings.append(recording(subject, activity[first], f"Protocol/subject{subject}.dat",
                                        first, channels))
    (out / "Protocol" / "readme.txt").write_text("not a subject file\n")
    (out / "Optional").mkdir(exist_ok=True)
    (out / "Optional" / "subject101.dat").write_text("never read: the config lists only Protocol\n")
    return {"recordings": recordings, "filled": filled}


def wear():
    """Empty labels (the NULL class) before, between and after; an empty field and a `nan`
    filled in; columns in WEAR's order, with sbj_id first."""
    out = ROOT / "wear"
    out.mkdir(parents=True, exist_ok=True)
    sensors = ["right_arm", "right_leg", "left_leg", "left_arm"]
    header = ["sbj_id"] + [f"{s}_acc_{a}" for s in sensors for a in "xyz"] + ["label"]
    plans = {"sbj_0": [("", 6), ("jogging", 14), ("", 4), ("push-ups", 10), ("", 3)],
             "sbj_1": [("jogging (sidesteps)", 9), ("lunges", 8)]}
    recordings, filled = [], 0
    for subject, plan in plans.items():
        labels = [label for label, count in plan for _ in range(count)]
        data = np.round(rng.normal(0.0, 1.5, (len(labels), 12)), 6)
        text = [[repr(float(v)) for v in row] for row in data]
        if subject == "sbj_0":
            text[8][3], data[8, 3] = "", np.nan
            text[9][3], data[9, 3] = "nan", np.nan
            text[27][0], data[27, 0] = "NaN", np.nan
        lines = [",".join(header)]
        for i, row in enumerate(text):
            label = f'"{labels[i]}"' if "," in labels[i] else labels[i]
            lines.append(",".join([subject.split("_")[1]] + row + [label]))
        (out / f"{subject}.csv").write_text("\n".join(lines) + "\n")
        # pim's channels: sensors in config order (the same as the file's), acc x, y, z.
        for first, end in runs(labels):
            channels = []
            for column in range(12):
                values, count = fill(data[first:end, column].astype(np.float32).astype(np.float64))
                channels.append(values * np.float32(G))
                filled += count
            recordings.append(recording(subject, labels[first], f"{subject}.csv", first, channels))
    return {"recordings": recordings, "filled": filled}


def mmfit():
    """Four streams per workout on their own jittered clocks, starting and ending at
    different times; resampled to 100 Hz on the span all cover; labels by the frames of the
    first stream (sw_l acc), unlabelled samples between exercises; a header row."""
    out = ROOT / "mmfit"
    streams = [("sw_l", "acc"), ("sw_l", "gyr"), ("sw_r", "acc"), ("sw_r", "gyr")]
    recordings = []
    for workout, labels in {"w00": [(20, 40, 5, "squats"), (52, 70, 4, "pushups")],
                            "w01": [(15, 45, 6, "lunges")]}.items():
        folder = out / workout
        folder.mkdir(parents=True, exist_ok=True)
        arrays = []
        for k, (device, modality) in enumerate(streams):
            start = 1000.0 + [3.7, 1.2, 8.9, 5.3][k]
            count = 300 - 7 * k
            times = start + np.arange(count) * 10.0 + rng.uniform(-3.0, 3.0, count)
            frames = np.floor((times - 1000.0) * 30.0 / 1000.0)
            xyz = np.round(rng.normal(0.0, 2.0, (count, 3)), 6)
            array = np.column_stack([frames, times, xyz])
            np.save(folder / f"{workout}_{device}_{modality}.npy", array)
            arrays.append(array)
        rows = ["start,end,reps,exercise"] + [f"{s},{e},{r},{x}" for s, e, r, x in labels]
        (folder / f"{workout}_labels.csv").write_text("\n".join(rows) + "\n")
        first = max(a[0, 1] for a in arrays)
        last = min(a[-1, 1] for a in arrays)
        grid = first + np.arange(int(math.floor((last - first) / 10.0)) + 1) * 10.0
        channels = []
        for array, (_, modality) in zip(arrays, streams):
            for axis in range(3):
                channels.append(np.interp(grid, array[:, 1], array[:, 2 + axis]).astype(np.float32))
        frames = np.interp(grid, arrays[0][:, 1], arrays[0][:, 0])
        keys = []
        for frame in frames:
            hit = [x for s, e, _, x in labels if s <= frame <= e]
            keys.append(hit[0] if hit else "")
        for a, b in runs(keys):
            recordings.append(recording(workout, keys[a], f"{workout}/{workout}_labels.csv", a,
                                        [c[a:b] for c in channels]))
    return {"recordings": recordings, "filled": 0}


def usc_had():
    """MATLAB v5 files with the release's fields; one spells activity_numbr, one names the
    wrong activity inside (the file name wins); plotting scripts and a readme skipped."""
    out = ROOT / "usc-had" / "USC-HAD"
    recordings = []
    for s in (1, 2, 3):
        subject = f"Subject{s}"
        (out / subject).mkdir(parents=True, exist_ok=True)
        for activity in (1, 2):
            readings = np.round(rng.normal(0.0, 1.0, (25 + 3 * s + activity, 6)), 6)
            readings[:, 3:] *= 60.0
            fields = {"title": "USC Human Motion Database", "version": "1.0", "subject": str(s),
                      "trial": "1", "sensor_location": "front-right-hip",
                      "sensor_readings": readings}
            key = "activity_numbr" if (s, activity) == (2, 2) else "activity_number"
            fields[key] = "1" if (s, activity) == (3, 2) else str(activity)
            scipy.io.savemat(out / subject / f"a{activity}t1.mat", fields, format="5")
            back = scipy.io.loadmat(out / subject / f"a{activity}t1.mat")["sensor_readings"]
            factors = [G] * 3 + [math.pi / 180.0] * 3
            channels = [back[:, c].astype(np.float32) * np.float32(factors[c]) for c in range(6)]
            recordings.append(recording(subject, str(activity), f"{subject}/a{activity}t1.mat", 0, channels))
        (out / subject / "displayData_acc.m").write_text("% plotting script of the release\n")
    (out / "Readme.txt").write_text("USC-HAD fixture\n")
    # A trial without its matrix, for the bad-input test (outside the fixture's tree).
    scipy.io.savemat(ROOT / "no-sensor-readings.mat", {"activity_number": "1", "readings": np.zeros((3, 6))})
    return {"recordings": recordings, "filled": 0}


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    expected = {"pamap2": pamap2(), "wear": wear(), "mmfit": mmfit(), "usc-had": usc_had()}
    for name, found in expected.items():
        order = sorted(found["recordings"], key=lambda r: (r["source"], r["start"]))
        found["recordings"] = order
        print(f"{name}: {len(order)} recordings, {found['filled']} samples filled")
    (ROOT / "expected.json").write_text(json.dumps(expected) + "\n")


if __name__ == "__main__":
    main()
