//! MM-Fit (Strömbäck et al. 2020): one folder per workout, `wXX/`, holding for each device
//! and modality `wXX_<device>_<acc|gyr|mag>.npy`, an array of rows (frame, timestamp in ms,
//! x, y, z) read with `ndarray-npy`, and `wXX_labels.csv`, rows of (start frame, end frame,
//! repetitions, exercise). The config's sensors are the devices (`sw_l` and `sw_r`, the
//! left and right smartwatches, are the symmetry pair). The workout is the subject.
//!
//! The streams of a workout come at their own, slightly irregular, times: each is resampled
//! to the config's sampling rate on one time grid over the span all streams cover, by
//! linear interpolation (the `interp` crate, numpy's `interp`: a resampler for audio assumes
//! a regular input clock, which these streams do not have). A sample's exercise is the label
//! whose frame range holds the sample's frame (the first stream's frames, interpolated to
//! the grid); other samples take `dataset.null_class` if set, else stay unlabelled.
//! Recordings are cut at every label change.

use std::path::Path;

use indicatif::ProgressBar;
use interp::{InterpMode, interp_slice};
use ndarray::{Array2, Axis};
use ndarray_npy::ReadNpyExt;
use rayon::prelude::*;

use super::{Dataset, DatasetReader, list_folder};
use crate::data::dataset_config::{DatasetConfig, Modality};
use crate::data::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// Reader for the MM-Fit layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct MmfitReader;

/// The file name's part for a modality.
fn modality_part(modality: Modality) -> &'static str {
    match modality {
        Modality::Acc => "acc",
        Modality::Gyro => "gyr",
        Modality::Mag => "mag",
    }
}

impl DatasetReader for MmfitReader {
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
        let mut workouts = Vec::new();
        for (name, is_dir) in list_folder(dir)? {
            let is_workout = is_dir && name.starts_with('w') && name[1..].bytes().all(|b| b.is_ascii_digit());
            if !is_workout {
                continue;
            }
            if config.split.role_of(&name).is_none() {
                return Err(Error::bad_dataset(
                    dir.join(&name),
                    format!("is workout {name:?}, which dataset.split does not name"),
                    "add the workout to dataset.split, or remove the folder",
                ));
            }
            workouts.push(name);
        }
        if workouts.is_empty() {
            return Err(Error::bad_dataset(
                dir,
                "holds no workout folders (w00, w01, ...)",
                "pass --data-dir the mm-fit folder, or see `pim datasets`",
            ));
        }
        progress.set_length(workouts.len() as u64);
        let recordings: Vec<Vec<Recording>> = workouts
            .par_iter()
            .map(|workout| {
                let read = read_workout(&dir.join(workout), workout, config)?;
                progress.inc(1);
                Ok(read)
            })
            .collect::<Result<_>>()?;
        Ok(Dataset { recordings: recordings.into_iter().flatten().collect(), notices: Vec::new() })
    }
}

/// One stream: times (ms), frames, and x, y, z.
struct Stream {
    times: Vec<f64>,
    frames: Vec<f64>,
    axes: [Vec<f64>; 3],
}

fn read_stream(path: &Path) -> Result<Stream> {
    let fix = "re-download the dataset (see `pim datasets`)";
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, fix, e))?;
    let array = Array2::<f64>::read_npy(std::io::BufReader::new(file)).map_err(|e| {
        Error::bad_dataset(path, format!("is not a float64 array of rows (frame, timestamp, x, y, z) ({e})"), fix)
    })?;
    if array.ncols() != 5 || array.nrows() < 2 {
        return Err(Error::bad_dataset(
            path,
            format!("holds a {} x {} array, MM-Fit streams are N x 5 with N >= 2", array.nrows(), array.ncols()),
            fix,
        ));
    }
    let column = |c: usize| array.index_axis(Axis(1), c).to_vec();
    let times = column(1);
    if let Some(t) = times.windows(2).position(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater)) {
        return Err(Error::bad_row(path, t as u64 + 2, "has a timestamp that does not increase", fix));
    }
    Ok(Stream { times, frames: column(0), axes: [column(2), column(3), column(4)] })
}

/// The label rows of a workout: (start frame, end frame, exercise, line).
fn read_labels(path: &Path, config: &DatasetConfig) -> Result<Vec<(f64, f64, String, u64)>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).map_err(|e| {
        Error::bad_dataset(path, format!("cannot be read ({e})"), "re-download the dataset (see `pim datasets`)")
    })?;
    let mut labels = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row as u64 + 1;
        let bad = |problem: String| {
            Error::bad_row(path, line, problem, "rows are start frame, end frame, repetitions, exercise")
        };
        let record = record.map_err(|e| bad(e.to_string()))?;
        let (Some(start), Some(end), Some(exercise)) = (record.get(0), record.get(1), record.get(3)) else {
            return Err(bad(format!("has {} fields, not 4", record.len())));
        };
        let (Ok(start), Ok(end)) = (start.trim().parse::<f64>(), end.trim().parse::<f64>()) else {
            if row == 0 {
                continue; // a header row
            }
            return Err(bad(format!("frames {start:?} and {end:?} are not numbers")));
        };
        let exercise = exercise.trim().to_string();
        if config.class_by_id(&exercise).is_none() {
            return Err(bad(format!("exercise {exercise:?} is not a class id in dataset.classes")));
        }
        labels.push((start, end, exercise, line));
    }
    Ok(labels)
}

/// One workout's recordings.
fn read_workout(dir: &Path, workout: &str, config: &DatasetConfig) -> Result<Vec<Recording>> {
    let layout = ChannelLayout::new(config);
    let mut streams = Vec::new();
    for (s, sensor) in config.sensors.iter().enumerate() {
        for modality in Modality::ALL {
            if let Some(rows) = layout.rows(s, modality) {
                let name = format!("{workout}_{}_{}.npy", sensor.name, modality_part(modality));
                streams.push((rows, config.units.factor(modality), read_stream(&dir.join(name))?));
            }
        }
    }
    let labels_path = dir.join(format!("{workout}_labels.csv"));
    let labels = read_labels(&labels_path, config)?;
    // One time grid over the span every stream covers.
    let first = streams.iter().map(|(_, _, s)| s.times[0]).fold(f64::NEG_INFINITY, f64::max);
    let last = streams.iter().map(|(_, _, s)| *s.times.last().expect("N >= 2")).fold(f64::INFINITY, f64::min);
    let step_ms = 1000.0 / config.sampling_rate_hz;
    let count = if last > first { ((last - first) / step_ms).floor() as usize + 1 } else { 0 };
    let grid: Vec<f64> = (0..count).map(|k| first + k as f64 * step_ms).collect();
    let mut samples = Array2::<f32>::zeros((layout.channels(), grid.len()));
    for (rows, scale, stream) in &streams {
        for (row, axis) in rows.iter().zip(&stream.axes) {
            let values = interp_slice(&stream.times, axis, &grid, &InterpMode::FirstLast);
            for (t, v) in values.into_iter().enumerate() {
                samples[[*row, t]] = v as f32 * scale;
            }
        }
    }
    let reference = &streams.first().expect("every sensor has acc").2;
    let frames = interp_slice(&reference.times, &reference.frames, &grid, &InterpMode::FirstLast);
    let last_frame = reference.frames.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if let Some((_, end, exercise, line)) = labels.iter().find(|(_, end, _, _)| *end > last_frame) {
        return Err(Error::bad_row(
            labels_path,
            *line,
            format!("labels {exercise} up to frame {end}, past the data's last frame {last_frame}"),
            "re-download the dataset: the sensor streams are cut short",
        ));
    }
    let activity_at = |frame: f64| -> String {
        labels
            .iter()
            .find(|(start, end, _, _)| *start <= frame && frame <= *end)
            .map(|(_, _, e, _)| e.clone())
            .or_else(|| config.null_class.clone())
            .unwrap_or_default()
    };
    let mut recordings = Vec::new();
    let mut start = 0;
    for t in 1..=grid.len() {
        let change = t == grid.len() || activity_at(frames[t]) != activity_at(frames[start]);
        if change {
            recordings.push(Recording {
                subject: workout.to_string(),
                activity: activity_at(frames[start]),
                source: format!("{workout}/{workout}_labels.csv"),
                start,
                samples: samples.slice(ndarray::s![.., start..t]).to_owned(),
            });
            start = t;
        }
    }
    Ok(recordings)
}
