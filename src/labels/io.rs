//! The pseudo-label files: `features.csv` (physical values) and `labels.csv` (bins), one
//! row per window with the columns `subject, activity, source, start` before the
//! quantities. Values are written in Rust's shortest round-trip form, so reading them
//! back gives the same f64.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::ArrayView2;

use crate::error::{Error, Result};

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

/// Columns before the quantities.
pub const KEY_COLUMNS: [&str; 4] = ["subject", "activity", "source", "start"];

/// Open `labels.csv` in `labels_dir` and check its key columns: the file's path, a reader
/// at the first row, and the names of the label columns. `fix` ends every error.
pub fn open_labels(labels_dir: &Path, fix: &str) -> Result<(PathBuf, csv::Reader<File>, Vec<String>)> {
    let path = labels_dir.join("labels.csv");
    let mut reader = csv::Reader::from_path(&path).map_err(|e| Error::BadDataset {
        path: path.clone(),
        problem: format!("cannot be read ({e})"),
        fix: fix.into(),
    })?;
    let bad_header = |problem: String| Error::BadRow { path: path.clone(), line: 1, problem, fix: fix.into() };
    let header = reader.headers().map_err(|e| bad_header(e.to_string()))?.clone();
    if header.len() < KEY_COLUMNS.len() || header.iter().take(KEY_COLUMNS.len()).ne(KEY_COLUMNS) {
        return Err(bad_header(format!("header does not start with {}", KEY_COLUMNS.join(","))));
    }
    let names = header.iter().skip(KEY_COLUMNS.len()).map(String::from).collect();
    Ok((path, reader, names))
}

/// Write one CSV of `values` (`[windows, quantities]`) formatted by `format` to `out`;
/// `path` names the file in errors.
pub fn write_table<T: Copy>(
    out: &mut dyn Write,
    path: &Path,
    windows: &[WindowInfo],
    names: &[String],
    values: ArrayView2<T>,
    format: impl Fn(T) -> String,
) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let csv_error = |cause| Error::CsvWrite { path: path.to_path_buf(), cause };
    writer.write_record(KEY_COLUMNS.iter().copied().chain(names.iter().map(String::as_str))).map_err(csv_error)?;
    let mut record = Vec::with_capacity(KEY_COLUMNS.len() + names.len());
    for (window, row) in windows.iter().zip(values.rows()) {
        record.clear();
        record.extend([
            window.subject.clone(),
            window.activity.clone(),
            window.source.clone(),
            window.start.to_string(),
        ]);
        record.extend(row.iter().map(|&v| format(v)));
        writer.write_record(&record).map_err(csv_error)?;
    }
    writer.flush().map_err(|e| Error::io("write", path, "check the disk has space", e))
}
