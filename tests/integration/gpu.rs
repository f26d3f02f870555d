//! The GPU backend (cargo feature `wgpu`): one pre-training epoch on the tiny fixture
//! through `--backend gpu`. Where no GPU adapter exists it prints SKIPPED, unless
//! `PIM_REQUIRE_GPU=1` (set by CI, which installs Mesa's software Vulkan driver), where it
//! fails. Autotuning is kept minimal, and one task's head is trained instead of three: on
//! a software driver every autotune candidate of every distinct matrix product is compiled
//! on first use (three heads: about 4 minutes here with cold caches; one head: under 3).
//! The heads differ only in their width, so one exercises the same code.

use crate::common::{fixture, pim, pseudo_label};

#[test]
fn one_pretraining_epoch_runs_on_the_gpu_backend() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels");
    pseudo_label(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), &labels).assert().success();
    let run = dir.path().join("gpu-run");
    let output = pim()
        .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
        .args(["pretrain", "--backend", "gpu", "--epochs", "1", "--tasks", "speed", "--config"])
        .arg(fixture("dsads-tiny.json"))
        .arg("--labels")
        .arg(&labels)
        .arg("--data-dir")
        .arg(fixture("dsads-tiny"))
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("found no usable GPU adapter") && std::env::var("PIM_REQUIRE_GPU").as_deref() != Ok("1") {
        eprintln!("SKIPPED: no GPU adapter here (set PIM_REQUIRE_GPU=1 to make this a failure)");
        return;
    }
    assert!(output.status.success(), "gpu pre-training failed:\n{stderr}");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let (header, row) = (metrics.lines().next().unwrap(), metrics.lines().nth(1).expect("one epoch row"));
    // Every figure present is finite (the probe's column is empty where no probe ran).
    for (name, value) in header.split(',').zip(row.split(',')).filter(|(_, v)| !v.is_empty()) {
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{name} is {value:?}"));
        assert!(value.is_finite(), "{name} is {value}");
    }
    assert!(header.starts_with("epoch,train_loss") && !row.split(',').nth(1).unwrap().is_empty());
    assert!(run.join("encoder.bpk").is_file());
}
