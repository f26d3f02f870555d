//! The model group of a config: the network's hyperparameters (method.md, "Encoder, heads,
//! losses"). The one source of their defaults; `model/` builds its Burn modules from it.

use serde::{Deserialize, Serialize};

/// Network sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Filters of the three encoder convolutions (the last is the embedding size).
    pub filters: [usize; 3],
    /// Kernel sizes of the three encoder convolutions.
    pub kernels: [usize; 3],
    /// Dropout after each encoder block.
    pub dropout: f64,
    /// Hidden units of each pretext head.
    pub head_hidden: usize,
    /// Hidden units of the classifier.
    pub classifier_hidden: usize,
    /// The sensors whose channels the encoder reads, e.g. `["torso"]` for a one-device
    /// model (a phone at the chest); empty (the default) reads every sensor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<String>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            filters: [32, 64, 96],
            kernels: [24, 16, 8],
            dropout: 0.1,
            head_hidden: 256,
            classifier_hidden: 1024,
            sensors: Vec::new(),
        }
    }
}

impl ModelConfig {
    /// Size of the embedding the encoder outputs: its last convolution's filters.
    pub fn embedding(&self) -> usize {
        self.filters[2]
    }

    /// The shortest window the encoder accepts: each unpadded convolution consumes
    /// `kernel - 1` samples, and one must remain.
    pub fn min_window(&self) -> usize {
        self.kernels.iter().map(|k| k - 1).sum::<usize>() + 1
    }

    /// Check ranges; `path` names the config file in errors.
    pub fn validate(&self, path: &std::path::Path) -> crate::Result<()> {
        let bad = |field: &str, problem: String, fix: &str| {
            Err(crate::Error::invalid_config(path, format!("model.{field}"), problem, fix))
        };
        if self.filters.contains(&0)
            || self.kernels.contains(&0)
            || self.head_hidden == 0
            || self.classifier_hidden == 0
        {
            return bad("filters", "or another size is 0".into(), "use sizes of at least 1");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("is {}", self.dropout), "use a probability in [0, 1)");
        }
        Ok(())
    }
}
