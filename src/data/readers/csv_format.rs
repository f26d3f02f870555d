//! The generic CSV format, for recordings a user brings (docs/data.md, "Bring your own data").
//!
//! Every `*.csv` file below the data folder is one continuous stream of samples at the
//! config's sampling rate. Its header must hold `subject`, `activity`, and for every
//! configured sensor `<sensor>.acc.<x|y|z>` (plus `<sensor>.gyro.*` and `<sensor>.mag.*`
//! where the config lists those modalities); other columns (timestamps, ...) are ignored.
//! An empty `activity` marks unlabelled samples. A file is cut into recordings at every
//! change of subject or activity, and each recording is filtered and windowed on its own.

use std::path::Path;

use indicatif::ProgressBar;
use ndarray::Array2;
use rayon::prelude::*;

use super::fields::parse_finite;
use super::{Dataset, DatasetReader, list_folder};
use crate::data::dataset_config::{AXES, DatasetConfig, Modality};
use crate::data::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// Reader for the generic CSV format.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvReader;

impl DatasetReader for CsvReader {
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
        let mut files = Vec::new();
        find_csv_files(dir, "", &mut files)?;
        if files.is_empty() {
            return Err(Error::bad_dataset(
                dir,
                "holds no .csv files",
                "pass --data-dir the folder with your recordings, or set dataset.format",
            ));
        }
        progress.set_length(files.len() as u64);
        let per_file: Vec<Vec<Recording>> = files
            .par_iter()
            .map(|source| {
                let recordings = read_file(&dir.join(source), source, config)?;
                progress.inc(1);
                Ok(recordings)
            })
            .collect::<Result<_>>()?;
        Ok(Dataset { recordings: per_file.into_iter().flatten().collect(), notices: Vec::new() })
    }
}

/// Relative `/`-separated paths of every `*.csv` below `dir/prefix`, sorted.
fn find_csv_files(root: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
    for (name, is_dir) in list_folder(&root.join(prefix))? {
        let relative = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        if is_dir {
            find_csv_files(root, &relative, out)?;
        } else if name.ends_with(".csv") {
            out.push(relative);
        }
    }
    Ok(())
}

/// Header positions of the columns a config needs.
struct HeaderMap {
    subject: usize,
    activity: usize,
    /// (channel row, file column, unit factor).
    channels: Vec<(usize, usize, f32)>,
}

fn header_map(headers: &csv::StringRecord, path: &Path, config: &DatasetConfig) -> Result<HeaderMap> {
    if headers.len() == 1
        && let Some(separator) = [';', '\t', '|'].into_iter().find(|&c| headers[0].contains(c))
    {
        return Err(Error::bad_row(
            path,
            1,
            format!("has one column: its header is separated by {separator:?}, not commas"),
            "pim reads comma-separated files: write the file with commas between the columns",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = headers.iter().map(str::trim).find(|h| !seen.insert(*h)) {
        return Err(Error::bad_row(
            path,
            1,
            format!("names the column {twice:?} twice"),
            "rename or remove one of them: pim cannot tell which one you mean",
        ));
    }
    let find = |name: &str| headers.iter().position(|h| h.trim() == name);
    let missing =
        |name: &str, fix: &str| Error::bad_dataset(path, format!("has no column {name:?} in its header (line 1)"), fix);
    let subject =
        find("subject").ok_or_else(|| missing("subject", "add a `subject` column naming the subject of each row"))?;
    let activity =
        find("activity").ok_or_else(|| missing("activity", "add an `activity` column (empty for unlabelled rows)"))?;
    let layout = ChannelLayout::new(config);
    let mut channels = Vec::with_capacity(layout.channels());
    for (s, sensor) in config.sensors.iter().enumerate() {
        for modality in Modality::ALL {
            let Some(rows) = layout.rows(s, modality) else { continue };
            let scale = config.units.factor(modality);
            for (row, axis) in rows.into_iter().zip(AXES) {
                let name = format!("{}.{}.{}", sensor.name, modality.name(), axis);
                let column = find(&name).ok_or_else(|| {
                    missing(
                        &name,
                        "add the column, or remove the sensor or modality from dataset.sensors in the config",
                    )
                })?;
                channels.push((row, column, scale));
            }
        }
    }
    Ok(HeaderMap { subject, activity, channels })
}

/// Read one file and cut it into recordings at every change of subject or activity.
fn read_file(path: &Path, source: &str, config: &DatasetConfig) -> Result<Vec<Recording>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, "check the file is readable", e))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(file));
    let bad_csv = |line: u64, e: csv::Error| {
        Error::bad_row(
            path,
            line,
            format!("cannot be read as CSV ({e})"),
            "repair the file (comma-separated, UTF-8, quoted fields closed)",
        )
    };
    let headers = reader.headers().map_err(|e| bad_csv(1, e))?.clone();
    let map = header_map(&headers, path, config)?;
    let channels = ChannelLayout::new(config).channels();

    let mut runs = RunBuilder { source, channels, recordings: Vec::new(), current: None };
    let mut record = csv::StringRecord::new();
    let mut row_index = 0;
    let mut values = vec![0f32; channels];
    loop {
        let line = reader.position().line();
        if !reader.read_record(&mut record).map_err(|e| bad_csv(line, e))? {
            break;
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() != headers.len() {
            return Err(Error::bad_row(
                path,
                line,
                format!("has {} fields, the header has {}", record.len(), headers.len()),
                "give every row one value per header column",
            ));
        }
        let subject = record[map.subject].trim();
        if config.split.role_of(subject).is_none() {
            return Err(Error::bad_row(
                path,
                line,
                format!("subject {subject:?} is not named in dataset.split"),
                "add the subject to dataset.split in the config",
            ));
        }
        let activity = record[map.activity].trim();
        if !activity.is_empty() && config.class_by_id(activity).is_none() {
            return Err(Error::bad_row(
                path,
                line,
                format!("activity {activity:?} is not a class id in dataset.classes"),
                "add it to dataset.classes, or leave the field empty for unlabelled rows",
            ));
        }
        for &(row, column, scale) in &map.channels {
            values[row] = parse_finite(record[column].as_bytes(), path, line, column + 1)? * scale;
        }
        runs.push(subject, activity, row_index, &values);
        row_index += 1;
    }
    Ok(runs.finish())
}

/// Accumulates rows into recordings, starting a new one when subject or activity changes.
struct RunBuilder<'a> {
    source: &'a str,
    channels: usize,
    recordings: Vec<Recording>,
    /// (subject, activity, first row, samples time-major).
    current: Option<(String, String, usize, Vec<f32>)>,
}

impl RunBuilder<'_> {
    fn push(&mut self, subject: &str, activity: &str, row: usize, values: &[f32]) {
        let continues = matches!(&self.current, Some((s, a, _, _)) if s == subject && a == activity);
        if !continues {
            self.close();
            self.current = Some((subject.to_string(), activity.to_string(), row, Vec::new()));
        }
        let (_, _, _, samples) = self.current.as_mut().expect("a run was just opened");
        samples.extend_from_slice(values);
    }

    fn close(&mut self) {
        let Some((subject, activity, start, time_major)) = self.current.take() else { return };
        let len = time_major.len() / self.channels;
        let samples = Array2::from_shape_vec((len, self.channels), time_major)
            .expect("each row pushed exactly `channels` values")
            .reversed_axes()
            .as_standard_layout()
            .into_owned();
        self.recordings.push(Recording { subject, activity, source: self.source.to_string(), start, samples });
    }

    fn finish(mut self) -> Vec<Recording> {
        self.close();
        self.recordings
    }
}
