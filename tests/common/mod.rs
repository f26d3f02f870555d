//! Helpers shared by the test binaries (`integration`, `environment`): fixture paths, a
//! `pim` command builder with a time limit, and copies of fixtures into temporary folders
//! that a test may break.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file or folder under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(name)
}

/// The longest any one `pim` command of the tests may run (the complete datasets in a
/// debug build take about a minute): a hang fails its test instead of stalling the run.
pub const PROCESS_LIMIT: Duration = Duration::from_secs(600);

/// The `pim` binary, run from the repository root, killed after [`PROCESS_LIMIT`].
pub fn pim() -> Command {
    let mut command = Command::cargo_bin("pim").expect("the pim binary is built for tests");
    command.current_dir(root()).timeout(PROCESS_LIMIT);
    command
}

/// `pim pseudo-label --config CONFIG --data-dir DATA --out OUT`.
pub fn pseudo_label(config: &Path, data: &Path, out: &Path) -> Command {
    let mut command = pim();
    command.args(["pseudo-label", "--config"]).arg(config).arg("--data-dir").arg(data).arg("--out").arg(out);
    command
}

/// The tiny fixture's pseudo-labels, made in `dir/labels`.
pub fn labels_tiny(dir: &Path) -> PathBuf {
    let labels = dir.join("labels");
    pseudo_label(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), &labels).assert().success();
    labels
}

/// `pim pretrain --epochs 1` of the tiny fixture's `labels` into `out`; add the rest.
pub fn pretrain_tiny(labels: &Path, out: &Path) -> Command {
    let mut command = pim();
    command.args(["pretrain", "--epochs", "1", "--config"]).arg(fixture("dsads-tiny.json"));
    command.arg("--labels").arg(labels).arg("--data-dir").arg(fixture("dsads-tiny")).arg("--out").arg(out);
    command
}

/// `pim finetune --config CONFIG --data-dir DATA [--init INIT] --out OUT`; add the rest.
pub fn finetune(config: &Path, data: &Path, init: Option<&Path>, out: &Path) -> Command {
    let mut command = pim();
    command.args(["finetune", "--config"]).arg(config).arg("--data-dir").arg(data).arg("--out").arg(out);
    if let Some(init) = init {
        command.arg("--init").arg(init);
    }
    command
}

/// Recursively copy `from` into the new folder `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Names of the files in `dir` (empty if it does not exist), sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Parse a CSV output into its header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// Accuracy and macro-F1 recomputed from a run's `predictions.csv`, independently of pim's
/// confusion matrix: F1 = 2 TP / (2 TP + FP + FN) per class, averaged over the classes that
/// occur in the truth or the predictions (scikit-learn's `f1_score(average="macro")`).
pub fn scores_from_predictions(path: &Path) -> (f64, f64) {
    let (header, rows) = read_csv(path);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (truth, predicted) = (column("true"), column("predicted"));
    let pairs: Vec<(&str, &str)> = rows.iter().map(|r| (r[truth].as_str(), r[predicted].as_str())).collect();
    let correct = pairs.iter().filter(|(t, p)| t == p).count();
    let mut classes: Vec<&str> = pairs.iter().flat_map(|&(t, p)| [t, p]).collect();
    classes.sort();
    classes.dedup();
    let f1_sum: f64 = classes
        .iter()
        .map(|&c| {
            let tp = pairs.iter().filter(|&&(t, p)| t == c && p == c).count() as f64;
            let wrong = pairs.iter().filter(|&&(t, p)| (t == c) != (p == c)).count() as f64;
            2.0 * tp / (2.0 * tp + wrong)
        })
        .sum();
    (correct as f64 / pairs.len() as f64, f1_sum / classes.len() as f64)
}
