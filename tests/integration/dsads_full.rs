//! The complete DSADS (9,120 segments) through the binary, when `../shared` holds the
//! archive (CI has it); skipped with a message otherwise (a failure under `PIM_REQUIRE_DATA=1`). Extracts once into the target
//! folder's temporary space.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{pseudo_label, read_csv, root, shared_dsads_archive, skip_without_data};

fn extracted_dsads() -> Option<PathBuf> {
    let archive = shared_dsads_archive()?;
    let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dsads");
    let script = archive.with_file_name("extract.sh");
    let status = Command::new("bash").arg(&script).arg(&dest).status().expect("bash runs extract.sh");
    assert!(status.success(), "{} failed", script.display());
    Some(dest)
}

#[test]
fn full_dsads_gives_9120_windows_of_22_quantities_with_bins_in_range() {
    let Some(data) = extracted_dsads() else {
        skip_without_data("../shared/data/dsads/dsads.tar.xz is absent; the full-DSADS test needs it");
        return;
    };
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
