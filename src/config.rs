//! The config file: one JSON document with a seed and a group per stage (`dataset`,
//! `physics`, `labels`, `model`, `pretrain`, `finetune`), loaded, checked once, and written back in full beside every
//! artefact so a result always carries the settings that made it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::DatasetConfig;
use crate::error::{Error, Result};
use crate::labels::discretise::DiscretiserConfig;
use crate::physics::PhysicsConfig;
use crate::train::config::{FinetuneConfig, ModelConfig, PretrainConfig, validate_training};

/// A whole `pim` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PimConfig {
    /// Seed of every random choice downstream (weight init, shuffling, k-shot draws).
    #[serde(default)]
    pub seed: u64,
    /// Dataset layout, windowing and split.
    pub dataset: DatasetConfig,
    /// Physics choices for the pseudo-labels.
    #[serde(default)]
    pub physics: PhysicsConfig,
    /// Discretisation of the pseudo-labels.
    #[serde(default)]
    pub labels: DiscretiserConfig,
    /// Network sizes.
    #[serde(default)]
    pub model: ModelConfig,
    /// Pre-training.
    #[serde(default)]
    pub pretrain: PretrainConfig,
    /// Fine-tuning.
    #[serde(default)]
    pub finetune: FinetuneConfig,
}

impl PimConfig {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::io("read config", path, "pass --config an existing JSON file, e.g. configs/dsads.json", e)
        })?;
        let config: PimConfig = serde_json::from_str(&text).map_err(|cause| Error::Json {
            path: path.to_path_buf(),
            fix: "fix the config (README.md, 'Configs', lists every field)".into(),
            cause,
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Check every group; `path` names the config file in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        self.dataset.validate(path)?;
        self.physics.validate(path)?;
        self.labels.validate(path)?;
        self.model.validate(path)?;
        let min_window = self.model.kernels.iter().map(|k| k - 1).sum::<usize>() + 1;
        if self.dataset.window.length < min_window {
            return Err(Error::InvalidConfig {
                path: path.to_path_buf(),
                field: "dataset.window.length".into(),
                problem: format!(
                    "is {} samples, shorter than the {min_window} model.kernels need",
                    self.dataset.window.length
                ),
                fix: "use longer windows or smaller kernels".into(),
            });
        }
        let (p, f) = (&self.pretrain, &self.finetune);
        p.validate(path)?;
        validate_training(path, "finetune", f.epochs, f.batch_size, f.learning_rate)?;
        if f.validate_every == 0 || f.patience == Some(0) {
            return Err(Error::InvalidConfig {
                path: path.to_path_buf(),
                field: "finetune.validate_every".into(),
                problem: "or finetune.patience is 0".into(),
                fix: "use at least 1 (validate_every 1 scores every epoch; patience null never stops early)".into(),
            });
        }
        Ok(())
    }
}
