//! The complete DSADS (9,120 segments) through the binary, when `../shared` holds the
//! archive (CI has it). Extracts once into the target folder's temporary space.

use std::path::PathBuf;

use crate::common::{PROCESS_LIMIT, pseudo_label, read_csv, root};
use crate::{shared_data, unless_required};

fn archive() -> PathBuf {
    shared_data("dsads").join("dsads.tar.xz")
}

/// Why this test cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let absent = (!archive().is_file()).then(|| format!("{} is absent", archive().display()));
    unless_required("PIM_REQUIRE_DATA", absent)
}

fn extracted_dsads() -> PathBuf {
    assert!(archive().is_file(), "PIM_REQUIRE_DATA=1, but {} is absent", archive().display());
    let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dsads");
    let script = archive().with_file_name("extract.sh");
    assert_cmd::Command::new("bash").arg(&script).arg(&dest).timeout(PROCESS_LIMIT).assert().success();
    dest
}

pub fn full_dsads() {
    let data = extracted_dsads();
    let out = tempfile::tempdir().unwrap();
    pseudo_label(&root().join("configs/dsads.json"), &data, out.path()).assert().success();
    let (header, labels) = read_csv(&out.path().join("labels.csv"));
    assert_eq!(header.len(), 4 + 22);
    assert_eq!(labels.len(), 9120);
    let mut per_subject = std::collections::BTreeMap::new();
    for row in &labels {
        *per_subject.entry(row[0].clone()).or_insert(0) += 1;
        for bin in &row[4..] {
            assert!(bin.parse::<u8>().unwrap() <= 10, "bin {bin} out of range in {}", row[2]);
        }
    }
    assert!(per_subject.values().all(|&n| n == 19 * 60), "{per_subject:?}");
    let (_, features) = read_csv(&out.path().join("features.csv"));
    assert_eq!(features.len(), 9120);
    assert_eq!(features[0][2], "a01/p1/s01.txt");
}
