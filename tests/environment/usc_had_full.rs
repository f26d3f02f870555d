//! The complete USC-HAD (840 MATLAB trials of 14 subjects) through `pim pseudo-label
//! --dataset usc-had`, when `../shared` holds the archive (CI has it). Extracts once into
//! the target folder's temporary space.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::common::{pim, read_csv};
use crate::{archive_missing, extract, shared_data};

fn archive() -> PathBuf {
    shared_data("usc-had").join("usc-had.tar.xz")
}

/// Why this test cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    archive_missing(&archive())
}

fn extracted_usc_had() -> PathBuf {
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pim-data");
    extract(&archive(), &data.join("usc-had"));
    data
}

/// The file names' activities, 14 subjects, and no symmetry task (one sensor).
pub fn full_usc_had() {
    let pim_data = extracted_usc_had();
    let work = tempfile::tempdir().unwrap();
    // The preset finds its data at $PIM_DATA/usc-had and writes runs/usc-had/labels.
    let output = pim()
        .current_dir(work.path())
        .env("PIM_DATA", &pim_data)
        .args(["pseudo-label", "--dataset", "usc-had"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("no left/right sensor pairs: the symmetry task is dropped"), "{stderr}");
    let labels = work.path().join("runs/usc-had/labels");
    let (header, rows) = read_csv(&labels.join("windows.csv"));
    assert_eq!(header, ["subject", "activity", "source", "start"]);
    // 200-sample windows with a hop of 100 over the 840 trials' own lengths.
    assert_eq!(rows.len(), 27_205);
    let mut trials = BTreeMap::new();
    for row in &rows {
        trials.entry(row[0].clone()).or_insert_with(std::collections::BTreeSet::new).insert(row[2].clone());
    }
    assert_eq!(trials.len(), 14);
    assert!(trials.values().all(|t| t.len() == 60), "every subject did 12 activities x 5 trials");
    // The two files whose own fields disagree with their names take the name's activity.
    let activity_of = |source: &str| rows.iter().find(|r| r[2] == source).map(|r| r[1].clone()).unwrap();
    assert_eq!(activity_of("Subject13/a11t4.mat"), "elevator_up");
    assert_eq!(activity_of("Subject14/a3t2.mat"), "walking_right");
    let (label_header, _) = read_csv(&labels.join("labels.csv"));
    assert!(!label_header.iter().any(|c| c.starts_with("symmetry")), "{label_header:?}");
}
