//! `pim finetune`.

use std::path::PathBuf;

use clap::Args;

use super::dataset::{ConfigArgs, DataArgs, FinetuneFrom, Resolved, finetune_stage, out_or_default};
use super::progress::{StderrProgress, print_notices};
use crate::config::CheckpointRule;
use crate::config::PimConfig;
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::presets::Preset;
use crate::train::backend::Backend;
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
    /// The dataset and its config.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Pre-trained encoder: a `pim pretrain` run folder or an encoder file in it; omit to
    /// train from scratch (with --dataset, see --from).
    #[arg(long, conflicts_with = "from")]
    pub init: Option<PathBuf>,
    /// With --dataset: start from runs/<name>/pretrain-<METHOD> (pim, masked, transform, pim+masked), or
    /// from `scratch`; default pretrain.method of the config.
    #[arg(long)]
    pub from: Option<FinetuneFrom>,
    /// The sensors the encoder reads, comma-separated, e.g. `torso` (overrides
    /// model.sensors; must match the pre-trained encoder's).
    #[arg(long, value_delimiter = ',')]
    pub sensors: Option<Vec<String>>,
    /// The encoder another checkpoint rule kept (lowest_validation_loss, last_epoch,
    /// improving_tasks, probe) instead of the run's encoder.bpk.
    #[arg(long, value_parser = parse_rule)]
    pub checkpoint: Option<CheckpointRule>,
    /// Labelled training windows per class: a number, or `all` (overrides finetune.shots).
    #[arg(long, allow_hyphen_values = true)]
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
    /// Run folder to write (model.bpk, shots.csv, metrics.csv, ...) (with --dataset:
    /// runs/<name>/finetune-<from>-<shots>shots-seed<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// The config with this command line's overrides applied and checked, and its preset.
pub fn effective_config(args: &FinetuneArgs) -> Result<(PimConfig, Option<&'static Preset>)> {
    let Resolved { mut config, path, preset } = args.config.resolve()?;
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
    if let Some(sensors) = &args.sensors {
        config.model.sensors = sensors.clone();
    }
    config.validate(&path)?;
    Ok((config, preset))
}

/// The encoder to start from, and the name of the start for run folders.
fn start_of(args: &FinetuneArgs, config: &PimConfig, preset: Option<&Preset>) -> Result<(Option<Init>, &'static str)> {
    if let Some(path) = &args.init {
        return Ok((Some(Init::resolve(path, args.checkpoint)), "init"));
    }
    let start = match (args.from, preset) {
        (Some(_), None) => return Err(command_line("--from", "needs --dataset", "give --init RUN_DIR instead")),
        (from, Some(_)) => from.unwrap_or(FinetuneFrom::Pretrained(config.pretrain.method)),
        (None, None) => FinetuneFrom::Scratch,
    };
    let run = match preset {
        Some(preset) => start.run_dir(preset, config)?,
        None => None,
    };
    match run {
        Some(dir) => Ok((Some(Init::resolve(&dir, args.checkpoint)), start.name())),
        None if args.checkpoint.is_some() => Err(command_line(
            "--checkpoint",
            "picks a pre-trained encoder, but this run starts from scratch",
            "drop it",
        )),
        None => Ok((None, start.name())),
    }
}

/// An error in the command line's `flag`.
fn command_line(flag: &str, problem: &str, fix: &str) -> Error {
    Error::usage(flag, problem, fix)
}

/// Run `pim finetune` and print a summary.
pub fn run_finetune(args: &FinetuneArgs, quiet: bool) -> Result<()> {
    let (config, preset) = effective_config(args)?;
    let (init, start) = start_of(args, &config, preset)?;
    let stage = finetune_stage(start, &config);
    let out = out_or_default(&args.out, preset, &stage, "--out")?;
    let paths = FinetunePaths { data: args.data.source(preset)?, init, out: out.clone() };
    let report = finetune(&config, &paths, args.backend, &StderrProgress { quiet })?;
    print_notices(&report.notices, quiet);
    if !quiet {
        let kept = match report.best_macro_f1 {
            Some(f1) => format!("best validation macro-F1 {f1:.4} at epoch {}", report.best_epoch),
            None => format!("kept the last epoch, {} (no validation labels)", report.best_epoch),
        };
        eprintln!(
            "pim: fine-tuned on {} windows ({} shots, seed {}) in {:.1} s; {kept} -> {}",
            report.drawn,
            config.finetune.shots,
            config.seed,
            report.seconds,
            out.display()
        );
    }
    Ok(())
}
