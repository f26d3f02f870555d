//! Saving and loading network weights (Burn's burnpack records), small JSON state and text,
//! each written under a temporary name and renamed, so a kill never leaves a torn file.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

fn temporary(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().expect("a file path").to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn finish(temporary: &Path, path: &Path) -> Result<()> {
    std::fs::rename(temporary, path).map_err(|e| Error::io("rename into", path, "check the folder is writable", e))
}

/// Save `module`'s weights to `path`.
pub fn save_module<M: Module>(module: M, path: &Path) -> Result<()> {
    let staging = temporary(path);
    module.save_file(&staging).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("cannot be written ({e})"),
        fix: "check the disk has space and the folder is writable".into(),
    })?;
    finish(&staging, path)
}

/// Load weights from `path` into `module`, which must have the same architecture.
pub fn load_module<M: Module>(module: M, path: &Path, fix: &str) -> Result<M> {
    if !path.is_file() {
        return Err(Error::Artefact { path: path.to_path_buf(), problem: "does not exist".into(), fix: fix.into() });
    }
    module.try_load_file(path).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("does not fit this model ({e})"),
        fix: fix.into(),
    })
}

/// Save an optimiser's state to `path`.
pub fn save_optimizer(optimizer: &ModuleOptimizer, path: &Path) -> Result<()> {
    let staging = temporary(path);
    optimizer.save(&staging).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("cannot be written ({e})"),
        fix: "check the disk has space and the folder is writable".into(),
    })?;
    finish(&staging, path)
}

/// Load an optimiser's state from `path`.
pub fn load_optimizer(optimizer: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer> {
    optimizer.load(path).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("cannot be read ({e})"),
        fix: "delete the run folder's checkpoint/ to start over".into(),
    })
}

/// Write `text` to `path`.
pub fn save_text(path: &Path, text: &str) -> Result<()> {
    let staging = temporary(path);
    std::fs::write(&staging, text).map_err(|e| Error::io("write", &staging, "check the disk has space", e))?;
    finish(&staging, path)
}

/// Write `value` as pretty JSON to `path`.
pub fn save_json(value: &impl Serialize, path: &Path) -> Result<()> {
    save_text(path, &(serde_json::to_string_pretty(value).expect("artefact state serialises") + "\n"))
}

/// Read JSON of type `T` from `path`.
pub fn load_json<T: DeserializeOwned>(path: &Path, fix: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, fix, e))?;
    serde_json::from_str(&text).map_err(|cause| Error::Json { path: path.to_path_buf(), fix: fix.into(), cause })
}
