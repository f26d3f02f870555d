//! Dataset readers: each turns a folder on disk into [`Recording`]s in physical units,
//! checking the layout its format promises and naming the file and line of anything off.

mod csv_format;
mod dsads;
mod fields;
mod gaps;
mod mmfit;
mod pamap2;
mod plausible;
mod usc_had;
mod wear;

pub use csv_format::CsvReader;
pub use dsads::DsadsReader;
pub use mmfit::MmfitReader;
pub use pamap2::Pamap2Reader;
pub use usc_had::UscHadReader;
pub use wear::WearReader;

use std::path::Path;

use indicatif::ProgressBar;

use super::dataset_config::{DatasetConfig, DatasetFormat};
use super::recording::Recording;
use crate::error::{Error, Result};

/// What a reader found: the recordings, and what the user should know about them (samples
/// filled in, labels dropped).
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Every recording, sorted by source file then start.
    pub recordings: Vec<Recording>,
    /// Things the user should know.
    pub notices: Vec<String>,
}

/// Reads one dataset format.
pub trait DatasetReader {
    /// Read every recording under `dir`, ticking `progress` once per file parsed.
    fn read(&self, dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset>;
}

/// Read `dir` with the reader its config's format names.
pub fn read_dataset(dir: &Path, config: &DatasetConfig, progress: &ProgressBar) -> Result<Dataset> {
    if !dir.is_dir() {
        return Err(Error::bad_dataset(
            dir,
            "is not a folder",
            "pass --data-dir the folder that holds the dataset (see docs/data.md)",
        ));
    }
    let reader: &dyn DatasetReader = match config.format {
        DatasetFormat::Dsads => &DsadsReader,
        DatasetFormat::Csv => &CsvReader,
        DatasetFormat::UscHad => &UscHadReader,
        DatasetFormat::Pamap2 => &Pamap2Reader,
        DatasetFormat::Wear => &WearReader,
        DatasetFormat::Mmfit => &MmfitReader,
    };
    let mut dataset = reader.read(dir, config, progress)?;
    plausible::check_finite(&dataset.recordings, config, dir)?;
    dataset.recordings.sort_by(|a, b| (&a.source, a.start).cmp(&(&b.source, b.start)));
    dataset.notices.extend(plausible::implausible_samples(&dataset.recordings, config));
    Ok(dataset)
}

/// Sorted names of the entries of a folder, skipping hidden ones (`.DS_Store`, ...).
fn list_folder(dir: &Path) -> Result<Vec<(String, bool)>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, "check the folder exists and is readable", e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, "check the folder is readable", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        names.push((name, entry.path().is_dir()));
    }
    names.sort();
    Ok(names)
}
