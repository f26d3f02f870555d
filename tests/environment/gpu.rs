//! The GPU backend (cargo feature `wgpu`): one pre-training epoch on the tiny fixture
//! through `--backend gpu`, where pim finds a GPU adapter (CI installs Mesa's software
//! Vulkan driver and sets `PIM_REQUIRE_GPU=1`). Autotuning is kept minimal, and one task's head is trained instead of three: on
//! a software driver every autotune candidate of every distinct matrix product is compiled
//! on first use (three heads: about 4 minutes here with cold caches; one head: under 3).
//! The heads differ only in their width, so one exercises the same code.

use std::time::Duration;

use crate::common::{labels_tiny, pretrain_tiny};
use crate::unless_required;

/// Why this test cannot run here, if it cannot: pim's own answer to `--backend gpu`.
pub fn missing() -> Option<String> {
    let absent = if cfg!(feature = "wgpu") {
        pim::train::backend::Backend::Gpu.device(0).err().map(|error| error.to_string())
    } else {
        Some("pim is built without the GPU backend (cargo test --features wgpu)".into())
    };
    unless_required("PIM_REQUIRE_GPU", absent)
}

pub fn one_pretraining_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels_tiny(dir.path());
    let run = dir.path().join("gpu-run");
    let output = pretrain_tiny(&labels, &run)
        .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
        .timeout(Duration::from_secs(480))
        .args(["--backend", "gpu", "--tasks", "speed"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
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
