//! The grid file: which arms (pre-training methods, PIM task subsets, scratch), shot
//! counts and seeds to run, on which base config, with which overrides; and the units of
//! work it splits into (one arm and seed each: pre-train once, fine-tune every shot count).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::PimConfig;
use crate::config::Task;
use crate::config::{CheckpointRule, PretrainMethod, PretrainPool, ValidationLabels};
use crate::data::dataset_config::SplitConfig;
use crate::data::kshot::Shots;
use crate::error::{Error, Result};

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
    /// PIM's heads and masked reconstruction's decoder on one encoder.
    #[serde(rename = "pim+masked")]
    PimMasked,
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
            ArmMethod::PimMasked => Some(PretrainMethod::PimMasked),
            ArmMethod::Scratch => None,
        }
    }

    /// Whether it learns the physics pseudo-labels.
    pub fn learns_physics(self) -> bool {
        self.pretrain_method().is_some_and(PretrainMethod::learns_physics)
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
    /// JSON merged into this arm's config after the grid's overrides: a variant of a choice
    /// the paper leaves open (checkpoint rule, angle quantity, bins, pool, loss weights...).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub overrides: serde_json::Value,
    /// The main-table arm this arm is a variant of: `pim report` picks, among an arm and its
    /// variants, the one with the best validation score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_of: Option<String>,
}

/// The cross-subject folds of a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Folds {
    /// `"leave_one_subject_out"`: each subject of the base config's split is the test
    /// subject of one fold; the validation subject is the next one in the split's order
    /// (train, then validation, then test subjects; the last wraps to the first); the rest
    /// train.
    Scheme(FoldScheme),
    /// Folds given by hand.
    Listed(Vec<FoldSpec>),
}

/// A named way of making folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldScheme {
    /// Leave one subject out, with the next subject for validation.
    LeaveOneSubjectOut,
}

/// One fold given by hand: its test and validation subjects; every other subject of the
/// base config's split trains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldSpec {
    /// Name (a folder name).
    pub name: String,
    /// Test subjects.
    pub test: Vec<String>,
    /// Validation subjects.
    pub validation: Vec<String>,
}

/// One fold: a name and the split it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Name, used in folder names and tables.
    pub name: String,
    /// Its split of the subjects.
    pub split: SplitConfig,
}

/// Which cells `pim report`'s selection reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// The shot counts whose validation scores choose among an arm's variants.
    pub shots: Vec<Shots>,
}

/// The pre-registered primary hypotheses: PIM against each of these baselines at each of
/// these shot counts. They form one family for Holm's correction, and every other
/// comparison of PIM against a baseline forms a second, secondary family. A family of `m`
/// tests over `n` folds can call a difference only where `m * 2 / 2^n < 0.05`, so a dataset
/// of few subjects needs a small primary family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Primary {
    /// Main-table arms without a `variant_of` (the methods), other than PIM's.
    pub baselines: Vec<String>,
    /// Shot counts.
    pub shots: Vec<Shots>,
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
    /// Cross-subject folds (default: the base config's split as the one fold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<Folds>,
    /// How `pim report` chooses among variants (default: at every shot count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// The primary hypotheses (default: every comparison is one family).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<Primary>,
}

/// One unit of work: the arms that share one pre-training (or one scratch arm), at one
/// fold and one seed. It pre-trains once, then fine-tunes each arm at each of its shot
/// counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Indices into the grid's arms; the first names the shared pre-training.
    pub arms: Vec<usize>,
    /// Index into the grid's folds.
    pub fold: usize,
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
            fix: "fix the grid file (docs/protocol.md shows one)".into(),
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
            fix: "the overrides must name config fields (docs/configs.md)".into(),
            cause,
        })?;
        config.validate(path)?;
        let grid = Grid { spec, config, path: path.to_path_buf() };
        grid.check()?;
        Ok(grid)
    }

    fn check(&self) -> Result<()> {
        let bad = |field: &str, problem: String, fix: &str| Err(Error::invalid_config(&self.path, field, problem, fix));
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
            if arm.tasks.is_some() && !arm.method.learns_physics() {
                return bad(
                    &format!("arms[{i}].tasks"),
                    "is set on an arm that learns no physics".into(),
                    "drop it, or use method pim or pim+masked",
                );
            }
            if arm.shots.as_ref().is_some_and(Vec::is_empty) || arm.seeds.as_ref().is_some_and(Vec::is_empty) {
                return bad(&format!("arms[{i}]"), "has an empty shots or seeds list".into(), "drop it or list values");
            }
            if arm.tasks.as_ref().is_some_and(Vec::is_empty) {
                return bad(&format!("arms[{i}].tasks"), "is empty".into(), "name at least one task");
            }
            if let Some(root) = &arm.variant_of {
                let is_main_root = spec.arms.iter().any(|a| {
                    &a.name == root && a.variant_of.is_none() && a.table == Table::Main && a.method == arm.method
                });
                if !is_main_root || root == &arm.name {
                    return bad(
                        &format!("arms[{i}].variant_of"),
                        format!(
                            "names {root:?}, which is not another main-table arm of its method without a variant_of"
                        ),
                        "name the main arm of the same method this one is a variant of",
                    );
                }
            }
            // The ablation table holds PIM's task subsets: another method's would be dropped.
            if arm.table == Table::Ablation && arm.method != ArmMethod::Pim {
                return bad(&format!("arms[{i}].table"), "is ablation on an arm not of method pim".into(), "use main");
            }
            let mut value = serde_json::to_value(&self.config).expect("a config serialises");
            merge(&mut value, &arm.overrides);
            let config: PimConfig = serde_json::from_value(value).map_err(|cause| Error::Json {
                path: self.path.clone(),
                fix: format!("arms[{i}].overrides must name config fields (docs/configs.md)"),
                cause,
            })?;
            config.validate(&self.path)?;
        }
        self.check_primary()?;
        self.check_folds()
    }

    /// The primary hypotheses name methods (main-table arms without a `variant_of`) other
    /// than PIM, and shot counts of the grid.
    fn check_primary(&self) -> Result<()> {
        let Some(primary) = &self.spec.primary else { return Ok(()) };
        let bad = |problem: String, fix: &str| Err(Error::invalid_config(&self.path, "primary", problem, fix));
        for name in &primary.baselines {
            let is_baseline = self.spec.arms.iter().any(|a| {
                &a.name == name && a.variant_of.is_none() && a.table == Table::Main && a.method != ArmMethod::Pim
            });
            if !is_baseline {
                return bad(
                    format!("names {name:?}, which is not a baseline method of the grid"),
                    "name main-table arms without a variant_of, other than PIM's",
                );
            }
        }
        if let Some(s) = primary.shots.iter().find(|s| !self.spec.shots.contains(s)) {
            return bad(format!("names {s} shots, which the grid does not run"), "name shot counts of the grid");
        }
        if primary.baselines.is_empty() || primary.shots.is_empty() {
            return bad("has no baseline or no shot count".into(), "list at least one of each, or drop primary");
        }
        Ok(())
    }

    /// Every fold names subjects of the base split, tests each at most once, and leaves
    /// some to train.
    fn check_folds(&self) -> Result<()> {
        let bad = |problem: String| {
            Err(Error::invalid_config(
                &self.path,
                "folds",
                problem,
                "use \"leave_one_subject_out\", or list folds of the base config's subjects",
            ))
        };
        let subjects: Vec<&String> = self.config.dataset.split.subjects().collect();
        let folds = self.folds();
        let mut tested = Vec::new();
        for fold in &folds {
            let named = fold.split.test.iter().chain(&fold.split.validation);
            if let Some(unknown) = named.clone().find(|s| !subjects.contains(s)) {
                return bad(format!("fold {:?} names subject {unknown:?}, which the base split does not", fold.name));
            }
            if fold.split.test.is_empty() || fold.split.train.is_empty() {
                return bad(format!("fold {:?} has no test or no training subject", fold.name));
            }
            if fold.split.test.iter().any(|s| fold.split.validation.contains(s)) {
                return bad(format!("fold {:?} tests a validation subject", fold.name));
            }
            let name_ok = fold.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if fold.name.is_empty() || !name_ok || folds.iter().filter(|f| f.name == fold.name).count() > 1 {
                return bad(format!("fold name {:?} is empty, repeated or not a plain folder name", fold.name));
            }
            tested.extend(fold.split.test.iter().cloned());
        }
        if let Some(twice) = tested.iter().find(|s| tested.iter().filter(|t| t == s).count() > 1) {
            return bad(format!("subject {twice:?} is a test subject of more than one fold"));
        }
        Ok(())
    }

    /// The folds: the base config's split alone, or those the grid names.
    pub fn folds(&self) -> Vec<Fold> {
        let split = &self.config.dataset.split;
        let subjects: Vec<String> = split.subjects().cloned().collect();
        let fold = |name: String, test: Vec<String>, validation: Vec<String>| {
            let train = subjects.iter().filter(|s| !test.contains(s) && !validation.contains(s)).cloned().collect();
            Fold { name, split: SplitConfig { train, validation, test } }
        };
        match &self.spec.folds {
            None => vec![Fold { name: "split".into(), split: split.clone() }],
            Some(Folds::Scheme(FoldScheme::LeaveOneSubjectOut)) => subjects
                .iter()
                .enumerate()
                .map(|(i, subject)| {
                    let next = subjects[(i + 1) % subjects.len()].clone();
                    fold(format!("test-{subject}"), vec![subject.clone()], vec![next])
                })
                .collect(),
            Some(Folds::Listed(folds)) => {
                folds.iter().map(|f| fold(f.name.clone(), f.test.clone(), f.validation.clone())).collect()
            }
        }
    }

    /// Every unit, seed-major, then fold by fold (all of the first seed before the next, so
    /// that a partial run has whole seeds).
    pub fn units(&self) -> Vec<Unit> {
        let mut seeds = self.spec.seeds.clone();
        for seed in self.spec.arms.iter().flat_map(|a| a.seeds.iter().flatten()) {
            if !seeds.contains(seed) {
                seeds.push(*seed);
            }
        }
        let groups = self.pretraining_groups();
        let mut units = Vec::new();
        for seed in seeds {
            for fold in 0..self.folds().len() {
                for group in &groups {
                    let arms: Vec<usize> =
                        group.iter().copied().filter(|&a| self.seeds_of(&self.spec.arms[a]).contains(&seed)).collect();
                    if !arms.is_empty() {
                        units.push(Unit { arms, fold, seed });
                    }
                }
            }
        }
        units
    }

    /// Arms grouped by the pre-training they share: the same method and config but for the
    /// checkpoint rule (a pre-training run keeps every rule's encoder). Scratch arms are each
    /// a group of their own. In the order of their first arm.
    pub fn pretraining_groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<(Option<serde_json::Value>, Vec<usize>)> = Vec::new();
        for (i, arm) in self.spec.arms.iter().enumerate() {
            let key = self.pretraining_key(arm);
            match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        groups.into_iter().map(|(_, members)| members).collect()
    }

    /// What makes an arm's pre-training what it is (`None` for scratch).
    fn pretraining_key(&self, arm: &Arm) -> Option<serde_json::Value> {
        arm.method.pretrain_method()?;
        let config = self.config_of(arm, 0, 0);
        let mut key = serde_json::to_value(&config).expect("a config serialises");
        let object = key.as_object_mut().expect("an object");
        object.remove("finetune");
        object["pretrain"].as_object_mut().expect("an object").remove("checkpoint");
        Some(key)
    }

    /// The arms whose labels are the same pseudo-labels (physics and labels groups), by the
    /// name of the first such PIM arm: the folder its labels go to.
    pub fn labels_name(&self, arm: &Arm) -> Option<String> {
        if !arm.method.learns_physics() {
            return None;
        }
        let groups = |a: &Arm| {
            let config = self.config_of(a, 0, 0);
            (config.physics, config.labels)
        };
        let mine = groups(arm);
        self.spec.arms.iter().find(|a| a.method.learns_physics() && groups(a) == mine).map(|a| a.name.clone())
    }

    /// Seeds of an arm.
    pub fn seeds_of(&self, arm: &Arm) -> Vec<u64> {
        arm.seeds.clone().unwrap_or_else(|| self.spec.seeds.clone())
    }

    /// Shot counts of an arm.
    pub fn shots_of(&self, arm: &Arm) -> Vec<Shots> {
        arm.shots.clone().unwrap_or_else(|| self.spec.shots.clone())
    }

    /// The shot counts the report's selection reads.
    pub fn selection_shots(&self) -> Vec<Shots> {
        self.spec.selection.as_ref().map_or_else(|| self.spec.shots.clone(), |s| s.shots.clone())
    }

    /// Whether an arm pre-trains on every subject's unlabelled windows, the test subjects'
    /// included (a transductive pool, which every table must say).
    pub fn is_transductive(&self, arm: &Arm) -> bool {
        arm.method.pretrain_method().is_some() && self.config_of(arm, 0, 0).pretrain.pool == PretrainPool::AllSubjects
    }

    /// Whether an arm chooses an epoch on more labels than a few-shot user has: fine-tuning
    /// on every labelled validation window (`finetune.validation` `full`), or a pre-training
    /// kept by the probe rule (which reads every validation subject's labels).
    pub fn uses_oracle_validation(&self, arm: &Arm) -> bool {
        let config = self.config_of(arm, 0, 0);
        config.finetune.validation == ValidationLabels::Full
            || (arm.method.pretrain_method().is_some() && config.pretrain.checkpoint == CheckpointRule::Probe)
    }

    /// The effective config of an arm at a fold and a seed (fine-tuning shots still to set).
    pub fn config_of(&self, arm: &Arm, fold: usize, seed: u64) -> PimConfig {
        let mut value = serde_json::to_value(&self.config).expect("a config serialises");
        merge(&mut value, &arm.overrides);
        let mut config: PimConfig =
            serde_json::from_value(value).expect("arm overrides are checked when the grid loads");
        config.seed = seed;
        if let Some(fold) = self.folds().get(fold) {
            config.dataset.split = fold.split.clone();
        }
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

    /// A grid on the tiny fixture's config (subjects p1 train, p2 test) with `spec` (JSON).
    fn grid(spec: serde_json::Value) -> Grid {
        let mut config: PimConfig =
            serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap();
        config.dataset.split = SplitConfig {
            train: vec!["p1".into(), "p2".into()],
            validation: vec!["p3".into()],
            test: vec!["p4".into()],
        };
        let spec: GridSpec = serde_json::from_value(spec).unwrap();
        let grid = Grid { spec, config, path: "grid.json".into() };
        grid.check().unwrap();
        grid
    }

    fn arms(names_methods: &[(&str, &str)]) -> serde_json::Value {
        names_methods.iter().map(|(n, m)| json!({"name": n, "method": m})).collect()
    }

    #[test]
    fn units_are_seed_major_then_fold_and_share_pretraining() {
        let mut arms = arms(&[("pim", "pim"), ("scratch", "scratch"), ("masked", "masked")]);
        arms.as_array_mut().unwrap().push(json!({"name": "pim-last", "method": "pim", "variant_of": "pim",
            "overrides": {"pretrain": {"checkpoint": "last_epoch"}}}));
        arms.as_array_mut().unwrap().push(json!({"name": "pim-movement", "method": "pim", "variant_of": "pim",
            "overrides": {"physics": {"angle_quantity": "movement"}}, "seeds": [1]}));
        let grid = grid(json!({"config": "c.json", "seeds": [0, 1], "shots": [1], "arms": arms,
            "folds": "leave_one_subject_out"}));
        // pim and pim-last differ only in the checkpoint rule: one pre-training.
        assert_eq!(grid.pretraining_groups(), vec![vec![0, 3], vec![1], vec![2], vec![4]]);
        let units: Vec<(Vec<usize>, usize, u64)> = grid.units().into_iter().map(|u| (u.arms, u.fold, u.seed)).collect();
        assert_eq!(units.len(), 4 * 3 + 4 * 4, "seed 0: 3 groups x 4 folds; seed 1: 4 groups x 4 folds");
        assert_eq!(units[0], (vec![0, 3], 0, 0));
        assert_eq!(units[1], (vec![1], 0, 0));
        assert_eq!(units[3], (vec![0, 3], 1, 0));
        assert!(units[..12].iter().all(|u| u.2 == 0) && units[12..].iter().all(|u| u.2 == 1));
        // The movement variant has its own labels; the last-epoch variant shares pim's.
        assert_eq!(grid.labels_name(&grid.spec.arms[3]), Some("pim".into()));
        assert_eq!(grid.labels_name(&grid.spec.arms[4]), Some("pim-movement".into()));
        assert_eq!(grid.labels_name(&grid.spec.arms[1]), None);
        assert_eq!(
            grid.config_of(&grid.spec.arms[3], 2, 1).pretrain.checkpoint,
            crate::config::CheckpointRule::LastEpoch
        );
    }

    #[test]
    fn leave_one_subject_out_tests_each_subject_once_and_validates_on_the_next() {
        let grid = grid(json!({"config": "c.json", "seeds": [0], "shots": [1], "arms": arms(&[("s", "scratch")]),
            "folds": "leave_one_subject_out"}));
        let folds = grid.folds();
        let subjects = ["p1", "p2", "p3", "p4"];
        assert_eq!(folds.len(), 4);
        for (i, fold) in folds.iter().enumerate() {
            assert_eq!(fold.name, format!("test-{}", subjects[i]));
            assert_eq!(fold.split.test, vec![subjects[i].to_string()]);
            assert_eq!(fold.split.validation, vec![subjects[(i + 1) % 4].to_string()]);
            let mut all: Vec<String> = fold.split.subjects().cloned().collect();
            all.sort();
            assert_eq!(all, subjects, "every subject in exactly one role");
        }
        let mut tested: Vec<String> = folds.iter().flat_map(|f| f.split.test.clone()).collect();
        tested.sort();
        assert_eq!(tested, subjects, "every subject is a test subject exactly once");
        // The fold's split is what every stage of the unit sees.
        assert_eq!(grid.config_of(&grid.spec.arms[0], 2, 0).dataset.split, folds[2].split);
    }

    #[test]
    fn listed_folds_are_checked() {
        let base = json!({"config": "c.json", "seeds": [0], "shots": [1], "arms": arms(&[("s", "scratch")])});
        let with = |folds: serde_json::Value| {
            let mut spec = base.clone();
            spec["folds"] = folds;
            let mut config: PimConfig =
                serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap();
            config.dataset.split =
                SplitConfig { train: vec!["p1".into(), "p2".into()], validation: vec![], test: vec!["p3".into()] };
            Grid { spec: serde_json::from_value(spec).unwrap(), config, path: "g.json".into() }.check().map(|_| ())
        };
        assert!(with(json!([{"name": "a", "test": ["p1"], "validation": ["p2"]}])).is_ok());
        let unknown = with(json!([{"name": "a", "test": ["p9"], "validation": []}])).unwrap_err().to_string();
        assert!(unknown.contains("p9"), "{unknown}");
        let twice = with(
            json!([{"name": "a", "test": ["p1"], "validation": []}, {"name": "b", "test": ["p1"], "validation": []}]),
        );
        assert!(twice.unwrap_err().to_string().contains("more than one fold"));
    }

    #[test]
    fn a_variant_of_a_missing_arm_is_refused() {
        let spec = json!({"config": "c.json", "seeds": [0], "shots": [1],
            "arms": [{"name": "v", "method": "pim", "variant_of": "nope"}]});
        let config: PimConfig =
            serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap();
        let grid = Grid { spec: serde_json::from_value(spec).unwrap(), config: config.clone(), path: "g.json".into() };
        assert!(grid.check().unwrap_err().to_string().contains("variant_of"));
        // A variant keeps its root's method, and only PIM arms go to the ablation table.
        for (arms, field) in [
            (
                json!([{"name": "pim", "method": "pim"}, {"name": "h", "method": "pim+masked", "variant_of": "pim"}]),
                "variant_of",
            ),
            (
                json!([{"name": "pim", "method": "pim"}, {"name": "h", "method": "pim+masked", "table": "ablation"}]),
                "table",
            ),
        ] {
            let spec = json!({"config": "c.json", "seeds": [0], "shots": [1], "arms": arms});
            let grid =
                Grid { spec: serde_json::from_value(spec).unwrap(), config: config.clone(), path: "g.json".into() };
            let error = grid.check().unwrap_err().to_string();
            assert!(error.contains(&format!("arms[1].{field}")), "{error}");
        }
    }

    #[test]
    fn primary_hypotheses_name_baseline_methods_and_shot_counts_of_the_grid() {
        let check = |primary: serde_json::Value| {
            let spec = json!({"config": "c.json", "seeds": [0], "shots": [1, 2], "primary": primary,
                "arms": [{"name": "pim", "method": "pim"}, {"name": "masked", "method": "masked"},
                         {"name": "masked-last", "method": "masked", "variant_of": "masked"}]});
            let config: PimConfig =
                serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap();
            let grid = Grid { spec: serde_json::from_value(spec).unwrap(), config, path: "g.json".into() };
            grid.check().map_err(|e| e.to_string())
        };
        assert_eq!(check(json!({"baselines": ["masked"], "shots": [1, 2]})), Ok(()));
        for (primary, expected) in [
            (json!({"baselines": ["pim"], "shots": [1]}), "\"pim\", which is not a baseline method"),
            (json!({"baselines": ["masked-last"], "shots": [1]}), "\"masked-last\", which is not a baseline method"),
            (json!({"baselines": ["masked"], "shots": [4]}), "4 shots, which the grid does not run"),
            (json!({"baselines": [], "shots": [1]}), "has no baseline or no shot count"),
        ] {
            let error = check(primary).unwrap_err();
            assert!(error.contains("primary") && error.contains(expected), "{error}");
        }
    }
}
