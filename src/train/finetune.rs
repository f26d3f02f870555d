//! The `finetune` stage: draw k labelled windows per class from the training subjects
//! (seeded, stratified, saved), train encoder and classifier on them (or the classifier
//! alone on a frozen encoder), and keep the weights with the best macro-F1 on the
//! validation subjects. Without a pre-trained encoder this is the supervised-from-scratch
//! baseline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::backend::Backend;
use super::checkpoint::{load_json, load_module, save_json, save_module, save_text};
use super::pretrain::encoder_config;
use super::windows::{Normaliser, WindowSet};
use super::{NORMALISER_FILE, check_same_groups, ensure_folder};
use crate::config::PimConfig;
use crate::data::config::SplitRole;
use crate::data::kshot::draw_k_shot;
use crate::error::{Error, Result};
use crate::eval::ConfusionMatrix;
use crate::model::{Classifier, ClassifierConfig, DropoutMasks, Encoder};
use crate::progress::Progress;

/// The fine-tuned encoder and classifier, read by `pim eval`.
pub const MODEL_FILE: &str = "model.bpk";
/// The drawn training windows.
pub const SHOTS_FILE: &str = "shots.csv";

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
        let encoder = encoder_config(config, channels);
        ClassifierModel {
            classifier: ClassifierConfig::new(encoder.embedding(), config.dataset.classes.len())
                .with_hidden(config.model.classifier_hidden)
                .init(device),
            encoder: encoder.init(device),
        }
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

/// Where the stage reads and writes.
#[derive(Debug, Clone)]
pub struct FinetunePaths {
    /// The dataset folder.
    pub data: PathBuf,
    /// A pre-trained `encoder.bpk` (its folder holds the run's config and normaliser), or
    /// `None` to start from random weights.
    pub init: Option<PathBuf>,
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
    /// Macro-F1 on the validation subjects.
    pub validation_macro_f1: f64,
    /// Accuracy on the validation subjects.
    pub validation_accuracy: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct FinetuneReport {
    /// Windows drawn.
    pub drawn: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Its validation macro-F1.
    pub best_macro_f1: f64,
    /// Every epoch.
    pub history: Vec<FinetuneEpoch>,
    /// Wall time.
    pub seconds: f64,
    /// Things the user should know (short classes, no validation subjects).
    pub notices: Vec<String>,
}

/// Fine-tune with `config` (effective: seed, shots and freeze_encoder applied) on `backend`.
pub fn finetune(
    config: &PimConfig,
    paths: &FinetunePaths,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<FinetuneReport> {
    let started = Instant::now();
    let mut notices = Vec::new();
    // Check the pre-trained run before reading data or writing anything.
    let pretrained_normaliser: Option<Normaliser> = match &paths.init {
        Some(encoder) => {
            let fix = "pass --init the encoder.bpk of a `pim pretrain` run folder";
            if !encoder.is_file() {
                return Err(Error::Artefact {
                    path: encoder.clone(),
                    problem: "does not exist".into(),
                    fix: fix.into(),
                });
            }
            let run = encoder.parent().unwrap_or(Path::new("."));
            let run_config_path = run.join("config.json");
            let pretrained: PimConfig = load_json(&run_config_path, fix)?;
            check_same_groups(&pretrained, config, &run_config_path, &["dataset", "model"])?;
            Some(load_json(&run.join(NORMALISER_FILE), fix)?)
        }
        None => None,
    };

    let bar = progress.bar("reading");
    let mut set = WindowSet::load(config, &paths.data, &bar)?;
    bar.finish_and_clear();
    let train = set.indices_of(SplitRole::Train);
    let normaliser = pretrained_normaliser.unwrap_or_else(|| Normaliser::fit(&set, &train));
    set.normalise(&normaliser);

    let classes = &config.dataset.classes;
    let eligible: Vec<bool> = set.roles.iter().map(|r| *r == SplitRole::Train).collect();
    let draw = draw_k_shot(&set.classes, &eligible, classes.len(), config.finetune.shots, config.seed);
    for &(class, available) in &draw.shortfalls {
        notices.push(format!(
            "class {} has {available} training windows, fewer than {} shots: all {available} are used",
            classes[class].name, config.finetune.shots
        ));
    }
    if draw.windows.is_empty() {
        return Err(Error::BadDataset {
            path: paths.data.clone(),
            problem: "holds no labelled windows of the training subjects".into(),
            fix: "check dataset.split.train and that the windows carry activity labels".into(),
        });
    }
    ensure_folder(&paths.out)?;
    save_json(config, &paths.out.join("config.json"))?;
    save_json(&normaliser, &paths.out.join(NORMALISER_FILE))?;
    write_shots(&paths.out.join(SHOTS_FILE), &set, &draw.windows, config)?;
    let mut validation = set.labelled_indices_of(SplitRole::Validation);
    if validation.is_empty() {
        notices.push("no labelled validation windows: the checkpoint is chosen on the drawn training windows".into());
        validation = draw.windows.clone();
    }
    let truth: Vec<usize> = validation.iter().map(|&i| set.classes[i].expect("labelled")).collect();

    let device = backend.device(config.seed)?;
    let training_device = device.clone().autodiff();
    let mut model = ClassifierModel::init(config, set.channels, &training_device);
    if let Some(path) = &paths.init {
        let fix = "pass --init an encoder.bpk made with this config's dataset and model groups";
        model.encoder = load_module(model.encoder, path, fix)?;
    }
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let loss_fn = CrossEntropyLossConfig::new().init(&training_device);
    let settings = &config.finetune;
    let mut history = Vec::new();
    let (mut best_epoch, mut best_f1) = (0, f64::NEG_INFINITY);
    let epochs = settings.epochs_for(draw.windows.len());
    let bar = progress.bar("finetune");
    bar.set_length(epochs as u64);
    for epoch in 1..=epochs {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(epoch as u64);
        let mut order = draw.windows.clone();
        order.shuffle(&mut rng);
        let mut masks = DropoutMasks::new(config.seed, epoch as u64, config.model.dropout);
        let mut loss_sum = 0.0;
        for batch in order.chunks(settings.batch_size) {
            let embedding = if settings.freeze_encoder {
                // A frozen encoder runs without dropout and outside the graph: only the
                // classifier learns.
                let frozen = model.encoder.valid().forward(set.batch(batch, &device));
                Tensor::from_data(frozen.into_data(), &training_device)
            } else {
                model.encoder.forward_train(set.batch(batch, &training_device), &mut masks)
            };
            let targets: Vec<i64> =
                batch.iter().map(|&i| set.classes[i].expect("drawn windows are labelled") as i64).collect();
            let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [batch.len()]), &training_device);
            let loss = loss_fn.forward(model.classifier.forward(embedding), targets);
            loss_sum += f64::from(loss.clone().into_scalar::<f32>()) * batch.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(settings.learning_rate, model, grads);
        }
        let predicted = model.valid().predict(&set, &validation, &device);
        let confusion = ConfusionMatrix::new(classes.len(), &truth, &predicted);
        let record = FinetuneEpoch {
            epoch,
            train_loss: loss_sum / order.len() as f64,
            validation_macro_f1: confusion.macro_f1(),
            validation_accuracy: confusion.accuracy(),
        };
        if record.validation_macro_f1 > best_f1 {
            best_f1 = record.validation_macro_f1;
            best_epoch = epoch;
            save_module(model.clone(), &paths.out.join(MODEL_FILE))?;
        }
        history.push(record);
        bar.inc(1);
    }
    bar.finish_and_clear();
    write_metrics(&paths.out.join("metrics.csv"), &history)?;
    let report = FinetuneReport {
        drawn: draw.windows.len(),
        best_epoch,
        best_macro_f1: best_f1,
        history,
        seconds: started.elapsed().as_secs_f64(),
        notices,
    };
    save_json(
        &serde_json::json!({
            "pim_version": env!("CARGO_PKG_VERSION"),
            "init": paths.init,
            "backend": backend,
            "seed": config.seed,
            "shots": config.finetune.shots,
            "freeze_encoder": config.finetune.freeze_encoder,
            "drawn": report.drawn,
            "best_epoch": report.best_epoch,
            "best_validation_macro_f1": report.best_macro_f1,
            "notices": report.notices,
        }),
        &paths.out.join("run.json"),
    )?;
    Ok(report)
}

fn write_shots(path: &Path, set: &WindowSet, windows: &[usize], config: &PimConfig) -> Result<()> {
    let mut text = String::from("window,source,start,subject,activity\n");
    for &i in windows {
        let class = set.classes[i].map(|c| config.dataset.classes[c].name.as_str()).unwrap_or("");
        text += &format!("{i},{},{},{},{class}\n", set.keys[i].0, set.keys[i].1, set.subjects[i]);
    }
    save_text(path, &text)
}

fn write_metrics(path: &Path, history: &[FinetuneEpoch]) -> Result<()> {
    let mut text = String::from("epoch,train_loss,validation_macro_f1,validation_accuracy\n");
    for r in history {
        text += &format!("{},{},{},{}\n", r.epoch, r.train_loss, r.validation_macro_f1, r.validation_accuracy);
    }
    save_text(path, &text)
}
