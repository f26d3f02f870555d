//! `pim grid` and `pim report` through the binary on the tiny DSADS fixture: every method
//! runs and reports; a grid killed between its two cells resumes without redoing the
//! finished one and ends with the uninterrupted run's scores; a changed grid is refused.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{fixture, pim, read_csv, root, scores_from_predictions};
use pim::grid::run::EXIT_AFTER_CELLS_VAR;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;

/// A grid file in `dir` on the tiny fixture's config, with `body` (JSON fields) added.
fn grid_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let config = fixture("dsads-tiny.json");
    fs::write(&path, format!("{{\"config\": {:?}, {body}}}", config.to_str().unwrap())).unwrap();
    path
}

/// `pim grid --grid GRID --data-dir <tiny fixture> --out OUT`.
fn grid(grid: &Path, out: &Path) -> assert_cmd::Command {
    let mut command = pim();
    command.args(["grid", "--grid"]).arg(grid).arg("--data-dir").arg(fixture("dsads-tiny")).arg("--out").arg(out);
    command
}

fn cell(out: &Path, shots: &str) -> PathBuf {
    out.join("cells/scratch/split/seed0").join(format!("shots-{shots}")).join("cell.json")
}

/// A cell's scores, without its wall times.
fn scores(path: &Path) -> Value {
    let mut value: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let object = value.as_object_mut().unwrap();
    object.remove("seconds");
    object.remove("pretrain_seconds");
    value
}

const TWO_CELLS: &str = r#""overrides": {"finetune": {"epochs": 400}}, "seeds": [0], "shots": [1, 2],
    "arms": [{"name": "scratch", "method": "scratch"}]"#;

#[test]
fn every_method_runs_and_the_report_has_both_tables_and_the_figure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid");
    let spec = root().join("tests/fixtures/grid-tiny.json");
    grid(&spec, &out).assert().success().stderr(contains("7 cells run"));
    pim().args(["report", "--grid-dir"]).arg(&out).assert().success();

    let (header, rows) = read_csv(&out.join("results.csv"));
    assert_eq!(header[..6], ["arm", "method", "tasks", "fold", "seed", "shots"]);
    let arms: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(arms, ["pim", "pim", "masked", "transform", "scratch", "scratch", "pim-speed"]);
    // Each row's scores are its cell's, recomputed here from the cell's predictions.
    assert_eq!(header[7..9], ["macro_f1", "accuracy"]);
    let (_, prepared) = read_csv(&out.join("windows").join("windows.csv"));
    for row in &rows {
        let macro_f1: f64 = row[7].parse().unwrap();
        let cell = out
            .join("cells")
            .join(&row[0])
            .join(&row[3])
            .join(format!("seed{}", row[4]))
            .join(format!("shots-{}", row[5]));
        let (accuracy, recomputed) = scores_from_predictions(&cell.join("predictions.csv"));
        assert!((macro_f1 - recomputed).abs() < 1e-9, "macro-F1 {macro_f1}, predictions say {recomputed}: {row:?}");
        // Each stage loads only the subjects it needs, yet names a window by its row in
        // the prepared windows: the row's source and start are the window's.
        for file in ["predictions.csv", "shots.csv"] {
            for window in read_csv(&cell.join(file)).1 {
                let index: usize = window[0].parse().unwrap();
                assert_eq!(prepared[index][2..4], window[1..3], "{file} of {row:?}: {window:?}");
            }
        }
        assert!(
            (row[8].parse::<f64>().unwrap() - accuracy).abs() < 1e-9,
            "accuracy of {row:?}, predictions say {accuracy}"
        );
    }
    let markdown = fs::read_to_string(out.join("results.md")).unwrap();
    for heading in ["## Macro-F1 by labelled", "## Accuracy by labelled", "## Ablation: PIM's pretext tasks"] {
        assert!(markdown.contains(heading), "results.md lacks {heading:?}:\n{markdown}");
    }
    assert!(markdown.contains("| Transformation discrimination (transform) |"), "{markdown}");
    assert!(markdown.contains("| speed (pim-speed) |"), "the ablation names the task subset:\n{markdown}");
    let svg = fs::read_to_string(out.join("macro_f1.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Supervised from scratch (scratch)"));
}

#[test]
fn killed_grid_resumes_without_redoing_finished_cells() {
    let dir = tempfile::tempdir().unwrap();
    let spec = grid_file(dir.path(), "grid.json", TWO_CELLS);
    let whole = dir.path().join("whole");
    grid(&spec, &whole).arg("-q").assert().success();

    // The grid exits as if killed right after its first cell: an exact point, not a race.
    let killed = dir.path().join("killed");
    grid(&spec, &killed).arg("-q").env(EXIT_AFTER_CELLS_VAR, "1").assert().code(137);
    assert!(cell(&killed, "1").is_file() && !cell(&killed, "2").is_file());
    grid(&spec, &killed).arg("--list").assert().success().stdout(contains("0\tscratch\tsplit\t0\t1/2"));

    let first = fs::read(cell(&killed, "1")).unwrap();
    grid(&spec, &killed)
        .assert()
        .success()
        .stderr(contains("scratch split seed 0 2 shots"))
        .stderr(contains("1 shots").not())
        .stderr(contains("1 cells run"));
    assert_eq!(fs::read(cell(&killed, "1")).unwrap(), first, "a finished cell is not run again");
    for shots in ["1", "2"] {
        assert_eq!(scores(&cell(&killed, shots)), scores(&cell(&whole, shots)), "{shots} shots");
    }
    // A damaged record (an empty cell.json) is not a finished cell: the cell runs again.
    fs::write(cell(&killed, "2"), "").unwrap();
    grid(&spec, &killed).assert().success().stderr(contains("1 cells run"));
    assert_eq!(scores(&cell(&killed, "2")), scores(&cell(&whole, "2")));
}

#[test]
fn a_changed_grid_is_refused_in_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let quick = r#""overrides": {"finetune": {"epochs": 1}}, "seeds": [0], "shots": [1],
        "arms": [{"name": "scratch", "method": "scratch"}]"#;
    grid(&grid_file(dir.path(), "a.json", quick), &out).assert().success();
    let changed = quick.replace("\"epochs\": 1", "\"epochs\": 2");
    grid(&grid_file(dir.path(), "b.json", &changed), &out)
        .assert()
        .failure()
        .stderr(contains("grid.json"))
        .stderr(contains("records a different grid"));
    // More cells of the same experiment are welcome: a shot count and an arm added.
    let extended = quick.replace("\"shots\": [1]", "\"shots\": [1, 2]").replace(
        r#"{"name": "scratch", "method": "scratch"}"#,
        r#"{"name": "scratch", "method": "scratch"}, {"name": "scratch-2", "method": "scratch"}"#,
    );
    grid(&grid_file(dir.path(), "c.json", &extended), &out).assert().success().stderr(contains("3 cells run"));
}

#[test]
fn bad_grids_and_units_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let bad_arm = r#""seeds": [0], "shots": [1], "arms": [{"name": "a/b", "method": "scratch"}]"#;
    grid(&grid_file(dir.path(), "a.json", bad_arm), &out)
        .assert()
        .failure()
        .stderr(contains("arms[0].name"))
        .stderr(contains("plain folder name"));
    let tasks_on_masked =
        r#""seeds": [0], "shots": [1], "arms": [{"name": "m", "method": "masked", "tasks": ["speed"]}]"#;
    grid(&grid_file(dir.path(), "b.json", tasks_on_masked), &out).assert().failure().stderr(contains("arms[0].tasks"));
    let typo = r#""seeds": [0], "shots": [1], "arms": [{"name": "m", "method": "masks"}]"#;
    grid(&grid_file(dir.path(), "c.json", typo), &out).assert().failure().stderr(contains("c.json"));
    let one_unit = r#""seeds": [0], "shots": [1], "arms": [{"name": "s", "method": "scratch"}]"#;
    grid(&grid_file(dir.path(), "d.json", one_unit), &out)
        .args(["--unit", "3"])
        .assert()
        .failure()
        .stderr(contains("the grid has 1 units"));
    pim()
        .args(["report", "--grid-dir"])
        .arg(dir.path().join("nothing"))
        .assert()
        .failure()
        .stderr(contains("grid.json"));
}

#[test]
fn committed_grid_files_load_and_list_their_units() {
    let dir = tempfile::tempdir().unwrap();
    for (file, units) in [("grid-dsads.json", 38), ("grid-dsads-full.json", 50)] {
        let out = dir.path().join(file);
        grid(&root().join("configs").join(file), &out)
            .arg("--list")
            .assert()
            .success()
            .stdout(contains(format!("{}\t", units - 1)))
            .stdout(contains(format!("{units}\t")).not());
        assert!(!out.exists(), "--list writes nothing");
    }
}

#[test]
fn baselines_pretrain_without_labels_and_pim_asks_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let pretrain = |method: &str, out: &Path| {
        let mut command = pim();
        command
            .args(["pretrain", "--method", method, "--epochs", "2", "--config"])
            .arg(fixture("dsads-tiny.json"))
            .arg("--data-dir")
            .arg(fixture("dsads-tiny"))
            .arg("--out")
            .arg(out);
        command
    };
    for (method, terms) in [("masked", &["reconstruction"][..]), ("transform", &["noise", "rotation", "time_warp"])] {
        let out = dir.path().join(method);
        pretrain(method, &out).assert().success();
        assert!(out.join("encoder.bpk").is_file());
        let (header, rows) = read_csv(&out.join("metrics.csv"));
        assert_eq!(rows.len(), 2);
        for term in terms {
            assert!(header.contains(&format!("train_{term}")), "{method}: {header:?}");
        }
        let config: Value = serde_json::from_str(&fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["pretrain"]["method"], method);
    }
    pretrain("pim", &dir.path().join("pim")).assert().failure().stderr(contains("--labels"));
    pretrain("physics", &dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(contains("pim, masked, transform or pim+masked"));
}

/// `pim grid` on the bundled sample with the two folds of `grid-folds.json`.
fn folded_grid(out: &Path) -> assert_cmd::Command {
    let mut command = pim();
    command
        .args(["grid", "--grid"])
        .arg(fixture("grid-folds.json"))
        .arg("--data-dir")
        .arg(root().join("data/dsads-sample"))
        .arg("--out")
        .arg(out);
    command
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The fold test-p7 trains on p1-p5 and p8; p6 validates, p7 tests.
const FOLD_TRAIN: [&str; 6] = ["p1", "p2", "p3", "p4", "p5", "p8"];

#[test]
fn a_folded_grid_fits_everything_on_each_folds_training_subjects_and_resumes_between_units() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid");
    // Units: pim with its variant pim-last (one pre-training) and pim-transductive, at each
    // fold, then scratch. Run the first unit alone, as a cut-short run would have.
    folded_grid(&out).arg("--list").assert().success().stdout(contains("0\tpim,pim-last\ttest-p7\t0\t0/2"));
    folded_grid(&out).args(["-q", "--unit", "0"]).assert().success();
    let first = out.join("cells/pim/test-p7/seed0/shots-1/cell.json");
    let first_bytes = fs::read(&first).unwrap();
    folded_grid(&out).assert().success().stderr(contains("6 cells run"));
    assert_eq!(fs::read(&first).unwrap(), first_bytes, "a finished cell is not run again");

    // Normaliser: the fold's training windows only (recomputed here from windows.npy).
    let samples: ndarray::Array3<f32> =
        ndarray_npy::read_npy(out.join("windows/windows.npy")).expect("windows.npy is a float32 array");
    let (_, index) = read_csv(&out.join("windows/windows.csv"));
    let train_rows: Vec<usize> = (0..index.len()).filter(|&i| FOLD_TRAIN.contains(&index[i][0].as_str())).collect();
    let channel_mean = |rows: &[usize], c: usize| {
        rows.iter()
            .map(|&w| samples.slice(ndarray::s![w, c, ..]).iter().map(|&v| f64::from(v)).sum::<f64>())
            .sum::<f64>()
            / (rows.len() * samples.shape()[2]) as f64
    };
    let normaliser = json(&out.join("pretrain/pim/test-p7/seed0/normaliser.json"));
    let all_rows: Vec<usize> = (0..index.len()).collect();
    for c in [0, 9, 44] {
        let saved = normaliser["mean"][c].as_f64().unwrap();
        assert!((saved - channel_mean(&train_rows, c)).abs() < 1e-4, "channel {c}: {saved} is not the training mean");
        assert!((saved - channel_mean(&all_rows, c)).abs() > 1e-6, "channel {c}: the mean of every subject");
    }
    // Discretiser edges: the range of the training subjects' features.
    let (header, features) = read_csv(&out.join("labels/pim/test-p7/features.csv"));
    let discretiser = json(&out.join("labels/pim/test-p7/discretiser.json"));
    for (column, edges) in discretiser["columns"].as_array().unwrap().iter().enumerate().take(5) {
        let col = header.iter().position(|h| h == edges["name"].as_str().unwrap()).unwrap();
        let train: Vec<f64> =
            features.iter().filter(|r| FOLD_TRAIN.contains(&r[0].as_str())).map(|r| r[col].parse().unwrap()).collect();
        let min = train.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(edges["edges"][0].as_f64().unwrap(), min, "column {column}: lowest edge is the training minimum");
    }
    // Pre-training pool: the training subjects, or every subject for the transductive arm.
    let pool = |arm: &str| -> Vec<String> {
        serde_json::from_value(
            json(&out.join(format!("pretrain/{arm}/test-p7/seed0/run.json")))["details"]["pool_subjects"].clone(),
        )
        .unwrap()
    };
    assert_eq!(pool("pim"), FOLD_TRAIN);
    assert_eq!(pool("pim-transductive").len(), 8);
    // k-shot draws: training subjects only; the evaluation: the test subject only.
    for arm in ["pim", "pim-last", "pim-transductive", "scratch"] {
        let cell = out.join(format!("cells/{arm}/test-p7/seed0/shots-1"));
        let (_, drawn) = read_csv(&cell.join("shots.csv"));
        assert!(drawn.iter().all(|r| FOLD_TRAIN.contains(&r[3].as_str())), "{arm}: drew outside the training subjects");
        let results = json(&cell.join("results.json"));
        assert_eq!(results["per_subject"][0]["subject"], "p7");
        assert_eq!(results["per_subject"].as_array().unwrap().len(), 1);
    }

    pim().args(["report", "--grid-dir"]).arg(&out).assert().success();
    let markdown = fs::read_to_string(out.join("results.md")).unwrap();
    for heading in ["## The variant chosen for each method", "## PIM against each baseline", "## Macro-F1 per fold"] {
        assert!(markdown.contains(heading), "results.md lacks {heading:?}:\n{markdown}");
    }
    assert!(markdown.contains("pim-transductive, transductive"), "a transductive arm is labelled so:\n{markdown}");
    assert!(fs::read_to_string(out.join("paired_differences.svg")).unwrap().starts_with("<svg"));
}
