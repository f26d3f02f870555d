//! The pseudo-label files: `features.csv` (physical values) and `labels.csv` (bins), one
//! row per window with the columns `subject, activity, source, start` before the
//! quantities. Values are written in Rust's shortest round-trip form, so reading them
//! back gives the same f64.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::ArrayView2;

use crate::data::prepared::{KEY_COLUMNS, KeyedRow, WindowInfo, keyed_rows, open_keyed_table};
use crate::error::{Error, Result};
use crate::run_folder::layout::{LabelsFolder, Layout};
use crate::run_folder::load_json;

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    /// Line in the file (for errors).
    pub line: u64,
    /// The window the row labels.
    pub window: WindowInfo,
    /// Bin of each label column.
    pub bins: Vec<u8>,
}

/// Read `labels.csv` in `labels_dir`: its path, the names of the label columns, and every
/// row, checked (key columns, whole-number start and bins). `fix` ends every error.
pub fn read_label_rows(labels_dir: &Path, bins: usize, fix: &str) -> Result<(PathBuf, Vec<String>, Vec<LabelRow>)> {
    let path = LabelsFolder::new(labels_dir).labels();
    let (mut reader, header) = open_keyed_table(&path, false, fix)?;
    let names = header.iter().skip(KEY_COLUMNS.len()).map(String::from).collect();
    let mut rows = Vec::new();
    for row in keyed_rows(&mut reader, &path, fix) {
        let KeyedRow { line, fields, key } = row?;
        let bad_row = |problem: String| Error::bad_row(&path, line, problem, fix);
        let parse_bin = |(column, v): (&str, &str)| match v.parse::<u8>() {
            Ok(bin) if usize::from(bin) < bins => Ok(bin),
            Ok(bin) => Err(bad_row(format!(
                "bin {bin} of {column} is out of range: labels.bins is {bins} (0 to {})",
                bins - 1
            ))),
            Err(_) => Err(bad_row(format!("bin {v:?} of {column} is not a whole number"))),
        };
        let bins =
            header.iter().zip(fields.iter()).skip(KEY_COLUMNS.len()).map(parse_bin).collect::<Result<Vec<u8>>>()?;
        rows.push(LabelRow { line, window: key, bins });
    }
    check_row_count(labels_dir, &path, rows.len(), fix)?;
    Ok((path, names, rows))
}

/// Fail unless `rows` is the window count the stage's `run.json` recorded (a truncated or
/// edited `labels.csv` would otherwise be read as a smaller dataset).
fn check_row_count(labels_dir: &Path, path: &Path, rows: usize, fix: &str) -> Result<()> {
    let record: serde_json::Value = load_json(&LabelsFolder::new(labels_dir).run_record(), fix)?;
    let windows = record["details"]["windows"].as_u64().or_else(|| record["windows"].as_u64());
    match windows {
        Some(windows) if windows as usize != rows => Err(Error::bad_dataset(
            path,
            format!("has {rows} rows, but run.json says pim pseudo-label wrote {windows} windows"),
            "the file was truncated or edited: rerun `pim pseudo-label`",
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `labels.csv` holding `text` beside a `run.json` that counts `windows`.
    fn labels_dir(text: &str, windows: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(LabelsFolder::new(dir.path()).labels(), text).unwrap();
        std::fs::write(
            LabelsFolder::new(dir.path()).run_record(),
            format!(r#"{{"details": {{"windows": {windows}}}}}"#),
        )
        .unwrap();
        dir
    }

    #[test]
    fn rows_keep_their_keys_bins_and_lines() {
        let dir = labels_dir("subject,activity,source,start,speed,angle\np1,walk,a.txt,0,3,10\np2,,b.txt,125,0,1\n", 2);
        let (_, names, rows) = read_label_rows(dir.path(), 11, "fix it").unwrap();
        assert_eq!(names, ["speed", "angle"]);
        let expected = LabelRow {
            line: 3,
            window: WindowInfo { subject: "p2".into(), activity: String::new(), source: "b.txt".into(), start: 125 },
            bins: vec![0, 1],
        };
        assert_eq!((rows.len(), &rows[1], &rows[0].bins), (2, &expected, &vec![3, 10]));
    }

    #[test]
    fn a_header_without_the_keys_and_bad_bins_are_named() {
        let error = |text: &str| read_label_rows(labels_dir(text, 1).path(), 11, "fix it").unwrap_err().to_string();
        let header = error("subject,source,activity,start,speed\np1,a.txt,walk,0,3\n");
        assert!(header.contains("labels.csv:1: header does not start with subject,activity,source,start"), "{header}");
        let range = error("subject,activity,source,start,speed\np1,walk,a.txt,0,11\n");
        assert!(
            range.contains("labels.csv:2: bin 11 of speed is out of range: labels.bins is 11 (0 to 10)"),
            "{range}"
        );
        let fraction = error("subject,activity,source,start,speed\np1,walk,a.txt,0,2.5\n");
        assert!(fraction.contains("labels.csv:2: bin \"2.5\" of speed is not a whole number; fix it"), "{fraction}");
    }
}
