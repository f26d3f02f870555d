//! Prepared windows: every window of a dataset cut once, in physical units, and saved as
//! `windows.npy` (float32 `[windows, channels, time]`, which numpy loads as it is) with
//! `windows.csv` (subject, activity, source, start per window), so that later stages load
//! them instead of parsing the raw files again. `pim pseudo-label` writes them beside the
//! labels.
//!
//! The windows do not depend on the subject split (roles are given when they are loaded),
//! so one prepared folder serves every fold of a cross-subject evaluation.
//!
//! `windows.sums.json` holds an XXH3 checksum of `windows.csv` and of every window's
//! samples: a stage checks the index when it opens the folder and each window it uses, so
//! an edited or damaged file (a relabelled subject, a swapped or changed window) is
//! refused instead of trained on.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;
use ndarray::{Array3, ArrayView3};
use ndarray_npy::{ViewNpyExt, WriteNpyExt};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::dataset_config::DatasetConfig;
use super::readers::read_dataset;
use super::recording::Recording;
use super::window::Window;
use super::window::cut_windows;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::run_folder::layout::{LabelsFolder, Layout};
use crate::run_folder::{RunFolder, RunRecord};

/// Columns of `windows.csv` (and the first columns of the label files).
pub const KEY_COLUMNS: [&str; 4] = ["subject", "activity", "source", "start"];

/// Where a window came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInfo {
    /// Subject id.
    pub subject: String,
    /// Class name (empty for unlabelled windows).
    pub activity: String,
    /// Source file relative to the data folder.
    pub source: String,
    /// First sample of the window among the file's data rows.
    pub start: usize,
}

/// Every window of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedWindows {
    /// `[windows, channels, time]`, acceleration in m/s^2, angular rate in rad/s.
    pub samples: Array3<f32>,
    /// Each window's identity, in the same order.
    pub index: Vec<WindowInfo>,
}

/// The contents of `windows.sums.json`: XXH3-64 of the index file's bytes and of each
/// window's float32 samples (little-endian bytes, as in the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSums {
    /// Of `windows.csv`.
    pub index: u64,
    /// Of each window, in row order.
    pub windows: Vec<u64>,
}

impl WindowSums {
    /// The checksum of one window's samples.
    pub fn of_window(samples: &[f32]) -> u64 {
        xxh3_64(bytemuck::cast_slice(samples))
    }

    /// The checksum of an index file's bytes.
    pub fn of_index(bytes: &[u8]) -> u64 {
        xxh3_64(bytes)
    }
}

impl PreparedWindows {
    /// Cut `windows` out of `recordings`.
    pub fn cut(recordings: &[Recording], windows: &[Window], config: &DatasetConfig) -> Self {
        let channels = recordings.first().map_or(0, |r| r.samples.nrows());
        let length = config.window.length;
        let samples = Array3::from_shape_fn((windows.len(), channels, length), |(w, c, t)| {
            let window = windows[w];
            recordings[window.recording].samples[[c, window.offset + t]]
        });
        let index = windows
            .iter()
            .map(|w| {
                let recording = &recordings[w.recording];
                WindowInfo {
                    subject: recording.subject.clone(),
                    activity: config.class_by_id(&recording.activity).map(|c| c.name.clone()).unwrap_or_default(),
                    source: recording.source.clone(),
                    start: recording.start + w.offset,
                }
            })
            .collect();
        PreparedWindows { samples, index }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Stage the samples, their index and their checksums in `folder`.
    pub fn write(&self, folder: &mut RunFolder, layout: &LabelsFolder) -> Result<()> {
        let npy = layout.windows();
        folder.stage(&npy, |w| {
            self.samples.write_npy(w).map_err(|e| Error::Artefact {
                path: npy.clone(),
                problem: format!("cannot be written ({e})"),
                fix: "check the disk has space and the folder is writable".into(),
            })
        })?;
        let mut index = KEY_COLUMNS.join(",") + "\n";
        for info in &self.index {
            index += &format!("{},{},{},{}\n", info.subject, info.activity, info.source, info.start);
        }
        let index_path = layout.window_index();
        let io = |e| Error::io("write", &index_path, "check the disk has space", e);
        folder.stage(&index_path, |w| w.write_all(index.as_bytes()).map_err(io))?;
        let samples = self.samples.as_slice().expect("a freshly cut array is in standard layout");
        let size = self.samples.shape()[1] * self.samples.shape()[2];
        let windows = if size == 0 { Vec::new() } else { samples.chunks(size).map(WindowSums::of_window).collect() };
        folder.stage_json(&layout.window_sums(), &WindowSums { index: WindowSums::of_index(index.as_bytes()), windows })
    }

    /// Open the prepared windows of `dir`: their index (`windows.csv`) and their samples
    /// (`windows.npy`, mapped), checked to describe the same windows.
    pub fn open(dir: &Path) -> Result<(Vec<WindowInfo>, MappedSamples)> {
        let fix = "pass the --out folder of `pim pseudo-label`, or run it again";
        let layout = LabelsFolder::new(dir);
        let npy = layout.windows();
        let unreadable = |problem: String| Error::Artefact { path: npy.clone(), problem, fix: fix.into() };
        let file = File::open(&npy).map_err(|e| Error::io("open", &npy, fix, e))?;
        // SAFETY: pim never writes into an existing windows.npy: it writes a new file under
        // a temporary name and renames it over the old one, so a mapped file keeps its
        // bytes. Only another program changing the file in place while a stage reads it
        // could change them (and truncating it would end the stage with SIGBUS).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("map", &npy, fix, e))?;
        let dims = {
            let view = ArrayView3::<f32>::view_npy(&map)
                .map_err(|e| unreadable(format!("is not a float32 array of [windows, channels, time] ({e})")))?;
            if !view.is_standard_layout() {
                return Err(unreadable("is in Fortran order; save it in C order (numpy.ascontiguousarray)".into()));
            }
            view.dim()
        };
        let index_path = layout.window_index();
        let index = read_index(&index_path, fix)?;
        if index.len() != dims.0 {
            let named = file_name(&index_path);
            return Err(unreadable(format!("holds {} windows, but {named} lists {}", dims.0, index.len())));
        }
        let sums = read_sums(&layout.window_sums(), &index_path, dims.0)?;
        // The samples end the file (the viewer refuses extra bytes), after the header.
        let offset = map.len() - dims.0 * dims.1 * dims.2 * size_of::<f32>();
        Ok((index, MappedSamples { map, offset, dims, sums: sums.windows }))
    }
}

/// Read `data_dir` and write only its prepared windows (`windows.npy`, `windows.csv`), the
/// full `config` (of which `dataset` is the dataset group) and `run.json` into `out_dir`:
/// what every stage but pre-training with PIM needs, for any split of the subjects. The
/// number of windows.
pub fn prepare_windows(
    (dataset, config, seed): (&DatasetConfig, &impl Serialize, u64),
    data_dir: &Path,
    out_dir: &Path,
    command: &[String],
    progress: &dyn Progress,
) -> Result<usize> {
    let mut folder = RunFolder::open_own(out_dir)?;
    let bar = progress.bar("reading");
    let read = read_dataset(data_dir, dataset, &bar)?;
    bar.finish_and_clear();
    let recordings = read.recordings;
    let (windows, _) = cut_windows(&recordings, dataset.window);
    let prepared = PreparedWindows::cut(&recordings, &windows, dataset);
    let layout = LabelsFolder::new(out_dir);
    prepared.write(&mut folder, &layout)?;
    folder.stage_json(&layout.config(), config)?;
    let details = serde_json::json!({ "windows": prepared.len(), "recordings": recordings.len() });
    let mut record = RunRecord::new("prepare-windows", seed, &read.notices, details);
    record.command = command.to_vec();
    folder.finish(&record)?;
    Ok(prepared.len())
}

/// The last part of `path`, for messages that name a sibling of the file at fault.
fn file_name(path: &Path) -> std::borrow::Cow<'_, str> {
    path.file_name().unwrap_or(path.as_os_str()).to_string_lossy()
}

/// The checksums at `path`, checked against the index file's bytes and the number of
/// windows.
fn read_sums(path: &Path, index_path: &Path, windows: usize) -> Result<WindowSums> {
    let path = path.to_path_buf();
    let again = "run `pim pseudo-label` again to prepare the windows";
    if !path.is_file() {
        return Err(Error::Artefact {
            path,
            problem: "is missing: these windows were prepared by an older pim, or the file was deleted".into(),
            fix: again.into(),
        });
    }
    let sums: WindowSums = crate::run_folder::load_json(&path, again)?;
    let bytes = std::fs::read(index_path).map_err(|e| Error::io("read", index_path, again, e))?;
    if WindowSums::of_index(&bytes) != sums.index {
        return Err(Error::Artefact {
            path: index_path.to_path_buf(),
            problem: format!(
                "does not match its checksum in {}: it was changed after `pim pseudo-label`",
                file_name(&path)
            ),
            fix: again.into(),
        });
    }
    if sums.windows.len() != windows {
        return Err(Error::Artefact {
            path,
            problem: format!("holds {} window checksums for {windows} windows", sums.windows.len()),
            fix: again.into(),
        });
    }
    Ok(sums)
}

/// The samples of a `windows.npy`, memory-mapped and read in place, so that a stage copies
/// only the windows it uses.
#[derive(Debug)]
pub struct MappedSamples {
    map: Mmap,
    /// Bytes before the first sample (the header).
    offset: usize,
    /// Windows, channels, samples per channel.
    dims: (usize, usize, usize),
    /// Each window's checksum, as `pim pseudo-label` wrote it.
    sums: Vec<u64>,
}

impl MappedSamples {
    /// Windows, channels and samples per channel.
    pub fn dims(&self) -> (usize, usize, usize) {
        self.dims
    }

    /// Window `row` as `[channels, time]`, row-major.
    pub fn window(&self, row: usize) -> &[f32] {
        let bytes = self.dims.1 * self.dims.2 * size_of::<f32>();
        let start = self.offset + row * bytes;
        bytemuck::cast_slice(&self.map[start..start + bytes])
    }

    /// Whether window `row` still has the samples `pim pseudo-label` wrote.
    pub fn is_intact(&self, row: usize) -> bool {
        WindowSums::of_window(self.window(row)) == self.sums[row]
    }
}

/// The rows of a `windows.csv`.
fn read_index(path: &Path, fix: &str) -> Result<Vec<WindowInfo>> {
    let (mut reader, _) = open_keyed_table(path, true, fix)?;
    keyed_rows(&mut reader, path, fix).map(|row| row.map(|row| row.key)).collect()
}

/// One row of a table whose first columns are [`KEY_COLUMNS`].
#[derive(Debug, Clone)]
pub struct KeyedRow {
    /// Line in the file (for errors).
    pub line: u64,
    /// Every field of the row, keys included.
    pub fields: csv::StringRecord,
    /// The window the row is about.
    pub key: WindowInfo,
}

/// Open a CSV table whose columns start with [`KEY_COLUMNS`] (and hold nothing else, if
/// `only_keys`): its reader and header. `fix` ends every error.
pub fn open_keyed_table(path: &Path, only_keys: bool, fix: &str) -> Result<(csv::Reader<File>, csv::StringRecord)> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| Error::bad_dataset(path, format!("cannot be read ({e})"), fix))?;
    let header = reader.headers().map_err(|e| Error::bad_row(path, 1, e.to_string(), fix))?.clone();
    let keys_lead = header.len() >= KEY_COLUMNS.len() && header.iter().take(KEY_COLUMNS.len()).eq(KEY_COLUMNS);
    if !keys_lead || (only_keys && header.len() != KEY_COLUMNS.len()) {
        let wanted = if only_keys { "is not" } else { "does not start with" };
        return Err(Error::bad_row(path, 1, format!("header {wanted} {}", KEY_COLUMNS.join(",")), fix));
    }
    Ok((reader, header))
}

/// The rows of a table opened by [`open_keyed_table`], each with its window's key checked.
pub fn keyed_rows<'a>(
    reader: &'a mut csv::Reader<File>,
    path: &'a Path,
    fix: &'a str,
) -> impl Iterator<Item = Result<KeyedRow>> + 'a {
    reader.records().map(move |record| {
        let fields =
            record.map_err(|e| Error::bad_row(path, e.position().map_or(0, |p| p.line()), e.to_string(), fix))?;
        let line = fields.position().map_or(0, |p| p.line());
        let start = fields[3]
            .parse()
            .map_err(|_| Error::bad_row(path, line, format!("start {:?} is not a number", &fields[3]), fix))?;
        let key = WindowInfo {
            subject: fields[0].to_string(),
            activity: fields[1].to_string(),
            source: fields[2].to_string(),
            start,
        };
        Ok(KeyedRow { line, fields, key })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_prepared(prepared: &PreparedWindows, dir: &Path) {
        let mut folder = RunFolder::open(dir).unwrap();
        prepared.write(&mut folder, &LabelsFolder::new(dir)).unwrap();
        folder.commit().unwrap();
    }

    #[test]
    fn windows_round_trip_through_npy_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let samples = Array3::from_shape_fn((3, 2, 4), |(w, c, t)| (w * 100 + c * 10 + t) as f32 + 0.5);
        let index = (0..3)
            .map(|w| WindowInfo {
                subject: format!("p{w}"),
                activity: if w == 1 { String::new() } else { "walking".into() },
                source: format!("a/{w}.csv"),
                start: w * 7,
            })
            .collect();
        let prepared = PreparedWindows { samples, index };
        write_prepared(&prepared, dir.path());
        let (index, samples) = PreparedWindows::open(dir.path()).unwrap();
        assert_eq!(index, prepared.index);
        assert_eq!(samples.dims(), (3, 2, 4));
        for (row, window) in prepared.samples.outer_iter().enumerate() {
            assert_eq!(samples.window(row), window.as_slice().unwrap());
        }
        // numpy's format: magic string, version, then a header naming the dtype and shape.
        let bytes = std::fs::read(LabelsFolder::new(dir.path()).windows()).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..80]);
        assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (3, 2, 4)"), "{header}");
    }

    #[test]
    fn an_index_with_other_columns_or_a_bad_start_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let csv = LabelsFolder::new(dir.path()).window_index();
        let error = |text: &str| {
            std::fs::write(&csv, text).unwrap();
            read_index(&csv, "fix it").unwrap_err().to_string()
        };
        let wrong_header = error("subject,activity,file,start\np1,a,s,0\n");
        assert!(wrong_header.contains("windows.csv:1: header is not subject,activity,source,start"), "{wrong_header}");
        let extra_column = error("subject,activity,source,start,speed\np1,a,s,0,1\n");
        assert!(extra_column.contains("windows.csv:1: header is not"), "{extra_column}");
        let bad_start = error("subject,activity,source,start\np1,a,s,0\np1,a,s,ten\n");
        assert!(bad_start.contains("windows.csv:3: start \"ten\" is not a number; fix it"), "{bad_start}");
        std::fs::write(&csv, "subject,activity,source,start\np1,a,s,0\np2,,t,125\n").unwrap();
        let index = read_index(&csv, "fix it").unwrap();
        assert_eq!(
            index[1],
            WindowInfo { subject: "p2".into(), activity: String::new(), source: "t".into(), start: 125 }
        );
    }

    #[test]
    fn samples_in_fortran_order_are_refused() {
        use ndarray::ShapeBuilder;
        let dir = tempfile::tempdir().unwrap();
        let samples = Array3::<f32>::zeros((2, 1, 3).f());
        samples.write_npy(File::create(LabelsFolder::new(dir.path()).windows()).unwrap()).unwrap();
        let row = "p1,a,s,0\n";
        std::fs::write(LabelsFolder::new(dir.path()).window_index(), format!("{}\n{row}{row}", KEY_COLUMNS.join(",")))
            .unwrap();
        let error = PreparedWindows::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("windows.npy") && error.contains("is in Fortran order"), "{error}");
    }

    #[test]
    fn a_short_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let prepared = PreparedWindows {
            samples: Array3::zeros((2, 1, 3)),
            index: vec![WindowInfo { subject: "p1".into(), activity: "a".into(), source: "s".into(), start: 0 }; 2],
        };
        write_prepared(&prepared, dir.path());
        let csv = LabelsFolder::new(dir.path()).window_index();
        let text = std::fs::read_to_string(&csv).unwrap();
        std::fs::write(&csv, text.lines().take(2).collect::<Vec<_>>().join("\n") + "\n").unwrap();
        let error = PreparedWindows::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("holds 2 windows, but windows.csv lists 1"), "{error}");
    }
}
