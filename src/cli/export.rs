//! `pim embed` and `pim export`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::DataArgs;
use super::dataset::pretrain_run;
use super::progress::StderrProgress;
use crate::config::PretrainMethod;
use crate::error::Result;
use crate::eval::export::{embed, export};
use crate::presets::{self, Preset};
use crate::run_folder::layout::{embeddings, exported_model};
use crate::train::backend::Backend;

/// Which run's encoder: a run folder, or a dataset's pre-training run by name.
#[derive(Debug, Args)]
pub struct RunChoice {
    /// A `pim pretrain` or `pim finetune` run folder.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// A dataset pim knows: its pre-training run, runs/<name>/pretrain-<method>.
    #[arg(long, conflicts_with = "run")]
    pub dataset: Option<String>,
    /// With --dataset: the pre-training method (default the preset's pretrain.method).
    #[arg(long, requires = "dataset")]
    pub method: Option<PretrainMethod>,
    /// With --dataset: the sensors its encoder reads, comma-separated (default every sensor).
    #[arg(long, requires = "dataset", value_delimiter = ',')]
    pub sensors: Option<Vec<String>>,
}

impl RunChoice {
    /// The run folder, and the preset where --dataset named one.
    fn resolve(&self) -> Result<(PathBuf, Option<&'static Preset>)> {
        let Some(name) = &self.dataset else {
            return Ok((self.run.clone().expect("clap requires --run or --dataset"), None));
        };
        let preset = presets::find(name)?;
        let mut config = preset.config();
        config.model.sensors = self.sensors.clone().unwrap_or_default();
        let method = self.method.unwrap_or(config.pretrain.method);
        Ok((pretrain_run(preset, method, &config, "pass --run")?, Some(preset)))
    }
}

/// Arguments of `pim embed`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["run", "dataset"])))]
pub struct EmbedArgs {
    /// The run whose encoder embeds.
    #[command(flatten)]
    pub run: RunChoice,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Folder for embeddings.npy and embeddings.csv (default: the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// safetensors, with PyTorch's parameter names and layouts.
    Safetensors,
}

/// Arguments of `pim export`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["run", "dataset"])))]
pub struct ExportArgs {
    /// The run to export.
    #[command(flatten)]
    pub run: RunChoice,
    /// The format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: ExportFormat,
    /// The file to write (default: model.safetensors in the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `pim embed`.
pub fn run_embed(args: &EmbedArgs, quiet: bool) -> Result<()> {
    let (run, preset) = args.run.resolve()?;
    let out = args.out.clone().unwrap_or_else(|| run.clone());
    let report = embed(&run, &args.data.source(preset)?, &out, args.backend, &StderrProgress { quiet })?;
    if !quiet {
        eprintln!("pim: {} windows x {} values -> {}", report.windows, report.width, embeddings(&out).0.display());
    }
    Ok(())
}

/// Run `pim export`.
pub fn run_export(args: &ExportArgs, quiet: bool) -> Result<()> {
    let ExportFormat::Safetensors = args.format;
    let (run, _) = args.run.resolve()?;
    let file = args.out.clone().unwrap_or_else(|| exported_model(&run));
    let names = export(&run, &file)?;
    if !quiet {
        eprintln!("pim: {} tensors -> {}", names.len(), file.display());
    }
    Ok(())
}
