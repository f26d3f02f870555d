//! The `pretrain` stage: the encoder learns a pretext objective on the training subjects'
//! windows (PIM: one head per physics task predicts the pseudo-labels; or a baseline:
//! masked reconstruction, transformation discrimination); the weights with the lowest
//! loss on the validation subjects' windows are kept.
//!
//! Each epoch's shuffle and dropout come from the config seed and the epoch number, and a
//! checkpoint (weights, optimiser state, history) is written after every epoch, so a run
//! that is killed and started again with the same command resumes where it stopped and
//! ends with the numbers an uninterrupted run would have.

mod checkpoints;
mod probe;
mod resume;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use checkpoints::choose_epochs;
use checkpoints::{keep_checkpoints, kept_epochs};
pub use probe::{nearest_centroid_macro_f1, probe};
use resume::{
    MODEL_STATE_FILE, OPTIMIZER_STATE_FILE, ResumeState, drop_resume_weights, epoch_dir, epoch_snapshots,
    read_resume_state, read_term_names, remove_folder, save_epoch,
};

use super::backend::Backend;
use super::checkpoint::{load_module, load_optimizer};
use super::objective::{Objective, Reconstruction, TaskColumns, TaskTargets};
use super::windows::{WindowSet, WindowSource, read_labels};
use super::{check_same_groups, epoch_randomness};
use crate::config::PimConfig;
use crate::config::{CheckpointRule, PretrainMethod, PretrainPool, PretrainTargets, Task};
use crate::data::ChannelLayout;
use crate::data::Normaliser;
use crate::data::dataset_config::SplitRole;
use crate::data::transform::{Transformation, WindowShape};
use crate::error::{Error, Result};
use crate::model::{PretextTop, PretrainModel};
use crate::progress::Progress;
use crate::run_folder::layout::{LabelsFolder, Layout, PretrainFolder, hand_offs};
use crate::run_folder::{RunFolder, RunRecord, exit_here_if_asked, require_finished};
use crate::run_folder::{load_json, save_json};

/// Where the stage reads and writes.
#[derive(Debug, Clone)]
pub struct PretrainPaths {
    /// Output of `pim pseudo-label` (labels.csv, config.json); method `pim` only.
    pub labels: Option<PathBuf>,
    /// Where the windows come from.
    pub data: WindowSource,
    /// The run folder to write.
    pub out: PathBuf,
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
    /// Weighted total loss on the validation windows (the default selection criterion).
    pub validation_loss: f64,
    /// Each loss term on the validation windows.
    pub validation_terms: Vec<f64>,
    /// Macro-F1 of the nearest-centroid probe on the validation windows (`None` without
    /// labelled validation windows).
    pub probe_macro_f1: Option<f64>,
    /// Training throughput (forward, backward, optimiser step).
    pub windows_per_second: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct PretrainReport {
    /// Names of the loss terms (PIM: its tasks).
    pub terms: Vec<String>,
    /// Every epoch's figures.
    pub history: Vec<EpochRecord>,
    /// The epoch each checkpoint rule keeps.
    pub kept: BTreeMap<CheckpointRule, usize>,
    /// The epoch whose weights are `encoder.bpk` (the config's rule).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_loss: f64,
    /// Epochs already done when this run started (0 for a fresh run).
    pub resumed_after: usize,
    /// Things the user should know.
    pub notices: Vec<String>,
}

/// The windows and objective of a run.
struct Inputs {
    set: WindowSet,
    /// Windows trained on.
    pool: Vec<usize>,
    /// Windows scored for the validation loss.
    validation: Vec<usize>,
    /// Whether those are held out (validation subjects), not the training windows.
    held_out: bool,
    /// Labelled validation windows, for the probe.
    probe: Vec<usize>,
    normaliser: Normaliser,
    objective: Objective,
}

/// Take the run folder's lock and read its resume state under it; clear what the new run
/// replaces (an earlier completion mark, temporaries, and on a fresh start what an earlier
/// run kept), and write the config and normaliser. Called once the inputs are good, so a
/// run refused for its inputs leaves the folder as it was.
fn prepare_run_folder(config: &PimConfig, out: &Path, inputs: &Inputs) -> Result<(RunFolder, Option<ResumeState>)> {
    let folder = RunFolder::open_own(out)?;
    // Read under the lock: another pim may have trained into the folder meanwhile.
    let resume = read_resume_state(config, out)?;
    let layout = PretrainFolder::new(out);
    if resume.is_none() {
        // A fresh start: what an earlier run kept is not this run's (checkpoints.json would
        // otherwise vouch for it at the end).
        let earlier = [layout.checkpoints(), layout.encoder(), layout.pretrain_model(), layout.tasks()];
        folder.clear(&[&earlier[..], &hand_offs(out)].concat())?;
        remove_folder(&layout.rule_encoders())?;
        save_json(config, &layout.config())?;
    } else {
        folder.clear(&[])?;
        folder.clear_temporaries_under(&layout.rule_encoders())?;
    }
    folder.clear_temporaries_under(&layout.checkpoint_dir())?;
    save_json(&inputs.normaliser, &layout.normaliser())?;
    let snapshots = epoch_snapshots(out);
    std::fs::create_dir_all(&snapshots)
        .map_err(|e| Error::io("create folder", &snapshots, "check the folder is writable", e))?;
    Ok((folder, resume))
}

/// A fresh network and optimiser, or the last whole epoch's of `resume`, with the history.
fn start_or_resume(
    config: &PimConfig,
    inputs: &Inputs,
    resume: Option<ResumeState>,
    out: &Path,
    device: &Device,
    progress: &dyn Progress,
) -> Result<(PretrainModel, ModuleOptimizer, ResumeState)> {
    let mut model = init_model(config, inputs.set.channels, &inputs.objective, device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let Some(state) = resume else { return Ok((model, optimizer, ResumeState { history: Vec::new() })) };
    let fix = "delete the run folder's checkpoint/ to start over";
    let saved = epoch_dir(out, state.history.len());
    // A run with every epoch trained has nothing to train on (and may have dropped its
    // resume weights already).
    if state.history.len() < config.pretrain.epochs {
        model = load_module(model, &saved.join(MODEL_STATE_FILE), fix)?;
        optimizer = load_optimizer(optimizer, &saved.join(OPTIMIZER_STATE_FILE))?;
    }
    progress.line(&format!("resuming {} after epoch {}", out.display(), state.history.len()));
    Ok((model, optimizer, state))
}

/// Run pre-training with `config` (effective, flags applied) on `backend`.
pub fn pretrain(
    config: &PimConfig,
    paths: &PretrainPaths,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<PretrainReport> {
    let mut notices = Vec::new();
    let labels_dir = check_labels(config, paths, &mut notices)?;
    let narrows = !config.model.sensors.is_empty() && config.pretrain.method.learns_physics();
    if config.pretrain.targets == PretrainTargets::SeenSensors && !narrows {
        notices.push(
            "pretrain.targets seen_sensors changes nothing here: it narrows the pseudo-labels of methods pim and \
             pim+masked to the sensors of model.sensors"
                .into(),
        );
    }
    if PretrainFolder::new(&paths.out).run_record().is_file()
        && let Some(report) = finished_report(config, &paths.out, read_resume_state(config, &paths.out)?.as_ref())?
    {
        return Ok(report);
    }
    let started = std::time::Instant::now();
    let mut inputs = read_inputs(config, paths, labels_dir, &mut notices, progress)?;
    let (folder, resume) = prepare_run_folder(config, &paths.out, &inputs)?;
    let device = backend.device(config.seed)?;
    let training_device = device.clone().autodiff();
    let (mut model, mut optimizer, mut state) =
        start_or_resume(config, &inputs, resume, &paths.out, &training_device, progress)?;
    let resumed_after = state.history.len();
    for epoch in resumed_after + 1..=config.pretrain.epochs {
        let (next, record) =
            train_epoch(config, &mut inputs, model, &mut optimizer, (epoch, &paths.out), &device, progress)?;
        model = next;
        check_finite(&record, &inputs.objective.term_names(), &paths.out)?;
        progress.line(&epoch_line(&record, config.pretrain.epochs, &inputs.objective.term_names(), inputs.held_out));
        state.history.push(record);
        save_epoch(&paths.out, &inputs.objective, &model, &optimizer, &state)?;
        // Tests interrupt here, at an exact epoch, instead of racing a timer with a kill.
        exit_here_if_asked(EXIT_AFTER_EPOCH_VAR, epoch);
    }
    // Here, not where the checkpoints are kept: a rerun that finds them kept says it too.
    if inputs.probe.is_empty() && config.pretrain.checkpoint == CheckpointRule::Probe {
        notices.push("no labelled validation windows for the probe: it keeps the lowest validation loss".into());
    }
    // A run killed after it kept its checkpoints (checkpoints.json, written last) but before
    // run.json only has its completion mark to write.
    let kept = match kept_epochs(config, &paths.out, &state)? {
        Some(kept) => kept,
        None => keep_checkpoints(config, &inputs, &state.history, &paths.out, &training_device)?,
    };
    remove_folder(&epoch_snapshots(&paths.out))?;
    let best_epoch = kept[&config.pretrain.checkpoint];
    let mut record = run_record(config, &inputs, &state, &kept, resumed_after, &notices);
    record.backend = Some(backend.to_string());
    record.seconds.insert("this_run".into(), started.elapsed().as_secs_f64());
    // Before the completion mark, under the lock: a rerun of a finished run needs only the
    // history (and finds the weights gone, as here, if it was killed in between).
    drop_resume_weights(&paths.out, state.history.len())?;
    folder.finish(&record)?;
    Ok(PretrainReport {
        best_loss: state.history[best_epoch - 1].validation_loss,
        terms: inputs.objective.term_names(),
        history: state.history,
        kept,
        best_epoch,
        resumed_after,
        notices,
    })
}

/// The environment variable that makes pre-training exit (status 137, as if killed) right
/// after saving the epoch it names: tests interrupt a run deterministically with it.
pub const EXIT_AFTER_EPOCH_VAR: &str = "PIM_TEST_EXIT_AFTER_EPOCH";

/// `run.json` of a finished pre-training (the caller adds the backend and this run's time).
fn run_record(
    config: &PimConfig,
    inputs: &Inputs,
    state: &ResumeState,
    kept: &BTreeMap<CheckpointRule, usize>,
    resumed_after: usize,
    notices: &[String],
) -> RunRecord {
    let pool_subjects: BTreeSet<&str> = inputs.pool.iter().map(|&i| inputs.set.subjects[i].as_str()).collect();
    let details = serde_json::json!({
        "method": config.pretrain.method,
        "pool": config.pretrain.pool,
        "pool_subjects": pool_subjects,
        "pool_windows": inputs.pool.len(),
        "epochs": state.history.len(),
        "resumed_after": resumed_after,
        "kept_epochs": kept.iter().map(|(rule, epoch)| (rule.name(), epoch)).collect::<BTreeMap<_, _>>(),
    });
    let mut record = RunRecord::new("pretrain", config.seed, notices, details);
    record.simd = Some(crate::model::conv::simd::level().name().into());
    record.seconds.insert("training_all_epochs".into(), state.history.iter().map(|r| r.seconds).sum());
    record
}

/// The report of a run in `out` that already finished all its epochs and kept its
/// checkpoints (a rerun, e.g. by a resumed grid), without reading any data.
fn finished_report(config: &PimConfig, out: &Path, resume: Option<&ResumeState>) -> Result<Option<PretrainReport>> {
    let Some(state) = resume else { return Ok(None) };
    let Some(kept) = kept_epochs(config, out, state)? else { return Ok(None) };
    // A finished run whose kept weights went missing cannot be made whole again (its
    // per-epoch snapshots are gone): say so rather than let a later stage trip on it.
    let layout = PretrainFolder::new(out);
    let encoders = kept.keys().map(|rule| layout.rule_encoder(rule.name()));
    let weights = [layout.encoder(), layout.pretrain_model()].into_iter().chain(encoders);
    if let Some(missing) = weights.into_iter().find(|path| !path.is_file()) {
        return Err(Error::Artefact {
            path: missing,
            problem: "is missing from this finished run".into(),
            fix: "delete the run folder and run it again".into(),
        });
    }
    let best_epoch = kept[&config.pretrain.checkpoint];
    let metrics = layout.metrics();
    let terms = read_term_names(&metrics)?;
    Ok(Some(PretrainReport {
        best_loss: state.history[best_epoch - 1].validation_loss,
        terms,
        history: state.history.clone(),
        kept,
        best_epoch,
        resumed_after: state.history.len(),
        notices: Vec::new(),
    }))
}

/// The labels folder method `pim` learns from, checked against `config`.
fn check_labels<'a>(
    config: &PimConfig,
    paths: &'a PretrainPaths,
    notices: &mut Vec<String>,
) -> Result<Option<&'a Path>> {
    let method = config.pretrain.method;
    match (&paths.labels, method) {
        (Some(dir), PretrainMethod::Pim | PretrainMethod::PimMasked) => {
            require_finished(dir, "pseudo-label", "pass --labels the --out folder of a finished `pim pseudo-label`")?;
            let labels_config_path = LabelsFolder::new(dir).config();
            let labels_config: PimConfig =
                load_json(&labels_config_path, "pass --labels the --out folder of `pim pseudo-label`")?;
            check_same_groups(&labels_config, config, &labels_config_path, &["dataset", "physics", "labels"])?;
            Ok(Some(dir))
        }
        (None, PretrainMethod::Pim | PretrainMethod::PimMasked) => Err(Error::usage(
            "--labels",
            format!("is missing: method {} learns the pseudo-labels", method.name()),
            "run `pim pseudo-label` first and pass its --out as --labels",
        )),
        (Some(_), PretrainMethod::Masked | PretrainMethod::Transform) => {
            notices.push(format!("method {} does not use pseudo-labels: --labels is ignored", method.name()));
            Ok(None)
        }
        (None, PretrainMethod::Masked | PretrainMethod::Transform) => Ok(None),
    }
}

/// The windows (normalised unless the objective transforms them first), the pool trained
/// on, the validation windows and the objective.
fn read_inputs(
    config: &PimConfig,
    paths: &PretrainPaths,
    labels_dir: Option<&Path>,
    notices: &mut Vec<String>,
    progress: &dyn Progress,
) -> Result<Inputs> {
    let bar = progress.bar("reading");
    let mut set = WindowSet::load(config, &paths.data, &SplitRole::ALL, &bar)?;
    bar.finish_and_clear();
    notices.extend(set.notices.iter().cloned());
    let train = set.indices_of(SplitRole::Train);
    let mut validation = set.indices_of(SplitRole::Validation);
    let held_out = !validation.is_empty();
    if !held_out {
        notices.push("no validation subjects: the checkpoint is chosen by training loss".into());
        validation = train.clone();
    }
    let probe = set.labelled_indices_of(SplitRole::Validation);
    let pool = match config.pretrain.pool {
        PretrainPool::TrainingSubjects => train.clone(),
        PretrainPool::AllSubjects => {
            notices.push(
                "transductive pre-training (pool all_subjects): the validation and test subjects' windows are \
                 trained on, without their labels; the validation loss is no longer held out"
                    .into(),
            );
            (0..set.len()).collect()
        }
    };
    let normaliser = set.fit_normaliser_checked(&train, paths.data.path())?;
    let objective = match config.pretrain.method {
        PretrainMethod::Pim | PretrainMethod::PimMasked => {
            let (names, labels) =
                read_labels(labels_dir.expect("method pim's labels are checked first"), &set, config.labels.bins)?;
            let tasks = active_tasks(config, &names, notices)?;
            let targets = TaskTargets::new(&tasks, &names, &labels);
            let reconstruction = Reconstruction::of(&config.pretrain);
            Objective::Physics { tasks, targets, weights: config.pretrain.loss_weights, reconstruction }
        }
        PretrainMethod::Masked => Objective::Masked { ratio: config.pretrain.mask_ratio },
        PretrainMethod::Transform => Objective::Transform {
            config: config.pretrain.transform.clone(),
            shape: WindowShape::new(&ChannelLayout::seen(&config.dataset, &config.model.sensors), set.time),
            normaliser: normaliser.clone(),
        },
    };
    // Transformations act on physical units, so that objective normalises per batch.
    if config.pretrain.method == PretrainMethod::Transform {
        set.check_intact(&(0..set.len()).collect::<Vec<_>>(), paths.data.path())?;
        set.check_finite(paths.data.path())?;
    } else {
        set.normalise(&normaliser, paths.data.path())?;
    }
    Ok(Inputs { set, pool, validation, held_out, probe, normaliser, objective })
}

/// One epoch: a seeded shuffle of the pool, a step per batch, then the validation loss and
/// the probe. Returns the updated model and the epoch's figures, or an error naming the
/// first loss term that turned non-finite (the run folder `out` keeps earlier epochs).
fn train_epoch(
    config: &PimConfig,
    inputs: &mut Inputs,
    mut model: PretrainModel,
    optimizer: &mut ModuleOptimizer,
    (epoch, out): (usize, &Path),
    device: &Device,
    progress: &dyn Progress,
) -> Result<(PretrainModel, EpochRecord)> {
    let started = Instant::now();
    let training_device = device.clone().autodiff();
    let (order, mut masks, mut rng) = epoch_randomness(config.seed, epoch, &inputs.pool, config.model.dropout);
    let objective = &inputs.objective;
    let weights = objective.term_weights();
    let bar = progress.bar("epoch");
    bar.set_length(order.len() as u64);
    let mut sums = TermSums::new(weights.len());
    for batch in order.chunks(config.pretrain.batch_size) {
        let terms = objective.terms(&model, &inputs.set, batch, Some(&mut masks), &mut rng, &training_device);
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
        model = optimizer.step(config.pretrain.learning_rate, model, grads);
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    if let Some((term, value)) = sums.first_non_finite() {
        return Err(non_finite(out, epoch, objective.term_names()[term].clone(), value));
    }
    let train_seconds = started.elapsed().as_secs_f64();
    let train_terms = sums.means();
    let scored = model.valid();
    let validation_terms = evaluate(&scored, objective, &inputs.set, &inputs.validation, config.seed, device);
    let probe_macro_f1 =
        (!inputs.probe.is_empty()).then(|| probe(&scored.encoder, &inputs.set, &inputs.probe, config.seed, device));
    let record = EpochRecord {
        epoch,
        train_loss: weighted_total(&weights, &train_terms),
        validation_loss: weighted_total(&weights, &validation_terms),
        train_terms,
        validation_terms,
        probe_macro_f1,
        windows_per_second: order.len() as f64 / train_seconds,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((model, record))
}

/// The weighted sum of loss terms; a term no window reached (a transformation absent from a
/// tiny set) is NaN and skipped.
fn weighted_total(weights: &[f64], losses: &[f64]) -> f64 {
    weights.iter().zip(losses).filter(|(_, l)| !l.is_nan()).map(|(w, l)| w * l).sum()
}

/// Fail on a non-finite training or validation loss, naming the epoch and the term.
fn check_finite(record: &EpochRecord, names: &[String], out: &Path) -> Result<()> {
    let terms = names.iter().zip(&record.train_terms).chain(names.iter().zip(&record.validation_terms));
    let totals = [("total training", record.train_loss), ("total validation", record.validation_loss)];
    let bad = terms
        .filter(|(_, v)| v.is_infinite())
        .map(|(n, &v)| (n.clone(), v))
        .chain(totals.into_iter().filter(|(_, v)| !v.is_finite()).map(|(n, v)| (n.to_string(), v)))
        .next();
    match bad {
        Some((term, value)) => Err(non_finite(out, record.epoch, term, value)),
        None => Ok(()),
    }
}

/// The error of a loss `term` that is `value` (NaN or infinite) at `epoch`.
fn non_finite(out: &Path, epoch: usize, term: String, value: f64) -> Error {
    Error::NonFinite {
        path: out.to_path_buf(),
        epoch,
        term,
        value,
        fix: "lower pretrain.learning_rate, check the loss weights, or look for extreme values in the input; \
              the checkpoints of earlier epochs are kept"
            .into(),
    }
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

    /// The first term that saw examples but whose sum is not finite, with its mean.
    fn first_non_finite(&self) -> Option<(usize, f64)> {
        (0..self.sums.len())
            .find(|&t| self.counts[t] > 0 && !self.sums[t].is_finite())
            .map(|t| (t, self.sums[t] / self.counts[t] as f64))
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
        let all: Vec<&String> = names.iter().filter(|n| n.starts_with(&prefix)).collect();
        let columns: Vec<String> = all.iter().filter(|n| is_target(config, n)).map(|n| n.to_string()).collect();
        if all.is_empty() {
            notices.push(format!("the labels have no {} columns: that task is skipped", task.name()));
        } else if columns.is_empty() {
            notices.push(format!(
                "pretrain.targets seen_sensors leaves no {} column of the sensors the encoder reads ({}): that task is skipped",
                task.name(),
                config.model.sensors.join(", ")
            ));
        } else if !tasks.iter().any(|t: &TaskColumns| t.task == task) {
            tasks.push(TaskColumns { task, columns });
        }
    }
    if tasks.is_empty() {
        return Err(Error::usage(
            "pretrain.tasks",
            "leaves no task the labels provide",
            "name at least one of speed, angle, symmetry that the dataset has",
        ));
    }
    Ok(tasks)
}

/// Whether label column `name` (`speed.<sensor>`, `angle.<sensor>.<axis>`,
/// `symmetry.<left>.<right>`) is a target: under `pretrain.targets` `seen_sensors`, only a
/// sensor the encoder reads (`model.sensors`), or a pair whose two sides it reads.
fn is_target(config: &PimConfig, name: &str) -> bool {
    let seen = &config.model.sensors;
    if config.pretrain.targets == PretrainTargets::AllSensors || seen.is_empty() {
        return true;
    }
    let mut parts = name.split('.');
    let sides = if parts.next() == Some(Task::Symmetry.name()) { 2 } else { 1 };
    parts.take(sides).all(|sensor| seen.iter().any(|s| s == sensor))
}

/// A fresh network for `objective`: the encoder and the heads or decoder on top of it.
pub fn init_model(config: &PimConfig, channels: usize, objective: &Objective, device: &Device) -> PretrainModel {
    let top = match objective {
        Objective::Physics { tasks, reconstruction, .. } => PretextTop::Heads {
            columns: tasks.iter().map(|t| t.columns.len()).collect(),
            bins: config.labels.bins,
            decoder: reconstruction.is_some(),
        },
        // One logit per transformation: transformed or original.
        Objective::Transform { .. } => {
            PretextTop::Heads { columns: vec![1; Transformation::ALL.len()], bins: 1, decoder: false }
        }
        Objective::Masked { .. } => PretextTop::Decoder,
    };
    PretrainModel::init(&config.model, channels, &top, device)
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

/// One epoch's progress line. Without validation subjects (`held_out` false) the scored loss
/// is the training windows' without dropout, and is named so.
fn epoch_line(record: &EpochRecord, epochs: usize, terms: &[String], held_out: bool) -> String {
    let parts: Vec<String> = terms.iter().zip(&record.train_terms).map(|(t, l)| format!("{t} {l:.3}")).collect();
    let probe = record.probe_macro_f1.map(|f| format!("  probe {f:.3}")).unwrap_or_default();
    let scored = if held_out { "validation" } else { "training windows scored" };
    format!(
        "epoch {:>3}/{epochs}  train {:.4} ({})  {scored} {:.4}{probe}  {:.0} windows/s",
        record.epoch,
        record.train_loss,
        parts.join(", "),
        record.validation_loss,
        record.windows_per_second
    )
}
