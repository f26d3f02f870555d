//! WEAR (Bock et al. 2024, CC BY-NC-SA 4.0): one `sbj_N.csv` per subject at 50 Hz, a header
//! row, and per sample the acceleration in g of four wrist and ankle sensors, columns
//! `<sensor>_acc_<x|y|z>` for `right_arm`, `right_leg`, `left_leg`, `left_arm` (the config's
//! sensor names pick them), and a string `label`. The subject is the file name (`sbj_N`).
//!
//! An empty label is the NULL class: with `dataset.null_class` set it becomes that class;
//! without, those samples stay unlabelled (pre-training sees them, fine-tuning and
//! evaluation do not). Any other label must be a class id of the config. A file is cut into
//! recordings at every label change. Missing values (empty fields or NaN) are filled by
//! linear interpolation within their recording and counted in a notice.

use std::path::Path;

use indicatif::ProgressBar;
use rayon::prelude::*;

use super::gaps::{Run, filled_notice, recordings_from_runs};
use super::{Dataset, DatasetReader, list_folder};
use crate::data::dataset_config::{AXES, DatasetConfig, Modality};
use crate::data::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// Reader for the WEAR layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct WearReader;

impl DatasetReader for WearReader {
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
        let mut files = Vec::new();
        for (name, is_dir) in list_folder(dir)? {
            if let Some(subject) = name.strip_suffix(".csv").filter(|s| s.starts_with("sbj_")) {
                if is_dir || config.split.role_of(subject).is_none() {
                    return Err(Error::bad_dataset(
                        dir.join(&name),
                        format!("is the file of subject {subject:?}, whom dataset.split does not name"),
                        "add the subject to dataset.split, or remove the file",
                    ));
                }
                files.push((subject.to_string(), name));
            }
        }
        if files.is_empty() {
            return Err(Error::bad_dataset(
                dir,
                "holds no sbj_N.csv files",
                "pass --data-dir the folder of WEAR's inertial CSV files, or see `pim datasets`",
            ));
        }
        progress.set_length(files.len() as u64);
        let per_file: Vec<(Vec<Recording>, usize, usize)> = files
            .par_iter()
            .map(|(subject, name)| {
                let read = read_file(&dir.join(name), name, subject, config)?;
                progress.inc(1);
                Ok(read)
            })
            .collect::<Result<_>>()?;
        let (filled, total): (usize, usize) = per_file.iter().fold((0, 0), |(f, t), r| (f + r.1, t + r.2));
        let notices = filled_notice(filled, total, "samples", "empty or NaN").into_iter().collect();
        Ok(Dataset { recordings: per_file.into_iter().flat_map(|r| r.0).collect(), notices })
    }
}

/// One file's recordings, the samples filled in, and the samples read.
fn read_file(
    path: &Path,
    source: &str,
    subject: &str,
    config: &DatasetConfig,
) -> Result<(Vec<Recording>, usize, usize)> {
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| Error::bad_dataset(path, format!("cannot be read ({e})"), "check the file is readable"))?;
    let bad = |line: u64, problem: String, fix: &str| Error::bad_row(path, line, problem, fix);
    let header = reader.headers().map_err(|e| bad(1, e.to_string(), "repair the file"))?.clone();
    let (label_at, columns) = header_columns(&header, config).map_err(|(problem, fix)| bad(1, problem, fix))?;
    let channels = ChannelLayout::new(config).channels();
    let mut runs: Vec<Run> = Vec::new();
    let mut values = vec![0f32; channels];
    for (row, record) in reader.records().enumerate() {
        let line = row as u64 + 2;
        let record = record.map_err(|e| bad(line, e.to_string(), "repair the file"))?;
        if record.len() != header.len() {
            return Err(bad(
                line,
                format!("has {} fields, the header {}", record.len(), header.len()),
                "repair the file",
            ));
        }
        let activity =
            activity_of(record[label_at].trim(), config).map_err(|(problem, fix)| bad(line, problem, fix))?;
        for &(channel, column, scale) in &columns {
            let field = record[column].trim();
            values[channel] = sample(field, scale).ok_or_else(|| {
                bad(line, format!("column {} is {field:?}, not a number", column + 1), "repair the file")
            })?;
        }
        if runs.last().is_none_or(|(a, _, _)| *a != activity) {
            runs.push((activity, row, Vec::new()));
        }
        runs.last_mut().expect("a run was just opened").2.extend_from_slice(&values);
    }
    recordings_from_runs(runs, channels, subject, source).map_err(|(start, channel)| {
        bad(
            start as u64 + 2,
            format!("starts a recording whose channel {channel} has no valid sample"),
            "repair the file",
        )
    })
}

/// What is wrong with a line, and how to fix it.
type Problem = (String, &'static str);

/// Where a channel comes from: (channel, column, scale to m/s^2).
type AccColumn = (usize, usize, f32);

/// The `label` column and each configured acceleration channel's column.
fn header_columns(
    header: &csv::StringRecord,
    config: &DatasetConfig,
) -> std::result::Result<(usize, Vec<AccColumn>), Problem> {
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let label_at = find("label").ok_or(("has no `label` column".to_string(), "use WEAR's inertial CSV files"))?;
    let layout = ChannelLayout::new(config);
    let mut columns = Vec::new();
    for (s, sensor) in config.sensors.iter().enumerate() {
        let rows = layout.rows(s, Modality::Acc).expect("every sensor has acc");
        for (row, axis) in rows.into_iter().zip(AXES) {
            let name = format!("{}_acc_{axis}", sensor.name);
            let column = find(&name).ok_or_else(|| {
                (format!("has no column {name:?}"), "use WEAR's inertial CSV files, or fix dataset.sensors")
            })?;
            columns.push((row, column, config.units.factor(Modality::Acc)));
        }
    }
    Ok((label_at, columns))
}

/// The activity a row's label names: the NULL class for an empty label (or no activity,
/// without `dataset.null_class`), else a class id of the config.
fn activity_of(label: &str, config: &DatasetConfig) -> std::result::Result<String, Problem> {
    match (label, &config.null_class) {
        ("", Some(null)) => Ok(null.clone()),
        ("", None) => Ok(String::new()),
        (label, _) if config.class_by_id(label).is_some() => Ok(label.to_string()),
        (label, _) => Err((
            format!("label {label:?} is not a class id in dataset.classes"),
            "add it to dataset.classes, or correct the label",
        )),
    }
}

/// A field's sample scaled to SI units: NaN where it is missing (empty or NaN, filled
/// later), `None` where it is not a finite number.
fn sample(field: &str, scale: f32) -> Option<f32> {
    if field.is_empty() || field.eq_ignore_ascii_case("nan") {
        return Some(f32::NAN);
    }
    field.parse::<f32>().ok().filter(|v| v.is_finite()).map(|v| v * scale)
}
