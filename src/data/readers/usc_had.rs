//! USC-HAD (Zhang and Sawchuk 2012): `USC-HAD/SubjectN/a<activity>t<trial>.mat`, MATLAB v5
//! files (read with the `matfile` crate), each holding `sensor_readings`, an `N x 6` double
//! matrix of one MotionNode at the front right hip, 100 Hz: acc x, y, z in g, then gyro x,
//! y, z in deg/s (the config's units convert them). One file is one recording of one
//! subject doing one activity.
//!
//! The activity comes from the file name, never from the file's own fields, because two
//! files of the original release disagree with themselves: `Subject13/a11t4.mat` spells its
//! field `activity_numbr`, and `Subject14/a3t2.mat` says activity 2 inside although its
//! name says a3 (the shared copy's PROVENANCE.md lists both). Trusting the name keeps the
//! 60 trials of every subject at 5 per activity.
//!
//! The layout is checked before parsing: every subject of the split has its folder, and
//! every subject folder holds the same trial files, so a half-extracted archive is refused
//! with the file to look at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use indicatif::ProgressBar;
use ndarray::Array2;
use rayon::prelude::*;

use super::{Dataset, DatasetReader, list_folder};
use crate::data::dataset_config::{DatasetConfig, Modality};
use crate::data::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// Columns of `sensor_readings`.
pub const USC_HAD_COLUMNS: usize = 6;

/// Reader for the USC-HAD layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct UscHadReader;

impl DatasetReader for UscHadReader {
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
        let root = if dir.join("USC-HAD").is_dir() { dir.join("USC-HAD") } else { dir.to_path_buf() };
        let trials = list_trials(&root, config)?;
        let columns = column_map(config, dir)?;
        let channels = ChannelLayout::new(config).channels();
        progress.set_length(trials.len() as u64);
        let recordings = trials
            .par_iter()
            .map(|(subject, activity, source)| {
                let samples = read_trial(&root.join(source), &columns, channels)?;
                progress.inc(1);
                Ok(Recording {
                    subject: subject.clone(),
                    activity: activity.clone(),
                    source: source.clone(),
                    start: 0,
                    samples,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Dataset { recordings, notices: Vec::new() })
    }
}

/// `(activity, trial)` of a file named `a<activity>t<trial>.mat`.
fn trial_of(name: &str) -> Option<(String, String)> {
    let (activity, trial) = name.strip_prefix('a')?.strip_suffix(".mat")?.split_once('t')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(activity) && digits(trial)).then(|| (activity.to_string(), trial.to_string()))
}

/// Every trial file, as (subject, activity id, path relative to the root), checked against
/// the config and for completeness.
fn list_trials(root: &Path, config: &DatasetConfig) -> Result<Vec<(String, String, String)>> {
    if !root.is_dir() {
        return Err(Error::bad_dataset(root, "is not a folder", "pass --data-dir the folder holding USC-HAD/"));
    }
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, is_dir) in list_folder(root)? {
        if !is_dir {
            continue; // Readme.txt and the like
        }
        if config.split.role_of(&name).is_none() {
            return Err(Error::bad_dataset(
                root.join(&name),
                "is not a subject folder named in dataset.split",
                "remove it, or add the subject to dataset.split",
            ));
        }
        let trials = trial_files(&root.join(&name), config)?;
        files.insert(name, trials);
    }
    check_complete(root, &files, config)?;
    Ok(files
        .iter()
        .flat_map(|(subject, trials)| {
            trials.iter().map(move |file| {
                let (activity, _) = trial_of(file).expect("listed as a trial");
                (subject.clone(), activity, format!("{subject}/{file}"))
            })
        })
        .collect())
}

/// The trial files of one subject folder, each of an activity the config names; the
/// release's plotting scripts (`.m`) are skipped, anything else is refused.
fn trial_files(subject_dir: &Path, config: &DatasetConfig) -> Result<BTreeSet<String>> {
    let mut trials = BTreeSet::new();
    for (file, is_dir) in list_folder(subject_dir)? {
        match trial_of(&file) {
            Some((activity, _)) if !is_dir => {
                if config.class_by_id(&activity).is_none() {
                    return Err(Error::bad_dataset(
                        subject_dir.join(&file),
                        format!("is a trial of activity {activity}, which dataset.classes does not name"),
                        "add the activity to dataset.classes, or remove the file",
                    ));
                }
                trials.insert(file);
            }
            _ if file.ends_with(".m") => {}
            _ => {
                return Err(Error::bad_dataset(
                    subject_dir.join(&file),
                    "is not a USC-HAD trial file (a<activity>t<trial>.mat)",
                    "remove it from the dataset folder",
                ));
            }
        }
    }
    Ok(trials)
}

/// Every subject of the split has a folder, and every folder holds the same trials.
fn check_complete(root: &Path, files: &BTreeMap<String, BTreeSet<String>>, config: &DatasetConfig) -> Result<()> {
    if let Some(subject) = config.split.subjects().find(|subject| !files.contains_key(*subject)) {
        return Err(Error::bad_dataset(
            root.join(subject),
            "is missing (the subject is named in dataset.split)",
            "extract the complete USC-HAD (see `pim datasets`), or remove the subject from dataset.split",
        ));
    }
    let all: BTreeSet<&String> = files.values().flatten().collect();
    for (subject, trials) in files {
        if let Some(missing) = all.iter().find(|f| !trials.contains(f.as_str())) {
            let holders = files.values().filter(|t| t.contains(missing.as_str())).count();
            return Err(Error::bad_dataset(
                root.join(subject).join(missing),
                format!("is missing, but {holders} of {} subject folders hold it", files.len()),
                "re-extract the dataset: every subject folder must hold the same trials",
            ));
        }
    }
    Ok(())
}

/// (channel row, column of `sensor_readings`, unit factor) for every channel.
fn column_map(config: &DatasetConfig, config_hint: &Path) -> Result<Vec<(usize, usize, f32)>> {
    let layout = ChannelLayout::new(config);
    let mut map = Vec::new();
    for (s, sensor) in config.sensors.iter().enumerate() {
        let columns = sensor.columns.as_ref().expect("validated: usc_had sensors have columns");
        for modality in Modality::ALL {
            let (Some(file_columns), Some(rows)) = (columns.get(modality), layout.rows(s, modality)) else { continue };
            for (row, column) in rows.into_iter().zip(file_columns) {
                if column >= USC_HAD_COLUMNS {
                    return Err(Error::invalid_config(
                        config_hint,
                        format!("dataset.sensors[{s}].columns.{}", modality.name()),
                        format!("names column {column}, but sensor_readings has {USC_HAD_COLUMNS}"),
                        "use zero-based columns 0..5 (acc x, y, z, gyro x, y, z)",
                    ));
                }
                map.push((row, column, config.units.factor(modality)));
            }
        }
    }
    Ok(map)
}

/// `sensor_readings` of one file as `[channels, samples]` in SI units.
fn read_trial(path: &Path, columns: &[(usize, usize, f32)], channels: usize) -> Result<Array2<f32>> {
    let fix = "re-extract the dataset (`pim datasets` says how)";
    let bad = |problem: String| Error::bad_dataset(path, problem, fix);
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, fix, e))?;
    let mat = matfile::MatFile::parse(file).map_err(|e| bad(format!("is not a readable MATLAB v5 file ({e})")))?;
    let array = mat.find_by_name("sensor_readings").ok_or_else(|| bad("has no sensor_readings matrix".into()))?;
    let (&[rows, cols], matfile::NumericData::Double { real, .. }) = (array.size().as_slice(), array.data()) else {
        return Err(bad("holds sensor_readings that is not a two-dimensional matrix of doubles".into()));
    };
    if cols != USC_HAD_COLUMNS {
        return Err(bad(format!("holds sensor_readings of {cols} columns, USC-HAD has {USC_HAD_COLUMNS}")));
    }
    let mut samples = Array2::<f32>::zeros((channels, rows));
    for &(row, column, scale) in columns {
        // MATLAB stores matrices column by column.
        for (t, &value) in real[column * rows..(column + 1) * rows].iter().enumerate() {
            if !value.is_finite() {
                return Err(bad(format!(
                    "holds a non-finite value ({value}) at row {} of column {}",
                    t + 1,
                    column + 1
                )));
            }
            samples[[row, t]] = value as f32 * scale;
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_names_parse() {
        assert_eq!(trial_of("a11t4.mat"), Some(("11".into(), "4".into())));
        assert_eq!(trial_of("a1t1.mat"), Some(("1".into(), "1".into())));
        assert_eq!(trial_of("displayData_acc.m"), None);
        assert_eq!(trial_of("at1.mat"), None);
    }
}
