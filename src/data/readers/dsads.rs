//! UCI DSADS (Daily and Sports Activities): `aXX/pY/sZZ.txt`, each file one 5 s segment of
//! 125 rows x 45 comma-separated values, no header, 5 units x (acc, gyro, mag) x (x, y, z).
//!
//! The layout is checked before anything is parsed: every configured activity and subject
//! folder must exist, no unknown folder or file may sit among them, and every
//! activity/subject folder must hold the same segment files (so a bundled subset of
//! segments reads, but a half-extracted archive does not). The UCI archive's parent
//! folder (holding `data/`) works too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use ndarray::Array2;
use rayon::prelude::*;

use super::fields::parse_finite;
use super::{Dataset, DatasetReader, list_folder};
use crate::data::dataset_config::{DatasetConfig, Modality};
use crate::data::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// Values per row of a DSADS file.
pub const DSADS_COLUMNS: usize = 45;
/// Rows per DSADS segment file (5 s at 25 Hz).
pub const DSADS_ROWS: usize = 125;

/// Reader for the DSADS layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct DsadsReader;

/// One segment file to parse.
struct Segment {
    activity: String,
    subject: String,
    /// Path relative to the data root, `/`-separated.
    source: String,
}

impl DatasetReader for DsadsReader {
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
        let root = dataset_root(dir)?;
        let segments = list_segments(&root, config)?;
        let columns = column_map(config, dir)?;
        let channels = ChannelLayout::new(config).channels();
        progress.set_length(segments.len() as u64);
        let recordings = segments
            .par_iter()
            .map(|segment| {
                let path = root.join(&segment.source);
                let samples = parse_segment(&path, &columns, channels)?;
                progress.inc(1);
                Ok(Recording {
                    subject: segment.subject.clone(),
                    activity: segment.activity.clone(),
                    source: segment.source.clone(),
                    start: 0,
                    samples,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Dataset { recordings, notices: Vec::new() })
    }
}

/// The folder holding `a01..`: `dir` itself, or `dir/data` as in the UCI archive.
fn dataset_root(dir: &Path) -> Result<PathBuf> {
    let has_activity_folders =
        |d: &Path| list_folder(d).map(|entries| entries.iter().any(|(name, is_dir)| *is_dir && is_activity_name(name)));
    if has_activity_folders(dir)? {
        return Ok(dir.to_path_buf());
    }
    let nested = dir.join("data");
    if nested.is_dir() && has_activity_folders(&nested)? {
        return Ok(nested);
    }
    Err(Error::bad_dataset(
        dir,
        "holds no DSADS activity folders (a01 .. a19)",
        "pass --data-dir the folder holding a01..a19 (or the UCI archive's folder holding data/)",
    ))
}

fn is_activity_name(name: &str) -> bool {
    name.len() == 3 && name.starts_with('a') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

fn is_segment_name(name: &str) -> bool {
    name.strip_prefix('s')
        .and_then(|rest| rest.strip_suffix(".txt"))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Walk `root/aXX/pY/sZZ.txt`, checking it against the config, in sorted order.
fn list_segments(root: &Path, config: &DatasetConfig) -> Result<Vec<Segment>> {
    // Every activity/subject folder with its segment files, in sorted order.
    let mut folders: Vec<(String, PathBuf, BTreeSet<String>)> = Vec::new();
    for activity in activity_folders(root, config)? {
        let activity_dir = root.join(&activity);
        for subject in subject_folders(&activity_dir, config)? {
            let subject_dir = activity_dir.join(&subject);
            let files = segment_files(&subject_dir)?;
            folders.push((format!("{activity}/{subject}"), subject_dir, files));
        }
    }
    check_same_segments(&folders)?;
    Ok(folders
        .into_iter()
        .flat_map(|(folder, _, files)| {
            let (activity, subject) = folder.split_once('/').expect("folder is activity/subject");
            let (activity, subject) = (activity.to_string(), subject.to_string());
            files.into_iter().map(move |file| Segment {
                activity: activity.clone(),
                subject: subject.clone(),
                source: format!("{folder}/{file}"),
            })
        })
        .collect())
}

/// The activity folders under `root`: exactly the config's classes.
fn activity_folders(root: &Path, config: &DatasetConfig) -> Result<Vec<String>> {
    let activities: Vec<String> = list_folder(root)?
        .into_iter()
        .filter(|(_, is_dir)| *is_dir) // loose files at the root (README, PROVENANCE) are docs
        .map(|(name, _)| name)
        .collect();
    if let Some(name) = activities.iter().find(|name| config.class_by_id(name).is_none()) {
        return Err(Error::bad_dataset(
            root.join(name),
            "is not an activity listed in dataset.classes",
            "remove the folder, or add the activity to dataset.classes in the config",
        ));
    }
    if let Some(class) = config.classes.iter().find(|class| !activities.contains(&class.id)) {
        return Err(Error::bad_dataset(
            root.join(&class.id),
            format!("is missing (activity {:?} is in dataset.classes)", class.name),
            "re-extract the dataset, or remove the class from the config",
        ));
    }
    Ok(activities)
}

/// The subject folders of one activity: exactly the subjects of `dataset.split`.
fn subject_folders(activity_dir: &Path, config: &DatasetConfig) -> Result<Vec<String>> {
    let subjects = list_folder(activity_dir)?;
    if let Some((name, _)) = subjects.iter().find(|(name, is_dir)| !is_dir || config.split.role_of(name).is_none()) {
        return Err(Error::bad_dataset(
            activity_dir.join(name),
            "is not a subject folder named in dataset.split",
            "remove it, or add the subject to dataset.split",
        ));
    }
    if let Some(subject) = config.split.subjects().find(|subject| !subjects.iter().any(|(name, _)| name == *subject)) {
        return Err(Error::bad_dataset(
            activity_dir.join(subject),
            "is missing (the subject is named in dataset.split)",
            "re-extract the dataset, or remove the subject from dataset.split",
        ));
    }
    Ok(subjects.into_iter().map(|(name, _)| name).collect())
}

/// The segment files of one activity/subject folder, which holds nothing else.
fn segment_files(subject_dir: &Path) -> Result<BTreeSet<String>> {
    let mut files = BTreeSet::new();
    for (name, is_dir) in list_folder(subject_dir)? {
        if is_dir || !is_segment_name(&name) {
            return Err(Error::bad_dataset(
                subject_dir.join(&name),
                "is not a DSADS segment file (sNN.txt)",
                "remove it from the dataset folder",
            ));
        }
        files.insert(name);
    }
    Ok(files)
}

/// Every activity/subject folder must hold the same segment files. A segment in most
/// folders is reported missing where it is absent; one in a minority is reported extra
/// where it is present, so the message points at the file to act on.
fn check_same_segments(folders: &[(String, PathBuf, BTreeSet<String>)]) -> Result<()> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, files) in folders {
        for file in files {
            *counts.entry(file.as_str()).or_default() += 1;
        }
    }
    let fix = "re-extract the dataset: every activity/subject folder must hold the same segments";
    for (&file, &count) in &counts {
        if count == folders.len() {
            continue;
        }
        let holder = folders.iter().find(|(_, _, files)| files.contains(file)).expect("counted at least once");
        let lacker = folders.iter().find(|(_, _, files)| !files.contains(file)).expect("count below the total");
        let error = if 2 * count > folders.len() {
            Error::bad_dataset(
                lacker.1.join(file),
                format!("is missing, but {} of {} folders hold it (e.g. {}/{file})", count, folders.len(), holder.0),
                fix,
            )
        } else {
            Error::bad_dataset(
                holder.1.join(file),
                format!(
                    "has no counterpart in {} of {} folders (e.g. {}/{file})",
                    folders.len() - count,
                    folders.len(),
                    lacker.0
                ),
                fix,
            )
        };
        return Err(error);
    }
    Ok(())
}

/// (channel row, file column, unit factor) for every channel of the network input.
fn column_map(config: &DatasetConfig, config_hint: &Path) -> Result<Vec<(usize, usize, f32)>> {
    let layout = ChannelLayout::new(config);
    let mut map = Vec::with_capacity(layout.channels());
    for (s, sensor) in config.sensors.iter().enumerate() {
        let columns = sensor.columns.as_ref().expect("validated: dsads sensors have columns");
        for modality in Modality::ALL {
            let (Some(file_columns), Some(rows)) = (columns.get(modality), layout.rows(s, modality)) else {
                continue;
            };
            let scale = config.units.factor(modality);
            for (row, column) in rows.into_iter().zip(file_columns) {
                if column >= DSADS_COLUMNS {
                    return Err(Error::invalid_config(
                        config_hint,
                        format!("dataset.sensors[{s}].columns.{}", modality.name()),
                        format!(
                            "names column {column}, but DSADS files have {DSADS_COLUMNS} (0..{})",
                            DSADS_COLUMNS - 1
                        ),
                        "use zero-based column indices below 45",
                    ));
                }
                map.push((row, column, scale));
            }
        }
    }
    Ok(map)
}

/// Parse one segment file into `[channels, 125]`.
fn parse_segment(path: &Path, columns: &[(usize, usize, f32)], channels: usize) -> Result<Array2<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, "check the file is readable", e))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes.as_slice());
    let mut samples = Array2::<f32>::zeros((channels, DSADS_ROWS));
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    loop {
        let line = reader.position().line();
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            Error::bad_row(path, line, format!("cannot be read as CSV ({e})"), "repair or re-extract the file")
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() != DSADS_COLUMNS {
            return Err(Error::bad_row(
                path,
                line,
                format!("has {} values, DSADS rows have {DSADS_COLUMNS}", record.len()),
                "repair or re-extract the file",
            ));
        }
        if rows == DSADS_ROWS {
            return Err(Error::bad_row(
                path,
                line,
                format!("is beyond the {DSADS_ROWS} rows of a DSADS segment"),
                "repair or re-extract the file",
            ));
        }
        for &(row, column, scale) in columns {
            samples[[row, rows]] = parse_finite(&record[column], path, line, column + 1)? * scale;
        }
        rows += 1;
    }
    if rows != DSADS_ROWS {
        return Err(Error::bad_dataset(
            path,
            format!("has {rows} rows, DSADS segments have {DSADS_ROWS}"),
            "repair or re-extract the file",
        ));
    }
    Ok(samples)
}
