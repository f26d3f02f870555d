//! `pim embed` and `pim export`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::DataArgs;
use super::progress::StderrProgress;
use crate::error::Result;
use crate::eval::export::{embed, export};
use crate::train::backend::Backend;

/// Arguments of `pim embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A `pim pretrain` or `pim finetune` run folder: its encoder embeds.
    #[arg(long)]
    pub run: PathBuf,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Folder for embeddings.npy and embeddings.csv (default: --run).
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
pub struct ExportArgs {
    /// A `pim pretrain` or `pim finetune` run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// The format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: ExportFormat,
    /// The file to write (default: RUN/model.safetensors).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `pim embed`.
pub fn run_embed(args: &EmbedArgs, quiet: bool) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.run.clone());
    let report = embed(&args.run, &args.data.source(None)?, &out, args.backend, &StderrProgress { quiet })?;
    if !quiet {
        eprintln!(
            "pim: {} windows x {} values -> {}",
            report.windows,
            report.width,
            out.join("embeddings.npy").display()
        );
    }
    Ok(())
}

/// Run `pim export`.
pub fn run_export(args: &ExportArgs, quiet: bool) -> Result<()> {
    let ExportFormat::Safetensors = args.format;
    let file = args.out.clone().unwrap_or_else(|| args.run.join("model.safetensors"));
    let names = export(&args.run, &file)?;
    if !quiet {
        eprintln!("pim: {} tensors -> {}", names.len(), file.display());
    }
    Ok(())
}
