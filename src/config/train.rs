//! The pre-training and fine-tuning groups of a config (method.md, "Encoder, heads, losses"
//! and "Protocol"). Command-line flags override them, and the effective values are saved
//! with every run.

use serde::{Deserialize, Serialize};

use super::labels::Task;
use crate::data::kshot::Shots;
use crate::data::transform::TransformConfig;

/// Weights of the pretext losses: `alpha * L_speed + beta * L_angle + gamma * L_sym`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossWeights {
    /// alpha, the speed loss weight.
    pub speed: f64,
    /// beta, the angle loss weight.
    pub angle: f64,
    /// gamma, the symmetry loss weight.
    pub symmetry: f64,
}

impl LossWeights {
    /// The weight of a task.
    pub fn of(&self, task: Task) -> f64 {
        match task {
            Task::Speed => self.speed,
            Task::Angle => self.angle,
            Task::Symmetry => self.symmetry,
        }
    }
}

/// What pre-training teaches the encoder (method.md, "Baselines").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PretrainMethod {
    /// PIM: predict the physics pseudo-labels of `pim pseudo-label`.
    Pim,
    /// Masked reconstruction (Haresamudram et al. 2020).
    Masked,
    /// Multi-task transformation discrimination (Saeed et al. 2019).
    Transform,
    /// PIM's physics heads and masked reconstruction's decoder on one encoder, their losses
    /// summed with `pretrain.loss_weights` and `pretrain.reconstruction_weight`.
    #[serde(rename = "pim+masked")]
    PimMasked,
}

impl PretrainMethod {
    /// Every method.
    pub const ALL: [PretrainMethod; 4] =
        [PretrainMethod::Pim, PretrainMethod::Masked, PretrainMethod::Transform, PretrainMethod::PimMasked];

    /// The method's name, as in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PretrainMethod::Pim => "pim",
            PretrainMethod::Masked => "masked",
            PretrainMethod::Transform => "transform",
            PretrainMethod::PimMasked => "pim+masked",
        }
    }

    /// Whether it learns the physics pseudo-labels (and so needs `pim pseudo-label`'s).
    pub fn learns_physics(self) -> bool {
        matches!(self, PretrainMethod::Pim | PretrainMethod::PimMasked)
    }
}

impl std::str::FromStr for PretrainMethod {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PretrainMethod::ALL
            .into_iter()
            .find(|m| m.name() == text)
            .ok_or_else(|| format!("{text:?} is not a pre-training method: use pim, masked, transform or pim+masked"))
    }
}

/// Which pre-training epoch a run keeps as its encoder (method.md, "Protocol": a choice the
/// paper leaves open). A run records the epoch every rule picks and saves every rule's
/// encoder; this one becomes `encoder.bpk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointRule {
    /// The epoch of lowest weighted validation loss.
    LowestValidationLoss,
    /// The last epoch.
    LastEpoch,
    /// The epoch of lowest weighted validation loss over the loss terms that improved: those
    /// whose validation loss fell below its first-epoch value at some epoch (a term that
    /// only rises, as PIM's angle task on DSADS, does not hold the choice at epoch 1).
    ImprovingTasks,
    /// The epoch whose frozen encoder best separates the validation subjects' activities:
    /// macro-F1 of a nearest-centroid probe, two-fold over the validation windows.
    Probe,
}

impl CheckpointRule {
    /// Every rule.
    pub const ALL: [CheckpointRule; 4] = [
        CheckpointRule::LowestValidationLoss,
        CheckpointRule::LastEpoch,
        CheckpointRule::ImprovingTasks,
        CheckpointRule::Probe,
    ];

    /// The rule's name, as in configs and file names.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointRule::LowestValidationLoss => "lowest_validation_loss",
            CheckpointRule::LastEpoch => "last_epoch",
            CheckpointRule::ImprovingTasks => "improving_tasks",
            CheckpointRule::Probe => "probe",
        }
    }
}

/// Which windows pre-training learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PretrainPool {
    /// The training subjects' windows.
    TrainingSubjects,
    /// Every subject's windows, their labels unused: transductive, since the test
    /// subjects' signals are seen (never their labels). Reported as such.
    AllSubjects,
}

/// Pre-training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PretrainConfig {
    /// The pretext objective.
    pub method: PretrainMethod,
    /// Passes over the training subjects' windows.
    pub epochs: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Pretext tasks to train (method `pim`; an ablation drops some); a task the dataset
    /// lacks is skipped.
    pub tasks: Vec<Task>,
    /// Loss weights (method `pim`).
    pub loss_weights: LossWeights,
    /// Share of each window's time steps zeroed (methods `masked` and `pim+masked`).
    pub mask_ratio: f64,
    /// Weight of the reconstruction loss beside the physics losses (method `pim+masked`).
    #[serde(skip_serializing_if = "is_one")]
    pub reconstruction_weight: f64,
    /// Transformation strengths (method `transform`).
    pub transform: TransformConfig,
    /// Which epoch becomes `encoder.bpk`.
    pub checkpoint: CheckpointRule,
    /// Which windows it learns from.
    pub pool: PretrainPool,
    /// Method `pim` with an encoder that reads some sensors only (`model.sensors`): which
    /// sensors' pseudo-labels it predicts.
    #[serde(skip_serializing_if = "PretrainTargets::is_default")]
    pub targets: PretrainTargets,
}

/// Whether `weight` is 1, the default weight (left out of saved configs, which stay as
/// before).
fn is_one(weight: &f64) -> bool {
    *weight == 1.0
}

/// Whose physics a one-device encoder learns to predict (method `pim`, `model.sensors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PretrainTargets {
    /// Every sensor's speed and angles and every pair's symmetry, computed from all the
    /// recording's sensors: multi-sensor physics distilled into the one-device encoder.
    #[default]
    AllSensors,
    /// The speed and angles of the sensors the encoder reads, and the symmetry of a pair
    /// only where it reads both sides: what a one-device dataset could give.
    SeenSensors,
}

impl PretrainTargets {
    /// Whether it is the default (left out of saved configs, which stay as before).
    pub fn is_default(&self) -> bool {
        *self == PretrainTargets::default()
    }
}

impl std::str::FromStr for PretrainTargets {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "all_sensors" => Ok(PretrainTargets::AllSensors),
            "seen_sensors" => Ok(PretrainTargets::SeenSensors),
            _ => Err(format!("{text:?} is not a choice of targets: use all_sensors or seen_sensors")),
        }
    }
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            method: PretrainMethod::Pim,
            epochs: 30,
            batch_size: 64,
            learning_rate: 1e-3,
            tasks: Task::ALL.to_vec(),
            loss_weights: LossWeights { speed: 1.0, angle: 1.0, symmetry: 1.0 },
            mask_ratio: 0.1,
            reconstruction_weight: 1.0,
            transform: TransformConfig::default(),
            checkpoint: CheckpointRule::LowestValidationLoss,
            pool: PretrainPool::TrainingSubjects,
            targets: PretrainTargets::AllSensors,
        }
    }
}

/// What fine-tuning may see of the validation subjects' labels, to choose its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationLabels {
    /// As many labelled windows per class of the validation subjects as the training
    /// shots (seeded, stratified, saved as `validation.csv`); every labelled validation
    /// window at `all` shots. A few-shot user has no more labels to spare.
    #[default]
    KShot,
    /// None: a fixed schedule, the last epoch is kept and no validation score exists.
    None,
    /// Every labelled window of the validation subjects: an oracle that a few-shot user
    /// does not have, to be reported as such.
    Full,
}

impl ValidationLabels {
    /// The name, as in configs.
    pub fn name(self) -> &'static str {
        match self {
            ValidationLabels::KShot => "k_shot",
            ValidationLabels::None => "none",
            ValidationLabels::Full => "full",
        }
    }
}

/// Fine-tuning settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinetuneConfig {
    /// Labelled training windows per class (a number, or `"all"`).
    pub shots: Shots,
    /// Train the classifier only, on a frozen encoder (a linear-probe-style evaluation).
    pub freeze_encoder: bool,
    /// Passes over the drawn windows.
    pub epochs: usize,
    /// If set, fewer epochs when the drawn windows are many: the last epoch is the one that
    /// reaches this many optimiser steps (so large shot counts get a bounded budget).
    pub max_steps: Option<usize>,
    /// Windows per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Score the validation subjects every this many epochs (and after the last one); the
    /// checkpoint kept is the best of those scored. 1 scores every epoch.
    pub validate_every: usize,
    /// If set, stop once this many epochs have passed without a better validation score
    /// (early stopping); the best checkpoint is kept either way.
    pub patience: Option<usize>,
    /// Which labelled validation windows choose the epoch kept.
    pub validation: ValidationLabels,
}

impl FinetuneConfig {
    /// Epochs to run over `drawn` windows: `epochs`, cut by `max_steps` if set.
    pub fn epochs_for(&self, drawn: usize) -> usize {
        let steps_per_epoch = drawn.div_ceil(self.batch_size).max(1);
        match self.max_steps {
            Some(max) => self.epochs.min(max.div_ceil(steps_per_epoch)).max(1),
            None => self.epochs,
        }
    }
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            shots: Shots::All,
            freeze_encoder: false,
            epochs: 100,
            max_steps: None,
            batch_size: 64,
            learning_rate: 1e-3,
            validate_every: 1,
            patience: None,
            validation: ValidationLabels::KShot,
        }
    }
}

impl PretrainConfig {
    /// Check the method-specific settings; `path` names the config file in errors.
    pub fn validate(&self, path: &std::path::Path) -> crate::Result<()> {
        let bad = |field: &str, problem: String, fix: &str| {
            Err(crate::Error::invalid_config(path, format!("pretrain.{field}"), problem, fix))
        };
        validate_training(path, "pretrain", self.epochs, self.batch_size, self.learning_rate)?;
        let w = &self.loss_weights;
        for (field, weight) in [("speed", w.speed), ("angle", w.angle), ("symmetry", w.symmetry)] {
            if !(weight.is_finite() && weight >= 0.0) {
                return bad(
                    &format!("loss_weights.{field}"),
                    format!("is {weight}"),
                    "use a finite weight of at least 0",
                );
            }
        }
        if !(self.reconstruction_weight.is_finite() && self.reconstruction_weight >= 0.0) {
            return bad(
                "reconstruction_weight",
                format!("is {}", self.reconstruction_weight),
                "use a finite weight of at least 0",
            );
        }
        if !(self.mask_ratio > 0.0 && self.mask_ratio < 1.0) {
            return bad("mask_ratio", format!("is {}", self.mask_ratio), "use a share in (0, 1); the method uses 0.1");
        }
        let t = &self.transform;
        for (field, sigma) in
            [("noise_sigma", t.noise_sigma), ("scaling_sigma", t.scaling_sigma), ("warp_sigma", t.warp_sigma)]
        {
            if !(sigma.is_finite() && sigma >= 0.0) {
                return bad(&format!("transform.{field}"), format!("is {sigma}"), "use a finite value of at least 0");
            }
        }
        if t.segments < 2 {
            return bad(
                "transform.segments",
                format!("is {}", t.segments),
                "use at least 2 segments; the method uses 4",
            );
        }
        Ok(())
    }
}

impl FinetuneConfig {
    /// Check ranges; `path` names the config file in errors.
    pub fn validate(&self, path: &std::path::Path) -> crate::Result<()> {
        validate_training(path, "finetune", self.epochs, self.batch_size, self.learning_rate)?;
        if self.validate_every == 0 || self.patience == Some(0) {
            return Err(crate::Error::invalid_config(
                path,
                "finetune.validate_every",
                "or finetune.patience is 0",
                "use at least 1 (validate_every 1 scores every epoch; patience null never stops early)",
            ));
        }
        Ok(())
    }
}

/// Check an epoch count, batch size and learning rate of the group `group`.
fn validate_training(
    path: &std::path::Path,
    group: &str,
    epochs: usize,
    batch_size: usize,
    learning_rate: f64,
) -> crate::Result<()> {
    let bad = |field: &str, problem: String, fix: &str| {
        Err(crate::Error::invalid_config(path, format!("{group}.{field}"), problem, fix))
    };
    if epochs == 0 {
        return bad("epochs", "is 0".into(), "train for at least one epoch");
    }
    if batch_size == 0 {
        return bad("batch_size", "is 0".into(), "use a batch of at least 1 window (the method uses 64)");
    }
    if !(learning_rate.is_finite() && learning_rate > 0.0) {
        return bad("learning_rate", format!("is {learning_rate}"), "use a positive rate (the method uses 1e-3)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_steps_cuts_epochs_of_large_draws_only() {
        let settings = FinetuneConfig { epochs: 30, max_steps: Some(200), ..FinetuneConfig::default() };
        // 19 windows: 1 step per epoch, 30 epochs are 30 steps, under the cap.
        assert_eq!(settings.epochs_for(19), 30);
        // 608 windows: 10 steps per epoch, 20 epochs reach 200 steps.
        assert_eq!(settings.epochs_for(608), 20);
        // 5,700 windows: 90 steps per epoch; the third epoch passes 200 steps.
        assert_eq!(settings.epochs_for(5700), 3);
        // No cap: always the configured epochs.
        assert_eq!(FinetuneConfig { epochs: 30, ..FinetuneConfig::default() }.epochs_for(5700), 30);
    }

    #[test]
    fn methods_parse_by_name() {
        for method in PretrainMethod::ALL {
            assert_eq!(method.name().parse::<PretrainMethod>(), Ok(method));
        }
        assert!("mask".parse::<PretrainMethod>().unwrap_err().contains("pim, masked, transform or pim+masked"));
        for method in PretrainMethod::ALL {
            assert_eq!(
                serde_json::to_string(&method).unwrap(),
                format!("\"{}\"", method.name()),
                "config and command line agree"
            );
        }
    }
}
