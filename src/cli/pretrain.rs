//! `pim pretrain`.

use std::path::PathBuf;

use clap::Args;

use super::DataArgs;
use super::progress::StderrProgress;
use crate::config::PimConfig;
use crate::error::{Error, Result};
use crate::labels::Task;
use crate::train::backend::Backend;
use crate::train::config::{LossWeights, PretrainMethod};
use crate::train::pretrain::{PretrainPaths, pretrain};

/// Arguments of `pim pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// Config file (JSON), the one `pim pseudo-label` used.
    #[arg(long)]
    pub config: PathBuf,
    /// The --out folder of `pim pseudo-label` (needed by method pim only).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder to write (encoder.bpk, metrics.csv, ...); rerun the same command to resume.
    #[arg(long)]
    pub out: PathBuf,
    /// Pre-training method: pim (physics pseudo-labels), masked (masked reconstruction) or
    /// transform (transformation discrimination) (overrides pretrain.method).
    #[arg(long)]
    pub method: Option<PretrainMethod>,
    /// Pretext tasks of method pim, comma-separated (overrides pretrain.tasks), e.g. `speed,angle`.
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<Task>>,
    /// Loss weights alpha,beta,gamma for speed,angle,symmetry (overrides pretrain.loss_weights).
    #[arg(long, value_delimiter = ',', num_args = 1)]
    pub loss_weights: Option<Vec<f64>>,
    /// Epochs (overrides pretrain.epochs).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// The config with this command line's overrides applied and checked.
pub fn effective_config(args: &PretrainArgs) -> Result<PimConfig> {
    let mut config = PimConfig::load(&args.config)?;
    if let Some(method) = args.method {
        config.pretrain.method = method;
    }
    if let Some(tasks) = &args.tasks {
        config.pretrain.tasks = tasks.clone();
    }
    if let Some(weights) = &args.loss_weights {
        let &[speed, angle, symmetry] = weights.as_slice() else {
            return Err(Error::InvalidConfig {
                path: "<command line>".into(),
                field: "--loss-weights".into(),
                problem: format!("has {} values", weights.len()),
                fix: "give three weights, alpha,beta,gamma for speed,angle,symmetry".into(),
            });
        };
        config.pretrain.loss_weights = LossWeights { speed, angle, symmetry };
    }
    if let Some(epochs) = args.epochs {
        config.pretrain.epochs = epochs;
    }
    config.validate(&args.config)?;
    Ok(config)
}

/// Run the stage and print a summary.
pub fn run(args: &PretrainArgs, quiet: bool) -> Result<()> {
    let config = effective_config(args)?;
    let paths = PretrainPaths { labels: args.labels.clone(), data: args.data.source(), out: args.out.clone() };
    let report = pretrain(&config, &paths, args.backend, &StderrProgress { quiet })?;
    for notice in &report.notices {
        eprintln!("notice: {notice}");
    }
    if !quiet {
        let seconds: f64 = report.history.iter().map(|r| r.seconds).sum();
        eprintln!(
            "pim: pre-trained {} epochs ({:.1} s in all); best validation loss {:.4} at epoch {} -> {}",
            report.history.len(),
            seconds,
            report.best_loss,
            report.best_epoch,
            args.out.join(crate::train::pretrain::ENCODER_FILE).display()
        );
    }
    Ok(())
}
