//! The `pim` command line: clap types live here only; each subcommand turns its arguments
//! into a validated config, runs the library, and prints a summary to stderr.

mod dataset;
mod demo;
mod eval;
mod export;
mod finetune;
mod grid;
mod pretrain;
mod progress;
mod pseudo_label;

use clap::{Parser, Subcommand};

pub use dataset::{ConfigArgs, DataArgs, DatasetsArgs};
pub use demo::DemoArgs;
pub use eval::EvalArgs;
pub use export::{EmbedArgs, ExportArgs};
pub use finetune::FinetuneArgs;
pub use grid::{GridArgs, ReportArgs};
pub use pretrain::PretrainArgs;
pub use pseudo_label::{InspectLabelsArgs, PseudoLabelArgs};

use crate::error::{Error, Result};
use crate::model::conv::simd::{SimdLevel, pin_level};
use crate::model::conv::use_burn_convolutions;
use crate::run_folder::PIM_COMMIT;
use crate::train::backend::Backend;

/// What `pim --version` prints after the name: the version and the commit that built it.
static VERSION: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{} (commit {PIM_COMMIT})", env!("CARGO_PKG_VERSION")));

/// Physics-informed multi-task pre-training for IMU activity recognition with few labels.
#[derive(Debug, Parser)]
#[command(name = "pim", version = VERSION.as_str(), about, propagate_version = true)]
pub struct Cli {
    /// Print no progress bars or summaries (errors still go to stderr).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The stage to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The stages of the pipeline.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute physics pseudo-labels (speed, angles, symmetry) for every window of a dataset.
    PseudoLabel(PseudoLabelArgs),
    /// How much each pseudo-label says about the activity and the subject, with a figure.
    InspectLabels(InspectLabelsArgs),
    /// Pre-train the encoder: PIM's pseudo-labels, or a baseline (resumes if interrupted).
    Pretrain(PretrainArgs),
    /// Fine-tune encoder and classifier on k labelled windows per class.
    Finetune(FinetuneArgs),
    /// Score a fine-tuned model on the test subjects.
    Eval(EvalArgs),
    /// Run every stage on the bundled DSADS sample: PIM, masked reconstruction and scratch at 4 shots.
    Demo(DemoArgs),
    /// Run an experiment grid (methods x folds x seeds x shots); resumes, and runs one unit with --unit.
    Grid(GridArgs),
    /// Collect a grid's cells into results.csv, Markdown tables (paired differences, selected variants) and figures.
    Report(ReportArgs),
    /// Write the encoder's embedding of every window as embeddings.npy (numpy) and embeddings.csv.
    Embed(EmbedArgs),
    /// Write a run's weights as safetensors with PyTorch's names and layouts.
    Export(ExportArgs),
    /// List the datasets pim knows by name, where each looks for its data, and how to get it.
    Datasets(DatasetsArgs),
}

/// Run the parsed command line; `argv` is recorded in the artefacts.
pub fn run(cli: Cli, argv: &[String]) -> Result<()> {
    kernel_choices_from_environment()?;
    // A missing GPU is said at once, before any data is read.
    if requested_backend(&cli.command) == Some(Backend::Gpu) {
        Backend::Gpu.device(0)?;
    }
    match cli.command {
        Command::PseudoLabel(args) => pseudo_label::run(&args, cli.quiet, argv),
        Command::InspectLabels(args) => pseudo_label::run_inspect(&args, cli.quiet),
        Command::Pretrain(args) => pretrain::run(&args, cli.quiet),
        Command::Finetune(args) => finetune::run_finetune(&args, cli.quiet),
        Command::Eval(args) => eval::run_eval(&args, cli.quiet),
        Command::Demo(args) => demo::run(&args, cli.quiet, argv),
        Command::Grid(args) => grid::run_grid(&args, cli.quiet, argv),
        Command::Report(args) => grid::run_report(&args, cli.quiet),
        Command::Embed(args) => export::run_embed(&args, cli.quiet),
        Command::Export(args) => export::run_export(&args, cli.quiet),
        Command::Datasets(args) => dataset::run_datasets(&args),
    }
}

/// `PIM_SIMD` (avx512, avx2 or portable: the SIMD level of pim's kernels) and
/// `PIM_CONV=burn` (Burn's convolutions and dense layers instead): for comparing levels, kernels and
/// machines. The library reads no environment; the command line passes these down.
fn kernel_choices_from_environment() -> Result<()> {
    let usage = |problem: String, fix: &str| Error::Usage { problem, fix: fix.into() };
    if let Some(name) = std::env::var_os("PIM_SIMD") {
        let name = name.to_string_lossy();
        let level: SimdLevel =
            name.parse().map_err(|e| usage(format!("PIM_SIMD: {e}"), "use avx512, avx2 or portable, or unset it"))?;
        pin_level(level).map_err(|e| usage(format!("PIM_SIMD: {e}"), "use a level this CPU has, or unset it"))?;
    }
    match std::env::var("PIM_CONV").as_deref() {
        Err(_) | Ok("direct") => Ok(()),
        Ok("burn") => {
            use_burn_convolutions();
            Ok(())
        }
        Ok(other) => {
            Err(usage(format!("PIM_CONV: {other:?} is not a convolution choice"), "use direct or burn, or unset it"))
        }
    }
}

/// The compute backend a command asks for, where it trains or scores.
fn requested_backend(command: &Command) -> Option<Backend> {
    match command {
        Command::Pretrain(args) => Some(args.backend),
        Command::Finetune(args) => Some(args.backend),
        Command::Eval(args) => Some(args.backend),
        Command::Demo(args) => Some(args.backend),
        Command::Grid(args) => Some(args.backend),
        Command::Embed(args) => Some(args.backend),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_label_takes_a_config_file_or_a_dataset_name() {
        let cli = Cli::try_parse_from(["pim", "pseudo-label", "--config", "c.json", "--data-dir", "d", "--out", "o"])
            .expect("valid command line");
        let Command::PseudoLabel(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.config.config.as_deref(), Some(std::path::Path::new("c.json")));
        let cli = Cli::try_parse_from(["pim", "pseudo-label", "--dataset", "dsads"]).expect("valid command line");
        let Command::PseudoLabel(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.config.preset().unwrap().map(|p| p.name), Some("dsads"));
        // Without a preset the folders have no defaults.
        let error = dataset::out_or_default(&None, None, "labels", "--out").unwrap_err().to_string();
        assert!(error.contains("--out") && error.contains("is missing"), "{error}");
    }

    /// `pim pretrain` with its required arguments, then `extra`.
    fn pretrain_command_line(extra: &[&str]) -> Result<Cli, clap::Error> {
        let required = ["pim", "pretrain", "--config", "c", "--labels", "l", "--data-dir", "d", "--out", "r"];
        Cli::try_parse_from(required.iter().chain(extra))
    }

    #[test]
    fn pretrain_parses_tasks_and_loss_weights() {
        let cli =
            pretrain_command_line(&["--tasks", "speed,symmetry", "--loss-weights", "1,0.5,2", "--backend", "cpu"])
                .expect("valid command line");
        let Command::Pretrain(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.tasks, Some(vec![crate::config::Task::Speed, crate::config::Task::Symmetry]));
        assert_eq!(args.loss_weights, Some(vec![1.0, 0.5, 2.0]));
        assert!(pretrain_command_line(&["--tasks", "speeed"]).is_err());
        assert!(pretrain_command_line(&["--backend", "tpu"]).is_err());
    }

    #[test]
    fn negative_numbers_reach_the_checks_that_explain_them() {
        let error = Cli::try_parse_from(["pim", "finetune", "--config", "c", "--windows", "w", "--shots", "-1"])
            .expect_err("-1 is not a shot count")
            .to_string();
        assert!(error.contains("is not a shot count: use a whole number >= 1"), "{error}");
        let cli = pretrain_command_line(&["--loss-weights", "-1,1,1"]).expect("parsed; the config check refuses it");
        let Command::Pretrain(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.loss_weights, Some(vec![-1.0, 1.0, 1.0]));
    }

    #[test]
    fn quiet_is_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from(["pim", "pseudo-label", "--config", "c", "--data-dir", "d", "--out", "o", "-q"]);
        assert!(cli.expect("valid").quiet);
    }
}
