//! The run folder's files, and the one way every stage writes them ([`RunFolder`]): a stage
//! holds an exclusive lock on its folder while it writes, so two runs cannot mix their
//! files; each file appears whole or not at all (written under a temporary name and renamed
//! into place); and `run.json`, the mark that the folder is finished, which every later
//! stage checks before it reads the folder, is taken away before the first file of a new
//! run replaces an old one and written last. Which files a stage's folder holds is
//! [`layout`]'s.

pub mod layout;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The record of what made a run folder, written last: its presence marks the folder done.
pub const RUN_FILE: &str = "run.json";
/// The full config a stage ran with.
pub const CONFIG_FILE: &str = "config.json";
/// The lock a stage holds on its folder while it writes.
pub const LOCK_FILE: &str = ".pim.lock";

/// A stage's hold on the folder it writes, from before its long work starts until its
/// files are in place; dropped unfinished (an error), it renames nothing and releases the
/// lock, and a folder it created and left empty goes too.
pub struct RunFolder {
    // Declared before the staged files, so released first: a failed run's lock file goes
    // before the staged files remove a folder they created.
    _lock: RunLock,
    outputs: StagedOutputs,
}

impl RunFolder {
    /// Create `dir` if needed, check it is writable, and lock it (or say which process holds
    /// it), for a stage that adds files to a folder it does not own (`eval`, `embed`,
    /// `export`, `inspect-labels`, `report`). Nothing in it changes yet.
    pub fn open(dir: &Path) -> Result<Self> {
        let outputs = StagedOutputs::new(dir)?;
        Ok(RunFolder { _lock: RunLock::acquire(dir)?, outputs })
    }

    /// [`RunFolder::open`] for the stage whose run folder `dir` is, which also removes the
    /// temporary files (`*.tmp`) a killed run of it left there (not in subfolders, which
    /// may be other runs' folders). A run refused for its inputs leaves a finished folder
    /// finished.
    pub fn open_own(dir: &Path) -> Result<Self> {
        let folder = Self::open(dir)?;
        remove_temporaries(dir, false)?;
        Ok(folder)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.outputs.dir
    }

    /// Before the stage replaces any file in place: take away an earlier run's completion
    /// mark and `stale` (an earlier run's outputs this run may not write again), so nothing
    /// of it is taken for this run's. A stage that only stages its files calls it last,
    /// before [`RunFolder::finish`], so a failure before then leaves the earlier run whole.
    pub fn clear(&self, stale: &[PathBuf]) -> Result<()> {
        remove_files(&[self.dir().join(RUN_FILE)])?;
        remove_files(stale)
    }

    /// Remove the temporary files a killed run left in the stage's own subfolder `dir` and
    /// below it.
    pub fn clear_temporaries_under(&self, dir: &Path) -> Result<()> {
        remove_temporaries(dir, true)
    }

    /// Stage the file `path` (in this folder) with the bytes `write` produces; it appears
    /// at [`RunFolder::commit`] or [`RunFolder::finish`].
    pub fn stage(&mut self, path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
        self.outputs.write(self.name_in_folder(path), write)
    }

    /// Stage `path` as pretty-printed JSON of `value`, newline-terminated.
    pub fn stage_json(&mut self, path: &Path, value: &impl Serialize) -> Result<()> {
        self.outputs.write_json(self.name_in_folder(path), value)
    }

    /// Stage `path` with `text`.
    pub fn stage_text(&mut self, path: &Path, text: &str) -> Result<()> {
        self.stage(path, |w| {
            w.write_all(text.as_bytes()).map_err(|e| Error::io("write", path, "check the disk has space", e))
        })
    }

    fn name_in_folder<'a>(&self, path: &'a Path) -> &'a str {
        assert_eq!(path.parent(), Some(self.dir()), "a staged file lies in its folder");
        path.file_name().and_then(|name| name.to_str()).expect("layout names are UTF-8")
    }

    /// Rename every staged file into place, for a stage that adds files to another stage's
    /// folder (`eval`, `embed`, `export`) or writes no record (`report`); their paths.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        let RunFolder { _lock, outputs } = self;
        outputs.commit()
    }

    /// Finish the stage: clear the earlier completion mark, rename every staged file into
    /// place, then write `record` as `run.json`, last; the paths written.
    pub fn finish(mut self, record: &RunRecord) -> Result<Vec<PathBuf>> {
        self.outputs.write_json(RUN_FILE, record)?;
        remove_files(&[self.dir().join(RUN_FILE)])?;
        self.commit()
    }
}

/// The temporary name `path` is written under before it is renamed into place.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().expect("a file path").to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Rename a finished temporary file onto `path`.
pub fn rename_into_place(temporary: &Path, path: &Path) -> Result<()> {
    fs::rename(temporary, path).map_err(|e| Error::io("rename into", path, "check the folder is writable", e))
}

/// Remove the temporary files (`*.tmp`) a killed run left in `dir`, and with `recursive`
/// in its subfolders (never through a symbolic link); call it under the folder's lock.
fn remove_temporaries(dir: &Path, recursive: bool) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, "check the folder is readable", e))?;
        let kind = entry.file_type().map_err(|e| Error::io("list", dir, "check the folder is readable", e))?;
        let path = entry.path();
        if kind.is_dir() {
            if recursive {
                remove_temporaries(&path, true)?;
            }
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "tmp") {
            fs::remove_file(&path).map_err(|e| Error::io("remove", &path, "check the folder is writable", e))?;
        }
    }
    Ok(())
}

/// Write `text` to `path`.
pub fn save_text(path: &Path, text: &str) -> Result<()> {
    let staging = temporary_path(path);
    std::fs::write(&staging, text).map_err(|e| Error::io("write", &staging, "check the disk has space", e))?;
    rename_into_place(&staging, path)
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

/// The commit this binary was built from, as `git describe --always --dirty` gives it.
pub const PIM_COMMIT: &str =
    git_version::git_version!(args = ["--always", "--dirty=-modified", "--abbrev=7"], fallback = "unknown");

/// What every stage writes to `run.json`, the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The pim version that wrote the folder.
    pub pim_version: String,
    /// The commit pim was built from (`git describe`, `-modified` if the tree had
    /// uncommitted changes; `unknown` outside a git checkout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pim_commit: Option<String>,
    /// `pseudo-label`, `pretrain`, `finetune` or `eval`.
    pub stage: String,
    /// The command line of the process.
    pub command: Vec<String>,
    /// The config's seed.
    pub seed: u64,
    /// The compute backend (`cpu` or `gpu`), for the stages that train or infer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// The SIMD level of pim's convolution kernels (`avx512`, `avx2`, `portable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simd: Option<String>,
    /// What the user was told.
    pub notices: Vec<String>,
    /// Wall time of each phase, in seconds.
    pub seconds: BTreeMap<String, f64>,
    /// What the stage did, in its own terms (windows, kept epochs, shots drawn, scores).
    pub details: serde_json::Value,
}

impl RunRecord {
    /// A record of `stage` with this process's version and command line.
    pub fn new(stage: &str, seed: u64, notices: &[String], details: serde_json::Value) -> Self {
        RunRecord {
            pim_version: env!("CARGO_PKG_VERSION").into(),
            pim_commit: Some(PIM_COMMIT.into()),
            stage: stage.into(),
            command: std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect(),
            seed,
            backend: None,
            simd: None,
            notices: notices.to_vec(),
            seconds: BTreeMap::new(),
            details,
        }
    }
}

/// The `run.json` of a finished `stage` in `dir`, or an error saying the folder is
/// unfinished or of another stage, with `fix`. A `run.json` without `stage` (pim before
/// 0.1's run records) counts as finished.
pub fn require_finished(dir: &Path, stage: &str, fix: &str) -> Result<()> {
    #[derive(Deserialize)]
    struct Marker {
        stage: Option<String>,
    }
    let path = dir.join(RUN_FILE);
    let unfinished = |problem: String| Error::Artefact { path: dir.to_path_buf(), problem, fix: fix.into() };
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) if !dir.is_dir() => return Err(unfinished("does not exist".into())),
        Err(_) => {
            return Err(unfinished(format!(
                "is not a finished `pim {stage}` run (no {RUN_FILE}: it was interrupted, failed, or is still running)"
            )));
        }
    };
    let marker: Marker =
        serde_json::from_str(&text).map_err(|cause| Error::Json { path: path.clone(), fix: fix.into(), cause })?;
    match marker.stage {
        Some(found) if found != stage => Err(unfinished(format!("is a `pim {found}` run, not a `pim {stage}` run"))),
        _ => Ok(()),
    }
}

/// Remove `paths` where present: files of an earlier run that a new one would otherwise
/// leave beside its own.
pub fn remove_files(paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove the earlier run's", path, "check the folder is writable", e)),
        }
    }
    Ok(())
}

/// An exclusive lock on a run folder, held until dropped (or the process ends, however it
/// ends: the operating system releases it). Dropping it removes the lock file, so a
/// finished folder holds only its outputs.
#[derive(Debug)]
struct RunLock {
    file: File,
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked: a process that opened the old file before this
        // finds, once it holds the lock, that the path names another file, and tries again.
        // Only our own file: the folder may have been removed and another lock made since.
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

impl RunLock {
    /// Create `dir` if needed and lock it, or say which process holds it.
    fn acquire(dir: &Path) -> Result<Self> {
        let fix = "choose a --out folder you can write to";
        fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, fix, e))?;
        let path = dir.join(LOCK_FILE);
        loop {
            let mut file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::io("create", &path, fix, e))?;
            if file.try_lock().is_err() {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                return Err(Error::Artefact {
                    path: dir.to_path_buf(),
                    problem: format!("is being written by another pim (pid {})", holder.trim()),
                    fix: "wait for it to finish, or give this run another --out".into(),
                });
            }
            // The holder before us removed the file it locked: lock the one the path names now.
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0)
                .and_then(|()| write!(file, "{}", std::process::id()))
                .map_err(|e| Error::io("write", &path, fix, e))?;
            return Ok(RunLock { file, path });
        }
    }
}

/// Whether `path` still names the open `file` (the same device and inode).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Elsewhere an open file cannot be removed, so the path always names it.
#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    true
}

/// Files written to temporary names, renamed into `dir` by [`StagedOutputs::commit`].
struct StagedOutputs {
    dir: PathBuf,
    staged: Vec<(NamedTempFile, PathBuf)>,
    /// Whether `new` created `dir`: a stage that fails then leaves no empty folder behind.
    created: bool,
}

impl StagedOutputs {
    /// Create `dir` if needed and check it is writable, before any long work starts.
    fn new(dir: &Path) -> Result<Self> {
        let fix = "choose a --out folder you can write to";
        let created = !dir.exists();
        fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, fix, e))?;
        let outputs = StagedOutputs { dir: dir.to_path_buf(), staged: Vec::new(), created };
        NamedTempFile::new_in(dir).map_err(|e| Error::io("write to", dir, fix, e))?;
        Ok(outputs)
    }

    /// Stage file `name` with the bytes `write` produces.
    fn write(&mut self, name: &str, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
        let path = self.dir.join(name);
        let fix = "check the disk has space and the folder is writable";
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Temporary files are private (0600) by default; outputs are ordinary files,
        // readable as the umask allows.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut file = builder.tempfile_in(&self.dir).map_err(|e| Error::io("write", &path, fix, e))?;
        {
            let mut writer = BufWriter::new(file.as_file_mut());
            write(&mut writer)?;
            writer.flush().map_err(|e| Error::io("write", &path, fix, e))?;
        }
        self.staged.push((file, path));
        Ok(())
    }

    /// Stage `name` as pretty-printed JSON of `value`, newline-terminated.
    fn write_json(&mut self, name: &str, value: &impl serde::Serialize) -> Result<()> {
        let path = self.dir.join(name);
        self.write(name, |w| {
            let fix = "check the disk has space";
            serde_json::to_writer_pretty(&mut *w, value).map_err(|e| Error::io("write", &path, fix, e.into()))?;
            writeln!(w).map_err(|e| Error::io("write", &path, fix, e))
        })
    }

    /// Rename every staged file into place; returns their final paths.
    fn commit(mut self) -> Result<Vec<PathBuf>> {
        self.created = false;
        let mut written = Vec::with_capacity(self.staged.len());
        for (file, path) in std::mem::take(&mut self.staged) {
            file.persist(&path)
                .map_err(|e| Error::io("rename into", &path, "check the folder is writable", e.error))?;
            written.push(path);
        }
        Ok(written)
    }
}

impl Drop for StagedOutputs {
    fn drop(&mut self) {
        // Not committed: the staged files delete themselves; a folder this stage created
        // goes too (remove_dir removes only an empty one).
        self.staged.clear();
        if self.created {
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// Exits the process at once with status 137, as a kill would (no cleanup runs), when the
/// environment variable `var` holds `count`. Tests use it to interrupt a run at an exact
/// point; unset, it does nothing. A test hook: it exists in the builds tests run (debug
/// assertions on) and does nothing in a release build, which reads no such variable.
pub fn exit_here_if_asked(var: &str, count: usize) {
    #[cfg(debug_assertions)]
    if std::env::var(var).ok().and_then(|value| value.parse::<usize>().ok()) == Some(count) {
        std::process::exit(137);
    }
    #[cfg(not(debug_assertions))]
    let _ = (var, count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit_and_a_failed_stage_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut outputs = StagedOutputs::new(dir.path()).unwrap();
        outputs.write("a.txt", |w| w.write_all(b"whole").map_err(|e| Error::io("write", "a.txt", "", e))).unwrap();
        assert!(!dir.path().join("a.txt").exists(), "a staged file appeared before commit");
        outputs.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a.txt")).unwrap(), "whole");

        let mut failing = StagedOutputs::new(dir.path()).unwrap();
        failing.write("b.txt", |w| w.write_all(b"part").map_err(|e| Error::io("write", "b.txt", "", e))).unwrap();
        let failed =
            failing.write("c.txt", |_| Err(Error::io("write", "c.txt", "", std::io::Error::other("disk full"))));
        assert!(failed.is_err());
        drop(failing);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a.txt")], "temporary files were left behind");
    }

    #[test]
    fn a_failed_stage_leaves_no_folder_it_created_but_keeps_one_that_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        let mut outputs = StagedOutputs::new(&new).unwrap();
        outputs.write("a.txt", |w| w.write_all(b"part").map_err(|e| Error::io("write", "a.txt", "", e))).unwrap();
        drop(outputs);
        assert!(!new.exists(), "the failed stage left its empty --out folder");
        drop(StagedOutputs::new(dir.path()).unwrap());
        assert!(dir.path().is_dir(), "a folder the user made was removed");
    }

    #[test]
    fn finished_runs_are_told_from_unfinished_and_foreign_ones() {
        let dir = tempfile::tempdir().unwrap();
        let error = require_finished(dir.path(), "pretrain", "fix").unwrap_err().to_string();
        assert!(error.contains("is not a finished `pim pretrain` run (no run.json"), "{error}");
        RunFolder::open(dir.path())
            .unwrap()
            .finish(&RunRecord::new("finetune", 3, &[], serde_json::json!({})))
            .unwrap();
        let error = require_finished(dir.path(), "pretrain", "fix").unwrap_err().to_string();
        assert!(error.contains("is a `pim finetune` run, not a `pim pretrain` run"), "{error}");
        assert!(require_finished(dir.path(), "finetune", "fix").is_ok());
        let lock = RunLock::acquire(dir.path()).unwrap();
        let error = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(error.contains(&format!("another pim (pid {})", std::process::id())), "{error}");
        drop(lock);
        assert!(RunLock::acquire(dir.path()).is_ok(), "a released lock is free again");
    }

    #[test]
    fn a_rerun_is_unfinished_until_its_record_and_keeps_only_what_it_does_not_replace() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, stale, torn) = (dir.path().join("kept.txt"), dir.path().join("stale.txt"), dir.path().join("x.tmp"));
        let record = RunRecord::new("pretrain", 0, &[], serde_json::json!({}));
        let mut first = RunFolder::open(dir.path()).unwrap();
        first.stage_text(&kept, "first").unwrap();
        first.stage_text(&stale, "first").unwrap();
        first.finish(&record).unwrap();
        fs::write(&torn, "a killed run's").unwrap();
        let nested = dir.path().join("another-run");
        fs::create_dir(&nested).unwrap();
        fs::write(nested.join("y.tmp"), "another run's, being written").unwrap();

        let second = RunFolder::open_own(dir.path()).unwrap();
        assert!(require_finished(dir.path(), "pretrain", "").is_ok(), "opening changed the finished folder");
        assert!(!torn.exists(), "a killed run's temporary outlived the open");
        assert!(nested.join("y.tmp").exists(), "opening a folder swept a temporary of a folder inside it");
        assert!(RunFolder::open(dir.path()).is_err(), "a second writer got the lock");
        second.clear(std::slice::from_ref(&stale)).unwrap();
        assert!(require_finished(dir.path(), "pretrain", "").is_err(), "the earlier mark outlived the clear");
        assert!(!stale.exists(), "an earlier run's file was left");
        assert_eq!(fs::read_to_string(&kept).unwrap(), "first", "a file the run did not name was removed");
        let written = second.finish(&record).unwrap();
        assert_eq!(written.last(), Some(&dir.path().join(RUN_FILE)), "run.json was not written last");
        assert!(!dir.path().join(LOCK_FILE).exists(), "the lock file stayed in the finished folder");
    }

    #[test]
    fn unwritable_folder_is_reported_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, "").unwrap();
        let error = StagedOutputs::new(&file.join("out")).err().expect("a folder inside a file cannot be created");
        assert!(error.to_string().contains("choose a --out folder"), "{error}");
    }
}
