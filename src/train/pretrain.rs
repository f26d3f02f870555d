//! The `pretrain` stage: the encoder learns a pretext objective on the training subjects'
//! windows (PIM: one head per physics task predicts the pseudo-labels; or a baseline:
//! masked reconstruction, transformation discrimination); the weights with the lowest
//! loss on the validation subjects' windows are kept.
//!
//! Each epoch's shuffle and dropout come from the config seed and the epoch number, and a
//! checkpoint (weights, optimiser state, history) is written after every epoch, so a run
//! that is killed and started again with the same command resumes where it stopped and
//! ends with the numbers an uninterrupted run would have.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::checkpoint::{load_json, load_module, load_optimizer, save_json, save_module, save_optimizer};
use super::config::PretrainMethod;
use super::objective::{Objective, TaskTargets};
use super::windows::{Normaliser, WindowSet, read_labels};
use super::{NORMALISER_FILE, check_same_groups, ensure_folder};
use crate::config::PimConfig;
use crate::data::ChannelLayout;
use crate::data::config::SplitRole;
use crate::data::transform::{Transformation, WindowShape};
use crate::error::{Error, Result};
use crate::labels::Task;
use crate::model::{Decoder, DecoderConfig, DropoutMasks, Encoder, EncoderConfig, PretextHead, PretextHeadConfig};
use crate::progress::Progress;

/// The best encoder, loaded by `pim finetune --init`.
pub const ENCODER_FILE: &str = "encoder.bpk";
/// The best encoder with its pretext heads (the whole pre-training network).
pub const PRETRAIN_MODEL_FILE: &str = "pretrain_model.bpk";
/// One row per epoch.
pub const METRICS_FILE: &str = "metrics.csv";
/// Resume state, rewritten after every epoch.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The encoder and what the method puts on top of it.
#[derive(Module, Debug)]
pub struct PretrainModel {
    /// The shared encoder.
    pub encoder: Encoder,
    /// PIM: one head per task, in the run's task order. Transformation discrimination:
    /// one single-logit head per transformation. Masked reconstruction: none.
    pub heads: Vec<PretextHead>,
    /// Masked reconstruction's decoder.
    pub decoder: Option<Decoder>,
}

/// Where the stage reads and writes.
#[derive(Debug, Clone)]
pub struct PretrainPaths {
    /// Output of `pim pseudo-label` (labels.csv, config.json); method `pim` only.
    pub labels: Option<PathBuf>,
    /// The dataset folder.
    pub data: PathBuf,
    /// The run folder to write.
    pub out: PathBuf,
}

/// A task and the label columns it predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskColumns {
    /// The task.
    pub task: Task,
    /// Names of its label columns.
    pub columns: Vec<String>,
}

/// Figures of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Weighted total loss on the training windows.
    pub train_loss: f64,
    /// Each loss term on the training windows (PIM: per task), in term order.
    pub train_terms: Vec<f64>,
    /// Weighted total loss on the validation windows (the selection criterion).
    pub validation_loss: f64,
    /// Each loss term on the validation windows.
    pub validation_terms: Vec<f64>,
    /// Training throughput (forward, backward, optimiser step).
    pub windows_per_second: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// What is saved after every epoch to resume from.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeState {
    history: Vec<EpochRecord>,
    best_epoch: usize,
    best_loss: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct PretrainReport {
    /// Names of the loss terms (PIM: its tasks).
    pub terms: Vec<String>,
    /// Every epoch's figures.
    pub history: Vec<EpochRecord>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_loss: f64,
    /// Epochs already done when this run started (0 for a fresh run).
    pub resumed_after: usize,
    /// Things the user should know.
    pub notices: Vec<String>,
}

/// Run pre-training with `config` (effective, flags applied) on `backend`.
pub fn pretrain(
    config: &PimConfig,
    paths: &PretrainPaths,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<PretrainReport> {
    let mut notices = Vec::new();
    let method = config.pretrain.method;
    let labels_dir = match (&paths.labels, method) {
        (Some(dir), PretrainMethod::Pim) => {
            let labels_config_path = dir.join("config.json");
            let labels_config: PimConfig =
                load_json(&labels_config_path, "pass --labels the --out folder of `pim pseudo-label`")?;
            check_same_groups(&labels_config, config, &labels_config_path, &["dataset", "physics", "labels"])?;
            Some(dir)
        }
        (None, PretrainMethod::Pim) => {
            return Err(Error::InvalidConfig {
                path: "<command line>".into(),
                field: "--labels".into(),
                problem: "is missing: method pim learns the pseudo-labels".into(),
                fix: "run `pim pseudo-label` first and pass its --out as --labels".into(),
            });
        }
        (Some(_), PretrainMethod::Masked | PretrainMethod::Transform) => {
            notices.push(format!("method {} does not use pseudo-labels: --labels is ignored", method.name()));
            None
        }
        (None, PretrainMethod::Masked | PretrainMethod::Transform) => None,
    };

    let checkpoint_dir = paths.out.join(CHECKPOINT_DIR);
    let state_path = checkpoint_dir.join("state.json");
    let resume: Option<ResumeState> = if state_path.is_file() {
        let run_config_path = paths.out.join("config.json");
        let saved: PimConfig = load_json(&run_config_path, "delete the run folder to start over")?;
        check_same_groups(
            &saved,
            config,
            &run_config_path,
            &["seed", "dataset", "physics", "labels", "model", "pretrain"],
        )?;
        Some(load_json(&state_path, "delete the run folder's checkpoint/ to start over")?)
    } else {
        None
    };

    let bar = progress.bar("reading");
    let mut set = WindowSet::load(config, &paths.data, &bar)?;
    bar.finish_and_clear();
    let train = set.indices_of(SplitRole::Train);
    let mut validation = set.indices_of(SplitRole::Validation);
    if validation.is_empty() {
        notices.push("no validation subjects: the checkpoint is chosen by training loss".into());
        validation = train.clone();
    }
    let normaliser = Normaliser::fit(&set, &train);
    let objective = match method {
        PretrainMethod::Pim => {
            let (names, labels) = read_labels(labels_dir.expect("method pim's labels are checked above"), &set)?;
            let tasks = active_tasks(config, &names, &mut notices)?;
            let targets = TaskTargets::new(&tasks, &names, &labels);
            Objective::Physics { tasks, targets, weights: config.pretrain.loss_weights }
        }
        PretrainMethod::Masked => Objective::Masked { ratio: config.pretrain.mask_ratio },
        PretrainMethod::Transform => Objective::Transform {
            config: config.pretrain.transform.clone(),
            shape: WindowShape::new(&ChannelLayout::new(&config.dataset), set.time),
            normaliser: normaliser.clone(),
        },
    };
    // Transformations act on physical units, so that objective normalises per batch.
    if method != PretrainMethod::Transform {
        set.normalise(&normaliser);
    }
    // Inputs are good: only now does the run folder get its files.
    ensure_folder(&paths.out)?;
    if resume.is_none() {
        save_json(config, &paths.out.join("config.json"))?;
    }
    save_json(&normaliser, &paths.out.join(NORMALISER_FILE))?;
    let device = backend.device(config.seed)?;
    let training_device = device.clone().autodiff();
    let mut model = init_model(config, set.channels, &objective, &training_device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let (mut state, resumed_after) = match resume {
        Some(state) => {
            let fix = "delete the run folder's checkpoint/ to start over";
            model = load_module(model, &checkpoint_dir.join("model.bpk"), fix)?;
            optimizer = load_optimizer(optimizer, &checkpoint_dir.join("optimizer.bpk"))?;
            let done = state.history.len();
            progress.line(&format!("resuming {} after epoch {done}", paths.out.display()));
            (state, done)
        }
        None => (ResumeState { history: Vec::new(), best_epoch: 0, best_loss: f64::INFINITY }, 0),
    };
    std::fs::create_dir_all(&checkpoint_dir)
        .map_err(|e| Error::io("create folder", &checkpoint_dir, "check the folder is writable", e))?;

    let pretrain = &config.pretrain;
    let (names, weights) = (objective.term_names(), objective.term_weights());
    // A term no window reached (a transformation absent from a tiny set) is NaN: skip it.
    let weighted = |losses: &[f64]| weights.iter().zip(losses).filter(|(_, l)| !l.is_nan()).map(|(w, l)| w * l).sum();
    for epoch in resumed_after + 1..=pretrain.epochs {
        let started = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(epoch as u64);
        let mut order = train.clone();
        order.shuffle(&mut rng);
        let mut masks = DropoutMasks::new(config.seed, epoch as u64, config.model.dropout);

        let bar = progress.bar("epoch");
        bar.set_length(order.len() as u64);
        let mut sums = TermSums::new(names.len());
        for batch in order.chunks(pretrain.batch_size) {
            let terms = objective.terms(&model, &set, batch, Some(&mut masks), &mut rng, &training_device);
            let mut total: Option<Tensor<1>> = None;
            for (t, term) in terms.into_iter().enumerate() {
                let Some(term) = term else { continue };
                sums.add(t, &term.loss, term.count);
                let weighted = term.loss * weights[t];
                total = Some(match total {
                    Some(sum) => sum + weighted,
                    None => weighted,
                });
            }
            let total = total.expect("every batch has a term");
            let grads = GradientsParams::from_grads(total.backward(), &model);
            model = optimizer.step(pretrain.learning_rate, model, grads);
            bar.inc(batch.len() as u64);
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let train_terms = sums.means();
        let validation_terms = evaluate(&model.valid(), &objective, &set, &validation, config.seed, &device);
        let record = EpochRecord {
            epoch,
            train_loss: weighted(&train_terms),
            validation_loss: weighted(&validation_terms),
            train_terms,
            validation_terms,
            windows_per_second: train.len() as f64 / train_seconds,
            seconds: started.elapsed().as_secs_f64(),
        };
        let improved = record.validation_loss < state.best_loss;
        if improved {
            state.best_loss = record.validation_loss;
            state.best_epoch = epoch;
            save_module(model.encoder.clone(), &paths.out.join(ENCODER_FILE))?;
            save_module(model.clone(), &paths.out.join(PRETRAIN_MODEL_FILE))?;
        }
        progress.line(&epoch_line(&record, pretrain.epochs, &names, improved));
        state.history.push(record);
        write_metrics(&paths.out.join(METRICS_FILE), &names, &state.history)?;
        save_module(model.clone(), &checkpoint_dir.join("model.bpk"))?;
        save_optimizer(&optimizer, &checkpoint_dir.join("optimizer.bpk"))?;
        save_json(&state, &state_path)?;
    }
    if state.best_epoch == 0 {
        return Err(Error::Artefact {
            path: paths.out.join(METRICS_FILE),
            problem: "shows no epoch with a finite validation loss: training diverged".into(),
            fix: "lower pretrain.learning_rate, or check the inputs for extreme values".into(),
        });
    }
    if let Objective::Physics { tasks, .. } = &objective {
        save_json(tasks, &paths.out.join("tasks.json"))?;
    }
    Ok(PretrainReport {
        terms: names,
        history: state.history,
        best_epoch: state.best_epoch,
        best_loss: state.best_loss,
        resumed_after,
        notices,
    })
}

/// Running sums of each loss term over an epoch, weighted by example counts.
struct TermSums {
    sums: Vec<f64>,
    counts: Vec<usize>,
}

impl TermSums {
    fn new(terms: usize) -> Self {
        TermSums { sums: vec![0.0; terms], counts: vec![0; terms] }
    }

    fn add(&mut self, term: usize, loss: &Tensor<1>, count: usize) {
        self.sums[term] += f64::from(loss.clone().into_scalar::<f32>()) * count as f64;
        self.counts[term] += count;
    }

    /// Mean of each term (NaN for a term that saw no example).
    fn means(&self) -> Vec<f64> {
        self.sums.iter().zip(&self.counts).map(|(s, &c)| if c == 0 { f64::NAN } else { s / c as f64 }).collect()
    }
}

/// The configured tasks that the labels provide, each with its columns.
fn active_tasks(config: &PimConfig, names: &[String], notices: &mut Vec<String>) -> Result<Vec<TaskColumns>> {
    let mut tasks = Vec::new();
    for &task in &config.pretrain.tasks {
        let prefix = format!("{}.", task.name());
        let columns: Vec<String> = names.iter().filter(|n| n.starts_with(&prefix)).cloned().collect();
        if columns.is_empty() {
            notices.push(format!("the labels have no {} columns: that task is skipped", task.name()));
        } else if !tasks.iter().any(|t: &TaskColumns| t.task == task) {
            tasks.push(TaskColumns { task, columns });
        }
    }
    if tasks.is_empty() {
        return Err(Error::InvalidConfig {
            path: "<command line>".into(),
            field: "pretrain.tasks".into(),
            problem: "leaves no task the labels provide".into(),
            fix: "name at least one of speed, angle, symmetry that the dataset has".into(),
        });
    }
    Ok(tasks)
}

/// A fresh encoder with what `objective` needs on top, on `device`.
pub fn init_model(config: &PimConfig, channels: usize, objective: &Objective, device: &Device) -> PretrainModel {
    let encoder_config = encoder_config(config, channels);
    let head = |columns: usize, bins: usize| {
        PretextHeadConfig::new(encoder_config.embedding(), columns)
            .with_bins(bins)
            .with_hidden(config.model.head_hidden)
            .init(device)
    };
    let (heads, decoder) = match objective {
        Objective::Physics { tasks, .. } => {
            (tasks.iter().map(|t| head(t.columns.len(), config.labels.bins)).collect(), None)
        }
        // One logit per transformation: transformed or original.
        Objective::Transform { .. } => (Transformation::ALL.iter().map(|_| head(1, 1)).collect(), None),
        Objective::Masked { .. } => (
            Vec::new(),
            Some(
                DecoderConfig::new(channels)
                    .with_filters(config.model.filters)
                    .with_kernels(config.model.kernels)
                    .init(device),
            ),
        ),
    };
    PretrainModel { encoder: encoder_config.init(device), heads, decoder }
}

/// The encoder configuration of `config` for `channels` input channels.
pub fn encoder_config(config: &PimConfig, channels: usize) -> EncoderConfig {
    EncoderConfig::new(channels)
        .with_filters(config.model.filters)
        .with_kernels(config.model.kernels)
        .with_dropout(config.model.dropout)
}

/// Mean of each loss term over `windows` (no dropout, no gradients). Masks and
/// transformations come from one fixed stream, so every epoch is scored on the same ones.
fn evaluate(
    model: &PretrainModel,
    objective: &Objective,
    set: &WindowSet,
    windows: &[usize],
    seed: u64,
    device: &Device,
) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let mut sums = TermSums::new(objective.term_names().len());
    for batch in windows.chunks(256) {
        for (t, term) in objective.terms(model, set, batch, None, &mut rng, device).into_iter().enumerate() {
            if let Some(term) = term {
                sums.add(t, &term.loss, term.count);
            }
        }
    }
    sums.means()
}

fn epoch_line(record: &EpochRecord, epochs: usize, terms: &[String], best: bool) -> String {
    let parts: Vec<String> = terms.iter().zip(&record.train_terms).map(|(t, l)| format!("{t} {l:.3}")).collect();
    format!(
        "epoch {:>3}/{epochs}  train {:.4} ({})  validation {:.4}{}  {:.0} windows/s",
        record.epoch,
        record.train_loss,
        parts.join(", "),
        record.validation_loss,
        if best { " *" } else { "  " },
        record.windows_per_second
    )
}

fn write_metrics(path: &Path, task_names: &[String], history: &[EpochRecord]) -> Result<()> {
    let mut header = vec!["epoch".to_string(), "train_loss".into()];
    header.extend(task_names.iter().map(|t| format!("train_{t}")));
    header.push("validation_loss".into());
    header.extend(task_names.iter().map(|t| format!("validation_{t}")));
    header.extend(["windows_per_second".into(), "seconds".into()]);
    let mut text = header.join(",") + "\n";
    for r in history {
        let mut row = vec![r.epoch.to_string(), r.train_loss.to_string()];
        row.extend(r.train_terms.iter().map(f64::to_string));
        row.push(r.validation_loss.to_string());
        row.extend(r.validation_terms.iter().map(f64::to_string));
        row.extend([format!("{:.1}", r.windows_per_second), format!("{:.3}", r.seconds)]);
        text += &(row.join(",") + "\n");
    }
    super::checkpoint::save_text(path, &text)
}
