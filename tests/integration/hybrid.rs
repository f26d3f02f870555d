//! Method `pim+masked`: PIM's physics heads and masked reconstruction's decoder trained on
//! one encoder.

use std::fs;

use safetensors::SafeTensors;

use crate::common::{finetune, fixture, labels_tiny, pim, pretrain_tiny, read_csv};

#[test]
fn the_hybrid_trains_heads_and_decoder_on_one_encoder_and_hands_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels_tiny(dir.path());
    let run = dir.path().join("hybrid");
    pretrain_tiny(&labels, &run).args(["-q", "--method", "pim+masked"]).assert().success();

    let (header, rows) = read_csv(&run.join("metrics.csv"));
    for column in ["train_speed", "train_angle", "train_symmetry", "train_reconstruction", "validation_reconstruction"]
    {
        assert!(header.iter().any(|h| h == column), "metrics.csv lacks {column}: {header:?}");
    }
    assert_eq!(rows.len(), 1);
    let config = fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config.contains("\"method\": \"pim+masked\""), "{config}");

    pim().args(["-q", "export", "--run"]).arg(&run).assert().success();
    let bytes = fs::read(run.join("model.safetensors")).unwrap();
    let names = SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect::<Vec<_>>();
    assert!(names.iter().any(|n| n.starts_with("heads.")), "no pretext head exported: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("decoder.")), "no decoder exported: {names:?}");

    let tuned = dir.path().join("tuned");
    finetune(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), Some(&run), &tuned)
        .args(["-q", "--epochs", "1"])
        .assert()
        .success();

    // Without labels the hybrid cannot learn the physics, and says so.
    let output = pim()
        .args(["pretrain", "--method", "pim+masked", "--config"])
        .arg(fixture("dsads-tiny.json"))
        .arg("--data-dir")
        .arg(fixture("dsads-tiny"))
        .arg("--out")
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("`--labels` is missing: method pim+masked learns the pseudo-labels"), "{error}");
}
