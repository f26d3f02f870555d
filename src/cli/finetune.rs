//! `pim finetune` and `pim eval`.

use std::path::PathBuf;

use clap::Args;

use super::DataArgs;
use super::progress::StderrProgress;
use crate::config::PimConfig;
use crate::data::kshot::Shots;
use crate::error::Result;
use crate::eval::report::evaluate;
use crate::train::backend::Backend;
use crate::train::config::CheckpointRule;
use crate::train::finetune::{FinetunePaths, Init, finetune};

fn parse_rule(text: &str) -> std::result::Result<CheckpointRule, String> {
    CheckpointRule::ALL.into_iter().find(|r| r.name() == text).ok_or_else(|| {
        let names: Vec<&str> = CheckpointRule::ALL.iter().map(|r| r.name()).collect();
        format!("{text:?} is not a checkpoint rule: use {}", names.join(", "))
    })
}

/// Arguments of `pim finetune`.
#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// Config file (JSON).
    #[arg(long)]
    pub config: PathBuf,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Pre-trained encoder: a `pim pretrain` run folder or an encoder file in it; omit to
    /// train from scratch.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// With --init a run folder: the encoder another checkpoint rule kept
    /// (lowest_validation_loss, last_epoch, improving_tasks, probe) instead of encoder.bpk.
    #[arg(long, requires = "init", value_parser = parse_rule)]
    pub checkpoint: Option<CheckpointRule>,
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
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
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
    let init = args.init.as_deref().map(|path| Init::resolve(path, args.checkpoint));
    let paths = FinetunePaths { data: args.data.source(), init, out: args.out.clone() };
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
    let results = evaluate(&args.run, &args.data.source(), args.backend, &StderrProgress { quiet })?;
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
