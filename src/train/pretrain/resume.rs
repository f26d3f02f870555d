//! The resume state of a run: one whole `epoch-<n>/` checkpoint folder after every epoch,
//! `metrics.csv`, and reading them back when a killed run is started again.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use super::EpochRecord;
use crate::config::PimConfig;
use crate::error::{Error, Result};
use crate::model::PretrainModel;
use crate::run_folder::layout::{Layout, PretrainFolder};
use crate::run_folder::{load_json, remove_files, rename_into_place, save_json};
use crate::train::check_same_groups;
use crate::train::checkpoint::{save_module, save_optimizer};
use crate::train::objective::Objective;

// The checkpoint folder's layout ([`PretrainFolder::checkpoint_dir`]) is this module's:
// `epochs/<n>.bpk`, the whole network after each epoch until the run ends (the checkpoint
// rules choose among them); `epoch-<n>/`, the resume state; `staging/`, where that is
// written before its rename.
const EPOCHS_DIR: &str = "epochs";
const STAGING_DIR: &str = "staging";
/// The resume state's files in an `epoch-<n>/` folder.
const STATE_FILE: &str = "state.json";
pub(super) const MODEL_STATE_FILE: &str = "model.bpk";
pub(super) const OPTIMIZER_STATE_FILE: &str = "optimizer.bpk";

/// What is saved after every epoch to resume from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ResumeState {
    pub(super) history: Vec<EpochRecord>,
}

/// After an epoch: its metrics row, its snapshot, and everything a resume needs as one
/// `epoch-<n>/` folder: written under `staging/`, renamed into place, and only then the
/// previous epoch's folder removed. A kill at any instant leaves one whole epoch to
/// resume from.
pub(super) fn save_epoch(
    out: &Path,
    objective: &Objective,
    model: &PretrainModel,
    optimizer: &ModuleOptimizer,
    state: &ResumeState,
) -> Result<()> {
    let layout = PretrainFolder::new(out);
    let epoch = state.history.len();
    write_metrics(&layout.metrics(), &objective.term_names(), &state.history)?;
    save_module(model.clone(), &epoch_snapshot(out, epoch))?;
    let staging = layout.checkpoint_dir().join(STAGING_DIR);
    remove_folder(&staging)?;
    std::fs::create_dir(&staging)
        .map_err(|e| Error::io("create folder", &staging, "check the folder is writable", e))?;
    save_module(model.clone(), &staging.join(MODEL_STATE_FILE))?;
    save_optimizer(optimizer, &staging.join(OPTIMIZER_STATE_FILE))?;
    save_json(state, &staging.join(STATE_FILE))?;
    let saved = epoch_dir(out, epoch);
    remove_folder(&saved)?;
    rename_into_place(&staging, &saved)?;
    for (other, _) in saved_epochs(out)?.into_iter().filter(|&(_, e)| e != epoch) {
        remove_folder(&other)?;
    }
    Ok(())
}

/// Once a run has kept its checkpoints (just before `run.json`), its last epoch's network
/// and optimiser are of no further use: a rerun reads only the history. The optimiser's file is also the one
/// artefact whose bytes vary between identical runs (Burn writes its tensors in hash-map
/// order).
pub(super) fn drop_resume_weights(out: &Path, epoch: usize) -> Result<()> {
    let dir = epoch_dir(out, epoch);
    remove_files(&[dir.join(MODEL_STATE_FILE), dir.join(OPTIMIZER_STATE_FILE)])
}

/// The resume state's folder of `epoch` in the run folder `out`.
pub(super) fn epoch_dir(out: &Path, epoch: usize) -> PathBuf {
    PretrainFolder::new(out).checkpoint_dir().join(format!("epoch-{epoch}"))
}

/// The folder of the whole network after each epoch, kept until the run ends.
pub(super) fn epoch_snapshots(out: &Path) -> PathBuf {
    PretrainFolder::new(out).checkpoint_dir().join(EPOCHS_DIR)
}

/// The whole network after `epoch`.
pub(super) fn epoch_snapshot(out: &Path, epoch: usize) -> PathBuf {
    epoch_snapshots(out).join(format!("{epoch}.bpk"))
}

/// Every `epoch-<n>/` folder under `out`'s checkpoint folder, with its n.
fn saved_epochs(out: &Path) -> Result<Vec<(PathBuf, usize)>> {
    let dir = PretrainFolder::new(out).checkpoint_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", &dir, "check the folder is readable", e))?;
        let name = entry.file_name();
        if let Some(epoch) = name.to_str().and_then(|n| n.strip_prefix("epoch-")).and_then(|n| n.parse().ok()) {
            found.push((entry.path(), epoch));
        }
    }
    Ok(found)
}

/// Remove `dir` and what it holds, if it exists.
pub(super) fn remove_folder(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove", dir, "check the folder is writable", e))
        }
        _ => Ok(()),
    }
}

/// The loss term names of a `metrics.csv` (its `train_<term>` columns).
pub(super) fn read_term_names(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read", path, "delete the run folder to start over", e))?;
    let header = text.lines().next().unwrap_or_default();
    Ok(header.split(',').filter_map(|c| c.strip_prefix("train_")).filter(|c| *c != "loss").map(String::from).collect())
}

/// The resume state of an interrupted run in `out`, if any (its latest whole epoch),
/// checked against `config`.
pub(super) fn read_resume_state(config: &PimConfig, out: &Path) -> Result<Option<ResumeState>> {
    let layout = PretrainFolder::new(out);
    if layout.checkpoint_dir().join(STATE_FILE).is_file() {
        return Err(Error::Artefact {
            path: layout.checkpoint_dir(),
            problem: "holds the resume state of an older pim, which this one does not read".into(),
            fix: "delete the run folder to start over".into(),
        });
    }
    let Some(epoch) = saved_epochs(out)?.into_iter().map(|(_, epoch)| epoch).max() else { return Ok(None) };
    let state_path = epoch_dir(out, epoch).join(STATE_FILE);
    let run_config_path = layout.config();
    let saved: PimConfig = load_json(&run_config_path, "delete the run folder to start over")?;
    check_same_groups(
        &saved,
        config,
        &run_config_path,
        &["seed", "dataset", "physics", "labels", "model", "pretrain"],
    )?;
    Ok(Some(load_json(&state_path, "delete the run folder's checkpoint/ to start over")?))
}

fn write_metrics(path: &Path, task_names: &[String], history: &[EpochRecord]) -> Result<()> {
    let mut header = vec!["epoch".to_string(), "train_loss".into()];
    header.extend(task_names.iter().map(|t| format!("train_{t}")));
    header.push("validation_loss".into());
    header.extend(task_names.iter().map(|t| format!("validation_{t}")));
    header.extend(["probe_macro_f1".into(), "windows_per_second".into(), "seconds".into()]);
    let mut text = header.join(",") + "\n";
    for r in history {
        let mut row = vec![r.epoch.to_string(), r.train_loss.to_string()];
        row.extend(r.train_terms.iter().map(f64::to_string));
        row.push(r.validation_loss.to_string());
        row.extend(r.validation_terms.iter().map(f64::to_string));
        row.push(r.probe_macro_f1.map(|f| f.to_string()).unwrap_or_default());
        row.extend([format!("{:.1}", r.windows_per_second), format!("{:.3}", r.seconds)]);
        text += &(row.join(",") + "\n");
    }
    crate::run_folder::save_text(path, &text)
}
