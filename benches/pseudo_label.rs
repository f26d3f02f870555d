//! Benchmark: pseudo-label the complete DSADS (9,120 windows, 421 MB of text) and report
//! windows per second for parsing and for the physics separately, each beside a baseline
//! measured in the same run: parsing against merely reading the files' bytes (the I/O
//! floor), features on all cores against one thread, and the whole stage (parse, features,
//! discretiser, writing) against the 10 s target. Median of 3 rounds.
//!
//! `cargo bench --bench pseudo_label` (needs ../shared/data/dsads/dsads.tar.xz; extracts it
//! once under target/tmp).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use pim::PimConfig;
use pim::data::{cut_windows, read_dataset};
use pim::labels::compute::compute_quantities;
use pim::labels::pseudo_label::pseudo_label;
use pim::progress::Silent;

const ROUNDS: usize = 3;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn read_all_bytes(dir: &Path) -> usize {
    let mut total = 0;
    for activity in std::fs::read_dir(dir).unwrap() {
        for subject in std::fs::read_dir(activity.unwrap().path()).unwrap() {
            for file in std::fs::read_dir(subject.unwrap().path()).unwrap() {
                total += std::fs::read(file.unwrap().path()).unwrap().len();
            }
        }
    }
    total
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let archive = root.join("../shared/data/dsads/dsads.tar.xz");
    if !archive.is_file() {
        eprintln!("SKIPPED: {} is absent; this benchmark needs the complete DSADS", archive.display());
        return;
    }
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dsads");
    let status = Command::new("bash").arg(archive.with_file_name("extract.sh")).arg(&data).status().unwrap();
    assert!(status.success(), "extracting DSADS failed");
    let config = PimConfig::load(&root.join("configs/dsads.json")).unwrap();
    let single_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let threads = rayon::current_num_threads();

    let (mut bytes_t, mut parse_t, mut features_t, mut features_1t, mut stage_t) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut windows = 0;
    let mut bytes = 0;
    for round in 0..ROUNDS {
        let start = Instant::now();
        bytes = read_all_bytes(&data);
        bytes_t.push(start.elapsed());

        let start = Instant::now();
        let recordings = read_dataset(&data, &config.dataset, &ProgressBar::hidden()).unwrap().recordings;
        parse_t.push(start.elapsed());

        let (cut, _) = cut_windows(&recordings, config.dataset.window);
        windows = cut.len();
        let start = Instant::now();
        let values = compute_quantities(&recordings, &cut, &config.dataset, &config.physics, &ProgressBar::hidden());
        features_t.push(start.elapsed());
        assert_eq!(values.nrows(), windows);

        let start = Instant::now();
        single_thread.install(|| {
            compute_quantities(&recordings, &cut, &config.dataset, &config.physics, &ProgressBar::hidden())
        });
        features_1t.push(start.elapsed());

        let out = tempfile::tempdir().unwrap();
        let start = Instant::now();
        pseudo_label(&config, &data, out.path(), false, &[], &Silent).unwrap();
        stage_t.push(start.elapsed());
        eprintln!("round {}/{ROUNDS} done", round + 1);
    }

    let rate = |d: Duration| windows as f64 / d.as_secs_f64();
    let (bytes_m, parse_m, features_m, features_1m, stage_m) =
        (median(bytes_t), median(parse_t), median(features_t), median(features_1t), median(stage_t));
    println!(
        "pseudo-label, complete DSADS: {windows} windows, {:.0} MB, {threads} threads, median of {ROUNDS}",
        bytes as f64 / 1e6
    );
    println!("{:<34} {:>9} {:>14} {:>22}", "phase", "seconds", "windows/s", "ratio to baseline");
    println!(
        "{:<34} {:>9.3} {:>14.0} {:>22}",
        "baseline: read bytes only",
        bytes_m.as_secs_f64(),
        rate(bytes_m),
        "1.00x"
    );
    println!(
        "{:<34} {:>9.3} {:>14.0} {:>21.2}x",
        "parse (read + CSV + floats)",
        parse_m.as_secs_f64(),
        rate(parse_m),
        parse_m.as_secs_f64() / bytes_m.as_secs_f64()
    );
    println!(
        "{:<34} {:>9.3} {:>14.0} {:>22}",
        "baseline: features, 1 thread",
        features_1m.as_secs_f64(),
        rate(features_1m),
        "1.00x"
    );
    println!(
        "{:<34} {:>9.3} {:>14.0} {:>18.2}x faster",
        format!("features, {threads} threads"),
        features_m.as_secs_f64(),
        rate(features_m),
        features_1m.as_secs_f64() / features_m.as_secs_f64()
    );
    println!(
        "{:<34} {:>9.3} {:>14.0} {:>15.2}x of 10 s target",
        "whole stage (pim pseudo-label)",
        stage_m.as_secs_f64(),
        rate(stage_m),
        stage_m.as_secs_f64() / 10.0
    );
}
