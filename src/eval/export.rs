//! Hand-off to the Python ecosystem.
//!
//! - [`embed`]: the encoder's embedding of every window of a dataset, as `embeddings.npy`
//!   (float32 `[windows, embedding]`) and `embeddings.csv` (subject, activity, source,
//!   start, split per row), which numpy and pandas load as they are.
//! - [`export`]: a run's weights as safetensors, with PyTorch's parameter names and layouts
//!   (`Conv1d.weight` is `[out, in, kernel]`, `ConvTranspose1d.weight` `[in, out, kernel]`,
//!   `Linear.weight` `[out, in]`: Burn's own adapter transposes the linear layers), the
//!   normaliser as the tensors `encoder.mean` and `encoder.std`, and the config as metadata.
//!   docs/export.md shows the 20-line PyTorch module that loads it with
//!   `load_state_dict(strict=True)`; `scripts/check_export.py` checks that it reproduces
//!   `pim embed` on the bundled sample.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use ndarray::Array2;
use ndarray_npy::WriteNpyExt;

use crate::config::PimConfig;
use crate::data::Normaliser;
use crate::data::dataset_config::SplitRole;
use crate::error::{Error, Result};
use crate::model::PretrainModel;
use crate::progress::Progress;
use crate::run_folder::layout::{FinetuneFolder, Layout, PretrainFolder, embeddings};
use crate::run_folder::{RunFolder, load_json, require_finished};
use crate::train::backend::Backend;
use crate::train::checkpoint::load_module;
use crate::train::finetune::ClassifierModel;
use crate::train::objective::Objective;
use crate::train::objective::TaskColumns;
use crate::train::pretrain::init_model;
use crate::train::windows::{WindowSet, WindowSource};

/// What kind of run folder a hand-off reads.
enum Run {
    /// `pim pretrain`: the encoder with its pretext heads (or decoder).
    Pretrain(PretrainModel),
    /// `pim finetune`: the encoder with the classifier (boxed: it is much larger on wgpu).
    Finetune(Box<ClassifierModel>),
}

/// A run folder's config, normaliser and weights.
struct LoadedRun {
    config: PimConfig,
    normaliser: Normaliser,
    model: Run,
}

/// Load the finished run in `dir`: a fine-tuning run if it holds `model.bpk`, else a
/// pre-training run. An unfinished one (no `run.json`) is refused, as later stages do.
fn load_run(dir: &Path, device: &Device) -> Result<LoadedRun> {
    let fix = "pass --run the --out folder of `pim pretrain` or `pim finetune`";
    let (finetuned, pretrained) = (FinetuneFolder::new(dir), PretrainFolder::new(dir));
    let stage = if finetuned.model().is_file() { "finetune" } else { "pretrain" };
    require_finished(dir, stage, "pass --run a finished `pim pretrain` or `pim finetune` run (rerun it to finish)")?;
    let config: PimConfig = load_json(&pretrained.config(), fix)?;
    let normaliser: Normaliser = load_json(&pretrained.normaliser(), fix)?;
    let channels = normaliser.mean.len();
    let model = if stage == "finetune" {
        Run::Finetune(Box::new(load_module(ClassifierModel::init(&config, channels, device), &finetuned.model(), fix)?))
    } else {
        let objective = objective_shape(&config, &pretrained, channels)?;
        let model = init_model(&config, channels, &objective, device);
        Run::Pretrain(load_module(model, &pretrained.pretrain_model(), fix)?)
    };
    Ok(LoadedRun { config, normaliser, model })
}

/// An objective with the shape of the run's heads (no targets: only the architecture
/// matters when loading weights).
fn objective_shape(config: &PimConfig, run: &PretrainFolder, channels: usize) -> Result<Objective> {
    use crate::config::PretrainMethod;
    Ok(match config.pretrain.method {
        PretrainMethod::Pim | PretrainMethod::PimMasked => {
            let tasks: Vec<TaskColumns> = load_json(&run.tasks(), "pass --run a finished `pim pretrain` run folder")?;
            Objective::Physics {
                targets: crate::train::objective::TaskTargets::empty(),
                tasks,
                weights: config.pretrain.loss_weights,
                reconstruction: crate::train::objective::Reconstruction::of(&config.pretrain),
            }
        }
        PretrainMethod::Masked => Objective::Masked { ratio: config.pretrain.mask_ratio },
        PretrainMethod::Transform => Objective::Transform {
            config: config.pretrain.transform.clone(),
            shape: crate::data::transform::WindowShape::new(
                &crate::data::ChannelLayout::seen(&config.dataset, &config.model.sensors),
                config.dataset.window.length,
            ),
            normaliser: Normaliser { mean: vec![0.0; channels], std: vec![1.0; channels] },
        },
    })
}

/// What `embed` wrote.
#[derive(Debug, Clone)]
pub struct EmbedReport {
    /// Windows embedded.
    pub windows: usize,
    /// Values per embedding.
    pub width: usize,
    /// Files written.
    pub written: Vec<PathBuf>,
}

/// Embed every window of `data` with the encoder of the run in `run`; write
/// `embeddings.npy` and `embeddings.csv` into `out`.
pub fn embed(
    run: &Path,
    data: &WindowSource,
    out: &Path,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<EmbedReport> {
    let device = backend.device(0)?;
    let loaded = load_run(run, &device)?;
    let encoder = match &loaded.model {
        Run::Pretrain(model) => &model.encoder,
        Run::Finetune(model) => &model.encoder,
    };
    let mut folder = RunFolder::open(out)?;
    let bar = progress.bar("reading");
    let mut set = WindowSet::load(&loaded.config, data, &SplitRole::ALL, &bar)?;
    bar.finish_and_clear();
    set.normalise(&loaded.normaliser, data.path())?;
    let width = encoder.embedding_size();
    let mut values = Vec::with_capacity(set.len() * width);
    let all: Vec<usize> = (0..set.len()).collect();
    let bar = progress.bar("embedding");
    bar.set_length(set.len() as u64);
    for batch in all.chunks(256) {
        let embedding: Vec<f32> = encoder.forward(set.batch(batch, &device)).into_data().try_to_vec().expect("f32");
        values.extend(embedding);
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let values = Array2::from_shape_vec((set.len(), width), values).expect("one embedding per window");
    let (npy, csv) = embeddings(out);
    folder.stage(&npy, |w| {
        values.write_npy(w).map_err(|e| Error::Artefact {
            path: npy.clone(),
            problem: format!("cannot be written ({e})"),
            fix: "check the disk has space".into(),
        })
    })?;
    let classes = &loaded.config.dataset.classes;
    folder.stage(&csv, |w| {
        let io = |e| Error::io("write", &csv, "check the disk has space", e);
        writeln!(w, "subject,activity,source,start,split").map_err(io)?;
        for i in 0..set.len() {
            let activity = set.classes[i].map_or("", |c| classes[c].name.as_str());
            let split = match set.roles[i] {
                SplitRole::Train => "train",
                SplitRole::Validation => "validation",
                SplitRole::Test => "test",
            };
            let (source, start) = &set.keys[i];
            writeln!(w, "{},{activity},{source},{start},{split}", set.subjects[i]).map_err(io)?;
        }
        Ok(())
    })?;
    let written = folder.commit()?;
    Ok(EmbedReport { windows: set.len(), width, written })
}

/// A safetensors file with its JSON header's keys in sorted order (the metadata's come
/// from a hash map, in a different order each run), padded with spaces to 8 bytes as the
/// format asks: the same weights give the same bytes.
fn sorted_header(bytes: Vec<u8>) -> Vec<u8> {
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("an 8-byte length")) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).expect("safetensors wrote JSON");
    // serde_json's maps are ordered by key (no `preserve_order` feature).
    let mut text = header.to_string().into_bytes();
    text.resize(text.len().div_ceil(8) * 8, b' ');
    let mut sorted = (text.len() as u64).to_le_bytes().to_vec();
    sorted.extend_from_slice(&text);
    sorted.extend_from_slice(&bytes[8 + length..]);
    sorted
}

/// Write the weights of the run in `run` as safetensors to `file`; returns the tensor names.
pub fn export(run: &Path, file: &Path) -> Result<Vec<String>> {
    let device = Device::flex();
    let loaded = load_run(run, &device)?;
    let (tensors, kind) = match &loaded.model {
        Run::Pretrain(model) => (model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true), "pretrain"),
        Run::Finetune(model) => (model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true), "finetune"),
    };
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for tensor in tensors {
        let (name, _, shape, _, bytes) = tensor.into_parts().map_err(|e| Error::Artefact {
            path: run.to_path_buf(),
            problem: format!("has weights that cannot be read ({e})"),
            fix: "check the run finished".into(),
        })?;
        named.push((name, shape.as_slice().to_vec(), bytes.to_vec()));
    }
    let le = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let channels = loaded.normaliser.mean.len();
    named.push(("encoder.mean".into(), vec![channels], le(&loaded.normaliser.mean)));
    named.push(("encoder.std".into(), vec![channels], le(&loaded.normaliser.std)));
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let views: Vec<(String, safetensors::tensor::TensorView)> = named
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .expect("a float32 tensor of its own shape");
            (name.clone(), view)
        })
        .collect();
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("pim_version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("pim_run".to_string(), kind.to_string()),
        ("pim_config".to_string(), serde_json::to_string(&loaded.config).expect("a config serialises")),
        ("pim_normaliser".to_string(), serde_json::to_string(&loaded.normaliser).expect("serialises")),
    ]);
    let bytes = safetensors::serialize(views, Some(metadata)).map(sorted_header).map_err(|e| Error::Artefact {
        path: file.to_path_buf(),
        problem: format!("cannot be encoded ({e})"),
        fix: "report this as a bug".into(),
    })?;
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut folder = RunFolder::open(dir)?;
    let staged = dir.join(file.file_name().unwrap_or("model.safetensors".as_ref()));
    folder
        .stage(&staged, |w| w.write_all(&bytes).map_err(|e| Error::io("write", file, "check the disk has space", e)))?;
    folder.commit()?;
    Ok(named.into_iter().map(|(name, _, _)| name).collect())
}
