//! The `pseudo-label` stage: read a dataset, window it, compute every window's physical
//! quantities, fit the discretiser on the training subjects' windows only, and write
//! `features.csv`, `labels.csv`, `discretiser.json`, the prepared windows (`windows.npy`,
//! `windows.csv`) that later stages load instead of the raw files, `config.json` and
//! `run.json`.
//!
//! Nothing is written until everything has been computed, and then every file goes to a
//! temporary name first ([`RunFolder`]): a failure leaves no partial output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ndarray::{Array2, Axis};
use serde::Serialize;

use super::discretise::Discretiser;
use super::io::write_table;
use super::{Quantity, quantities};
use crate::config::PimConfig;
use crate::config::Task;
use crate::data::dataset_config::SplitRole;
use crate::data::{DatasetConfig, PreparedWindows, Recording, Window, WindowInfo, cut_windows, read_dataset};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::run_folder::layout::{LabelsFolder, Layout};
use crate::run_folder::{RunFolder, RunRecord};

/// What a run did, for the summary line and the benchmark.
#[derive(Debug, Clone)]
pub struct PseudoLabelReport {
    /// Recordings read.
    pub recordings: usize,
    /// Windows labelled.
    pub windows: usize,
    /// Windows of the training subjects (the discretiser's fitting set).
    pub train_windows: usize,
    /// Label columns per window.
    pub quantities: usize,
    /// Things the user should know (dropped tasks, constant columns, skipped recordings).
    pub notices: Vec<String>,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Time spent reading and parsing the dataset.
    pub parse_time: Duration,
    /// Time spent computing the physical quantities.
    pub features_time: Duration,
}

/// What `run.json` says the stage did.
#[derive(Serialize)]
struct Details<'a> {
    windows: usize,
    windows_by_split: BTreeMap<&'static str, usize>,
    recordings: usize,
    tasks: Vec<Task>,
    quantities: &'a [Quantity],
}

/// Run the stage on `data_dir`, writing into `out_dir`, with the prepared windows if
/// `with_windows`; `command` is recorded in `run.json`.
pub fn pseudo_label(
    config: &PimConfig,
    data_dir: &Path,
    out_dir: &Path,
    with_windows: bool,
    command: &[String],
    progress: &dyn Progress,
) -> Result<PseudoLabelReport> {
    let dataset = &config.dataset;
    let mut folder = RunFolder::open_own(out_dir)?;
    let mut notices = Vec::new();
    if dataset.pairs.is_empty() {
        notices.push(format!("dataset {} has no left/right sensor pairs: the symmetry task is dropped", dataset.name));
    }

    let started = Instant::now();
    let (recordings, windows) = read_windows(dataset, data_dir, &mut notices, progress)?;
    let parse_time = started.elapsed();

    let started = Instant::now();
    let bar = progress.bar("features");
    let values = super::compute::compute_quantities(&recordings, &windows, dataset, &config.physics, &bar);
    bar.finish_and_clear();
    let features_time = started.elapsed();

    let roles: Vec<SplitRole> = windows
        .iter()
        .map(|w| dataset.split.role_of(&recordings[w.recording].subject).expect("readers keep only split subjects"))
        .collect();
    let train_rows: Vec<usize> = (0..windows.len()).filter(|&i| roles[i] == SplitRole::Train).collect();
    if train_rows.is_empty() {
        return Err(Error::bad_dataset(
            data_dir,
            "holds no windows of the training subjects",
            "check dataset.split.train names subjects present in the data",
        ));
    }
    let quantities = quantities(dataset, config.physics.angle_quantity);
    let names: Vec<String> = quantities.iter().map(|q| q.name.clone()).collect();
    let (discretiser, warnings) = Discretiser::fit(&config.labels, &names, values.select(Axis(0), &train_rows).view());
    notices.extend(warnings);
    let bins = discretiser.transform(values.view());

    let prepared = PreparedWindows::cut(&recordings, &windows, dataset);
    let layout = LabelsFolder::new(out_dir);
    if with_windows {
        prepared.write(&mut folder, &layout)?;
    }
    write_outputs(&mut folder, &layout, &prepared.index, &names, &values, &bins)?;
    folder.stage_json(&layout.discretiser(), &discretiser)?;
    folder.stage_json(&layout.config(), config)?;
    let tasks = Task::ALL.into_iter().filter(|t| quantities.iter().any(|q| q.task == *t)).collect();
    let details = Details {
        windows: windows.len(),
        windows_by_split: windows_by_split(&roles),
        recordings: recordings.len(),
        tasks,
        quantities: &quantities,
    };
    let mut record =
        RunRecord::new("pseudo-label", config.seed, &notices, serde_json::to_value(details).expect("serialises"));
    record.command = command.to_vec();
    record.seconds.insert("parse".into(), parse_time.as_secs_f64());
    record.seconds.insert("features".into(), features_time.as_secs_f64());
    // Only now, with every file staged: an earlier run's windows would be read as this run's.
    let stale = if with_windows { vec![] } else { vec![layout.windows(), layout.window_index(), layout.window_sums()] };
    folder.clear(&stale)?;
    let written = folder.finish(&record)?;
    Ok(PseudoLabelReport {
        recordings: recordings.len(),
        windows: windows.len(),
        train_windows: train_rows.len(),
        quantities: names.len(),
        notices,
        written,
        parse_time,
        features_time,
    })
}

/// Read the dataset and cut its windows; a notice for recordings too short to give one.
fn read_windows(
    dataset: &DatasetConfig,
    data_dir: &Path,
    notices: &mut Vec<String>,
    progress: &dyn Progress,
) -> Result<(Vec<Recording>, Vec<Window>)> {
    let bar = progress.bar("reading");
    let read = read_dataset(data_dir, dataset, &bar)?;
    bar.finish_and_clear();
    notices.extend(read.notices);
    let (windows, too_short) = cut_windows(&read.recordings, dataset.window);
    if too_short > 0 {
        notices.push(format!(
            "{too_short} of {} recordings are shorter than one window ({} samples) and give no windows",
            read.recordings.len(),
            dataset.window.length
        ));
    }
    if windows.is_empty() {
        return Err(Error::bad_dataset(
            data_dir,
            format!("no recording is as long as one window ({} samples)", dataset.window.length),
            "use shorter windows (dataset.window.length) or longer recordings",
        ));
    }
    Ok((read.recordings, windows))
}

/// Windows per split, by the split's name.
fn windows_by_split(roles: &[SplitRole]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for role in roles {
        let name = match role {
            SplitRole::Train => "train",
            SplitRole::Validation => "validation",
            SplitRole::Test => "test",
        };
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

fn write_outputs(
    folder: &mut RunFolder,
    layout: &LabelsFolder,
    infos: &[WindowInfo],
    names: &[String],
    values: &Array2<f64>,
    bins: &Array2<u8>,
) -> Result<()> {
    let features = layout.features();
    folder.stage(&features, |w| write_table(w, &features, infos, names, values.view(), |v| v.to_string()))?;
    let labels = layout.labels();
    folder.stage(&labels, |w| write_table(w, &labels, infos, names, bins.view(), |b| b.to_string()))
}
