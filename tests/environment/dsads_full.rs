//! The complete DSADS (9,120 segments) through the binary, when `../shared` holds the
//! archive (CI has it). Extracts once into the target folder's temporary space.

use std::path::PathBuf;

use crate::common::{pseudo_label, read_csv, root};
use crate::{archive_missing, extract, shared_data};

fn archive() -> PathBuf {
    shared_data("dsads").join("dsads.tar.xz")
}

/// Why this test cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    archive_missing(&archive())
}

fn extracted_dsads() -> PathBuf {
    let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dsads");
    extract(&archive(), &dest);
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
