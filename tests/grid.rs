//! `pim grid` and `pim report` through the binary on the tiny DSADS fixture: every method
//! runs and reports; a grid killed between its two cells resumes without redoing the
//! finished one and ends with the uninterrupted run's scores; a changed grid is refused.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{fixture, pim, read_csv, root};
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
    out.join("scratch/seed0").join(format!("shots-{shots}")).join("cell.json")
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
    assert_eq!(header[..5], ["arm", "method", "tasks", "seed", "shots"]);
    let arms: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(arms, ["pim", "pim", "masked", "transform", "scratch", "scratch", "pim-speed"]);
    for row in &rows {
        let macro_f1: f64 = row[6].parse().unwrap();
        assert!((0.0..=1.0).contains(&macro_f1), "macro-F1 {macro_f1} in {row:?}");
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

    let killed = dir.path().join("killed");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pim"))
        .current_dir(root())
        .args(["-q", "grid", "--grid"])
        .arg(&spec)
        .arg("--data-dir")
        .arg(fixture("dsads-tiny"))
        .arg("--out")
        .arg(&killed)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !cell(&killed, "1").is_file() {
        assert!(Instant::now() < deadline, "no finished cell within 300 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cell(&killed, "2").is_file(), "the grid finished before it could be killed; raise the epoch count");
    grid(&spec, &killed).arg("--list").assert().success().stdout(contains("0\tscratch\t0\t1/2"));

    let first = fs::read(cell(&killed, "1")).unwrap();
    grid(&spec, &killed)
        .assert()
        .success()
        .stderr(contains("scratch seed 0 2 shots"))
        .stderr(contains("1 shots").not())
        .stderr(contains("1 cells run"));
    assert_eq!(fs::read(cell(&killed, "1")).unwrap(), first, "a finished cell is not run again");
    for shots in ["1", "2"] {
        assert_eq!(scores(&cell(&killed, shots)), scores(&cell(&whole, shots)), "{shots} shots");
    }
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
    pretrain("physics", &dir.path().join("x")).assert().code(2).stderr(contains("pim, masked or transform"));
}
