//! The `pretrain` stage: the encoder learns a pretext objective on the training subjects'
//! windows (PIM: one head per physics task predicts the pseudo-labels; or a baseline:
//! masked reconstruction, transformation discrimination); the weights with the lowest
//! loss on the validation subjects' windows are kept.
//!
//! Each epoch's shuffle and dropout come from the config seed and the epoch number, and a
//! checkpoint (weights, optimiser state, history) is written after every epoch, so a run
//! that is killed and started again with the same command resumes where it stopped and
//! ends with the numbers an uninterrupted run would have.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::checkpoint::{load_module, load_optimizer, save_module, save_optimizer};
use super::metrics::ConfusionMatrix;
use super::objective::{Objective, TaskColumns, TaskTargets};
use super::windows::{Normaliser, WindowSet, WindowSource, read_labels};
use super::{NORMALISER_FILE, check_same_groups, epoch_randomness};
use crate::config::PimConfig;
use crate::config::{CheckpointRule, PretrainMethod, PretrainPool};
use crate::data::ChannelLayout;
use crate::data::config::SplitRole;
use crate::data::transform::{Transformation, WindowShape};
use crate::error::{Error, Result};
use crate::model::{Encoder, PretextTop, PretrainModel};
use crate::output::{
    CONFIG_FILE, RUN_FILE, RunLock, RunRecord, exit_here_if_asked, remove_stale, remove_temporaries, rename_into_place,
    require_finished,
};
use crate::output::{load_json, save_json};
use crate::progress::Progress;

/// The best encoder, loaded by `pim finetune --init`.
pub const ENCODER_FILE: &str = "encoder.bpk";
/// The best encoder with its pretext heads (the whole pre-training network).
pub const PRETRAIN_MODEL_FILE: &str = "pretrain_model.bpk";
/// One row per epoch.
pub const METRICS_FILE: &str = "metrics.csv";
/// Resume state: `epoch-<n>/` (network, optimiser and history after epoch n, written
/// whole under `staging/` and renamed, so a kill never leaves parts of two epochs), and
/// `epochs/` until the run ends.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Under [`CHECKPOINT_DIR`]: the whole network after each epoch, until the run ends.
const EPOCHS_DIR: &str = "epochs";
/// Under [`CHECKPOINT_DIR`]: where an epoch's resume state is written before its rename.
const STAGING_DIR: &str = "staging";
/// The resume state's files in an `epoch-<n>/` folder.
const STATE_FILE: &str = "state.json";
const MODEL_STATE_FILE: &str = "model.bpk";
const OPTIMIZER_STATE_FILE: &str = "optimizer.bpk";
/// Every checkpoint rule's encoder, `<rule>.bpk`.
pub const ENCODERS_DIR: &str = "encoders";
/// The epoch each checkpoint rule kept.
pub const CHECKPOINTS_FILE: &str = "checkpoints.json";
/// PIM's tasks and their label columns, in head order.
pub const TASKS_FILE: &str = "tasks.json";

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

/// What is saved after every epoch to resume from.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeState {
    history: Vec<EpochRecord>,
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
    /// Labelled validation windows, for the probe.
    probe: Vec<usize>,
    normaliser: Normaliser,
    objective: Objective,
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
    let resume = read_resume_state(config, &paths.out)?;
    if paths.out.join(RUN_FILE).is_file()
        && let Some(report) = finished_report(config, &paths.out, resume.as_ref())?
    {
        return Ok(report);
    }
    let started = std::time::Instant::now();
    let mut inputs = read_inputs(config, paths, labels_dir, &mut notices, progress)?;
    // Inputs are good: only now does the run folder get its files, under its lock, and
    // without an earlier run's completion mark.
    let _lock = RunLock::acquire(&paths.out)?;
    remove_stale(&paths.out, &[RUN_FILE])?;
    remove_temporaries(&paths.out)?;
    if resume.is_none() {
        // A fresh start: what an earlier run kept is not this run's (checkpoints.json would
        // otherwise vouch for it at the end).
        remove_stale(&paths.out, &[CHECKPOINTS_FILE, ENCODER_FILE, PRETRAIN_MODEL_FILE, TASKS_FILE])?;
        remove_folder(&paths.out.join(ENCODERS_DIR))?;
    }
    if resume.is_none() {
        save_json(config, &paths.out.join(CONFIG_FILE))?;
    }
    save_json(&inputs.normaliser, &paths.out.join(NORMALISER_FILE))?;
    let checkpoint_dir = paths.out.join(CHECKPOINT_DIR);
    std::fs::create_dir_all(checkpoint_dir.join(EPOCHS_DIR))
        .map_err(|e| Error::io("create folder", &checkpoint_dir, "check the folder is writable", e))?;

    let device = backend.device(config.seed)?;
    let training_device = device.clone().autodiff();
    let mut model = init_model(config, inputs.set.channels, &inputs.objective, &training_device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let (mut state, resumed_after) = match resume {
        Some(state) => {
            let fix = "delete the run folder's checkpoint/ to start over";
            let saved = epoch_dir(&paths.out, state.history.len());
            // A run with every epoch trained has nothing to train on (and may have dropped
            // its resume weights already).
            if state.history.len() < config.pretrain.epochs {
                model = load_module(model, &saved.join(MODEL_STATE_FILE), fix)?;
                optimizer = load_optimizer(optimizer, &saved.join(OPTIMIZER_STATE_FILE))?;
            }
            let done = state.history.len();
            progress.line(&format!("resuming {} after epoch {done}", paths.out.display()));
            (state, done)
        }
        None => (ResumeState { history: Vec::new() }, 0),
    };
    for epoch in resumed_after + 1..=config.pretrain.epochs {
        let (next, record) =
            train_epoch(config, &mut inputs, model, &mut optimizer, (epoch, &paths.out), &device, progress)?;
        model = next;
        check_finite(&record, &inputs.objective.term_names(), &paths.out)?;
        progress.line(&epoch_line(&record, config.pretrain.epochs, &inputs.objective.term_names()));
        state.history.push(record);
        save_epoch(&paths.out, &inputs.objective, &model, &optimizer, &state)?;
        // Tests interrupt here, at an exact epoch, instead of racing a timer with a kill.
        exit_here_if_asked(EXIT_AFTER_EPOCH_VAR, epoch);
    }
    // A run killed after it kept its checkpoints (checkpoints.json, written last) but before
    // run.json only has its completion mark to write.
    let kept = match kept_epochs(config, &paths.out, &state)? {
        Some(kept) => kept,
        None => keep_checkpoints(config, &inputs, &state.history, &paths.out, &training_device, &mut notices)?,
    };
    remove_folder(&paths.out.join(CHECKPOINT_DIR).join(EPOCHS_DIR))?;
    let best_epoch = kept[&config.pretrain.checkpoint];
    let mut record = run_record(config, &inputs, &state, &kept, resumed_after, &notices);
    record.backend = Some(backend.to_string());
    record.seconds.insert("this_run".into(), started.elapsed().as_secs_f64());
    record.write(&paths.out)?;
    drop_resume_weights(&paths.out, state.history.len())?;
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

/// After an epoch: its metrics row, its snapshot, and everything a resume needs as one
/// `epoch-<n>/` folder: written under `staging/`, renamed into place, and only then the
/// previous epoch's folder removed. A kill at any instant leaves one whole epoch to
/// resume from.
fn save_epoch(
    out: &Path,
    objective: &Objective,
    model: &PretrainModel,
    optimizer: &ModuleOptimizer,
    state: &ResumeState,
) -> Result<()> {
    let checkpoint_dir = out.join(CHECKPOINT_DIR);
    let epoch = state.history.len();
    write_metrics(&out.join(METRICS_FILE), &objective.term_names(), &state.history)?;
    save_module(model.clone(), &checkpoint_dir.join(EPOCHS_DIR).join(format!("{epoch}.bpk")))?;
    let staging = checkpoint_dir.join(STAGING_DIR);
    remove_folder(&staging)?;
    std::fs::create_dir(&staging)
        .map_err(|e| Error::io("create folder", &staging, "check the folder is writable", e))?;
    save_module(model.clone(), &staging.join(MODEL_STATE_FILE))?;
    save_optimizer(optimizer, &staging.join(OPTIMIZER_STATE_FILE))?;
    save_json(state, &staging.join(STATE_FILE))?;
    let saved = epoch_dir(out, epoch);
    remove_folder(&saved)?;
    rename_into_place(&staging, &saved)?;
    for (other, _) in saved_epochs(out)?.into_iter().filter(|&(_, e)| e != epoch) {
        remove_folder(&other)?;
    }
    Ok(())
}

/// Once a run is finished (`run.json` written), its last epoch's network and optimiser are
/// of no further use: a rerun reads only the history. The optimiser's file is also the one
/// artefact whose bytes vary between identical runs (Burn writes its tensors in hash-map
/// order).
fn drop_resume_weights(out: &Path, epoch: usize) -> Result<()> {
    remove_stale(&epoch_dir(out, epoch), &[MODEL_STATE_FILE, OPTIMIZER_STATE_FILE])
}

/// The resume state's folder of `epoch` in the run folder `out`.
fn epoch_dir(out: &Path, epoch: usize) -> PathBuf {
    out.join(CHECKPOINT_DIR).join(format!("epoch-{epoch}"))
}

/// Every `epoch-<n>/` folder under `out`'s checkpoint folder, with its n.
fn saved_epochs(out: &Path) -> Result<Vec<(PathBuf, usize)>> {
    let dir = out.join(CHECKPOINT_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", &dir, "check the folder is readable", e))?;
        let name = entry.file_name();
        if let Some(epoch) = name.to_str().and_then(|n| n.strip_prefix("epoch-")).and_then(|n| n.parse().ok()) {
            found.push((entry.path(), epoch));
        }
    }
    Ok(found)
}

/// Remove `dir` and what it holds, if it exists.
fn remove_folder(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove", dir, "check the folder is writable", e))
        }
        _ => Ok(()),
    }
}

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
    let encoders = kept.keys().map(|rule| out.join(ENCODERS_DIR).join(format!("{}.bpk", rule.name())));
    let weights = [out.join(ENCODER_FILE), out.join(PRETRAIN_MODEL_FILE)].into_iter().chain(encoders);
    if let Some(missing) = weights.into_iter().find(|path| !path.is_file()) {
        return Err(Error::Artefact {
            path: missing,
            problem: "is missing from this finished run".into(),
            fix: "delete the run folder and run it again".into(),
        });
    }
    let best_epoch = kept[&config.pretrain.checkpoint];
    let metrics = out.join(METRICS_FILE);
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

/// The loss term names of a `metrics.csv` (its `train_<term>` columns).
fn read_term_names(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read", path, "delete the run folder to start over", e))?;
    let header = text.lines().next().unwrap_or_default();
    Ok(header.split(',').filter_map(|c| c.strip_prefix("train_")).filter(|c| *c != "loss").map(String::from).collect())
}

/// The labels folder method `pim` learns from, checked against `config`.
fn check_labels<'a>(
    config: &PimConfig,
    paths: &'a PretrainPaths,
    notices: &mut Vec<String>,
) -> Result<Option<&'a Path>> {
    let method = config.pretrain.method;
    match (&paths.labels, method) {
        (Some(dir), PretrainMethod::Pim) => {
            require_finished(dir, "pseudo-label", "pass --labels the --out folder of a finished `pim pseudo-label`")?;
            let labels_config_path = dir.join(CONFIG_FILE);
            let labels_config: PimConfig =
                load_json(&labels_config_path, "pass --labels the --out folder of `pim pseudo-label`")?;
            check_same_groups(&labels_config, config, &labels_config_path, &["dataset", "physics", "labels"])?;
            Ok(Some(dir))
        }
        (None, PretrainMethod::Pim) => Err(Error::invalid_config(
            "<command line>",
            "--labels",
            "is missing: method pim learns the pseudo-labels",
            "run `pim pseudo-label` first and pass its --out as --labels",
        )),
        (Some(_), PretrainMethod::Masked | PretrainMethod::Transform) => {
            notices.push(format!("method {} does not use pseudo-labels: --labels is ignored", method.name()));
            Ok(None)
        }
        (None, PretrainMethod::Masked | PretrainMethod::Transform) => Ok(None),
    }
}

/// The resume state of an interrupted run in `out`, if any (its latest whole epoch),
/// checked against `config`.
fn read_resume_state(config: &PimConfig, out: &Path) -> Result<Option<ResumeState>> {
    if out.join(CHECKPOINT_DIR).join(STATE_FILE).is_file() {
        return Err(Error::Artefact {
            path: out.join(CHECKPOINT_DIR),
            problem: "holds the resume state of an older pim, which this one does not read".into(),
            fix: "delete the run folder to start over".into(),
        });
    }
    let Some(epoch) = saved_epochs(out)?.into_iter().map(|(_, epoch)| epoch).max() else { return Ok(None) };
    let state_path = epoch_dir(out, epoch).join(STATE_FILE);
    let run_config_path = out.join(CONFIG_FILE);
    let saved: PimConfig = load_json(&run_config_path, "delete the run folder to start over")?;
    check_same_groups(
        &saved,
        config,
        &run_config_path,
        &["seed", "dataset", "physics", "labels", "model", "pretrain"],
    )?;
    Ok(Some(load_json(&state_path, "delete the run folder's checkpoint/ to start over")?))
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
    if validation.is_empty() {
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
    let normaliser = Normaliser::fit_checked(&set, &train, paths.data.path())?;
    let objective = match config.pretrain.method {
        PretrainMethod::Pim => {
            let (names, labels) =
                read_labels(labels_dir.expect("method pim's labels are checked first"), &set, config.labels.bins)?;
            let tasks = active_tasks(config, &names, notices)?;
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
    if config.pretrain.method == PretrainMethod::Transform {
        set.check_intact(&(0..set.len()).collect::<Vec<_>>(), paths.data.path())?;
        set.check_finite(paths.data.path())?;
    } else {
        set.normalise(&normaliser, paths.data.path())?;
    }
    Ok(Inputs { set, pool, validation, probe, normaliser, objective })
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

/// The epoch each rule keeps, given every epoch's figures.
pub fn choose_epochs(history: &[EpochRecord], weights: &[f64]) -> BTreeMap<CheckpointRule, usize> {
    let first_lowest = |score: &dyn Fn(&EpochRecord) -> f64| {
        history
            .iter()
            .map(|r| (r.epoch, score(r)))
            .fold((0, f64::INFINITY), |best, (e, s)| if s < best.1 { (e, s) } else { best })
            .0
    };
    let lowest_total = first_lowest(&|r| r.validation_loss);
    // A term improved if it fell below its first-epoch validation loss at some epoch.
    let improving: Vec<bool> = (0..weights.len())
        .map(|t| history.iter().skip(1).any(|r| r.validation_terms[t] < history[0].validation_terms[t]))
        .collect();
    let improving_total = if improving.iter().any(|&i| i) {
        first_lowest(&|r| {
            let kept: Vec<f64> = weights.iter().zip(&improving).map(|(&w, &i)| if i { w } else { 0.0 }).collect();
            weighted_total(&kept, &r.validation_terms)
        })
    } else {
        lowest_total
    };
    let probe = history
        .iter()
        .filter_map(|r| r.probe_macro_f1.map(|f| (r.epoch, f)))
        .fold(None, |best: Option<(usize, f64)>, (e, f)| if best.is_none_or(|b| f > b.1) { Some((e, f)) } else { best })
        .map_or(lowest_total, |(e, _)| e);
    BTreeMap::from([
        (CheckpointRule::LowestValidationLoss, lowest_total),
        (CheckpointRule::LastEpoch, history.len()),
        (CheckpointRule::ImprovingTasks, improving_total),
        (CheckpointRule::Probe, probe),
    ])
}

/// Write every rule's encoder (`encoders/<rule>.bpk`), the config's rule's encoder and whole
/// network (`encoder.bpk`, `pretrain_model.bpk`), for PIM `tasks.json`, and last
/// `checkpoints.json`.
fn keep_checkpoints(
    config: &PimConfig,
    inputs: &Inputs,
    history: &[EpochRecord],
    out: &Path,
    device: &Device,
    notices: &mut Vec<String>,
) -> Result<BTreeMap<CheckpointRule, usize>> {
    let epochs_dir = out.join(CHECKPOINT_DIR).join(EPOCHS_DIR);
    let kept = choose_epochs(history, &inputs.objective.term_weights());
    if inputs.probe.is_empty() && config.pretrain.checkpoint == CheckpointRule::Probe {
        notices.push("no labelled validation windows for the probe: it keeps the lowest validation loss".into());
    }
    let encoders = out.join(ENCODERS_DIR);
    std::fs::create_dir_all(&encoders)
        .map_err(|e| Error::io("create folder", &encoders, "check the folder is writable", e))?;
    let fix = "delete the run folder to start over: its per-epoch checkpoints are incomplete";
    for (rule, &epoch) in &kept {
        let snapshot = epochs_dir.join(format!("{epoch}.bpk"));
        let model = load_module(init_model(config, inputs.set.channels, &inputs.objective, device), &snapshot, fix)?;
        save_module(model.encoder.clone(), &encoders.join(format!("{}.bpk", rule.name())))?;
        if *rule == config.pretrain.checkpoint {
            save_module(model.encoder.clone(), &out.join(ENCODER_FILE))?;
            save_module(model, &out.join(PRETRAIN_MODEL_FILE))?;
        }
    }
    if let Objective::Physics { tasks, .. } = &inputs.objective {
        save_json(tasks, &out.join(TASKS_FILE))?;
    }
    // Last, as the mark that every file above is written: a rerun then trusts them, and the
    // per-epoch snapshots can go.
    let by_name: BTreeMap<&str, usize> = kept.iter().map(|(rule, &epoch)| (rule.name(), epoch)).collect();
    save_json(&by_name, &out.join(CHECKPOINTS_FILE))?;
    Ok(kept)
}

/// The epoch each rule kept, where a run in `out` with every epoch of `state` trained
/// already wrote them (`checkpoints.json`, the last file of [`keep_checkpoints`]).
fn kept_epochs(config: &PimConfig, out: &Path, state: &ResumeState) -> Result<Option<BTreeMap<CheckpointRule, usize>>> {
    let checkpoints = out.join(CHECKPOINTS_FILE);
    if state.history.len() < config.pretrain.epochs || !checkpoints.is_file() {
        return Ok(None);
    }
    let by_name: BTreeMap<String, usize> = load_json(&checkpoints, "delete the run folder to start over")?;
    let kept: BTreeMap<CheckpointRule, usize> =
        CheckpointRule::ALL.into_iter().filter_map(|rule| by_name.get(rule.name()).map(|&e| (rule, e))).collect();
    Ok(kept.contains_key(&config.pretrain.checkpoint).then_some(kept))
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
        let columns: Vec<String> = names.iter().filter(|n| n.starts_with(&prefix)).cloned().collect();
        if columns.is_empty() {
            notices.push(format!("the labels have no {} columns: that task is skipped", task.name()));
        } else if !tasks.iter().any(|t: &TaskColumns| t.task == task) {
            tasks.push(TaskColumns { task, columns });
        }
    }
    if tasks.is_empty() {
        return Err(Error::invalid_config(
            "<command line>",
            "pretrain.tasks",
            "leaves no task the labels provide",
            "name at least one of speed, angle, symmetry that the dataset has",
        ));
    }
    Ok(tasks)
}

/// A fresh network for `objective`: the encoder and the heads or decoder on top of it.
pub fn init_model(config: &PimConfig, channels: usize, objective: &Objective, device: &Device) -> PretrainModel {
    let top = match objective {
        Objective::Physics { tasks, .. } => {
            PretextTop::Heads { columns: tasks.iter().map(|t| t.columns.len()).collect(), bins: config.labels.bins }
        }
        // One logit per transformation: transformed or original.
        Objective::Transform { .. } => PretextTop::Heads { columns: vec![1; Transformation::ALL.len()], bins: 1 },
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

/// Macro-F1 of a nearest-centroid probe of the frozen `encoder` on the labelled `windows`:
/// each class's windows are split in two halves by a seeded shuffle, and each half is
/// classified by the nearest class centroid (cosine) of the other half. A quick, training-free
/// measure of how well the embedding separates the activities.
pub fn probe(encoder: &Encoder, set: &WindowSet, windows: &[usize], seed: u64, device: &Device) -> f64 {
    let width = encoder.embedding_size();
    let mut embeddings = Vec::with_capacity(windows.len() * width);
    for batch in windows.chunks(256) {
        let values: Vec<f32> =
            encoder.forward(set.batch(batch, device)).into_data().try_to_vec().expect("f32 embeddings");
        embeddings.extend(values.into_iter().map(f64::from));
    }
    let classes: Vec<usize> = windows.iter().map(|&i| set.classes[i].expect("probe windows are labelled")).collect();
    nearest_centroid_macro_f1(&embeddings, width, &classes, seed)
}

/// The probe of [`probe`] on `embeddings` (`[windows, width]`, row-major) of windows of
/// `classes`.
pub fn nearest_centroid_macro_f1(embeddings: &[f64], width: usize, classes: &[usize], seed: u64) -> f64 {
    let unit: Vec<Vec<f64>> = embeddings
        .chunks(width)
        .map(|e| {
            let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            e.iter().map(|v| v / norm).collect()
        })
        .collect();
    let n_classes = classes.iter().max().map_or(0, |&c| c + 1);
    let mut half = vec![0usize; classes.len()];
    for class in 0..n_classes {
        let mut members: Vec<usize> = (0..classes.len()).filter(|&k| classes[k] == class).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(class as u64);
        members.shuffle(&mut rng);
        for (j, &k) in members.iter().enumerate() {
            half[k] = j % 2;
        }
    }
    // Unit centroids of each class in each half (None where a half holds none of it).
    let centroids: Vec<[Option<Vec<f64>>; 2]> = (0..n_classes)
        .map(|class| {
            [0, 1].map(|h| {
                let members: Vec<&Vec<f64>> =
                    (0..classes.len()).filter(|&k| classes[k] == class && half[k] == h).map(|k| &unit[k]).collect();
                (!members.is_empty()).then(|| {
                    let sum: Vec<f64> = (0..width).map(|d| members.iter().map(|m| m[d]).sum::<f64>()).collect();
                    let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                    sum.iter().map(|v| v / norm).collect()
                })
            })
        })
        .collect();
    let predicted: Vec<usize> = (0..classes.len())
        .map(|k| {
            let other = 1 - half[k];
            let cosine = |c: &Vec<f64>| c.iter().zip(&unit[k]).map(|(a, b)| a * b).sum::<f64>();
            (0..n_classes)
                .filter_map(|c| centroids[c][other].as_ref().map(|centroid| (c, cosine(centroid))))
                .fold(
                    None,
                    |best: Option<(usize, f64)>, (c, s)| if best.is_none_or(|b| s > b.1) { Some((c, s)) } else { best },
                )
                .map_or(classes[k], |(c, _)| c)
        })
        .collect();
    ConfusionMatrix::new(n_classes, classes, &predicted).macro_f1()
}

fn epoch_line(record: &EpochRecord, epochs: usize, terms: &[String]) -> String {
    let parts: Vec<String> = terms.iter().zip(&record.train_terms).map(|(t, l)| format!("{t} {l:.3}")).collect();
    let probe = record.probe_macro_f1.map(|f| format!("  probe {f:.3}")).unwrap_or_default();
    format!(
        "epoch {:>3}/{epochs}  train {:.4} ({})  validation {:.4}{probe}  {:.0} windows/s",
        record.epoch,
        record.train_loss,
        parts.join(", "),
        record.validation_loss,
        record.windows_per_second
    )
}

fn write_metrics(path: &Path, task_names: &[String], history: &[EpochRecord]) -> Result<()> {
    let mut header = vec!["epoch".to_string(), "train_loss".into()];
    header.extend(task_names.iter().map(|t| format!("train_{t}")));
    header.push("validation_loss".into());
    header.extend(task_names.iter().map(|t| format!("validation_{t}")));
    header.extend(["probe_macro_f1".into(), "windows_per_second".into(), "seconds".into()]);
    let mut text = header.join(",") + "\n";
    for r in history {
        let mut row = vec![r.epoch.to_string(), r.train_loss.to_string()];
        row.extend(r.train_terms.iter().map(f64::to_string));
        row.push(r.validation_loss.to_string());
        row.extend(r.validation_terms.iter().map(f64::to_string));
        row.push(r.probe_macro_f1.map(|f| f.to_string()).unwrap_or_default());
        row.extend([format!("{:.1}", r.windows_per_second), format!("{:.3}", r.seconds)]);
        text += &(row.join(",") + "\n");
    }
    crate::output::save_text(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, terms: [f64; 2], probe: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 0.0,
            train_terms: vec![0.0; 2],
            validation_loss: terms[0] + terms[1],
            validation_terms: terms.to_vec(),
            probe_macro_f1: probe,
            windows_per_second: 1.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn each_rule_keeps_its_epoch() {
        // Term 0 only rises (as PIM's angle task on DSADS); term 1 falls to epoch 3, then
        // rises. Totals: 3.0, 3.2, 3.3, 3.9: lowest at epoch 1. Without term 0: 2.0, 1.7,
        // 1.5, 1.9: lowest at epoch 3. The probe is best at epoch 2; the last epoch is 4.
        let history = vec![
            record(1, [1.0, 2.0], Some(0.1)),
            record(2, [1.5, 1.7], Some(0.5)),
            record(3, [1.8, 1.5], Some(0.4)),
            record(4, [2.0, 1.9], None),
        ];
        let kept = choose_epochs(&history, &[1.0, 1.0]);
        assert_eq!(kept[&CheckpointRule::LowestValidationLoss], 1);
        assert_eq!(kept[&CheckpointRule::ImprovingTasks], 3);
        assert_eq!(kept[&CheckpointRule::Probe], 2);
        assert_eq!(kept[&CheckpointRule::LastEpoch], 4);
        // A term of weight 0 has no say in the improving-tasks rule.
        let kept = choose_epochs(&history, &[1.0, 0.0]);
        assert_eq!(kept[&CheckpointRule::ImprovingTasks], 1, "only term 1 improved, and it weighs nothing");
    }

    #[test]
    fn no_improving_term_falls_back_to_the_total_and_no_probe_too() {
        let history = vec![record(1, [1.0, 1.0], None), record(2, [1.1, 1.2], None)];
        let kept = choose_epochs(&history, &[1.0, 1.0]);
        assert_eq!(kept[&CheckpointRule::ImprovingTasks], 1);
        assert_eq!(kept[&CheckpointRule::Probe], 1);
    }

    #[test]
    fn probe_of_separated_classes_is_perfect_and_of_identical_embeddings_is_not() {
        // Three classes along three axes, four windows each, slightly jittered.
        let classes: Vec<usize> = (0..12).map(|k| k % 3).collect();
        let separated: Vec<f64> = classes
            .iter()
            .enumerate()
            .flat_map(|(k, &c)| (0..3).map(move |d| if d == c { 1.0 } else { 0.01 * k as f64 }))
            .collect();
        assert_eq!(nearest_centroid_macro_f1(&separated, 3, &classes, 0), 1.0);
        // Identical embeddings: every window goes to the first class.
        let identical = vec![1.0; 12 * 3];
        let f1 = nearest_centroid_macro_f1(&identical, 3, &classes, 0);
        assert!(
            (f1 - (0.5 / 3.0)).abs() < 1e-12,
            "one class at recall 1, precision 1/3: F1 0.5 of 3 classes, got {f1}"
        );
    }
}
