//! `pim pretrain`.

use std::path::PathBuf;

use clap::Args;

use super::dataset::{ConfigArgs, DataArgs, LABELS_STAGE, Resolved, out_or_default, pretrain_stage};
use super::progress::{StderrProgress, print_notices};
use crate::config::PimConfig;
use crate::config::Task;
use crate::config::{LossWeights, PretrainMethod, PretrainTargets};
use crate::error::{Error, Result};
use crate::presets::Preset;
use crate::train::backend::Backend;
use crate::train::pretrain::{PretrainPaths, pretrain};

/// Arguments of `pim pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// The dataset and its config (the one `pim pseudo-label` used).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The --out folder of `pim pseudo-label`, needed by method pim only (with --dataset:
    /// runs/<name>/labels).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder to write (encoder.bpk, metrics.csv, ...); rerun the same command to resume
    /// (with --dataset: runs/<name>/pretrain-<method>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Pre-training method: pim (physics pseudo-labels), masked (masked reconstruction),
    /// transform (transformation discrimination) or pim+masked (both of the first two on one
    /// encoder) (overrides pretrain.method).
    #[arg(long)]
    pub method: Option<PretrainMethod>,
    /// Pretext tasks of method pim, comma-separated (overrides pretrain.tasks), e.g. `speed,angle`.
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<Task>>,
    /// Loss weights alpha,beta,gamma for speed,angle,symmetry (overrides pretrain.loss_weights).
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
    pub loss_weights: Option<Vec<f64>>,
    /// Epochs (overrides pretrain.epochs).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// The sensors the encoder reads, comma-separated, e.g. `torso` for a one-device model
    /// (overrides model.sensors; default every sensor).
    #[arg(long, value_delimiter = ',')]
    pub sensors: Option<Vec<String>>,
    /// Method pim with --sensors: predict every sensor's physics (all_sensors, the default)
    /// or only the sensors' the encoder reads (seen_sensors) (overrides pretrain.targets).
    #[arg(long)]
    pub targets: Option<PretrainTargets>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// The config with this command line's overrides applied and checked, and its preset.
pub fn effective_config(args: &PretrainArgs) -> Result<(PimConfig, Option<&'static Preset>)> {
    let Resolved { mut config, path, preset } = args.config.resolve()?;
    if let Some(method) = args.method {
        config.pretrain.method = method;
    }
    if let Some(tasks) = &args.tasks {
        config.pretrain.tasks = tasks.clone();
    }
    if let Some(weights) = &args.loss_weights {
        let &[speed, angle, symmetry] = weights.as_slice() else {
            return Err(Error::usage(
                "--loss-weights",
                format!("has {} values", weights.len()),
                "give three weights, alpha,beta,gamma for speed,angle,symmetry",
            ));
        };
        config.pretrain.loss_weights = LossWeights { speed, angle, symmetry };
    }
    if let Some(epochs) = args.epochs {
        config.pretrain.epochs = epochs;
    }
    if let Some(sensors) = &args.sensors {
        config.model.sensors = sensors.clone();
    }
    if let Some(targets) = args.targets {
        config.pretrain.targets = targets;
    }
    config.validate(&path)?;
    Ok((config, preset))
}

/// Run the stage and print a summary.
pub fn run(args: &PretrainArgs, quiet: bool) -> Result<()> {
    let (config, preset) = effective_config(args)?;
    let method = config.pretrain.method;
    let labels = match (method, &args.labels, preset) {
        (method, None, Some(preset)) if method.learns_physics() => Some(preset.run_dir(LABELS_STAGE)),
        _ => args.labels.clone(),
    };
    let out = out_or_default(&args.out, preset, &pretrain_stage(method, &config), "--out")?;
    let paths = PretrainPaths { labels, data: args.data.source(preset)?, out: out.clone() };
    let report = pretrain(&config, &paths, args.backend, &StderrProgress { quiet })?;
    print_notices(&report.notices, quiet);
    if !quiet {
        let seconds: f64 = report.history.iter().map(|r| r.seconds).sum();
        eprintln!(
            "pim: pre-trained {} epochs ({:.1} s in all); best validation loss {:.4} at epoch {} -> {}",
            report.history.len(),
            seconds,
            report.best_loss,
            report.best_epoch,
            crate::run_folder::layout::PretrainFolder::new(&out).encoder().display()
        );
    }
    Ok(())
}
