//! Windows as network input: the windows of a dataset's subjects in the roles a stage needs,
//! each `[channels, time]` f32 (read in place from the prepared windows, or in one flat
//! buffer), with its subject, split role and class; the per-channel z-normalisation
//! fitted on the training subjects; the pseudo-labels of `labels.csv` joined back onto the
//! windows; and batches turned into tensors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::TensorData;
use indicatif::ProgressBar;

use crate::config::PimConfig;
use crate::data::dataset_config::SplitRole;
use crate::data::{ChannelLayout, MappedSamples, Normaliser, PreparedWindows, WindowInfo, cut_windows, read_dataset};
use crate::error::{Error, Result};
use crate::labels::io::read_label_rows;
use crate::run_folder::layout::{LabelsFolder, Layout};

/// Where a stage gets its windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowSource {
    /// Parse and window the raw dataset in this folder.
    Raw(PathBuf),
    /// Load the prepared windows (`windows.npy`) in this folder: the --out folder of `pim
    /// pseudo-label`.
    Prepared(PathBuf),
}

impl WindowSource {
    /// The folder it names.
    pub fn path(&self) -> &Path {
        match self {
            WindowSource::Raw(path) | WindowSource::Prepared(path) => path,
        }
    }
}

/// The windows of a dataset's subjects in some split roles.
#[derive(Debug, Clone)]
pub struct WindowSet {
    /// Channels per window.
    pub channels: usize,
    /// Samples per window.
    pub time: usize,
    /// `[windows, channels, time]`, row-major; empty while the samples are `mapped`.
    pub inputs: Vec<f32>,
    /// The prepared windows' samples, read in place (window `i` is row `rows[i]`) until a
    /// change (`normalise`) copies this set's windows into `inputs`.
    pub mapped: Option<Arc<MappedSamples>>,
    /// Source file and first sample of each window (its identity across stages).
    pub keys: Vec<(String, usize)>,
    /// Row of each window among all the source's windows (`windows.npy`'s row), whichever
    /// subjects were loaded.
    pub rows: Vec<usize>,
    /// Subject of each window.
    pub subjects: Vec<String>,
    /// Split role of each window.
    pub roles: Vec<SplitRole>,
    /// Class index of each window (`None`: unlabelled).
    pub classes: Vec<Option<usize>>,
    /// What the reader said about the raw data (samples filled in, labels dropped).
    pub notices: Vec<String>,
}

impl WindowSet {
    /// The windows of `source` whose subjects have one of `roles` in `config`'s split, as
    /// `config` describes them, each with its role.
    pub fn load(
        config: &PimConfig,
        source: &WindowSource,
        roles: &[SplitRole],
        progress: &ProgressBar,
    ) -> Result<Self> {
        let dataset = &config.dataset;
        // Subjects the split does not name are kept, for from_index to refuse. The other
        // checks (channels, activity names) see only the kept windows.
        let wanted = |subject: &str| dataset.split.role_of(subject).is_none_or(|role| roles.contains(&role));
        let set = match source {
            WindowSource::Raw(dir) => {
                let read = read_dataset(dir, dataset, progress)?;
                let (windows, _) = cut_windows(&read.recordings, dataset.window);
                let (rows, windows): (Vec<usize>, Vec<_>) = (windows.into_iter().enumerate())
                    .filter(|(_, w)| wanted(&read.recordings[w.recording].subject))
                    .unzip();
                let prepared = PreparedWindows::cut(&read.recordings, &windows, dataset);
                let [_, channels, time] = prepared.samples.shape().try_into().expect("three dimensions");
                let mut set = Self::from_index(config, &prepared.index, rows, (channels, time), source.path())?;
                let (inputs, offset) = prepared.samples.into_raw_vec_and_offset();
                debug_assert_eq!(offset.unwrap_or(0), 0, "a freshly built array starts at its buffer's start");
                set.inputs = inputs;
                set.notices = read.notices;
                set
            }
            WindowSource::Prepared(dir) => {
                check_prepared_config(dir, config)?;
                let (index, samples) = PreparedWindows::open(dir)?;
                let rows: Vec<usize> = (0..index.len()).filter(|&row| wanted(&index[row].subject)).collect();
                let index: Vec<WindowInfo> = rows.iter().map(|&row| index[row].clone()).collect();
                let (_, channels, time) = samples.dims();
                let mut set = Self::from_index(config, &index, rows, (channels, time), source.path())?;
                set.mapped = Some(Arc::new(samples));
                set
            }
        };
        if config.model.sensors.is_empty() {
            return Ok(set);
        }
        set.keep_channels(&ChannelLayout::seen_rows(dataset, &config.model.sensors), source.path())
    }

    /// The same windows with only the channel `rows` (those of the sensors the encoder
    /// reads, `model.sensors`), their samples copied once checked against their checksums.
    fn keep_channels(self, rows: &[usize], source: &Path) -> Result<WindowSet> {
        let all: Vec<usize> = (0..self.len()).collect();
        self.check_intact(&all, source)?;
        let time = self.time;
        let mut inputs = Vec::with_capacity(self.len() * rows.len() * time);
        for i in all {
            let window = self.window(i);
            for &row in rows {
                inputs.extend_from_slice(&window[row * time..(row + 1) * time]);
            }
        }
        Ok(WindowSet { channels: rows.len(), inputs, mapped: None, ..self })
    }

    /// A set without samples yet: the windows of `index` (rows `rows` of their source, of
    /// `channels` x `time` samples) with their roles and classes under `config`; `path` names
    /// their folder in errors.
    fn from_index(
        config: &PimConfig,
        index: &[WindowInfo],
        rows: Vec<usize>,
        (channels, time): (usize, usize),
        path: &Path,
    ) -> Result<Self> {
        let dataset = &config.dataset;
        let want = (ChannelLayout::new(dataset).channels(), dataset.window.length);
        if !index.is_empty() && (channels, time) != want {
            return Err(Error::Artefact {
                path: path.to_path_buf(),
                problem: format!(
                    "holds windows of {channels} channels x {time} samples, the config {} x {}",
                    want.0, want.1
                ),
                fix: "prepare the windows again with this config (`pim pseudo-label`)".into(),
            });
        }
        let mut set = WindowSet {
            channels: want.0,
            time: want.1,
            inputs: Vec::new(),
            mapped: None,
            keys: Vec::with_capacity(index.len()),
            rows,
            subjects: Vec::with_capacity(index.len()),
            roles: Vec::with_capacity(index.len()),
            classes: Vec::with_capacity(index.len()),
            notices: Vec::new(),
        };
        for info in index {
            let role = dataset.split.role_of(&info.subject).ok_or_else(|| Error::Artefact {
                path: path.to_path_buf(),
                problem: format!("holds windows of subject {:?}, which dataset.split does not name", info.subject),
                fix: "name every subject of the data in dataset.split".into(),
            })?;
            let class = match info.activity.as_str() {
                "" => None,
                name => Some(dataset.classes.iter().position(|c| c.name == name).ok_or_else(|| Error::Artefact {
                    path: path.to_path_buf(),
                    problem: format!("holds windows of activity {name:?}, which dataset.classes does not name"),
                    fix: "prepare the windows again with this config (`pim pseudo-label`)".into(),
                })?),
            };
            set.keys.push((info.source.clone(), info.start));
            set.subjects.push(info.subject.clone());
            set.roles.push(role);
            set.classes.push(class);
        }
        Ok(set)
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Indices of the windows of one split role.
    pub fn indices_of(&self, role: SplitRole) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.roles[i] == role).collect()
    }

    /// Indices of the windows of one split role that carry a class.
    pub fn labelled_indices_of(&self, role: SplitRole) -> Vec<usize> {
        self.indices_of(role).into_iter().filter(|&i| self.classes[i].is_some()).collect()
    }

    /// Window `index` as `[channels, time]`, row-major.
    pub fn window(&self, index: usize) -> &[f32] {
        match &self.mapped {
            Some(mapped) => mapped.window(self.rows[index]),
            None => {
                let size = self.channels * self.time;
                &self.inputs[index * size..(index + 1) * size]
            }
        }
    }

    /// The windows `indices`, in that order, as a set of their own, their samples copied:
    /// what a stage keeps of a mapped set when it uses a few of its windows.
    pub fn subset(&self, indices: &[usize]) -> WindowSet {
        let pick = |values: &[String]| indices.iter().map(|&i| values[i].clone()).collect();
        let mut inputs = Vec::with_capacity(indices.len() * self.channels * self.time);
        for &i in indices {
            inputs.extend_from_slice(self.window(i));
        }
        WindowSet {
            channels: self.channels,
            time: self.time,
            inputs,
            mapped: None,
            keys: indices.iter().map(|&i| self.keys[i].clone()).collect(),
            rows: indices.iter().map(|&i| self.rows[i]).collect(),
            subjects: pick(&self.subjects),
            roles: indices.iter().map(|&i| self.roles[i]).collect(),
            classes: indices.iter().map(|&i| self.classes[i]).collect(),
            notices: self.notices.clone(),
        }
    }

    /// The windows `indices` as a `[batch, channels, time]` tensor on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Tensor<3> {
        let mut values = Vec::with_capacity(indices.len() * self.channels * self.time);
        for &i in indices {
            values.extend_from_slice(self.window(i));
        }
        Tensor::from_data(TensorData::new(values, [indices.len(), self.channels, self.time]), device)
    }

    /// Z-normalise every channel in place (copying a mapped set's windows first, checked
    /// against their checksums), after checking every value is finite; `source` names the
    /// windows' folder in errors.
    pub fn normalise(&mut self, normaliser: &Normaliser, source: &Path) -> Result<()> {
        if self.mapped.is_some() {
            let all: Vec<usize> = (0..self.len()).collect();
            self.check_intact(&all, source)?;
            *self = self.subset(&all);
        }
        self.check_finite(source)?;
        let (channels, time) = (self.channels, self.time);
        for window in self.inputs.chunks_mut(channels * time) {
            normaliser.apply(window, time);
        }
        Ok(())
    }

    /// Fail on the first of `indices` whose prepared samples no longer match the checksum
    /// `pim pseudo-label` wrote (windows read from raw files have none to check).
    pub fn check_intact(&self, indices: &[usize], source: &Path) -> Result<()> {
        let Some(mapped) = &self.mapped else { return Ok(()) };
        match indices.iter().copied().find(|&i| !mapped.is_intact(self.rows[i])) {
            None => Ok(()),
            Some(i) => Err(Error::Artefact {
                path: source.to_path_buf(),
                problem: format!(
                    "window row {} (subject {}, {} from sample {}) does not match its checksum: windows.npy was \
                     changed after `pim pseudo-label`",
                    self.rows[i], self.subjects[i], self.keys[i].0, self.keys[i].1
                ),
                fix: "run `pim pseudo-label` again to prepare the windows".into(),
            }),
        }
    }

    /// Fail on the first window holding NaN or an infinity (a damaged or edited
    /// `windows.npy`): it would pass through every layer and move every score without a word.
    pub fn check_finite(&self, source: &Path) -> Result<()> {
        match (0..self.len()).find(|&i| self.window(i).iter().any(|v| !v.is_finite())) {
            None => Ok(()),
            Some(i) => Err(Error::Artefact {
                path: source.to_path_buf(),
                problem: format!(
                    "window row {} (subject {}, {} from sample {}) holds a value that is not finite (NaN or infinity)",
                    self.rows[i], self.subjects[i], self.keys[i].0, self.keys[i].1
                ),
                fix: "prepare the windows again with `pim pseudo-label`, or fix that recording".into(),
            }),
        }
    }
}

/// Fail unless the prepared windows in `dir` were made with `config`'s dataset group (the
/// split aside: windows do not depend on it).
fn check_prepared_config(dir: &Path, config: &PimConfig) -> Result<()> {
    let path = LabelsFolder::new(dir).config();
    let saved: PimConfig =
        crate::run_folder::load_json(&path, "pass --windows the --out folder of `pim pseudo-label`")?;
    let without_split = |c: &PimConfig| {
        let mut dataset = serde_json::to_value(&c.dataset).expect("serialises");
        dataset.as_object_mut().expect("an object").remove("split");
        dataset
    };
    if without_split(&saved) != without_split(config) {
        return Err(Error::Artefact {
            path,
            problem: "was made with a different `dataset` (sensors, windows or classes) than the config given now"
                .into(),
            fix: "pass the windows made with this config, or prepare them again (`pim pseudo-label`)".into(),
        });
    }
    Ok(())
}

impl WindowSet {
    /// The normaliser fitted on the windows `indices` (accumulated in f64).
    pub fn fit_normaliser(&self, indices: &[usize]) -> Normaliser {
        Normaliser::fit(indices.iter().map(|&i| self.window(i)), self.channels, self.time)
    }

    /// [`WindowSet::fit_normaliser`], refusing a window that is not finite (`source` names
    /// the windows' folder in that error).
    pub fn fit_normaliser_checked(&self, indices: &[usize], source: &Path) -> Result<Normaliser> {
        let normaliser = self.fit_normaliser(indices);
        if normaliser.mean.iter().all(|m| m.is_finite()) {
            return Ok(normaliser);
        }
        self.subset(indices).check_finite(source)?;
        // Finite values whose mean overflows f32 (beyond 3.4e38).
        Err(Error::Artefact {
            path: source.to_path_buf(),
            problem: "holds values so large that their channel means overflow".into(),
            fix: "check the data's units (dataset.units): values are converted to SI units".into(),
        })
    }
}

/// The bins of `labels.csv` in `labels_dir`, one row per window of `set` (joined on source
/// and start), as `[windows][columns]`, with the column names.
pub fn read_labels(labels_dir: &Path, set: &WindowSet, bins: usize) -> Result<(Vec<String>, Vec<Vec<u8>>)> {
    let fix = "run `pim pseudo-label` with the same config and data first, and pass its --out as --labels";
    let (path, names, label_rows) = read_label_rows(labels_dir, bins, fix)?;
    let position: HashMap<(&str, usize), usize> =
        set.keys.iter().enumerate().map(|(i, (source, start))| ((source.as_str(), *start), i)).collect();
    let mut rows = vec![None; set.len()];
    for row in label_rows {
        let Some(&index) = position.get(&(row.window.source.as_str(), row.window.start)) else {
            let problem = format!("window {}@{} is not in the dataset", row.window.source, row.window.start);
            return Err(Error::bad_row(path, row.line, problem, fix));
        };
        rows[index] = Some(row.bins);
    }
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            row.ok_or_else(|| {
                Error::bad_dataset(
                    path.clone(),
                    format!("has no row for window {}@{}", set.keys[i].0, set.keys[i].1),
                    fix,
                )
            })
        })
        .collect::<Result<_>>()?;
    Ok((names, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_set() -> WindowSet {
        // Two windows, 2 channels x 3 samples: channel 0 holds 1..6, channel 1 is constant 5.
        WindowSet {
            channels: 2,
            time: 3,
            inputs: vec![1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 4.0, 5.0, 6.0, 5.0, 5.0, 5.0],
            keys: vec![("a".into(), 0), ("b".into(), 0)],
            mapped: None,
            rows: vec![0, 1],
            subjects: vec!["p1".into(), "p1".into()],
            roles: vec![SplitRole::Train, SplitRole::Train],
            classes: vec![Some(0), Some(1)],
            notices: Vec::new(),
        }
    }

    #[test]
    fn normaliser_of_hand_worked_channels() {
        // Channel 0: 1..=6, mean 3.5, population variance 35/12. Channel 1: constant, std 1.
        let normaliser = tiny_set().fit_normaliser(&[0, 1]);
        assert_eq!(normaliser.mean, vec![3.5, 5.0]);
        assert!((normaliser.std[0] - (35f32 / 12.0).sqrt()).abs() < 1e-6);
        assert_eq!(normaliser.std[1], 1.0);
        let mut set = tiny_set();
        set.normalise(&normaliser, Path::new("test")).unwrap();
        assert_eq!(&set.inputs[3..6], &[0.0, 0.0, 0.0]);
        let sum: f32 = set.inputs.iter().step_by(1).sum();
        assert!(sum.abs() < 1e-5, "normalised channels should average 0, sum {sum}");
    }

    #[test]
    fn batch_keeps_window_layout() {
        let set = tiny_set();
        let batch = set.batch(&[1, 0], &Device::flex());
        assert_eq!(batch.dims(), [2, 2, 3]);
        let values: Vec<f32> = batch.into_data().try_to_vec().unwrap();
        assert_eq!(values[..6], [4.0, 5.0, 6.0, 5.0, 5.0, 5.0]);
    }

    #[test]
    fn a_mapped_set_reads_its_rows_and_copies_them_when_changed() {
        // The tiny set's windows saved as rows 2 and 0 of three prepared windows (row 1 is
        // another subject's), then mapped back as a set of those two rows.
        let owned = tiny_set();
        let dir = tempfile::tempdir().unwrap();
        let mut samples = ndarray::Array3::<f32>::from_elem((3, 2, 3), -1.0);
        for (row, i) in [(2, 0), (0, 1)] {
            samples.index_axis_mut(ndarray::Axis(0), row).as_slice_mut().unwrap().copy_from_slice(owned.window(i));
        }
        let info = |subject: &str| WindowInfo {
            subject: subject.into(),
            activity: String::new(),
            source: "s".into(),
            start: 0,
        };
        let prepared = PreparedWindows { samples, index: vec![info("p1"), info("p2"), info("p1")] };
        let mut folder = crate::run_folder::RunFolder::open(dir.path()).unwrap();
        prepared.write(&mut folder, &LabelsFolder::new(dir.path())).unwrap();
        folder.commit().unwrap();
        let mapped = WindowSet {
            inputs: Vec::new(),
            mapped: Some(Arc::new(PreparedWindows::open(dir.path()).unwrap().1)),
            rows: vec![2, 0],
            ..tiny_set()
        };
        assert_eq!((mapped.window(0), mapped.window(1)), (owned.window(0), owned.window(1)));
        let second = mapped.subset(&[1]);
        assert_eq!(
            (second.inputs.as_slice(), second.rows.as_slice(), second.mapped.is_none()),
            (owned.window(1), &[0][..], true)
        );
        let normaliser = mapped.fit_normaliser(&[0, 1]);
        assert_eq!(normaliser, owned.fit_normaliser(&[0, 1]));
        let (mut mapped, mut owned) = (mapped, owned);
        mapped.normalise(&normaliser, Path::new("test")).unwrap();
        owned.normalise(&normaliser, Path::new("test")).unwrap();
        assert!(mapped.mapped.is_none() && mapped.inputs == owned.inputs, "normalising copies, then scales");
    }
}
