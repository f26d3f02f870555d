//! The library's error type: every variant names the file (and line) at fault and ends
//! with what would fix it, so `pim` can print the chain once and exit non-zero.

use std::io;
use std::path::PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between reading a dataset and writing its labels.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read, created or written.
    #[error("cannot {action} {}: {cause}; {fix}", path.display())]
    Io {
        /// What was being done ("read", "create folder", ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What would fix it.
        fix: String,
        /// The operating system's reason.
        cause: io::Error,
    },
    /// One row of a data file is malformed.
    #[error("{}:{line}: {problem}; {fix}", path.display())]
    BadRow {
        /// The data file.
        path: PathBuf,
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong with the row.
        problem: String,
        /// What would fix it.
        fix: String,
    },
    /// A dataset folder does not have the layout its format requires.
    #[error("{}: {problem}; {fix}", path.display())]
    BadDataset {
        /// The folder or file at fault.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// What would fix it.
        fix: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid config {}: `{field}` {problem}; {fix}", path.display())]
    InvalidConfig {
        /// The config file (or `<built-in>`).
        path: PathBuf,
        /// Dotted path of the offending field, e.g. `dataset.pairs[0].left`.
        field: String,
        /// What is wrong.
        problem: String,
        /// What would fix it.
        fix: String,
    },
    /// A JSON file could not be parsed into the expected structure.
    #[error("{}: {cause}; {fix}", path.display())]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// What would fix it.
        fix: String,
        /// serde_json's description, with line and column.
        cause: serde_json::Error,
    },
    /// An artefact of an earlier stage (labels, checkpoint, run folder) is missing, from
    /// another config, or unreadable.
    #[error("{}: {problem}; {fix}", path.display())]
    Artefact {
        /// The artefact.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// What would fix it.
        fix: String,
    },
    /// The compute device could not be used.
    #[error("{problem}; {fix}")]
    Device {
        /// What is wrong.
        problem: String,
        /// What would fix it.
        fix: String,
    },
    /// The command line or its environment asks for what cannot be (no file is at fault).
    #[error("{problem}; {fix}")]
    Usage {
        /// What is wrong.
        problem: String,
        /// What would fix it.
        fix: String,
    },
    /// Training produced a non-finite loss.
    #[error("{}: epoch {epoch}: the {term} loss is {value}; {fix}", path.display())]
    NonFinite {
        /// The run folder.
        path: PathBuf,
        /// 1-based epoch.
        epoch: usize,
        /// The loss term.
        term: String,
        /// Its value (NaN or infinite).
        value: f64,
        /// What would fix it.
        fix: String,
    },
    /// Writing a CSV output failed.
    #[error("cannot write {}: {cause}; check the disk has space and the folder is writable", path.display())]
    CsvWrite {
        /// The output file.
        path: PathBuf,
        /// The csv crate's reason.
        cause: csv::Error,
    },
}

impl Error {
    /// An [`Error::Io`] with the given action, path and fix.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, fix: impl Into<String>, cause: io::Error) -> Self {
        Error::Io { action, path: path.into(), fix: fix.into(), cause }
    }

    /// An [`Error::BadRow`]: line `line` of the file at `path` is wrong (`problem`), and
    /// `fix` says what to do.
    pub fn bad_row(path: impl Into<PathBuf>, line: u64, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::BadRow { path: path.into(), line, problem: problem.into(), fix: fix.into() }
    }

    /// An [`Error::BadDataset`]: the folder or file at `path` is wrong (`problem`), and `fix`
    /// says what to do.
    pub fn bad_dataset(path: impl Into<PathBuf>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::BadDataset { path: path.into(), problem: problem.into(), fix: fix.into() }
    }

    /// An [`Error::InvalidConfig`]: `field` of the config at `path` is wrong (`problem`),
    /// and `fix` says what would be right.
    pub fn invalid_config(
        path: impl Into<PathBuf>,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::InvalidConfig { path: path.into(), field: field.into(), problem: problem.into(), fix: fix.into() }
    }

    /// An [`Error::Usage`]: the command line's `option` (or a setting no file holds) is
    /// wrong (`problem`), and `fix` says what would be right.
    pub fn usage(option: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Usage { problem: format!("`{option}` {}", problem.into()), fix: fix.into() }
    }
}
