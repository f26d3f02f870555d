//! The config file: one JSON document with a seed and a group per stage (`dataset`,
//! `physics`, `labels`, `model`, `pretrain`, `finetune`), loaded, checked once, and written back in full beside every
//! artefact so a result always carries the settings that made it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::DatasetConfig;
use crate::error::{Error, Result};
use crate::physics::PhysicsConfig;

mod labels;
mod model;
mod train;

pub use labels::{BinStrategy, DiscretiserConfig, Task};
pub use model::ModelConfig;
pub use train::{
    CheckpointRule, FinetuneConfig, LossWeights, PretrainConfig, PretrainMethod, PretrainPool, PretrainTargets,
    ValidationLabels,
};

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
            fix: "fix the config (docs/configs.md lists every field)".into(),
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
        let min_window = self.model.min_window();
        if self.dataset.window.length < min_window {
            return Err(Error::invalid_config(
                path,
                "dataset.window.length",
                format!("is {} samples, shorter than the {min_window} model.kernels need", self.dataset.window.length),
                "use longer windows or smaller kernels",
            ));
        }
        self.pretrain.validate(path)?;
        self.finetune.validate(path)?;
        self.check_encoder_sensors(path)
    }

    /// Fail unless `model.sensors` names distinct sensors of the dataset, in its order (so
    /// one choice of sensors has one spelling, in configs and run folder names).
    fn check_encoder_sensors(&self, path: &Path) -> Result<()> {
        let known: Vec<&str> = self.dataset.sensors.iter().map(|s| s.name.as_str()).collect();
        let position = |name: &String| known.iter().position(|k| k == name);
        for (i, name) in self.model.sensors.iter().enumerate() {
            let problem = match (position(name), i.checked_sub(1).and_then(|p| position(&self.model.sensors[p]))) {
                (None, _) => format!("names {name:?}, not a sensor of dataset {}", self.dataset.name),
                (Some(here), Some(before)) if here <= before => {
                    format!("lists {name:?} after {:?}, twice or out of the dataset's order", self.model.sensors[i - 1])
                }
                _ => continue,
            };
            let fix = format!("name each once, in the dataset's order: {}", known.join(", "));
            return Err(Error::invalid_config(path, "model.sensors", problem, fix));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::Error;

    #[test]
    fn the_shortest_window_follows_the_kernels() {
        let mut config = crate::presets::find("dsads").unwrap().config();
        config.dataset.window.length = 40;
        let path = Path::new("c.json");
        // Kernels 24, 16, 8 consume 45 samples: 40 is too short, and the error says 46.
        match config.validate(path) {
            Err(Error::InvalidConfig { field, problem, .. }) => {
                assert_eq!(field, "dataset.window.length");
                assert!(problem.contains("shorter than the 46"), "{problem}");
            }
            other => panic!("40-sample windows passed with kernels 24, 16, 8: {other:?}"),
        }
        // Kernels 8, 8, 8 consume 21 samples: 40 is enough (a fixed 46 refused it).
        config.model.kernels = [8, 8, 8];
        assert_eq!(config.model.min_window(), 22);
        config.validate(path).unwrap();
        config.dataset.window.length = 21;
        match config.validate(path) {
            Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "dataset.window.length"),
            other => panic!("21 samples leave nothing after the third convolution: {other:?}"),
        }
    }
}
