//! The `finetune` stage: draw k labelled windows per class from the training subjects
//! (seeded, stratified, saved), train encoder and classifier on them (or the classifier
//! alone on a frozen encoder), and keep the weights with the best macro-F1 on the
//! validation subjects' labelled windows that `finetune.validation` allows: as many per
//! class as the shots (the default), every one (an oracle), or none (the last epoch is
//! kept). Without a pre-trained encoder this is the supervised-from-scratch baseline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::Serialize;

use super::backend::Backend;
use super::checkpoint::{load_module, save_module};
use super::windows::{WindowSet, WindowSource};
use super::{check_same_groups, epoch_randomness};
use crate::config::PimConfig;
use crate::config::{CheckpointRule, ValidationLabels};
use crate::data::Normaliser;
use crate::data::dataset_config::SplitRole;
use crate::data::kshot::draw_k_shot;
use crate::error::{Error, Result};
use crate::metrics::ConfusionMatrix;
use crate::model::{Classifier, Encoder, cross_entropy};
use crate::progress::Progress;
use crate::run_folder::layout::{FinetuneFolder, Layout, PretrainFolder, hand_offs};
use crate::run_folder::{RunFolder, RunRecord, require_finished};
use crate::run_folder::{load_json, save_json, save_text};

/// Encoder plus classifier.
#[derive(Module, Debug)]
pub struct ClassifierModel {
    /// The encoder (pre-trained or random).
    pub encoder: Encoder,
    /// The activity classifier.
    pub classifier: Classifier,
}

impl ClassifierModel {
    /// A fresh model for `config` with `channels` inputs on `device`.
    pub fn init(config: &PimConfig, channels: usize, device: &Device) -> Self {
        crate::model::number_parameters(ClassifierModel {
            classifier: config.model.classifier(config.dataset.classes.len()).init(device),
            encoder: config.model.encoder(channels).init(device),
        })
    }

    /// Predicted class of each of `windows` (no dropout; `device` plain).
    pub fn predict(&self, set: &WindowSet, windows: &[usize], device: &Device) -> Vec<usize> {
        let mut predicted = Vec::with_capacity(windows.len());
        for batch in windows.chunks(256) {
            let logits = self.classifier.forward(self.encoder.forward(set.batch(batch, device)));
            let classes: Vec<i64> = logits.argmax(1).into_data().convert::<i64>().try_to_vec().expect("int data");
            predicted.extend(classes.into_iter().map(|c| c as usize));
        }
        predicted
    }
}

/// A pre-trained encoder and the `pim pretrain` run folder that made it (its config and
/// normaliser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Init {
    /// The run folder.
    pub run: PathBuf,
    /// The encoder's weights.
    pub encoder: PathBuf,
}

impl Init {
    /// The encoder that `path` names: a run folder (its `encoder.bpk`, or with `rule` its
    /// `encoders/<rule>.bpk`), or an encoder file in one (`encoder.bpk`,
    /// `encoders/<rule>.bpk`).
    pub fn resolve(path: &Path, rule: Option<CheckpointRule>) -> Self {
        if path.is_dir() {
            let run = PretrainFolder::new(path);
            let encoder = match rule {
                Some(rule) => run.rule_encoder(rule.name()),
                None => run.encoder(),
            };
            return Init { run: path.to_path_buf(), encoder };
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        let above = folder.parent().unwrap_or(Path::new("."));
        let run = if PretrainFolder::new(above).rule_encoders() == folder {
            above.to_path_buf()
        } else {
            folder.to_path_buf()
        };
        Init { run, encoder: path.to_path_buf() }
    }
}

/// Where the stage reads and writes.
#[derive(Debug, Clone)]
pub struct FinetunePaths {
    /// Where the windows come from.
    pub data: WindowSource,
    /// A pre-trained `encoder.bpk` (its folder holds the run's config and normaliser), or
    /// `None` to start from random weights.
    pub init: Option<Init>,
    /// The run folder to write.
    pub out: PathBuf,
}

/// Figures of one fine-tuning epoch.
#[derive(Debug, Clone, Serialize)]
pub struct FinetuneEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean cross-entropy on the drawn windows.
    pub train_loss: f64,
    /// Macro-F1 on the validation subjects, if this epoch was scored.
    pub validation_macro_f1: Option<f64>,
    /// Accuracy on the validation subjects, if this epoch was scored.
    pub validation_accuracy: Option<f64>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct FinetuneReport {
    /// Windows drawn.
    pub drawn: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Its validation macro-F1 (`None` where no validation labels were allowed).
    pub best_macro_f1: Option<f64>,
    /// Every epoch.
    pub history: Vec<FinetuneEpoch>,
    /// Wall time.
    pub seconds: f64,
    /// Things the user should know (short classes, no validation subjects).
    pub notices: Vec<String>,
}

/// Fine-tune with `config` (effective: seed, shots and freeze_encoder applied) on `backend`.
/// A run that fails in a folder it created leaves no folder behind.
pub fn finetune(
    config: &PimConfig,
    paths: &FinetunePaths,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<FinetuneReport> {
    let created = !paths.out.exists();
    // Locked first: a run that fails cleans up only a folder it created and holds.
    let folder = RunFolder::open_own(&paths.out)?;
    match finetune_into(config, paths, backend, &folder, progress) {
        Ok(report) => {
            folder.finish(&run_record(config, paths, backend, &report))?;
            Ok(report)
        }
        Err(error) => {
            if created {
                // Best effort, still under the lock: the error matters more than a failed clean-up.
                let _ = std::fs::remove_dir_all(&paths.out);
            }
            Err(error)
        }
    }
}

/// [`finetune`] in `folder`, leaving what it wrote on failure.
fn finetune_into(
    config: &PimConfig,
    paths: &FinetunePaths,
    backend: Backend,
    folder: &RunFolder,
    progress: &dyn Progress,
) -> Result<FinetuneReport> {
    let started = Instant::now();
    // Check the pre-trained run before reading data or writing anything.
    let pretrained_normaliser = check_init(config, paths.init.as_ref())?;
    let bar = progress.bar("reading");
    let all = WindowSet::load(config, &paths.data, &[SplitRole::Train, SplitRole::Validation], &bar)?;
    bar.finish_and_clear();
    let mut notices = all.notices.clone();
    let train = all.indices_of(SplitRole::Train);
    let normaliser = match pretrained_normaliser {
        Some(normaliser) => normaliser,
        None => {
            all.check_intact(&train, paths.data.path())?;
            all.fit_normaliser_checked(&train, paths.data.path())?
        }
    };
    let drawn = draw_shots(config, &all, &paths.data, &mut notices)?;
    let mut validation = validation_windows(config, &all);
    if validation.is_empty() && config.finetune.validation != ValidationLabels::None {
        notices.push("no labelled validation windows: the checkpoint is chosen on the drawn training windows".into());
        validation = drawn.clone();
    }
    // Only the drawn and the validation windows are used from here: copy those alone.
    let used = [&drawn[..], &validation].concat();
    all.check_intact(&used, paths.data.path())?;
    let mut set = all.subset(&used);
    drop(all);
    set.normalise(&normaliser, paths.data.path())?;
    let (drawn, validation): (Vec<usize>, Vec<usize>) =
        ((0..drawn.len()).collect(), (drawn.len()..set.len()).collect());
    // No output of an earlier run left beside this one's.
    let out = FinetuneFolder::new(&paths.out);
    let earlier = [out.model(), out.results(), out.predictions(), out.validation()];
    folder.clear(&[&earlier[..], &hand_offs(&paths.out)].concat())?;
    save_json(config, &out.config())?;
    save_json(&normaliser, &out.normaliser())?;
    write_shots(&out.shots(), &set, &drawn, config)?;
    if config.finetune.validation == ValidationLabels::KShot {
        write_shots(&out.validation(), &set, &validation, config)?;
    }

    let device = backend.device(config.seed)?;
    let mut model = ClassifierModel::init(config, set.channels, &device.clone().autodiff());
    if let Some(Init { encoder: path, .. }) = &paths.init {
        let fix = "pass --init an encoder.bpk made with this config's dataset and model groups";
        model.encoder = load_module(model.encoder, path, fix)?;
    }
    let trained = train_classifier(config, &set, model, (&drawn, &validation), &device, &paths.out, progress)?;
    save_module(trained.best_model, &out.model())?;
    write_metrics(&out.metrics(), &trained.history)?;
    Ok(FinetuneReport {
        drawn: drawn.len(),
        best_epoch: trained.best_epoch,
        best_macro_f1: trained.best_macro_f1,
        history: trained.history,
        seconds: started.elapsed().as_secs_f64(),
        notices,
    })
}

/// The normaliser of the pre-trained run `init` (fine-tuning keeps its scaling), after
/// checking the run is finished and of this config's dataset and model; `None` without one.
fn check_init(config: &PimConfig, init: Option<&Init>) -> Result<Option<Normaliser>> {
    let Some(Init { run, encoder }) = init else { return Ok(None) };
    let fix = "pass --init a `pim pretrain` run folder or its encoder.bpk";
    // A path that names nothing (no encoder, and no run folder around it) is missing, not
    // an unfinished run.
    let pretrained = PretrainFolder::new(run);
    if !encoder.is_file() && !pretrained.config().is_file() {
        return Err(Error::Artefact { path: encoder.clone(), problem: "does not exist".into(), fix: fix.into() });
    }
    if run.is_dir() {
        require_finished(run, "pretrain", "pass --init a finished `pim pretrain` run (rerun it to finish)")?;
    }
    if !encoder.is_file() {
        return Err(Error::Artefact { path: encoder.clone(), problem: "does not exist".into(), fix: fix.into() });
    }
    let run_config_path = pretrained.config();
    let pretrained_config: PimConfig = load_json(&run_config_path, fix)?;
    check_same_groups(&pretrained_config, config, &run_config_path, &["dataset", "model"])?;
    Ok(Some(load_json(&pretrained.normaliser(), fix)?))
}

/// The seeded k-shot draw from the training subjects' labelled windows; a notice for each
/// class with fewer windows than asked.
fn draw_shots(
    config: &PimConfig,
    set: &WindowSet,
    data: &WindowSource,
    notices: &mut Vec<String>,
) -> Result<Vec<usize>> {
    let classes = &config.dataset.classes;
    let eligible: Vec<bool> = set.roles.iter().map(|r| *r == SplitRole::Train).collect();
    let draw = draw_k_shot(&set.classes, &eligible, classes.len(), config.finetune.shots, config.seed);
    let shots = config.finetune.shots;
    match draw.shortfalls.as_slice() {
        [] => {}
        [(class, available)] => notices.push(format!(
            "class {} has {available} training windows, fewer than {shots} shots: all {available} are used",
            classes[*class].name
        )),
        short => {
            let listed: Vec<String> =
                short.iter().map(|(c, available)| format!("{} {available}", classes[*c].name)).collect();
            notices.push(format!(
                "{} classes have fewer training windows than {shots} shots, so all of theirs are used: {}",
                short.len(),
                listed.join(", ")
            ));
        }
    }
    if draw.windows.is_empty() {
        return Err(Error::bad_dataset(
            data.path(),
            "holds no labelled windows of the training subjects",
            "check dataset.split.train and that the windows carry activity labels",
        ));
    }
    Ok(draw.windows)
}

/// The labelled validation windows that `finetune.validation` allows: k per class (the
/// training draw's k, from a seed of its own so the two draws are independent), all, or
/// none.
fn validation_windows(config: &PimConfig, set: &WindowSet) -> Vec<usize> {
    match config.finetune.validation {
        ValidationLabels::Full => set.labelled_indices_of(SplitRole::Validation),
        ValidationLabels::None => Vec::new(),
        ValidationLabels::KShot => {
            let eligible: Vec<bool> = set.roles.iter().map(|r| *r == SplitRole::Validation).collect();
            let classes = config.dataset.classes.len();
            draw_k_shot(&set.classes, &eligible, classes, config.finetune.shots, validation_seed(config.seed)).windows
        }
    }
}

/// The seed of the k-shot validation draw: the run's seed with its bits mixed by a fixed
/// odd constant (the golden ratio's), so it never repeats the training draw's streams.
fn validation_seed(seed: u64) -> u64 {
    seed ^ 0x9E37_79B9_7F4A_7C15
}

/// What the epochs of fine-tuning leave.
struct Trained {
    history: Vec<FinetuneEpoch>,
    best_epoch: usize,
    best_macro_f1: Option<f64>,
    best_model: ClassifierModel,
}

/// Train on the `drawn` windows, score the `validation` ones every `validate_every` epochs
/// and at the last, stop early at the first scored epoch `patience` or more epochs after
/// the best score, and keep the best-scoring weights. Without validation windows every
/// epoch runs and the last is kept. Each scored epoch is a progress line, so a log (stderr
/// not a terminal, where the bar is hidden) shows a long fine-tuning moving.
fn train_classifier(
    config: &PimConfig,
    set: &WindowSet,
    mut model: ClassifierModel,
    (drawn, validation): (&[usize], &[usize]),
    device: &Device,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Trained> {
    let settings = &config.finetune;
    let bar = progress.bar("finetune");
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let training_device = device.clone().autodiff();
    let truth: Vec<usize> = validation.iter().map(|&i| set.classes[i].expect("labelled")).collect();
    // A frozen encoder never changes: embed the drawn and validation windows once.
    let frozen = settings.freeze_encoder.then(|| {
        let encoder = model.encoder.valid();
        (embed_all(&encoder, set, drawn, device), embed_all(&encoder, set, validation, device))
    });
    let epochs = settings.epochs_for(drawn.len());
    bar.set_length(epochs as u64);
    let (mut history, mut best) = (Vec::new(), None);
    let mut best_f1_epoch = (f64::NEG_INFINITY, 0);
    for epoch in 1..=epochs {
        let frozen_drawn = frozen.as_ref().map(|(drawn_embeddings, _)| drawn_embeddings);
        let train_loss;
        (model, train_loss) =
            classifier_epoch(config, set, (model, &mut optimizer), (drawn, frozen_drawn), &training_device, epoch);
        if !train_loss.is_finite() {
            return Err(Error::NonFinite {
                path: out.to_path_buf(),
                epoch,
                term: "classification".into(),
                value: train_loss,
                fix: "lower finetune.learning_rate, or check the --init encoder and the input for extreme values"
                    .into(),
            });
        }
        let mut record = FinetuneEpoch { epoch, train_loss, validation_macro_f1: None, validation_accuracy: None };
        let scored_epoch = !validation.is_empty() && (epoch % settings.validate_every == 0 || epoch == epochs);
        if validation.is_empty() && epoch == epochs {
            (best_f1_epoch, best) = ((f64::NAN, epoch), Some(model.clone()));
        }
        if scored_epoch {
            let scored = model.valid();
            let predicted = match &frozen {
                Some((_, validation_embeddings)) => classify(&scored.classifier, validation_embeddings.clone()),
                None => scored.predict(set, validation, device),
            };
            let confusion = ConfusionMatrix::new(config.dataset.classes.len(), &truth, &predicted);
            (record.validation_macro_f1, record.validation_accuracy) =
                (Some(confusion.macro_f1()), Some(confusion.accuracy()));
            if confusion.macro_f1() > best_f1_epoch.0 {
                (best_f1_epoch, best) = ((confusion.macro_f1(), epoch), Some(model.clone()));
            }
            let line = format!(
                "epoch {epoch:>3}/{epochs}  train loss {train_loss:.4}  validation macro-F1 {:.4} (best {:.4} at epoch {})",
                confusion.macro_f1(),
                best_f1_epoch.0,
                best_f1_epoch.1
            );
            bar.suspend(|| progress.line(&line));
        }
        history.push(record);
        bar.inc(1);
        // Stop only after a scored epoch, so a patience shorter than validate_every still
        // keeps a scored checkpoint.
        if scored_epoch && settings.patience.is_some_and(|patience| epoch - best_f1_epoch.1 >= patience) {
            break;
        }
    }
    bar.finish_and_clear();
    let (best_macro_f1, best_epoch) = best_f1_epoch;
    let best_macro_f1 = (!validation.is_empty()).then_some(best_macro_f1);
    Ok(Trained { history, best_epoch, best_macro_f1, best_model: best.expect("the last epoch is always kept") })
}

/// One seeded pass over the drawn windows (the classifier alone on `frozen` embeddings, if
/// given); the model after it and its mean cross-entropy.
fn classifier_epoch(
    config: &PimConfig,
    set: &WindowSet,
    (mut model, optimizer): (ClassifierModel, &mut ModuleOptimizer),
    (drawn, frozen): (&[usize], Option<&Tensor<2>>),
    training_device: &Device,
    epoch: usize,
) -> (ClassifierModel, f64) {
    let positions: Vec<usize> = (0..drawn.len()).collect();
    let (order, mut masks, _) = epoch_randomness(config.seed, epoch, &positions, config.model.dropout);
    let mut loss_sum = 0.0;
    for batch in order.chunks(config.finetune.batch_size) {
        let windows: Vec<usize> = batch.iter().map(|&k| drawn[k]).collect();
        let embedding = match frozen {
            // Only the classifier learns, on the cached embeddings.
            Some(drawn_embeddings) => rows(drawn_embeddings, batch, training_device),
            None => model.encoder.forward_train(set.batch(&windows, training_device), &mut masks),
        };
        let targets: Vec<i64> =
            windows.iter().map(|&i| set.classes[i].expect("drawn windows are labelled") as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [batch.len()]), training_device);
        let loss = cross_entropy(model.classifier.forward(embedding), targets);
        loss_sum += f64::from(loss.clone().into_scalar::<f32>()) * batch.len() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.finetune.learning_rate, model, grads);
    }
    (model, loss_sum / order.len() as f64)
}

/// `run.json` of a finished fine-tuning.
fn run_record(config: &PimConfig, paths: &FinetunePaths, backend: Backend, report: &FinetuneReport) -> RunRecord {
    let details = serde_json::json!({
        "init": paths.init,
        "shots": config.finetune.shots,
        "freeze_encoder": config.finetune.freeze_encoder,
        "validation": config.finetune.validation.name(),
        "drawn": report.drawn,
        "best_epoch": report.best_epoch,
        "best_validation_macro_f1": report.best_macro_f1,
    });
    let mut record = RunRecord::new("finetune", config.seed, &report.notices, details);
    record.backend = Some(backend.to_string());
    record.simd = Some(crate::model::conv::simd::level().name().into());
    record.seconds.insert("this_run".into(), report.seconds);
    record
}

fn write_shots(path: &Path, set: &WindowSet, windows: &[usize], config: &PimConfig) -> Result<()> {
    let mut text = String::from("window,source,start,subject,activity\n");
    for &i in windows {
        let class = set.classes[i].map(|c| config.dataset.classes[c].name.as_str()).unwrap_or("");
        text += &format!("{},{},{},{},{class}\n", set.rows[i], set.keys[i].0, set.keys[i].1, set.subjects[i]);
    }
    save_text(path, &text)
}

fn write_metrics(path: &Path, history: &[FinetuneEpoch]) -> Result<()> {
    let mut text = String::from("epoch,train_loss,validation_macro_f1,validation_accuracy\n");
    let optional = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in history {
        text += &format!(
            "{},{},{},{}\n",
            r.epoch,
            r.train_loss,
            optional(r.validation_macro_f1),
            optional(r.validation_accuracy)
        );
    }
    save_text(path, &text)
}

/// The embeddings of `windows` under `encoder`, in batches of 256.
fn embed_all(encoder: &Encoder, set: &WindowSet, windows: &[usize], device: &Device) -> Tensor<2> {
    let parts: Vec<Tensor<2>> = windows.chunks(256).map(|batch| encoder.forward(set.batch(batch, device))).collect();
    Tensor::cat(parts, 0)
}

/// Rows `indices` of `embeddings`, as a tensor on `device`.
fn rows(embeddings: &Tensor<2>, indices: &[usize], device: &Device) -> Tensor<2> {
    let indices: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let selected = embeddings.clone().select(
        0,
        Tensor::<1, Int>::from_data(TensorData::new(indices.clone(), [indices.len()]), &embeddings.device()),
    );
    Tensor::from_data(selected.into_data(), device)
}

/// The predicted class of each embedding.
fn classify(classifier: &Classifier, embeddings: Tensor<2>) -> Vec<usize> {
    let classes: Vec<i64> =
        classifier.forward(embeddings).argmax(1).into_data().convert::<i64>().try_to_vec().expect("int data");
    classes.into_iter().map(|c| c as usize).collect()
}
