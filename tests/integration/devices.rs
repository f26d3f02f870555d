//! One-device encoders (`model.sensors`): the encoder reads only the sensors it is given,
//! and method pim predicts either every sensor's physics (the default) or only theirs
//! (`pretrain.targets seen_sensors`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{copy_dir, fixture, labels_tiny, pim, pretrain_tiny};

/// The tiny fixture with `columns` of every file raised by 1 (DSADS text: 45 columns,
/// five sensors of nine, torso first).
fn perturbed(dir: &Path, name: &str, columns: std::ops::Range<usize>) -> PathBuf {
    let out = dir.join(name);
    copy_dir(&fixture("dsads-tiny"), &out);
    for activity in fs::read_dir(&out).unwrap() {
        for subject in fs::read_dir(activity.unwrap().path()).unwrap() {
            for file in fs::read_dir(subject.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let text = fs::read_to_string(&path).unwrap();
                let raised: Vec<String> = text
                    .lines()
                    .map(|line| {
                        let values = line.split(',').enumerate().map(|(c, v)| {
                            if columns.contains(&c) { (v.parse::<f64>().unwrap() + 1.0).to_string() } else { v.into() }
                        });
                        values.collect::<Vec<_>>().join(",")
                    })
                    .collect();
                fs::write(&path, raised.join("\n") + "\n").unwrap();
            }
        }
    }
    out
}

/// Column names of each task `pim pretrain` trained, from its `tasks.json`.
fn task_columns(run: &Path) -> Vec<String> {
    let tasks: serde_json::Value = serde_json::from_slice(&fs::read(run.join("tasks.json")).unwrap()).unwrap();
    let columns = tasks.as_array().unwrap().iter().flat_map(|t| t["columns"].as_array().unwrap().clone());
    columns.map(|c| c.as_str().unwrap().to_string()).collect()
}

fn embed(run: &Path, data: &Path, out: &Path) -> Vec<u8> {
    pim().args(["-q", "embed", "--run"]).arg(run).arg("--data-dir").arg(data).arg("--out").arg(out).assert().success();
    fs::read(out.join("embeddings.npy")).unwrap()
}

#[test]
fn a_one_device_encoder_reads_only_its_sensor_and_learns_the_physics_asked() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels_tiny(dir.path());

    let own = dir.path().join("torso-own");
    pretrain_tiny(&labels, &own).args(["-q", "--sensors", "torso", "--targets", "seen_sensors"]).assert().success();
    let columns = task_columns(&own);
    assert!(!columns.is_empty() && columns.iter().all(|c| c.split('.').nth(1) == Some("torso")), "{columns:?}");

    let distilled = dir.path().join("torso-all");
    pretrain_tiny(&labels, &distilled).args(["-q", "--sensors", "torso"]).assert().success();
    let columns = task_columns(&distilled);
    for expected in ["speed.right_arm", "symmetry.left_arm.right_arm", "speed.torso"] {
        assert!(columns.iter().any(|c| c == expected), "{expected} is not a target: {columns:?}");
    }

    // Another sensor's signals change nothing the encoder gives; its own sensor's do.
    let original = embed(&own, &fixture("dsads-tiny"), &dir.path().join("e0"));
    let arm = embed(&own, &perturbed(dir.path(), "arm", 9..18), &dir.path().join("e1"));
    let torso = embed(&own, &perturbed(dir.path(), "torso", 0..1), &dir.path().join("e2"));
    assert!(original == arm, "the right arm's signals moved a torso-only encoder's embeddings");
    assert!(original != torso, "the torso's own signals did not move its embeddings");

    // Fine-tuning must read the sensors the encoder was trained on.
    let tuned = dir.path().join("tuned");
    let output = crate::common::finetune(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), Some(&own), &tuned)
        .args(["--epochs", "1"])
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("was made with `model.sensors` = [\"torso\"]"), "{error}");
    crate::common::finetune(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), Some(&own), &tuned)
        .args(["-q", "--epochs", "1", "--sensors", "torso"])
        .assert()
        .success();

    let output = pim().args(["pretrain", "--dataset", "dsads", "--sensors", "chest"]).output().unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains(
            "`model.sensors` names \"chest\", not a sensor of dataset dsads; name each once, in the dataset's order: torso, right_arm"
        ),
        "{error}"
    );
}
