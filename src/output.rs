//! Output files that appear whole or not at all: each is written under a temporary name
//! in its destination folder and renamed into place only once every file of the stage has
//! been written, so a failure midway leaves no half-written file behind.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// Files written to temporary names, renamed into `dir` by [`StagedOutputs::commit`].
pub struct StagedOutputs {
    dir: PathBuf,
    staged: Vec<(NamedTempFile, PathBuf)>,
}

impl StagedOutputs {
    /// Create `dir` if needed and check it is writable, before any long work starts.
    pub fn new(dir: &Path) -> Result<Self> {
        let fix = "choose a --out folder you can write to";
        fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, fix, e))?;
        NamedTempFile::new_in(dir).map_err(|e| Error::io("write to", dir, fix, e))?;
        Ok(StagedOutputs { dir: dir.to_path_buf(), staged: Vec::new() })
    }

    /// Stage file `name` with the bytes `write` produces.
    pub fn write(&mut self, name: &str, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
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
    pub fn write_json(&mut self, name: &str, value: &impl serde::Serialize) -> Result<()> {
        let path = self.dir.join(name);
        self.write(name, |w| {
            let fix = "check the disk has space";
            serde_json::to_writer_pretty(&mut *w, value).map_err(|e| Error::io("write", &path, fix, e.into()))?;
            writeln!(w).map_err(|e| Error::io("write", &path, fix, e))
        })
    }

    /// Rename every staged file into place; returns their final paths.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::with_capacity(self.staged.len());
        for (file, path) in self.staged {
            file.persist(&path)
                .map_err(|e| Error::io("rename into", &path, "check the folder is writable", e.error))?;
            written.push(path);
        }
        Ok(written)
    }
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
    fn unwritable_folder_is_reported_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, "").unwrap();
        let error = StagedOutputs::new(&file.join("out")).err().expect("a folder inside a file cannot be created");
        assert!(error.to_string().contains("choose a --out folder"), "{error}");
    }
}
