//! What each pre-training method asks of the network for one batch of windows, as a list
//! of named loss terms: PIM's per-task pseudo-label losses, masked reconstruction's one
//! reconstruction error, or transformation discrimination's one loss per transformation.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::Rng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::windows::WindowSet;
use crate::config::{LossWeights, PretrainConfig, PretrainMethod, Task};
use crate::data::Normaliser;
use crate::data::transform::{TransformConfig, Transformation, WindowShape, apply};
use crate::model::{DropoutMasks, PretrainModel, binary_cross_entropy, masked_mse, max_over_time};

/// A task and the label columns it predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskColumns {
    /// The task.
    pub task: Task,
    /// Names of its label columns.
    pub columns: Vec<String>,
}

/// Masked reconstruction beside PIM's heads (method `pim+masked`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconstruction {
    /// Share of each window's steps zeroed.
    pub ratio: f64,
    /// Weight of the reconstruction loss in the total.
    pub weight: f64,
}

impl Reconstruction {
    /// The reconstruction `pretrain` asks for beside the physics, if any.
    pub fn of(pretrain: &PretrainConfig) -> Option<Self> {
        (pretrain.method == PretrainMethod::PimMasked)
            .then_some(Reconstruction { ratio: pretrain.mask_ratio, weight: pretrain.reconstruction_weight })
    }
}

/// A pre-training objective, ready to score batches.
pub enum Objective {
    /// Predict each task's label bins (and with `reconstruction`, from masked windows,
    /// reconstruct the zeroed steps too).
    Physics {
        /// Tasks, in head order.
        tasks: Vec<TaskColumns>,
        /// Label bins per task.
        targets: TaskTargets,
        /// alpha, beta, gamma.
        weights: LossWeights,
        /// Method `pim+masked`: the decoder's task beside the heads.
        reconstruction: Option<Reconstruction>,
    },
    /// Reconstruct the zeroed time steps.
    Masked {
        /// Share of each window's steps zeroed.
        ratio: f64,
    },
    /// Tell each transformation's output from the original. The window set stays in
    /// physical units: windows are transformed first and normalised after.
    Transform {
        /// Transformation strengths.
        config: TransformConfig,
        /// Channel layout of the windows.
        shape: WindowShape,
        /// Applied after transforming.
        normaliser: Normaliser,
    },
}

/// One loss term of a batch: its value and the number of examples it averages.
pub struct Term {
    /// Mean loss, `[1]`.
    pub loss: Tensor<1>,
    /// Examples behind it (for exact epoch means).
    pub count: usize,
}

impl Objective {
    /// Names of the loss terms, in order (metrics columns, head order).
    pub fn term_names(&self) -> Vec<String> {
        match self {
            Objective::Physics { tasks, reconstruction, .. } => {
                let physics = tasks.iter().map(|t| t.task.name().to_string());
                physics.chain(reconstruction.map(|_| RECONSTRUCTION.to_string())).collect()
            }
            Objective::Masked { .. } => vec![RECONSTRUCTION.into()],
            Objective::Transform { .. } => Transformation::ALL.iter().map(|t| t.name().to_string()).collect(),
        }
    }

    /// Weight of each term in the total loss: the loss weights for PIM, an equal share
    /// for the transformation heads (their mean), 1 for reconstruction.
    pub fn term_weights(&self) -> Vec<f64> {
        match self {
            Objective::Physics { tasks, weights, reconstruction, .. } => {
                tasks.iter().map(|t| weights.of(t.task)).chain(reconstruction.map(|r| r.weight)).collect()
            }
            Objective::Masked { .. } => vec![1.0],
            Objective::Transform { .. } => vec![1.0 / Transformation::ALL.len() as f64; Transformation::ALL.len()],
        }
    }

    /// The loss terms of the windows `batch` of `set` (`None`: a term with no example in
    /// this batch). `dropout` is `Some` in training; `rng` draws masks and transformations.
    pub fn terms(
        &self,
        model: &PretrainModel,
        set: &WindowSet,
        batch: &[usize],
        dropout: Option<&mut DropoutMasks>,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Vec<Option<Term>> {
        match self {
            Objective::Physics { targets, reconstruction: None, .. } => {
                let embedding = embed(model, set.batch(batch, device), dropout);
                physics_terms(model, targets, embedding, batch, device)
            }
            Objective::Physics { targets, reconstruction: Some(reconstruction), .. } => {
                // One pass of the masked windows: the heads read its embedding, the decoder
                // its feature map.
                let (features, term) = reconstruct(model, set, batch, reconstruction.ratio, dropout, rng, device);
                let mut terms = physics_terms(model, targets, max_over_time(features), batch, device);
                terms.push(Some(term));
                terms
            }
            Objective::Masked { ratio } => vec![Some(reconstruct(model, set, batch, *ratio, dropout, rng, device).1)],
            Objective::Transform { config, shape, normaliser } => {
                let n = batch.len();
                // Each window gets one transformation, in turn from a random start, so every
                // head sees about n / 8 pairs of (original, transformed) per batch.
                let start = rng.random_range(0..Transformation::ALL.len());
                let assigned: Vec<usize> = (0..n).map(|i| (start + i) % Transformation::ALL.len()).collect();
                let size = set.channels * set.time;
                let mut values = Vec::with_capacity(2 * n * size);
                for &i in batch {
                    values.extend_from_slice(set.window(i));
                }
                for (&i, &t) in batch.iter().zip(&assigned) {
                    let std = &normaliser.std;
                    values.extend(apply(Transformation::ALL[t], set.window(i), shape, std, config, rng));
                }
                for window in values.chunks_mut(size) {
                    normaliser.apply(window, set.time);
                }
                let inputs = Tensor::from_data(TensorData::new(values, [2 * n, set.channels, set.time]), device);
                let embedding = embed(model, inputs, dropout);
                model
                    .heads
                    .iter()
                    .enumerate()
                    .map(|(t, head)| {
                        let mine: Vec<i64> = (0..n).filter(|&i| assigned[i] == t).map(|i| i as i64).collect();
                        if mine.is_empty() {
                            return None;
                        }
                        let pairs = mine.len();
                        // Rows: the originals, then their transformed copies.
                        let rows: Vec<i64> = mine.iter().copied().chain(mine.iter().map(|i| i + n as i64)).collect();
                        let rows = Tensor::<1, Int>::from_data(TensorData::new(rows, [2 * pairs]), device);
                        let logits = head.forward(embedding.clone().select(0, rows)).reshape([2 * pairs]);
                        let labels: Vec<f32> = (0..2 * pairs).map(|r| if r < pairs { 0.0 } else { 1.0 }).collect();
                        let labels = Tensor::from_data(TensorData::new(labels, [2 * pairs]), device);
                        Some(Term { loss: binary_cross_entropy(logits, labels), count: 2 * pairs })
                    })
                    .collect()
            }
        }
    }
}

/// The name of the reconstruction loss term.
const RECONSTRUCTION: &str = "reconstruction";

/// Each head's loss on `embedding` against its task's bins for the windows `batch`.
fn physics_terms(
    model: &PretrainModel,
    targets: &TaskTargets,
    embedding: Tensor<2>,
    batch: &[usize],
    device: &Device,
) -> Vec<Option<Term>> {
    let loss = |(t, head): (usize, &crate::model::PretextHead)| {
        let loss = head.loss(head.forward(embedding.clone()), targets.batch(t, batch, device));
        Some(Term { loss, count: batch.len() })
    };
    model.heads.iter().enumerate().map(loss).collect()
}

/// The encoder's feature map of the windows `batch` with `ratio` of their steps zeroed, and
/// the decoder's reconstruction error on those steps.
fn reconstruct(
    model: &PretrainModel,
    set: &WindowSet,
    batch: &[usize],
    ratio: f64,
    dropout: Option<&mut DropoutMasks>,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> (Tensor<3>, Term) {
    let (inputs, masked) = masked_batch(set, batch, ratio, rng);
    let shape = [batch.len(), set.channels, set.time];
    let masked_inputs = Tensor::from_data(TensorData::new(masked, shape), device);
    let original = set.batch(batch, device);
    let mask = Tensor::from_data(TensorData::new(inputs, [batch.len(), set.time]), device);
    let features = match dropout {
        Some(masks) => model.encoder.features_train(masked_inputs, masks),
        None => model.encoder.features(masked_inputs),
    };
    let decoder = model.decoder.as_ref().expect("a reconstructing model has a decoder");
    let loss = masked_mse(decoder.forward(features.clone()), original, mask);
    (features, Term { loss, count: batch.len() })
}

/// The encoder's embedding of `inputs`, with dropout when training.
fn embed(model: &PretrainModel, inputs: Tensor<3>, dropout: Option<&mut DropoutMasks>) -> Tensor<2> {
    match dropout {
        Some(masks) => model.encoder.forward_train(inputs, masks),
        None => model.encoder.forward(inputs),
    }
}

/// The time-step mask (`[batch, time]`, 1 = zeroed) and the masked windows
/// (`[batch, channels, time]`) of `batch`: each window loses `ratio` of its steps (at
/// least one), drawn without replacement, on every channel.
fn masked_batch(set: &WindowSet, batch: &[usize], ratio: f64, rng: &mut ChaCha8Rng) -> (Vec<f32>, Vec<f32>) {
    let steps = ((ratio * set.time as f64).round() as usize).clamp(1, set.time);
    let mut mask = vec![0f32; batch.len() * set.time];
    let mut inputs = Vec::with_capacity(batch.len() * set.channels * set.time);
    for (b, &i) in batch.iter().enumerate() {
        let row = &mut mask[b * set.time..(b + 1) * set.time];
        for t in sample(rng, set.time, steps) {
            row[t] = 1.0;
        }
        for channel in set.window(i).chunks(set.time) {
            inputs.extend(channel.iter().zip(row.iter()).map(|(v, m)| if *m == 1.0 { 0.0 } else { *v }));
        }
    }
    (mask, inputs)
}

/// Label bins of each task, laid out for fast batching.
pub struct TaskTargets {
    /// Per task: `[windows][columns]` flattened.
    bins: Vec<Vec<i64>>,
    columns: Vec<usize>,
}

impl TaskTargets {
    /// The bins of `tasks` from `labels` (one row per window, columns named `names`).
    pub fn new(tasks: &[TaskColumns], names: &[String], labels: &[Vec<u8>]) -> Self {
        let mut bins = Vec::new();
        let mut columns = Vec::new();
        for task in tasks {
            let positions: Vec<usize> = task
                .columns
                .iter()
                .map(|c| names.iter().position(|n| n == c).expect("task columns come from names"))
                .collect();
            bins.push(labels.iter().flat_map(|row| positions.iter().map(|&p| i64::from(row[p]))).collect());
            columns.push(positions.len());
        }
        TaskTargets { bins, columns }
    }

    /// No targets: for building a network of the right shape, never for a batch.
    pub fn empty() -> Self {
        TaskTargets { bins: Vec::new(), columns: Vec::new() }
    }

    /// Targets of task `t` for the windows `batch`: `[batch, columns]`.
    fn batch(&self, t: usize, batch: &[usize], device: &Device) -> Tensor<2, Int> {
        let c = self.columns[t];
        let values: Vec<i64> = batch.iter().flat_map(|&i| self.bins[t][i * c..(i + 1) * c].iter().copied()).collect();
        Tensor::from_data(TensorData::new(values, [batch.len(), c]), device)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::data::dataset_config::SplitRole;

    #[test]
    fn the_hybrid_adds_a_weighted_reconstruction_term_after_the_tasks() {
        let tasks = [Task::Speed, Task::Symmetry].map(|task| TaskColumns { task, columns: vec!["c".into()] }).to_vec();
        let weights = LossWeights { speed: 1.0, angle: 1.0, symmetry: 0.5 };
        let objective = |reconstruction| Objective::Physics {
            tasks: tasks.clone(),
            targets: TaskTargets::empty(),
            weights,
            reconstruction,
        };
        let hybrid = objective(Some(Reconstruction { ratio: 0.1, weight: 2.0 }));
        assert_eq!(hybrid.term_names(), ["speed", "symmetry", "reconstruction"]);
        assert_eq!(hybrid.term_weights(), [1.0, 0.5, 2.0]);
        assert_eq!(objective(None).term_names(), ["speed", "symmetry"]);
        let mut pretrain = crate::config::PretrainConfig::default();
        assert_eq!(Reconstruction::of(&pretrain), None, "method pim reconstructs nothing");
        pretrain.method = PretrainMethod::PimMasked;
        pretrain.reconstruction_weight = 0.25;
        assert_eq!(Reconstruction::of(&pretrain), Some(Reconstruction { ratio: 0.1, weight: 0.25 }));
    }

    #[test]
    fn masked_batch_zeroes_ten_percent_of_steps_on_every_channel() {
        let (channels, time) = (3, 40);
        let set = WindowSet {
            channels,
            time,
            inputs: (0..2 * channels * time).map(|v| v as f32 + 1.0).collect(),
            keys: vec![("a".into(), 0), ("b".into(), 0)],
            mapped: None,
            rows: vec![0, 1],
            subjects: vec!["p1".into(); 2],
            roles: vec![SplitRole::Train; 2],
            classes: vec![None; 2],
            notices: Vec::new(),
        };
        let (mask, inputs) = masked_batch(&set, &[1, 0], 0.1, &mut ChaCha8Rng::seed_from_u64(0));
        for (b, &window) in [1usize, 0].iter().enumerate() {
            let row = &mask[b * time..(b + 1) * time];
            assert_eq!(row.iter().filter(|&&m| m == 1.0).count(), 4, "10% of 40 steps");
            for c in 0..channels {
                for t in 0..time {
                    let got = inputs[(b * channels + c) * time + t];
                    let original = set.inputs[(window * channels + c) * time + t];
                    assert_eq!(got, if row[t] == 1.0 { 0.0 } else { original });
                }
            }
        }
        assert_ne!(mask[..time], mask[time..], "each window draws its own steps");
    }
}
