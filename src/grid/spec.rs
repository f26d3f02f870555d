//! The grid file: which arms (pre-training methods, PIM task subsets, scratch), shot
//! counts and seeds to run, on which base config, with which overrides; and the units of
//! work it splits into (one arm and seed each: pre-train once, fine-tune every shot count).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::PimConfig;
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::labels::Task;
use crate::train::config::PretrainMethod;

/// How an arm gets its encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmMethod {
    /// PIM's physics pretext tasks.
    Pim,
    /// Masked reconstruction.
    Masked,
    /// Transformation discrimination.
    Transform,
    /// No pre-training: supervised from scratch.
    Scratch,
}

impl ArmMethod {
    /// The pre-training method, `None` for scratch.
    pub fn pretrain_method(self) -> Option<PretrainMethod> {
        match self {
            ArmMethod::Pim => Some(PretrainMethod::Pim),
            ArmMethod::Masked => Some(PretrainMethod::Masked),
            ArmMethod::Transform => Some(PretrainMethod::Transform),
            ArmMethod::Scratch => None,
        }
    }
}

/// Which table an arm's row goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// The comparison of methods.
    #[default]
    Main,
    /// The ablation of PIM's tasks (PIM arms of the main table appear there too).
    Ablation,
}

/// One row of the results: a way of getting an encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Row label and folder name (letters, digits, `-`, `_`, `+`).
    pub name: String,
    /// How the encoder is pre-trained.
    pub method: ArmMethod,
    /// PIM's tasks (default: the base config's `pretrain.tasks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<Task>>,
    /// Shot counts of this arm (default: the grid's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shots: Option<Vec<Shots>>,
    /// Seeds of this arm (default: the grid's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<Vec<u64>>,
    /// Its table.
    #[serde(default)]
    pub table: Table,
}

/// A grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Base config, relative to the grid file.
    pub config: PathBuf,
    /// JSON merged into the base config, group by group (e.g. fewer epochs).
    #[serde(default)]
    pub overrides: serde_json::Value,
    /// Seeds: each seeds pre-training, the k-shot draws and fine-tuning.
    pub seeds: Vec<u64>,
    /// Labelled windows per class.
    pub shots: Vec<Shots>,
    /// The rows.
    pub arms: Vec<Arm>,
}

/// One unit of work: an arm at a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Index into the grid's arms.
    pub arm: usize,
    /// The seed.
    pub seed: u64,
}

/// A grid file, loaded and checked, with its base config resolved.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The spec as written.
    pub spec: GridSpec,
    /// The base config with the overrides applied.
    pub config: PimConfig,
    /// Where the grid file is.
    pub path: PathBuf,
}

impl Grid {
    /// Read a grid file, its base config and overrides, and check them.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::io("read grid file", path, "pass --grid a JSON grid file, e.g. configs/grid-dsads.json", e)
        })?;
        let spec: GridSpec = serde_json::from_str(&text).map_err(|cause| Error::Json {
            path: path.to_path_buf(),
            fix: "fix the grid file (README.md, 'Reproducing the paper's tables', shows one)".into(),
            cause,
        })?;
        let config_path = path.parent().unwrap_or(Path::new(".")).join(&spec.config);
        let base = std::fs::read_to_string(&config_path).map_err(|e| {
            Error::io("read config", &config_path, "make the grid's \"config\" a path relative to it", e)
        })?;
        let mut value: serde_json::Value = serde_json::from_str(&base).map_err(|cause| Error::Json {
            path: config_path.clone(),
            fix: "fix the config".into(),
            cause,
        })?;
        merge(&mut value, &spec.overrides);
        let config: PimConfig = serde_json::from_value(value).map_err(|cause| Error::Json {
            path: path.to_path_buf(),
            fix: "the overrides must name config fields (README.md, 'Configs')".into(),
            cause,
        })?;
        config.validate(path)?;
        let grid = Grid { spec, config, path: path.to_path_buf() };
        grid.check()?;
        Ok(grid)
    }

    fn check(&self) -> Result<()> {
        let bad = |field: &str, problem: String, fix: &str| {
            Err(Error::InvalidConfig { path: self.path.clone(), field: field.into(), problem, fix: fix.into() })
        };
        let spec = &self.spec;
        if spec.seeds.is_empty() || spec.shots.is_empty() || spec.arms.is_empty() {
            return bad("seeds", "or shots or arms is empty".into(), "list at least one of each");
        }
        for (i, arm) in spec.arms.iter().enumerate() {
            let name_ok = !arm.name.is_empty()
                && arm.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'));
            if !name_ok {
                return bad(
                    &format!("arms[{i}].name"),
                    format!("{:?} is not a plain folder name", arm.name),
                    "use letters, digits, '-', '_' and '+'",
                );
            }
            if spec.arms[..i].iter().any(|a| a.name == arm.name) {
                return bad(&format!("arms[{i}].name"), format!("{:?} is used twice", arm.name), "name each arm once");
            }
            if arm.tasks.is_some() && arm.method != ArmMethod::Pim {
                return bad(
                    &format!("arms[{i}].tasks"),
                    "is set on a non-PIM arm".into(),
                    "drop it, or use method pim",
                );
            }
            if arm.shots.as_ref().is_some_and(Vec::is_empty) || arm.seeds.as_ref().is_some_and(Vec::is_empty) {
                return bad(&format!("arms[{i}]"), "has an empty shots or seeds list".into(), "drop it or list values");
            }
            if arm.tasks.as_ref().is_some_and(Vec::is_empty) {
                return bad(&format!("arms[{i}].tasks"), "is empty".into(), "name at least one task");
            }
        }
        Ok(())
    }

    /// Every unit, seed-major (all arms at the first seed, then the next seed), so that
    /// a partial run has whole seeds.
    pub fn units(&self) -> Vec<Unit> {
        let mut seeds = self.spec.seeds.clone();
        for seed in self.spec.arms.iter().flat_map(|a| a.seeds.iter().flatten()) {
            if !seeds.contains(seed) {
                seeds.push(*seed);
            }
        }
        seeds
            .into_iter()
            .flat_map(|seed| {
                (0..self.spec.arms.len())
                    .filter(move |&arm| self.seeds_of(&self.spec.arms[arm]).contains(&seed))
                    .map(move |arm| Unit { arm, seed })
            })
            .collect()
    }

    /// Seeds of an arm.
    pub fn seeds_of(&self, arm: &Arm) -> Vec<u64> {
        arm.seeds.clone().unwrap_or_else(|| self.spec.seeds.clone())
    }

    /// Shot counts of an arm.
    pub fn shots_of(&self, arm: &Arm) -> Vec<Shots> {
        arm.shots.clone().unwrap_or_else(|| self.spec.shots.clone())
    }

    /// The effective config of an arm at a seed (fine-tuning shots still to set).
    pub fn config_of(&self, arm: &Arm, seed: u64) -> PimConfig {
        let mut config = self.config.clone();
        config.seed = seed;
        if let Some(method) = arm.method.pretrain_method() {
            config.pretrain.method = method;
        }
        if let Some(tasks) = &arm.tasks {
            config.pretrain.tasks = tasks.clone();
        }
        config
    }
}

/// Merge `patch` into `target`: objects key by key, recursively; anything else replaces.
pub fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(serde_json::Value::Null), value);
            }
        }
        (_, serde_json::Value::Null) => {}
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_replaces_leaves_and_keeps_siblings() {
        let mut config = json!({"seed": 1, "pretrain": {"epochs": 30, "batch_size": 64}, "finetune": {"epochs": 100}});
        merge(&mut config, &json!({"pretrain": {"epochs": 10}, "finetune": {"shots": "all"}}));
        assert_eq!(
            config,
            json!({"seed": 1, "pretrain": {"epochs": 10, "batch_size": 64}, "finetune": {"epochs": 100, "shots": "all"}})
        );
    }

    #[test]
    fn units_are_seed_major() {
        let grid = Grid {
            spec: GridSpec {
                config: "c.json".into(),
                overrides: serde_json::Value::Null,
                seeds: vec![0, 1],
                shots: vec![Shots::PerClass(1)],
                arms: vec![
                    Arm {
                        name: "a".into(),
                        method: ArmMethod::Scratch,
                        tasks: None,
                        shots: None,
                        seeds: None,
                        table: Table::Main,
                    },
                    Arm {
                        name: "b".into(),
                        method: ArmMethod::Scratch,
                        tasks: None,
                        shots: None,
                        seeds: Some(vec![1, 2]),
                        table: Table::Ablation,
                    },
                ],
            },
            config: serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap(),
            path: "grid.json".into(),
        };
        let units: Vec<(usize, u64)> = grid.units().iter().map(|u| (u.arm, u.seed)).collect();
        assert_eq!(units, vec![(0, 0), (0, 1), (1, 1), (1, 2)]);
    }
}
