//! The `pretrain` stage: the encoder and one head per pretext task learn to predict the
//! physics pseudo-labels of the training subjects' windows; the weights with the lowest
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
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::checkpoint::{load_json, load_module, load_optimizer, save_json, save_module, save_optimizer};
use super::windows::{Normaliser, WindowSet, read_labels};
use super::{NORMALISER_FILE, check_same_groups, ensure_folder};
use crate::config::PimConfig;
use crate::data::config::SplitRole;
use crate::error::{Error, Result};
use crate::labels::Task;
use crate::model::{DropoutMasks, Encoder, EncoderConfig, PretextHead, PretextHeadConfig};
use crate::progress::Progress;

/// The best encoder, loaded by `pim finetune --init`.
pub const ENCODER_FILE: &str = "encoder.bpk";
/// The best encoder with its pretext heads (the whole pre-training network).
pub const PRETRAIN_MODEL_FILE: &str = "pretrain_model.bpk";
/// One row per epoch.
pub const METRICS_FILE: &str = "metrics.csv";
/// Resume state, rewritten after every epoch.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// Encoder plus one head per active task.
#[derive(Module, Debug)]
pub struct PretrainModel {
    /// The shared encoder.
    pub encoder: Encoder,
    /// Heads, in the order of the run's tasks.
    pub heads: Vec<PretextHead>,
}

/// Where the stage reads and writes.
#[derive(Debug, Clone)]
pub struct PretrainPaths {
    /// Output of `pim pseudo-label` (labels.csv, config.json).
    pub labels: PathBuf,
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
    /// Weighted total loss on the training windows (mean over batches).
    pub train_loss: f64,
    /// Per-task loss on the training windows, in task order.
    pub train_task_losses: Vec<f64>,
    /// Weighted total loss on the validation windows (the selection criterion).
    pub validation_loss: f64,
    /// Per-task loss on the validation windows.
    pub validation_task_losses: Vec<f64>,
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
    /// Tasks trained, with their columns.
    pub tasks: Vec<TaskColumns>,
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
    let labels_config_path = paths.labels.join("config.json");
    let labels_config: PimConfig =
        load_json(&labels_config_path, "pass --labels the --out folder of `pim pseudo-label`")?;
    check_same_groups(&labels_config, config, &labels_config_path, &["dataset", "physics", "labels"])?;

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
    let (names, labels) = read_labels(&paths.labels, &set)?;
    let train = set.indices_of(SplitRole::Train);
    let mut validation = set.indices_of(SplitRole::Validation);
    if validation.is_empty() {
        notices.push("no validation subjects: the checkpoint is chosen by training loss".into());
        validation = train.clone();
    }
    let normaliser = Normaliser::fit(&set, &train);
    set.normalise(&normaliser);
    let tasks = active_tasks(config, &names, &mut notices)?;
    // Inputs are good: only now does the run folder get its files.
    ensure_folder(&paths.out)?;
    if resume.is_none() {
        save_json(config, &paths.out.join("config.json"))?;
    }
    save_json(&normaliser, &paths.out.join(NORMALISER_FILE))?;
    let device = backend.device(config.seed)?;
    let training_device = device.clone().autodiff();
    let mut model = init_model(config, set.channels, &tasks, &training_device);
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
    let targets = TaskTargets::new(&tasks, &names, &labels);
    for epoch in resumed_after + 1..=pretrain.epochs {
        let started = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(epoch as u64);
        let mut order = train.clone();
        order.shuffle(&mut rng);
        let mut masks = DropoutMasks::new(config.seed, epoch as u64, config.model.dropout);

        let bar = progress.bar("epoch");
        bar.set_length(order.len() as u64);
        let mut sums = vec![0.0; tasks.len()];
        for batch in order.chunks(pretrain.batch_size) {
            let embedding = model.encoder.forward_train(set.batch(batch, &training_device), &mut masks);
            let mut total: Option<Tensor<1>> = None;
            for (t, (head, task)) in model.heads.iter().zip(&tasks).enumerate() {
                let loss = head.loss(head.forward(embedding.clone()), targets.batch(t, batch, &training_device));
                sums[t] += f64::from(loss.clone().into_scalar::<f32>()) * batch.len() as f64;
                let weighted = loss * pretrain.loss_weights.of(task.task);
                total = Some(match total {
                    Some(sum) => sum + weighted,
                    None => weighted,
                });
            }
            let total = total.expect("at least one task");
            let grads = GradientsParams::from_grads(total.backward(), &model);
            model = optimizer.step(pretrain.learning_rate, model, grads);
            bar.inc(batch.len() as u64);
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let train_task_losses: Vec<f64> = sums.iter().map(|s| s / train.len() as f64).collect();
        let validation_task_losses = evaluate(&model.valid(), &set, &targets, &validation, &device);
        let weighted =
            |losses: &[f64]| tasks.iter().zip(losses).map(|(t, l)| pretrain.loss_weights.of(t.task) * l).sum();
        let record = EpochRecord {
            epoch,
            train_loss: weighted(&train_task_losses),
            validation_loss: weighted(&validation_task_losses),
            train_task_losses,
            validation_task_losses,
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
        progress.line(&epoch_line(&record, pretrain.epochs, &tasks, improved));
        state.history.push(record);
        write_metrics(&paths.out.join(METRICS_FILE), &tasks, &state.history)?;
        save_module(model.clone(), &checkpoint_dir.join("model.bpk"))?;
        save_optimizer(&optimizer, &checkpoint_dir.join("optimizer.bpk"))?;
        save_json(&state, &state_path)?;
    }
    save_json(&tasks, &paths.out.join("tasks.json"))?;
    Ok(PretrainReport {
        tasks,
        history: state.history,
        best_epoch: state.best_epoch,
        best_loss: state.best_loss,
        resumed_after,
        notices,
    })
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

/// A fresh encoder and heads for `tasks` on `device`.
pub fn init_model(config: &PimConfig, channels: usize, tasks: &[TaskColumns], device: &Device) -> PretrainModel {
    let encoder_config = encoder_config(config, channels);
    PretrainModel {
        encoder: encoder_config.init(device),
        heads: tasks
            .iter()
            .map(|t| {
                PretextHeadConfig::new(encoder_config.embedding(), t.columns.len())
                    .with_bins(config.labels.bins)
                    .with_hidden(config.model.head_hidden)
                    .init(device)
            })
            .collect(),
    }
}

/// The encoder configuration of `config` for `channels` input channels.
pub fn encoder_config(config: &PimConfig, channels: usize) -> EncoderConfig {
    EncoderConfig::new(channels)
        .with_filters(config.model.filters)
        .with_kernels(config.model.kernels)
        .with_dropout(config.model.dropout)
}

/// Label bins of each task, laid out for fast batching.
struct TaskTargets {
    /// Per task: `[windows][columns]` flattened.
    bins: Vec<Vec<i64>>,
    columns: Vec<usize>,
}

impl TaskTargets {
    fn new(tasks: &[TaskColumns], names: &[String], labels: &[Vec<u8>]) -> Self {
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

    /// Targets of task `t` for the windows `batch`: `[batch, columns]`.
    fn batch(&self, t: usize, batch: &[usize], device: &Device) -> Tensor<2, Int> {
        let c = self.columns[t];
        let values: Vec<i64> = batch.iter().flat_map(|&i| self.bins[t][i * c..(i + 1) * c].iter().copied()).collect();
        Tensor::from_data(TensorData::new(values, [batch.len(), c]), device)
    }
}

/// Mean per-task loss over `windows` (no dropout, no gradients).
fn evaluate(
    model: &PretrainModel,
    set: &WindowSet,
    targets: &TaskTargets,
    windows: &[usize],
    device: &Device,
) -> Vec<f64> {
    let mut sums = vec![0.0; model.heads.len()];
    for batch in windows.chunks(256) {
        let embedding = model.encoder.forward(set.batch(batch, device));
        for (t, head) in model.heads.iter().enumerate() {
            let loss = head.loss(head.forward(embedding.clone()), targets.batch(t, batch, device));
            sums[t] += f64::from(loss.into_scalar::<f32>()) * batch.len() as f64;
        }
    }
    sums.iter().map(|s| s / windows.len() as f64).collect()
}

fn epoch_line(record: &EpochRecord, epochs: usize, tasks: &[TaskColumns], best: bool) -> String {
    let parts: Vec<String> =
        tasks.iter().zip(&record.train_task_losses).map(|(t, l)| format!("{} {l:.3}", t.task.name())).collect();
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

fn write_metrics(path: &Path, tasks: &[TaskColumns], history: &[EpochRecord]) -> Result<()> {
    let task_names: Vec<&str> = tasks.iter().map(|t| t.task.name()).collect();
    let mut header = vec!["epoch".to_string(), "train_loss".into()];
    header.extend(task_names.iter().map(|t| format!("train_{t}")));
    header.push("validation_loss".into());
    header.extend(task_names.iter().map(|t| format!("validation_{t}")));
    header.extend(["windows_per_second".into(), "seconds".into()]);
    let mut text = header.join(",") + "\n";
    for r in history {
        let mut row = vec![r.epoch.to_string(), r.train_loss.to_string()];
        row.extend(r.train_task_losses.iter().map(f64::to_string));
        row.push(r.validation_loss.to_string());
        row.extend(r.validation_task_losses.iter().map(f64::to_string));
        row.extend([format!("{:.1}", r.windows_per_second), format!("{:.3}", r.seconds)]);
        text += &(row.join(",") + "\n");
    }
    super::checkpoint::save_text(path, &text)
}
