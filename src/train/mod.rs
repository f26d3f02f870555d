//! Training: the config groups, the compute backend, windows as tensors, checkpoints, and
//! the `pretrain` and `finetune` stages.

pub mod backend;
pub mod checkpoint;
pub mod finetune;
pub mod metrics;
pub mod objective;
pub mod pretrain;
pub mod windows;

use std::path::Path;

use crate::config::PimConfig;
use crate::error::{Error, Result};

/// The training subjects' channel statistics, saved beside every model.
pub const NORMALISER_FILE: &str = "normaliser.json";

/// Fail unless `saved` (read from `path`) and `current` agree on every group in `groups`,
/// naming the first group that differs.
pub(crate) fn check_same_groups(saved: &PimConfig, current: &PimConfig, path: &Path, groups: &[&str]) -> Result<()> {
    let (saved, current) =
        (serde_json::to_value(saved).expect("serialises"), serde_json::to_value(current).expect("serialises"));
    for group in groups {
        if saved[group] != current[group] {
            return Err(Error::Artefact {
                path: path.to_path_buf(),
                problem: format!("was made with a different `{group}` than the config given now"),
                fix: "pass the config that made it, or redo that stage with this config (a fresh --out)".into(),
            });
        }
    }
    Ok(())
}
