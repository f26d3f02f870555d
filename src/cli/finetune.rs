//! `pim finetune` and `pim eval`.

use std::path::PathBuf;

use clap::Args;

use super::progress::StderrProgress;
use crate::config::PimConfig;
use crate::data::kshot::Shots;
use crate::error::Result;
use crate::eval::report::evaluate;
use crate::train::backend::Backend;
use crate::train::finetune::{FinetunePaths, finetune};

/// Arguments of `pim finetune`.
#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// Config file (JSON).
    #[arg(long)]
    pub config: PathBuf,
    /// Folder holding the dataset.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Pre-trained encoder (RUN/encoder.bpk of `pim pretrain`); omit to train from scratch.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Labelled training windows per class: a number, or `all` (overrides finetune.shots).
    #[arg(long)]
    pub shots: Option<Shots>,
    /// Seed of the k-shot draw, weight init, shuffling and dropout (overrides seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train the classifier only, keeping the encoder fixed.
    #[arg(long)]
    pub freeze_encoder: bool,
    /// Epochs (overrides finetune.epochs).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Run folder to write (model.bpk, shots.csv, metrics.csv, ...).
    #[arg(long)]
    pub out: PathBuf,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// Arguments of `pim eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The --out folder of `pim finetune`; predictions.csv and results.json go there.
    #[arg(long)]
    pub run: PathBuf,
    /// Folder holding the dataset.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// The config with this command line's overrides applied and checked.
pub fn effective_config(args: &FinetuneArgs) -> Result<PimConfig> {
    let mut config = PimConfig::load(&args.config)?;
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(shots) = args.shots {
        config.finetune.shots = shots;
    }
    if args.freeze_encoder {
        config.finetune.freeze_encoder = true;
    }
    if let Some(epochs) = args.epochs {
        config.finetune.epochs = epochs;
    }
    config.validate(&args.config)?;
    Ok(config)
}

/// Run `pim finetune` and print a summary.
pub fn run_finetune(args: &FinetuneArgs, quiet: bool) -> Result<()> {
    let config = effective_config(args)?;
    let paths = FinetunePaths { data: args.data_dir.clone(), init: args.init.clone(), out: args.out.clone() };
    let report = finetune(&config, &paths, args.backend, &StderrProgress { quiet })?;
    for notice in &report.notices {
        eprintln!("notice: {notice}");
    }
    if !quiet {
        eprintln!(
            "pim: fine-tuned on {} windows ({} shots, seed {}) in {:.1} s; best validation macro-F1 {:.4} at epoch {} -> {}",
            report.drawn,
            config.finetune.shots,
            config.seed,
            report.seconds,
            report.best_macro_f1,
            report.best_epoch,
            args.out.display()
        );
    }
    Ok(())
}

/// Run `pim eval` and print the headline figures.
pub fn run_eval(args: &EvalArgs, quiet: bool) -> Result<()> {
    let results = evaluate(&args.run, &args.data_dir, args.backend, &StderrProgress { quiet })?;
    for notice in &results.notices {
        eprintln!("notice: {notice}");
    }
    if !quiet {
        eprintln!(
            "pim: {} test windows: macro-F1 {:.4}, accuracy {:.4} -> {}",
            results.windows,
            results.macro_f1,
            results.accuracy,
            args.run.join("results.json").display()
        );
    }
    Ok(())
}
