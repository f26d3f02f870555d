//! PAMAP2 (Reiss and Stricker 2012, UCI 231): `Protocol/subject10X.dat` (and, if the config
//! lists it, `Optional/subject10X.dat`), one row per sample at 100 Hz, 54 space-separated
//! values: timestamp (s), activity id, heart rate, then three IMUs of 17 columns (hand from
//! column 4, chest from 21, ankle from 38, 1-based): temperature, acceleration of the ±16 g
//! accelerometer (m/s^2; the one to use, the ±6 g one saturates), acceleration ±6 g,
//! gyroscope (rad/s), magnetometer (µT), orientation (invalid in this release). The
//! config's `sensors[].columns` name the columns (0-based).
//!
//! Activity 0 marks transients between activities and is dropped. A file is cut into
//! recordings at every change of activity and wherever the timestamps jump by more than
//! 1.5 sample periods. Missing IMU samples (NaN: dropped wireless packets) are filled by
//! linear interpolation within their recording, channel by channel, and counted in a
//! notice; the heart rate (NaN between its 9 Hz readings) is not read.

use std::path::Path;

use indicatif::ProgressBar;
use rayon::prelude::*;

use super::gaps::{Run, filled_notice, recordings_from_runs};
use super::{Dataset, DatasetReader, list_folder};
use crate::data::dataset_config::{DatasetConfig, Modality};
use crate::data::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// Values per row of a PAMAP2 file.
pub const PAMAP2_COLUMNS: usize = 54;

/// Reader for the PAMAP2 layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pamap2Reader;

impl DatasetReader for Pamap2Reader {
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
        let files = list_files(dir, config)?;
        let columns = column_map(config, dir)?;
        let channels = ChannelLayout::new(config).channels();
        progress.set_length(files.len() as u64);
        let per_file: Vec<(Vec<Recording>, usize, usize)> = files
            .par_iter()
            .map(|(subject, source)| {
                let read = read_file(&dir.join(source), source, subject, config, &columns, channels)?;
                progress.inc(1);
                Ok(read)
            })
            .collect::<Result<_>>()?;
        let (filled, total): (usize, usize) = per_file.iter().fold((0, 0), |(f, t), r| (f + r.1, t + r.2));
        let notices = filled_notice(filled, total, "IMU samples", "NaN, dropped packets").into_iter().collect();
        Ok(Dataset { recordings: per_file.into_iter().flat_map(|r| r.0).collect(), notices })
    }
}

/// Every `subject10X.dat` of the config's folders, as (subject, path relative to `dir`).
fn list_files(dir: &Path, config: &DatasetConfig) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for folder in &config.folders {
        let path = dir.join(folder);
        if !path.is_dir() {
            return Err(Error::bad_dataset(
                path,
                "is missing",
                "pass --data-dir the PAMAP2_Dataset folder (holding Protocol/), or see `pim datasets`",
            ));
        }
        for (name, is_dir) in list_folder(&path)? {
            let Some(subject) = name.strip_prefix("subject").and_then(|n| n.strip_suffix(".dat")) else {
                continue; // readme, pdf and the like
            };
            if is_dir || config.split.role_of(subject).is_none() {
                return Err(Error::bad_dataset(
                    path.join(&name),
                    format!("is the file of subject {subject:?}, whom dataset.split does not name"),
                    "add the subject to dataset.split, or remove the file",
                ));
            }
            files.push((subject.to_string(), format!("{folder}/{name}")));
        }
    }
    if files.is_empty() {
        return Err(Error::bad_dataset(
            dir,
            "holds no subject10X.dat files",
            "pass --data-dir the PAMAP2_Dataset folder (holding Protocol/), or see `pim datasets`",
        ));
    }
    Ok(files)
}

/// (channel row, file column, unit factor) for every channel.
fn column_map(config: &DatasetConfig, config_hint: &Path) -> Result<Vec<(usize, usize, f32)>> {
    let layout = ChannelLayout::new(config);
    let mut map = Vec::new();
    for (s, sensor) in config.sensors.iter().enumerate() {
        let columns = sensor.columns.as_ref().expect("validated: pamap2 sensors have columns");
        for modality in Modality::ALL {
            let (Some(file_columns), Some(rows)) = (columns.get(modality), layout.rows(s, modality)) else { continue };
            for (row, column) in rows.into_iter().zip(file_columns) {
                if !(3..PAMAP2_COLUMNS).contains(&column) {
                    return Err(Error::invalid_config(
                        config_hint,
                        format!("dataset.sensors[{s}].columns.{}", modality.name()),
                        format!("names column {column}"),
                        "use zero-based IMU columns 3..53 (timestamp, activity and heart rate are 0..2)",
                    ));
                }
                map.push((row, column, config.units.factor(modality)));
            }
        }
    }
    Ok(map)
}

/// One file's recordings, the samples filled in, and the samples read.
fn read_file(
    path: &Path,
    source: &str,
    subject: &str,
    config: &DatasetConfig,
    columns: &[(usize, usize, f32)],
    channels: usize,
) -> Result<(Vec<Recording>, usize, usize)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, "check the file is readable", e))?;
    let fix = "re-download the dataset (see `pim datasets`): the file is damaged";
    let bad = |line: usize, problem: String| Error::bad_row(path, line as u64, problem, fix);
    let max_gap = 1.5 / config.sampling_rate_hz;
    // (activity, first row, samples time-major) of the recording being read.
    let mut runs: Vec<Run> = Vec::new();
    let mut previous: Option<(f64, String)> = None;
    let mut values = vec![0f32; channels];
    for (row, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() != PAMAP2_COLUMNS {
            return Err(bad(row + 1, format!("has {} values, PAMAP2 rows have {PAMAP2_COLUMNS}", fields.len())));
        }
        let number = |i: usize| -> Result<f64> {
            fields[i]
                .parse::<f64>()
                .map_err(|_| bad(row + 1, format!("column {} is {:?}, not a number", i + 1, fields[i])))
        };
        let time = number(0)?;
        let activity = fields[1];
        if activity.parse::<u32>().is_err() {
            return Err(bad(row + 1, format!("column 2 is {activity:?}, not an activity id")));
        }
        if activity == "0" {
            previous = None;
            continue;
        }
        if config.class_by_id(activity).is_none() {
            return Err(bad(row + 1, format!("activity {activity} is not a class id in dataset.classes")));
        }
        for &(channel, column, scale) in columns {
            let value = number(column)? as f32;
            if value.is_infinite() {
                return Err(bad(row + 1, format!("column {} is infinite", column + 1)));
            }
            values[channel] = value * scale;
        }
        let continues = matches!(&previous, Some((t, a)) if a == activity && time - t <= max_gap && time > *t);
        if !continues {
            runs.push((activity.to_string(), row, Vec::new()));
        }
        runs.last_mut().expect("a run was just opened").2.extend_from_slice(&values);
        previous = Some((time, activity.to_string()));
    }
    recordings_from_runs(runs, channels, subject, source).map_err(|(start, channel)| {
        bad(start + 1, format!("starts a recording whose channel {channel} has no valid sample (all NaN)"))
    })
}
