//! The labels group of a config (the discretiser) and the pretext tasks that configs and the
//! command line name.

use serde::{Deserialize, Serialize};

/// A pretext task: one prediction head per task in pre-training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Mean movement speed per sensor.
    Speed,
    /// Roll, pitch and yaw per sensor.
    Angle,
    /// DTW distance per left/right pair.
    Symmetry,
}

impl Task {
    /// Every task, in column order.
    pub const ALL: [Task; 3] = [Task::Speed, Task::Angle, Task::Symmetry];

    /// The task's name, as in configs, on the command line and as its columns' prefix.
    pub fn name(self) -> &'static str {
        match self {
            Task::Speed => "speed",
            Task::Angle => "angle",
            Task::Symmetry => "symmetry",
        }
    }
}

impl std::str::FromStr for Task {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Task::ALL
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| format!("{text:?} is not a task: use speed, angle or symmetry"))
    }
}

/// How bin edges are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinStrategy {
    /// Equal-width bins between the fitted minimum and maximum.
    Uniform,
    /// Bins holding equal numbers of training windows.
    Quantile,
}

/// The labels group of a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscretiserConfig {
    /// Bins per quantity (the heads' class count).
    pub bins: usize,
    /// Edge placement.
    pub strategy: BinStrategy,
}

impl Default for DiscretiserConfig {
    fn default() -> Self {
        DiscretiserConfig { bins: 11, strategy: BinStrategy::Uniform }
    }
}

impl DiscretiserConfig {
    /// Check ranges; `path` names the config file in errors.
    pub fn validate(&self, path: &std::path::Path) -> crate::Result<()> {
        if !(2..=255).contains(&self.bins) {
            return Err(crate::Error::invalid_config(
                path,
                "labels.bins",
                format!("is {}", self.bins),
                "use between 2 and 255 bins (the method uses 11)",
            ));
        }
        Ok(())
    }
}
