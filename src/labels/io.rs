//! The pseudo-label files: `features.csv` (physical values) and `labels.csv` (bins), one
//! row per window with the columns `subject, activity, source, start` before the
//! quantities. Values are written in Rust's shortest round-trip form, so reading them
//! back gives the same f64.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::ArrayView2;

use crate::data::prepared::{KEY_COLUMNS, WindowInfo};
use crate::error::{Error, Result};
use crate::output::{RUN_FILE, load_json};

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    /// Line in the file (for errors).
    pub line: u64,
    /// Subject id.
    pub subject: String,
    /// Class name (empty for unlabelled windows).
    pub activity: String,
    /// Source file of the window.
    pub source: String,
    /// First sample of the window.
    pub start: usize,
    /// Bin of each label column.
    pub bins: Vec<u8>,
}

/// Read `labels.csv` in `labels_dir`: its path, the names of the label columns, and every
/// row, checked (key columns, whole-number start and bins). `fix` ends every error.
pub fn read_label_rows(labels_dir: &Path, bins: usize, fix: &str) -> Result<(PathBuf, Vec<String>, Vec<LabelRow>)> {
    let path = labels_dir.join("labels.csv");
    let mut reader = csv::Reader::from_path(&path).map_err(|e| Error::BadDataset {
        path: path.clone(),
        problem: format!("cannot be read ({e})"),
        fix: fix.into(),
    })?;
    let bad_row = |line: u64, problem: String| Error::BadRow { path: path.clone(), line, problem, fix: fix.into() };
    let header = reader.headers().map_err(|e| bad_row(1, e.to_string()))?.clone();
    if header.len() < KEY_COLUMNS.len() || header.iter().take(KEY_COLUMNS.len()).ne(KEY_COLUMNS) {
        return Err(bad_row(1, format!("header does not start with {}", KEY_COLUMNS.join(","))));
    }
    let names = header.iter().skip(KEY_COLUMNS.len()).map(String::from).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad_row(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let start = record[3].parse().map_err(|_| bad_row(line, format!("start {:?} is not a number", &record[3])))?;
        let parse_bin = |(column, v): (&str, &str)| match v.parse::<u8>() {
            Ok(bin) if usize::from(bin) < bins => Ok(bin),
            Ok(bin) => Err(bad_row(
                line,
                format!("bin {bin} of {column} is out of range: labels.bins is {bins} (0 to {})", bins - 1),
            )),
            Err(_) => Err(bad_row(line, format!("bin {v:?} of {column} is not a whole number"))),
        };
        let bins =
            header.iter().zip(record.iter()).skip(KEY_COLUMNS.len()).map(parse_bin).collect::<Result<Vec<u8>>>()?;
        rows.push(LabelRow {
            line,
            subject: record[0].to_string(),
            activity: record[1].to_string(),
            source: record[2].to_string(),
            start,
            bins,
        });
    }
    check_row_count(labels_dir, &path, rows.len(), fix)?;
    Ok((path, names, rows))
}

/// Fail unless `rows` is the window count the stage's `run.json` recorded (a truncated or
/// edited `labels.csv` would otherwise be read as a smaller dataset).
fn check_row_count(labels_dir: &Path, path: &Path, rows: usize, fix: &str) -> Result<()> {
    let record: serde_json::Value = load_json(&labels_dir.join(RUN_FILE), fix)?;
    let windows = record["details"]["windows"].as_u64().or_else(|| record["windows"].as_u64());
    match windows {
        Some(windows) if windows as usize != rows => Err(Error::BadDataset {
            path: path.to_path_buf(),
            problem: format!("has {rows} rows, but run.json says pim pseudo-label wrote {windows} windows"),
            fix: "the file was truncated or edited: rerun `pim pseudo-label`".into(),
        }),
        _ => Ok(()),
    }
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
