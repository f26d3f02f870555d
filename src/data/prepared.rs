//! Prepared windows: every window of a dataset cut once, in physical units, and saved as
//! `windows.npy` (float32 `[windows, channels, time]`, which numpy loads as it is) with
//! `windows.csv` (subject, activity, source, start per window), so that later stages load
//! them instead of parsing the raw files again. `pim pseudo-label` writes them beside the
//! labels.
//!
//! The windows do not depend on the subject split (roles are given when they are loaded),
//! so one prepared folder serves every fold of a cross-subject evaluation.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::Array3;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use super::config::DatasetConfig;
use super::recording::Recording;
use super::window::Window;
use crate::error::{Error, Result};
use crate::output::StagedOutputs;

/// The samples of every window.
pub const WINDOWS_FILE: &str = "windows.npy";
/// One row per window: where it came from.
pub const WINDOW_INDEX_FILE: &str = "windows.csv";
/// Columns of [`WINDOW_INDEX_FILE`] (and the first columns of the label files).
pub const KEY_COLUMNS: [&str; 4] = ["subject", "activity", "source", "start"];

/// Where a window came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInfo {
    /// Subject id.
    pub subject: String,
    /// Class name (empty for unlabelled windows).
    pub activity: String,
    /// Source file relative to the data folder.
    pub source: String,
    /// First sample of the window among the file's data rows.
    pub start: usize,
}

/// Every window of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedWindows {
    /// `[windows, channels, time]`, acceleration in m/s^2, angular rate in rad/s.
    pub samples: Array3<f32>,
    /// Each window's identity, in the same order.
    pub index: Vec<WindowInfo>,
}

impl PreparedWindows {
    /// Cut `windows` out of `recordings`.
    pub fn cut(recordings: &[Recording], windows: &[Window], config: &DatasetConfig) -> Self {
        let channels = recordings.first().map_or(0, |r| r.samples.nrows());
        let length = config.window.length;
        let samples = Array3::from_shape_fn((windows.len(), channels, length), |(w, c, t)| {
            let window = windows[w];
            recordings[window.recording].samples[[c, window.offset + t]]
        });
        let index = windows
            .iter()
            .map(|w| {
                let recording = &recordings[w.recording];
                WindowInfo {
                    subject: recording.subject.clone(),
                    activity: config.class_by_id(&recording.activity).map(|c| c.name.clone()).unwrap_or_default(),
                    source: recording.source.clone(),
                    start: recording.start + w.offset,
                }
            })
            .collect();
        PreparedWindows { samples, index }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Stage `windows.npy` and `windows.csv` in `outputs`.
    pub fn write(&self, outputs: &mut StagedOutputs) -> Result<()> {
        outputs.write(WINDOWS_FILE, |w| {
            self.samples.write_npy(w).map_err(|e| Error::Artefact {
                path: WINDOWS_FILE.into(),
                problem: format!("cannot be written ({e})"),
                fix: "check the disk has space and the folder is writable".into(),
            })
        })?;
        outputs.write(WINDOW_INDEX_FILE, |w| {
            let io = |e| Error::io("write", WINDOW_INDEX_FILE, "check the disk has space", e);
            writeln!(w, "{}", KEY_COLUMNS.join(",")).map_err(io)?;
            for info in &self.index {
                writeln!(w, "{},{},{},{}", info.subject, info.activity, info.source, info.start).map_err(io)?;
            }
            Ok(())
        })
    }

    /// Read `windows.npy` and `windows.csv` from `dir`, checking that they describe the same
    /// windows.
    pub fn read(dir: &Path) -> Result<Self> {
        let fix = "pass the --out folder of `pim pseudo-label`, or run it again";
        let npy = dir.join(WINDOWS_FILE);
        let file = File::open(&npy).map_err(|e| Error::io("open", &npy, fix, e))?;
        let samples = Array3::<f32>::read_npy(BufReader::new(file)).map_err(|e| Error::Artefact {
            path: npy.clone(),
            problem: format!("is not a float32 array of [windows, channels, time] ({e})"),
            fix: fix.into(),
        })?;
        let index = read_index(&dir.join(WINDOW_INDEX_FILE), fix)?;
        if index.len() != samples.shape()[0] {
            return Err(Error::Artefact {
                path: npy,
                problem: format!("holds {} windows, but {WINDOW_INDEX_FILE} lists {}", samples.shape()[0], index.len()),
                fix: fix.into(),
            });
        }
        Ok(PreparedWindows { samples, index })
    }
}

/// The rows of a `windows.csv`.
fn read_index(path: &PathBuf, fix: &str) -> Result<Vec<WindowInfo>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| Error::BadDataset {
        path: path.clone(),
        problem: format!("cannot be read ({e})"),
        fix: fix.into(),
    })?;
    let bad_row = |line: u64, problem: String| Error::BadRow { path: path.clone(), line, problem, fix: fix.into() };
    let header = reader.headers().map_err(|e| bad_row(1, e.to_string()))?.clone();
    if header.iter().ne(KEY_COLUMNS) {
        return Err(bad_row(1, format!("header is not {}", KEY_COLUMNS.join(","))));
    }
    let mut index = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad_row(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let start = record[3].parse().map_err(|_| bad_row(line, format!("start {:?} is not a number", &record[3])))?;
        index.push(WindowInfo {
            subject: record[0].to_string(),
            activity: record[1].to_string(),
            source: record[2].to_string(),
            start,
        });
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_trip_through_npy_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let samples = Array3::from_shape_fn((3, 2, 4), |(w, c, t)| (w * 100 + c * 10 + t) as f32 + 0.5);
        let index = (0..3)
            .map(|w| WindowInfo {
                subject: format!("p{w}"),
                activity: if w == 1 { String::new() } else { "walking".into() },
                source: format!("a/{w}.csv"),
                start: w * 7,
            })
            .collect();
        let prepared = PreparedWindows { samples, index };
        let mut outputs = StagedOutputs::new(dir.path()).unwrap();
        prepared.write(&mut outputs).unwrap();
        outputs.commit().unwrap();
        assert_eq!(PreparedWindows::read(dir.path()).unwrap(), prepared);
        // numpy's format: magic string, version, then a header naming the dtype and shape.
        let bytes = std::fs::read(dir.path().join(WINDOWS_FILE)).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..80]);
        assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (3, 2, 4)"), "{header}");
    }

    #[test]
    fn a_short_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let prepared = PreparedWindows {
            samples: Array3::zeros((2, 1, 3)),
            index: vec![WindowInfo { subject: "p1".into(), activity: "a".into(), source: "s".into(), start: 0 }; 2],
        };
        let mut outputs = StagedOutputs::new(dir.path()).unwrap();
        prepared.write(&mut outputs).unwrap();
        outputs.commit().unwrap();
        let csv = dir.path().join(WINDOW_INDEX_FILE);
        let text = std::fs::read_to_string(&csv).unwrap();
        std::fs::write(&csv, text.lines().take(2).collect::<Vec<_>>().join("\n") + "\n").unwrap();
        let error = PreparedWindows::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("holds 2 windows, but windows.csv lists 1"), "{error}");
    }
}
