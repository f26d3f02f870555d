//! The whole chain through the binary on the bundled sample with few epochs:
//! pseudo-label, pretrain, finetune, eval; resuming a killed pre-training; and the bad
//! inputs of the training stages (labels of another config, a checkpoint of another
//! architecture, too many shots, a missing file).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{
    copy_dir, files_in, finetune, fixture, pim, pretrain_tiny, pseudo_label, read_csv, root, scores_from_predictions,
};
use pim::train::pretrain::EXIT_AFTER_EPOCH_VAR;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;

fn sample() -> PathBuf {
    root().join("data/dsads-sample")
}

fn dsads_config() -> PathBuf {
    root().join("configs/dsads.json")
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// Pseudo-labels of the sample in `dir/labels`.
fn labels(dir: &Path) -> PathBuf {
    let out = dir.join("labels");
    pseudo_label(&dsads_config(), &sample(), &out).assert().success();
    out
}

fn pretrain(labels: &Path, out: &Path, epochs: usize) -> assert_cmd::Command {
    let mut command = pim();
    command
        .args(["pretrain", "--config"])
        .arg(dsads_config())
        .arg("--labels")
        .arg(labels)
        .arg("--data-dir")
        .arg(sample())
        .arg("--out")
        .arg(out)
        .args(["--epochs", &epochs.to_string()]);
    command
}

/// metrics.csv without its timing columns (windows/s, seconds).
fn losses(run: &Path) -> Vec<String> {
    fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|line| line.rsplitn(3, ',').nth(2).unwrap().to_string())
        .collect()
}

#[test]
fn chain_writes_every_artefact_and_scores_the_test_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let run = dir.path().join("pretrain");
    pretrain(&labels, &run, 2)
        .assert()
        .success()
        .stderr(contains("epoch   2/2"))
        .stderr(contains("pre-trained 2 epochs"));
    for file in ["config.json", "encoder.bpk", "pretrain_model.bpk", "metrics.csv", "normaliser.json", "tasks.json"] {
        assert!(run.join(file).is_file(), "pretrain did not write {file}");
    }
    assert_eq!(losses(&run).len(), 3, "a header and one row per epoch");

    let tuned = dir.path().join("pim-2shot");
    finetune(&dsads_config(), &sample(), Some(&run.join("encoder.bpk")), &tuned)
        .args(["--shots", "2", "--seed", "3", "--epochs", "3"])
        .assert()
        .success()
        .stderr(contains("fine-tuned on 38 windows (2 shots, seed 3)"));
    let shots = fs::read_to_string(tuned.join("shots.csv")).unwrap();
    assert_eq!(shots.lines().count(), 1 + 38);
    for line in shots.lines().skip(1) {
        let subject = line.split(',').nth(3).unwrap();
        assert!(["p1", "p2", "p3", "p4", "p5"].contains(&subject), "drew a window of {subject}: {line}");
    }
    let config = json(&tuned.join("config.json"));
    assert_eq!((config["seed"].as_u64(), config["finetune"]["shots"].as_u64()), (Some(3), Some(2)));

    pim()
        .args(["eval", "--run"])
        .arg(&tuned)
        .arg("--data-dir")
        .arg(sample())
        .assert()
        .success()
        .stderr(contains("76 test windows"));
    let results = json(&tuned.join("results.json"));
    let (f1, accuracy) = (results["macro_f1"].as_f64().unwrap(), results["accuracy"].as_f64().unwrap());
    let (recomputed_accuracy, recomputed_f1) = scores_from_predictions(&tuned.join("predictions.csv"));
    assert!(
        (accuracy - recomputed_accuracy).abs() < 1e-12,
        "accuracy {accuracy}, predictions say {recomputed_accuracy}"
    );
    assert!((f1 - recomputed_f1).abs() < 1e-12, "macro-F1 {f1}, predictions say {recomputed_f1}");
    assert_eq!(results["per_class"].as_array().unwrap().len(), 19);
    assert_eq!(results["per_subject"].as_array().unwrap().len(), 2, "p7 and p8");
    assert_eq!(results["seed"], 3);
    let matrix_total: u64 = results["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(matrix_total, 76);
    let predictions = fs::read_to_string(tuned.join("predictions.csv")).unwrap();
    assert_eq!(predictions.lines().count(), 1 + 76);
    assert!(predictions.starts_with("window,source,start,subject,true,predicted\n"));
    // Read from the raw files, a window is still named by its row among all the data's
    // windows: the row pseudo-label's prepared windows give it.
    let (_, prepared) = read_csv(&labels.join("windows.csv"));
    for file in ["predictions.csv", "shots.csv"] {
        for window in read_csv(&tuned.join(file)).1 {
            let row: usize = window[0].parse().unwrap();
            assert_eq!(prepared[row][2..4], window[1..3], "{file}: {window:?}");
        }
    }
    let record = json(&tuned.join("run.json"));
    assert_eq!((record["stage"].as_str(), record["seed"].as_u64()), (Some("finetune"), Some(3)));
    assert_eq!(json(&run.join("run.json"))["stage"], "pretrain");

    // Rerun at another seed into the evaluated and exported folder: seed 3's scores and
    // hand-off must not stay beside seed 4's model.
    pim().args(["-q", "export", "--run"]).arg(&tuned).assert().success();
    assert!(tuned.join("model.safetensors").exists());
    finetune(&dsads_config(), &sample(), Some(&run.join("encoder.bpk")), &tuned)
        .args(["--shots", "2", "--seed", "4", "--epochs", "1", "-q"])
        .assert()
        .success();
    assert!(!tuned.join("results.json").exists() && !tuned.join("predictions.csv").exists(), "stale scores left");
    assert!(!tuned.join("model.safetensors").exists(), "the earlier run's export was left");
}

#[test]
fn a_second_run_into_a_locked_folder_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let out = dir.path().join("busy");
    fs::create_dir(&out).unwrap();
    // This process holds the lock, as a running `pim pretrain` would.
    let lock = fs::File::create(out.join(".pim.lock")).unwrap();
    lock.lock().unwrap();
    fs::write(out.join(".pim.lock"), std::process::id().to_string()).unwrap();
    pretrain(&labels, &out, 1)
        .assert()
        .failure()
        .code(1)
        .stderr(contains(format!("is being written by another pim (pid {})", std::process::id())));
    assert_eq!(files_in(&out), [".pim.lock"], "the refused run wrote files");
    // pseudo-label takes the same lock.
    pseudo_label(&dsads_config(), &sample(), &out)
        .assert()
        .failure()
        .stderr(contains(format!("is being written by another pim (pid {})", std::process::id())));
    drop(lock);
    pretrain(&labels, &out, 1).arg("-q").assert().success();
    assert!(!out.join(".pim.lock").exists(), "a finished run leaves no lock file");
}

#[test]
fn killed_pretraining_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let epochs = 6;
    let whole = dir.path().join("whole");
    pretrain(&labels, &whole, epochs).arg("-q").assert().success();

    // The run exits as if killed right after saving epoch 2: an exact point, not a race.
    let killed = dir.path().join("killed");
    let done_before = 2;
    pretrain(&labels, &killed, epochs).arg("-q").env(EXIT_AFTER_EPOCH_VAR, done_before.to_string()).assert().code(137);
    assert_eq!(losses(&killed).len() - 1, done_before, "metrics.csv holds the epochs saved before the exit");
    finetune(&dsads_config(), &sample(), Some(&killed), &dir.path().join("early"))
        .assert()
        .failure()
        .stderr(contains("is not a finished `pim pretrain` run (no run.json"));

    pretrain(&labels, &killed, epochs).assert().success().stderr(contains(format!("after epoch {done_before}")));
    assert_eq!(losses(&killed), losses(&whole), "a resumed run must end with the uninterrupted run's losses");
}

#[test]
fn patience_shorter_than_the_validation_interval_still_keeps_a_scored_checkpoint() {
    // Patience 2 with scores every 5 epochs once stopped at epoch 2, before any score, and
    // panicked for want of a checkpoint. Now it stops only at a scored epoch (5, 10 or the
    // last, 12) that is 2 or more after the best one.
    let dir = tempfile::tempdir().unwrap();
    let mut config = json(&dsads_config());
    config["finetune"]["validate_every"] = 5.into();
    config["finetune"]["patience"] = 2.into();
    let config_path = dir.path().join("config.json");
    fs::write(&config_path, config.to_string()).unwrap();
    let out = dir.path().join("tuned");
    finetune(&config_path, &sample(), None, &out).args(["--shots", "1", "--epochs", "12"]).assert().success();
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    let scored: Vec<(usize, f64)> = metrics
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            fields[2].parse().ok().map(|f1| (fields[0].parse().unwrap(), f1))
        })
        .collect();
    let last_epoch = metrics.lines().count() - 1;
    assert_eq!(scored.last().unwrap().0, last_epoch, "the run ends on a scored epoch:\n{metrics}");
    assert!(scored.iter().all(|(epoch, _)| [5, 10, 12].contains(epoch)), "{metrics}");
    let best = scored.iter().fold((0, f64::NEG_INFINITY), |best, &(e, f1)| if f1 > best.1 { (e, f1) } else { best });
    assert!(last_epoch == 12 || last_epoch - best.0 >= 2, "stopped at {last_epoch}, best {best:?}:\n{metrics}");
}

#[test]
fn fine_tuning_sees_only_the_validation_labels_its_config_allows() {
    let dir = tempfile::tempdir().unwrap();
    let tune = |validation: &str| {
        let mut config = json(&dsads_config());
        config["finetune"]["validation"] = validation.into();
        let config_path = dir.path().join(format!("{validation}.json"));
        fs::write(&config_path, config.to_string()).unwrap();
        let out = dir.path().join(validation);
        finetune(&config_path, &sample(), None, &out).args(["--shots", "1", "--epochs", "4"]).assert().success();
        out
    };
    // k_shot: one window per class of the validation subject (p6; the sample has two),
    // none of them a training shot, saved beside the shots.
    let k_shot = tune("k_shot");
    let (header, drawn) = read_csv(&k_shot.join("validation.csv"));
    assert_eq!(header, ["window", "source", "start", "subject", "activity"]);
    assert_eq!(drawn.len(), 19, "one per class");
    assert!(drawn.iter().all(|row| row[3] == "p6"), "{drawn:?}");
    let mut classes: Vec<&str> = drawn.iter().map(|row| row[4].as_str()).collect();
    classes.dedup();
    assert_eq!(classes.len(), 19, "every class once");
    let (_, shots) = read_csv(&k_shot.join("shots.csv"));
    assert!(shots.iter().all(|shot| shot[3] != "p6" && !drawn.iter().any(|v| v[0] == shot[0])));
    assert_eq!(json(&k_shot.join("run.json"))["details"]["validation"], "k_shot");
    // full: every labelled validation window, and no draw to save.
    let full = tune("full");
    assert!(!full.join("validation.csv").exists());
    assert_eq!(json(&full.join("run.json"))["details"]["validation"], "full");
    // none: no epoch is scored and the last is kept.
    let none = tune("none");
    let metrics = fs::read_to_string(none.join("metrics.csv")).unwrap();
    assert!(metrics.lines().skip(1).all(|line| line.split(',').nth(2) == Some("")), "{metrics}");
    let record = json(&none.join("run.json"));
    assert_eq!(
        (record["details"]["best_epoch"].as_u64(), record["details"]["best_validation_macro_f1"].is_null()),
        (Some(4), true)
    );
    pim().args(["eval", "--run"]).arg(&none).arg("--data-dir").arg(sample()).assert().success();
}

#[test]
fn a_kill_inside_a_checkpoint_write_resumes_from_the_last_whole_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let whole = dir.path().join("whole");
    pretrain(&labels, &whole, 4).arg("-q").assert().success();
    let stopped_after = |epoch: usize| {
        let out = dir.path().join(format!("after-{epoch}"));
        pretrain(&labels, &out, 4).arg("-q").env(EXIT_AFTER_EPOCH_VAR, epoch.to_string()).assert().code(137);
        out
    };
    let (two, three) = (stopped_after(2), stopped_after(3));
    assert_eq!(files_in(&two.join("checkpoint")), ["epoch-2", "epochs"], "one whole epoch to resume from");
    // Killed while writing epoch 3: its network and optimiser staged, its history not.
    copy_dir(&three.join("checkpoint/epoch-3"), &two.join("checkpoint/staging"));
    fs::remove_file(two.join("checkpoint/staging/state.json")).unwrap();
    // Killed after epoch 3's rename, before epoch 2's folder went: the later one counts.
    copy_dir(&two.join("checkpoint/epoch-2"), &three.join("checkpoint/epoch-2"));
    // Killed inside a file's write: its temporary stays, and the rerun removes it.
    fs::write(two.join("checkpoint/epochs/3.bpk.tmp"), "half").unwrap();
    fs::write(two.join("metrics.csv.tmp"), "half").unwrap();
    for (run, after) in [(&two, 2), (&three, 3)] {
        pretrain(&labels, run, 4).assert().success().stderr(contains(format!("after epoch {after}")));
        assert_eq!(losses(run), losses(&whole), "resumed after {after}: the uninterrupted run's losses");
        assert_eq!(files_in(&run.join("checkpoint")), ["epoch-4"], "the staging and older epochs are gone");
        assert!(!files_in(run).iter().any(|f| f.ends_with(".tmp")), "{:?}", files_in(run));
    }
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path).into_iter().map(|f| Path::new(path.file_name().unwrap()).join(f)));
        } else {
            files.push(PathBuf::from(path.file_name().unwrap()));
        }
    }
    files.sort();
    files
}

#[test]
fn the_same_seed_writes_byte_identical_artefacts() {
    // Two identical chains: every file the same bytes but the timings (run.json, metrics.csv
    // and the resume history record seconds).
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let chain = |name: &str| {
        let (pre, tuned) = (dir.path().join(format!("pre-{name}")), dir.path().join(format!("ft-{name}")));
        pretrain(&labels, &pre, 2).arg("-q").assert().success();
        finetune(&dsads_config(), &sample(), Some(&pre), &tuned).args(["-q", "--epochs", "3"]).assert().success();
        pim().args(["-q", "export", "--run"]).arg(&tuned).assert().success();
        (pre, tuned)
    };
    let (first, second) = (chain("a"), chain("b"));
    let timed = ["run.json", "metrics.csv", "state.json"];
    for (a, b) in [(&first.0, &second.0), (&first.1, &second.1)] {
        let files = files_under(a);
        assert_eq!(files, files_under(b));
        assert!(files.iter().any(|f| f.ends_with("encoder.bpk")) || files.iter().any(|f| f.ends_with("model.bpk")));
        for file in files.iter().filter(|f| !timed.iter().any(|t| f.ends_with(t))) {
            assert!(fs::read(a.join(file)).unwrap() == fs::read(b.join(file)).unwrap(), "{} differs", file.display());
        }
    }
    assert!(second.1.join("model.safetensors").is_file());
}

#[test]
fn a_run_killed_before_its_completion_mark_finishes_on_rerun() {
    // Killed after checkpoints.json, before run.json: the rerun writes the mark, keeps the
    // encoders, and later stages accept the run.
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let run = dir.path().join("run");
    pretrain(&labels, &run, 2).arg("-q").assert().success();
    let encoder = fs::read(run.join("encoder.bpk")).unwrap();
    fs::remove_file(run.join("run.json")).unwrap();
    pretrain(&labels, &run, 2).assert().success();
    assert!(run.join("run.json").is_file());
    assert_eq!(fs::read(run.join("encoder.bpk")).unwrap(), encoder, "the kept encoder is not re-made");
    finetune(&dsads_config(), &sample(), Some(&run), &dir.path().join("ft")).args(["--epochs", "1"]).assert().success();
}

/// Write `windows.sums.json` anew for the windows in `labels`, as pim would: what a user who
/// edits the windows and their checksums together gets past the checksums with.
fn reseal(labels: &Path) {
    use pim::data::prepared::WindowSums;
    let samples: ndarray::Array3<f32> =
        ndarray_npy::ReadNpyExt::read_npy(fs::File::open(labels.join("windows.npy")).unwrap()).unwrap();
    let windows = samples.as_slice().unwrap().chunks(45 * 125).map(WindowSums::of_window).collect();
    let index = WindowSums::of_index(&fs::read(labels.join("windows.csv")).unwrap());
    fs::write(labels.join("windows.sums.json"), serde_json::to_string(&WindowSums { index, windows }).unwrap())
        .unwrap();
}

/// Where the samples of an npy 1.0 file start: 6 magic bytes, 2 version bytes, a
/// little-endian u16 header length, the header.
fn npy_data_offset(bytes: &[u8]) -> usize {
    10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))
}

/// `pim finetune` on every training window of the prepared `labels`, one epoch, into `out`.
fn finetune_on_prepared(labels: &Path, out: &Path) -> assert_cmd::Command {
    let mut command = pim();
    command.args(["-q", "finetune", "--config"]).arg(dsads_config()).arg("--windows").arg(labels);
    command.arg("--out").arg(out).args(["--shots", "all", "--epochs", "1"]);
    command
}

/// `pim eval` of the run `tuned` on the prepared `labels`.
fn eval_on_prepared(labels: &Path, tuned: &Path) -> assert_cmd::assert::Assert {
    pim().args(["eval", "--run"]).arg(tuned).arg("--windows").arg(labels).assert()
}

/// Overwrite the first sample of `windows.npy`'s row `row` in `labels` with `value`.
fn set_first_sample(labels: &Path, row: usize, value: f32) {
    let path = labels.join("windows.npy");
    let mut bytes = fs::read(&path).unwrap();
    let data = npy_data_offset(&bytes);
    let window = 45 * 125 * 4;
    bytes[data + row * window..data + row * window + 4].copy_from_slice(&value.to_le_bytes());
    fs::write(&path, bytes).unwrap();
}

#[test]
fn a_window_that_is_not_finite_is_named_not_scored() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let (_, windows) = read_csv(&labels.join("windows.csv"));
    let row_of = |subject: &str| windows.iter().position(|w| w[0] == subject).unwrap();
    let tuned = dir.path().join("tuned");
    finetune_on_prepared(&labels, &tuned).assert().success();
    let eval = || eval_on_prepared(&labels, &tuned);
    eval().success();
    let test_row = row_of("p7");
    set_first_sample(&labels, test_row, f32::NAN);
    eval().failure().code(1).stderr(contains(format!("window row {test_row} (subject p7")).and(contains("checksum")));
    // With checksums made for the edited file, the value itself is refused.
    reseal(&labels);
    eval().failure().code(1).stderr(contains(format!("window row {test_row} (subject p7")).and(contains("not finite")));
    // A training window of infinity stops fine-tuning before its first step.
    let train_row = row_of("p1");
    set_first_sample(&labels, train_row, f32::INFINITY);
    reseal(&labels);
    finetune_on_prepared(&labels, &dir.path().join("again"))
        .assert()
        .failure()
        .stderr(contains(format!("window row {train_row} (subject p1")).and(contains("not finite")));
}

#[test]
fn prepared_windows_edited_after_pseudo_label_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let tuned = dir.path().join("tuned");
    let tune = || finetune_on_prepared(&labels, &tuned);
    tune().assert().success();
    let eval = || eval_on_prepared(&labels, &tuned);
    let original = (fs::read(labels.join("windows.npy")).unwrap(), fs::read(labels.join("windows.csv")).unwrap());
    // A finite change (3e38) of one test window.
    let (_, index) = read_csv(&labels.join("windows.csv"));
    let row = index.iter().position(|w| w[0] == "p8").unwrap();
    set_first_sample(&labels, row, 3e38);
    eval().failure().code(1).stderr(contains(format!("window row {row} (subject p8")).and(contains("checksum")));
    // Two training windows swapped: same shape, same values overall.
    fs::write(labels.join("windows.npy"), &original.0).unwrap();
    let mut bytes = original.0.clone();
    let data = npy_data_offset(&bytes);
    let size = 45 * 125 * 4;
    let (first, second) = bytes[data..].split_at_mut(size);
    first.swap_with_slice(&mut second[..size]);
    fs::write(labels.join("windows.npy"), &bytes).unwrap();
    tune().assert().failure().stderr(contains("window row 0 (subject p1").and(contains("checksum")));
    // A relabelled subject in the index.
    fs::write(labels.join("windows.npy"), &original.0).unwrap();
    let relabelled = String::from_utf8(original.1.clone()).unwrap().replacen("\np2,", "\np1,", 1);
    fs::write(labels.join("windows.csv"), relabelled).unwrap();
    eval().failure().stderr(contains("windows.csv: does not match its checksum"));
    // Put back, all is well again.
    fs::write(labels.join("windows.csv"), &original.1).unwrap();
    eval().success();
}

#[test]
fn a_fine_tuning_that_fails_in_a_new_folder_leaves_no_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = json(&dsads_config());
    config["finetune"]["learning_rate"] = 1e38.into();
    let config_path = dir.path().join("diverging.json");
    fs::write(&config_path, config.to_string()).unwrap();
    let out = dir.path().join("ft");
    finetune(&config_path, &sample(), None, &out)
        .args(["--shots", "2", "--epochs", "20"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains("the classification loss is"));
    assert!(!out.exists(), "left behind: {:?}", files_in(&out));
}

#[test]
fn damaged_checkpoint_weights_are_refused_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let killed = dir.path().join("killed");
    pretrain(&labels, &killed, 3).arg("-q").env(EXIT_AFTER_EPOCH_VAR, "2").assert().code(137);
    // 400 bytes of 0xFF in the middle of the weights: NaN as f32.
    let state = fs::read(killed.join("checkpoint/epoch-2/state.json")).unwrap();
    let model = killed.join("checkpoint/epoch-2/model.bpk");
    let mut bytes = fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 400].fill(0xFF);
    fs::write(&model, bytes).unwrap();
    pretrain(&labels, &killed, 3)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("checkpoint/epoch-2/model.bpk: holds").and(contains("non-finite weights (NaN or infinity)")));
    let after = fs::read(killed.join("checkpoint/epoch-2/state.json")).unwrap();
    assert_eq!(after, state, "no epoch was trained on NaN weights");
}

#[test]
fn labels_of_another_config_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("tiny-labels");
    pseudo_label(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), &other).assert().success();
    let run = dir.path().join("run");
    pretrain(&other, &run, 1)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("tiny-labels/config.json: was made with `dataset."));
}

#[test]
fn encoder_of_another_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let run = dir.path().join("run");
    pretrain(&labels, &run, 1).arg("-q").assert().success();
    // A config whose encoder is wider cannot take these weights.
    let mut config = json(&dsads_config());
    config["model"]["filters"] = serde_json::json!([16, 32, 48]);
    let wider = dir.path().join("wider.json");
    fs::write(&wider, config.to_string()).unwrap();
    finetune(&wider, &sample(), Some(&run.join("encoder.bpk")), &dir.path().join("ft"))
        .args(["--shots", "1", "--epochs", "1"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains(
            "run/config.json: was made with `model.filters` = [32,64,96], the config given now has [16,32,48]",
        ));
}

#[test]
fn more_shots_than_a_class_holds_takes_what_there_is() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scratch");
    // The sample has 10 training windows per class (5 subjects x 2 segments).
    finetune(&dsads_config(), &sample(), None, &out)
        .args(["--shots", "16", "--epochs", "1"])
        .assert()
        .success()
        .stderr(contains("notice: 19 classes have fewer training windows than 16 shots, so all of theirs are used: "))
        .stderr(contains("sitting 10, standing 10,"))
        .stderr(contains("fine-tuned on 190 windows"));
}

#[test]
fn missing_encoder_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere/encoder.bpk");
    finetune(&dsads_config(), &sample(), Some(&missing), &dir.path().join("ft"))
        .args(["--shots", "1"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains(
            "nowhere/encoder.bpk: does not exist; pass --init a `pim pretrain` run folder or its encoder.bpk",
        ));
    assert_eq!(files_in(&dir.path().join("ft")), Vec::<String>::new(), "a failed run wrote files");
    // A missing folder, beside others: missing, not "not a finished run".
    let folder = dir.path().join("no-such-run");
    finetune(&dsads_config(), &sample(), Some(&folder), &dir.path().join("ft"))
        .assert()
        .failure()
        .stderr(contains("no-such-run: does not exist"));
}

#[test]
fn eval_without_a_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    pim()
        .args(["eval", "--run"])
        .arg(dir.path())
        .arg("--data-dir")
        .arg(sample())
        .assert()
        .failure()
        .code(1)
        .stderr(contains("is not a finished `pim finetune` run (no run.json"))
        .stderr(contains("pass --run the --out folder of a finished `pim finetune`"));
}

#[test]
fn training_with_the_direct_kernels_ends_where_burns_convolutions_do() {
    // The same seed trained with pim's kernels and with Burn's convolutions (PIM_CONV=burn):
    // they differ only in the rounding of sums, so after 3 epochs (9 steps) every loss of
    // metrics.csv agrees to 1e-3 relative.
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let (direct, burn) = (dir.path().join("direct"), dir.path().join("burn"));
    pretrain(&labels, &direct, 3).arg("-q").assert().success();
    pretrain(&labels, &burn, 3).env("PIM_CONV", "burn").arg("-q").assert().success();
    let numbers = |run: &Path| -> Vec<f64> {
        losses(run).iter().skip(1).flat_map(|line| line.split(',').skip(1).map(|v| v.parse::<f64>().unwrap())).collect()
    };
    let (a, b) = (numbers(&direct), numbers(&burn));
    assert_eq!(a.len(), b.len());
    assert_ne!(a, b, "PIM_CONV=burn should have run Burn's convolutions, whose rounding differs");
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-3 * y.abs(),
            "loss {x} with the direct kernels, {y} with Burn's: {a:?} against {b:?}"
        );
    }
}

#[test]
fn a_loss_that_turns_nan_stops_pretraining_naming_epoch_and_term() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let mut config = json(&dsads_config());
    config["pretrain"]["learning_rate"] = 1e6.into();
    let config_path = dir.path().join("lr.json");
    fs::write(&config_path, config.to_string()).unwrap();
    let out = dir.path().join("diverged");
    pim()
        .args(["pretrain", "--config"])
        .arg(&config_path)
        .arg("--labels")
        .arg(&labels)
        .arg("--windows")
        .arg(&labels)
        .arg("--out")
        .arg(&out)
        .args(["--epochs", "3"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains("epoch 1: the speed loss is NaN; lower pretrain.learning_rate"));
    assert!(!out.join("run.json").exists() && !out.join("encoder.bpk").exists(), "a diverged run looks finished");
}

/// `labels.csv` of `labels` with `edit` applied to its lines.
fn edit_labels(labels: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let path = labels.join("labels.csv");
    let mut lines: Vec<String> = fs::read_to_string(&path).unwrap().lines().map(String::from).collect();
    edit(&mut lines);
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// `pim inspect-labels` on `labels` fails with exit code 1 and `message`.
fn inspect_labels_refuses(labels: &Path, message: &str) {
    pim().args(["inspect-labels", "--labels"]).arg(labels).assert().failure().code(1).stderr(contains(message));
}

#[test]
fn a_bin_beyond_the_discretisers_count_is_named_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    edit_labels(&labels, |lines| {
        let mut fields: Vec<&str> = lines[5].split(',').collect();
        fields[4] = "11";
        lines[5] = fields.join(",");
    });
    pretrain(&labels, &dir.path().join("run"), 1)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("labels.csv:6: bin 11 of speed.torso is out of range: labels.bins is 11 (0 to 10)"));
    inspect_labels_refuses(&labels, "bin 11 of speed.torso is out of range");
}

#[test]
fn a_truncated_labels_file_is_refused_not_read_as_fewer_windows() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    edit_labels(&labels, |lines| lines.truncate(100));
    inspect_labels_refuses(&labels, "has 99 rows, but run.json says pim pseudo-label wrote 304 windows");
}

#[test]
fn the_demo_prints_its_table_and_quiet_means_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let demo = || {
        let mut command = pim();
        command.args(["demo", "--shots", "2", "--config"]).arg(fixture("dsads-tiny.json"));
        command.arg("--data-dir").arg(fixture("dsads-tiny")).arg("--out").arg(&out);
        command
    };
    let output = demo().arg("-q").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    let methods: Vec<&str> = table.lines().skip(2).filter_map(|l| l.split(" | ").next()).collect();
    assert_eq!(methods, ["| pim", "| masked", "| scratch"], "{table}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.lines().all(|l| l.starts_with("notice:")), "-q printed more than notices:\n{stderr}");
    // A rerun reuses the finished stages and prints the same table.
    let again = demo().output().unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap(), table);
    assert!(String::from_utf8_lossy(&again.stderr).contains("reusing the finished run"));
}

#[test]
fn without_validation_subjects_the_scored_loss_is_not_called_validation() {
    // The tiny fixture has no validation subject: the loss that picks the checkpoint is the
    // training windows', and the progress line says so.
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels");
    pseudo_label(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), &labels).arg("-q").assert().success();
    let output = pretrain_tiny(&labels, &dir.path().join("run")).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("epoch   1/1")).expect("an epoch line");
    assert!(line.contains("training windows scored") && !line.contains("validation"), "{line}");
    assert!(stderr.contains("no validation subjects: the checkpoint is chosen by training loss"), "{stderr}");
}

#[test]
fn fine_tuning_logs_each_scored_epoch_where_no_bar_is_drawn() {
    // Tests read stderr through a pipe, as a log does: the bar is hidden, the lines are not.
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, quiet: bool| {
        let mut command = finetune(&dsads_config(), &sample(), None, &dir.path().join(out));
        command.args(["--shots", "2", "--epochs", "10"]);
        if quiet {
            command.arg("-q");
        }
        let output = command.output().unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = run("logged", false);
    let scored: Vec<&str> = stderr.lines().filter(|l| l.starts_with("epoch")).collect();
    assert_eq!(scored.len(), 10, "the config scores every epoch:\n{stderr}");
    assert!(scored[0].starts_with("epoch   1/10  train loss ") && scored[0].contains("(best "), "{}", scored[0]);
    assert!(!run("quiet", true).lines().any(|l| l.starts_with("epoch")), "-q printed epoch lines");
}

#[test]
fn inspecting_labels_before_any_run_says_to_make_them() {
    let dir = tempfile::tempdir().unwrap();
    pim()
        .current_dir(dir.path())
        .args(["inspect-labels", "--dataset", "dsads"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains("runs/dsads/labels: does not exist; run `pim pseudo-label` first"));
    // A labels folder of an interrupted run (no run.json) is named as such.
    let labels = labels(dir.path());
    std::fs::remove_file(labels.join("run.json")).unwrap();
    inspect_labels_refuses(&labels, "is not a finished `pim pseudo-label` run");
}

#[test]
fn classes_short_of_the_shots_are_one_notice_quiet_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let run = |quiet: bool| {
        let mut command = finetune(&dsads_config(), &sample(), None, &dir.path().join(format!("ft-{quiet}")));
        command.args(["--shots", "16", "--epochs", "1"]);
        if quiet {
            command.arg("-q");
        }
        let output = command.output().unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stderr).lines().filter(|l| l.starts_with("notice:")).count()
    };
    assert_eq!(run(false), 1, "one notice naming the 19 classes holding fewer than 16 training windows");
    assert_eq!(run(true), 1);
}

#[test]
fn the_dataset_chain_runs_by_name_with_default_folders() {
    let work = tempfile::tempdir().unwrap();
    let data_root = work.path().join("data");
    copy_dir(&sample(), &data_root.join("dsads"));
    let stage = |args: &[&str]| {
        let output = pim().current_dir(work.path()).env("PIM_DATA", &data_root).arg("-q").args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    stage(&["pseudo-label", "--dataset", "dsads"]);
    stage(&["pretrain", "--dataset", "dsads", "--epochs", "1"]);
    stage(&["finetune", "--dataset", "dsads", "--shots", "4", "--epochs", "2"]);
    stage(&["eval", "--dataset", "dsads"]);
    stage(&["embed", "--dataset", "dsads"]);
    stage(&["export", "--dataset", "dsads"]);
    let runs = work.path().join("runs/dsads");
    assert_eq!(files_in(&runs), ["finetune-pim-4shots-seed0", "labels", "pretrain-pim"]);
    let pretrained = files_in(&runs.join("pretrain-pim"));
    for file in ["embeddings.csv", "embeddings.npy", "model.safetensors"] {
        assert!(pretrained.iter().any(|f| f == file), "{file} is not in the pre-training run: {pretrained:?}");
    }
    let output =
        pim().current_dir(work.path()).args(["embed", "--dataset", "dsads", "--method", "masked"]).output().unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("pretrain-masked: does not exist; run `pim pretrain --dataset dsads --method masked` first"),
        "{error}"
    );
    let results = json(&runs.join("finetune-pim-4shots-seed0/results.json"));
    assert_eq!(results["windows"], 76, "p7 and p8 of the sample");
    let tuned = json(&runs.join("finetune-pim-4shots-seed0/run.json"));
    assert!(tuned["details"]["init"]["run"].as_str().unwrap().ends_with("runs/dsads/pretrain-pim"), "{tuned}");
}

#[test]
fn every_simd_level_trains_to_the_same_bits() {
    // pim's kernels (convolutions and dense layers), pinned to each level this CPU has
    // (PIM_SIMD), train a network and fine-tune a classifier to the same bytes. What else
    // picks its code by CPU is covered by the environment test `cpus`, under QEMU.
    use pim::model::conv::simd::SimdLevel;
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let levels: Vec<SimdLevel> = SimdLevel::ALL.into_iter().filter(|l| l.is_supported()).collect();
    let trained: Vec<(Vec<u8>, Vec<u8>)> = levels
        .iter()
        .map(|level| {
            let (pre, tuned) = (dir.path().join(format!("pre-{}", level.name())), dir.path().join(level.name()));
            pretrain(&labels, &pre, 2).env("PIM_SIMD", level.name()).arg("-q").assert().success();
            finetune(&dsads_config(), &sample(), Some(&pre), &tuned)
                .env("PIM_SIMD", level.name())
                .args(["-q", "--epochs", "2"])
                .assert()
                .success();
            (fs::read(pre.join("encoder.bpk")).unwrap(), fs::read(tuned.join("model.bpk")).unwrap())
        })
        .collect();
    assert!(levels.contains(&SimdLevel::Portable));
    for (level, bytes) in levels.iter().zip(&trained).skip(1) {
        assert!(*bytes == trained[0], "{} trained other bits than {}", level.name(), levels[0].name());
    }
    pim()
        .args(["pretrain", "--method", "masked"])
        .env("PIM_SIMD", "avx1024")
        .assert()
        .failure()
        .code(1)
        .stderr(contains("PIM_SIMD: \"avx1024\" is not a SIMD level; use avx512, avx2 or portable, or unset it"));
}

#[test]
fn a_finished_run_missing_its_encoder_says_so_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let run = dir.path().join("run");
    pretrain(&labels, &run, 1).arg("-q").assert().success();
    fs::remove_file(run.join("encoder.bpk")).unwrap();
    pretrain(&labels, &run, 1)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("encoder.bpk: is missing from this finished run; delete the run folder and run it again"));
}

#[test]
fn a_fresh_start_in_a_finished_folder_keeps_nothing_of_the_earlier_run() {
    // A finished run whose checkpoint/ was deleted, rerun with another config: it starts
    // afresh, and its kept epochs are its own, not the earlier run's checkpoints.json.
    let dir = tempfile::tempdir().unwrap();
    let labels = labels(dir.path());
    let run = dir.path().join("run");
    pretrain(&labels, &run, 3).arg("-q").assert().success();
    pim().args(["-q", "embed", "--run"]).arg(&run).arg("--windows").arg(&labels).assert().success();
    fs::remove_dir_all(run.join("checkpoint")).unwrap();
    pretrain(&labels, &run, 1).arg("-q").assert().success();
    assert!(!run.join("embeddings.npy").exists(), "the earlier run's embeddings were left");
    let kept: std::collections::BTreeMap<String, usize> =
        serde_json::from_slice(&fs::read(run.join("checkpoints.json")).unwrap()).unwrap();
    assert!(kept.values().all(|&epoch| epoch == 1), "{kept:?}");
    assert_eq!(json(&run.join("run.json"))["details"]["epochs"], 1);
}
