//! Each stage's run folder as a type that owns its file names: the stage that writes a
//! folder and every stage that reads it reach its files through the same type, so each
//! name is spelled once. Every folder also holds `config.json` and, once finished,
//! `run.json` ([`Layout`]).

use std::path::{Path, PathBuf};

use super::{CONFIG_FILE, RUN_FILE};

/// What every stage's folder holds.
pub trait Layout {
    /// The folder.
    fn dir(&self) -> &Path;

    /// The full config the stage ran with.
    fn config(&self) -> PathBuf {
        self.dir().join(CONFIG_FILE)
    }

    /// The record of what made the folder, written last: the mark that it is finished.
    fn run_record(&self) -> PathBuf {
        self.dir().join(RUN_FILE)
    }
}

/// `pim pseudo-label`'s folder. A folder of prepared windows only (a grid's, or one made
/// for the baselines, which need no labels) holds the three window files of it.
#[derive(Debug, Clone)]
pub struct LabelsFolder {
    dir: PathBuf,
}

impl LabelsFolder {
    /// The folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LabelsFolder { dir: dir.into() }
    }

    /// Each window's bin per physical quantity: pre-training's targets.
    pub fn labels(&self) -> PathBuf {
        self.dir.join("labels.csv")
    }

    /// Each window's physical quantities before binning.
    pub fn features(&self) -> PathBuf {
        self.dir.join("features.csv")
    }

    /// The bin edges, fitted on the training subjects.
    pub fn discretiser(&self) -> PathBuf {
        self.dir.join("discretiser.json")
    }

    /// The windows' samples, `[windows, channels, time]` float32.
    pub fn windows(&self) -> PathBuf {
        self.dir.join("windows.npy")
    }

    /// One row per window: subject, activity, source file, first sample.
    pub fn window_index(&self) -> PathBuf {
        self.dir.join("windows.csv")
    }

    /// Checksums of the index and of each window, checked before training reads them.
    pub fn window_sums(&self) -> PathBuf {
        self.dir.join("windows.sums.json")
    }
}

impl Layout for LabelsFolder {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `pim pretrain`'s folder.
#[derive(Debug, Clone)]
pub struct PretrainFolder {
    dir: PathBuf,
}

impl PretrainFolder {
    /// The folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PretrainFolder { dir: dir.into() }
    }

    /// The encoder the configured checkpoint rule kept: what `pim finetune --init` loads.
    pub fn encoder(&self) -> PathBuf {
        self.dir.join("encoder.bpk")
    }

    /// That encoder with its pretext heads or decoder (the whole pre-training network).
    pub fn pretrain_model(&self) -> PathBuf {
        self.dir.join("pretrain_model.bpk")
    }

    /// Every checkpoint rule's encoder, `<rule>.bpk`.
    pub fn rule_encoder(&self, rule: &str) -> PathBuf {
        self.dir.join("encoders").join(format!("{rule}.bpk"))
    }

    /// The folder of [`PretrainFolder::rule_encoder`]s.
    pub fn rule_encoders(&self) -> PathBuf {
        self.dir.join("encoders")
    }

    /// The epoch each checkpoint rule kept.
    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join("checkpoints.json")
    }

    /// PIM's tasks and their label columns, in head order.
    pub fn tasks(&self) -> PathBuf {
        self.dir.join("tasks.json")
    }

    /// One row per epoch: losses, validation and probe scores, seconds.
    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }

    /// The scaling fitted on the training windows, which fine-tuning keeps.
    pub fn normaliser(&self) -> PathBuf {
        self.dir.join(NORMALISER)
    }

    /// The resume state (its inner layout is `train::pretrain::resume`'s), removed when
    /// the run finishes.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }
}

impl Layout for PretrainFolder {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `pim finetune`'s folder, where `pim eval` adds its scores and predictions.
#[derive(Debug, Clone)]
pub struct FinetuneFolder {
    dir: PathBuf,
}

impl FinetuneFolder {
    /// The folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FinetuneFolder { dir: dir.into() }
    }

    /// The classifier (encoder and linear layer) of the best validation epoch.
    pub fn model(&self) -> PathBuf {
        self.dir.join("model.bpk")
    }

    /// The labelled windows it trained on.
    pub fn shots(&self) -> PathBuf {
        self.dir.join("shots.csv")
    }

    /// The labelled validation windows, when they are drawn as shots too.
    pub fn validation(&self) -> PathBuf {
        self.dir.join("validation.csv")
    }

    /// One row per epoch: training loss, validation scores.
    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }

    /// The scaling it trained with (the pre-trained run's, or fitted on its own windows).
    pub fn normaliser(&self) -> PathBuf {
        self.dir.join(NORMALISER)
    }

    /// `pim eval`'s scores.
    pub fn results(&self) -> PathBuf {
        self.dir.join("results.json")
    }

    /// `pim eval`'s prediction for each test window.
    pub fn predictions(&self) -> PathBuf {
        self.dir.join("predictions.csv")
    }
}

impl Layout for FinetuneFolder {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The normaliser's name in both training stages' folders.
const NORMALISER: &str = "normaliser.json";

/// `pim embed`'s files in its `--out` folder.
pub fn embeddings(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("embeddings.npy"), dir.join("embeddings.csv"))
}

/// `pim export`'s default file in the run folder.
pub fn exported_model(run: &Path) -> PathBuf {
    run.join("model.safetensors")
}

/// What `pim embed` and `pim export` leave in a run folder by default: a new run in that
/// folder removes them, as they hand on the earlier run's model.
pub fn hand_offs(run: &Path) -> [PathBuf; 3] {
    let (npy, csv) = embeddings(run);
    [exported_model(run), npy, csv]
}

/// `pim inspect-labels`' files in its `--out` folder: the table and the figure.
pub fn label_information(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("label_information.csv"), dir.join("label_distributions.svg"))
}
