//! `pim eval`.

use std::path::PathBuf;

use clap::Args;

use super::dataset::{DataArgs, FinetuneFrom, finetune_runs, finetune_stage};
use super::progress::{StderrProgress, print_notices};
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::eval::evaluate::evaluate;
use crate::presets;
use crate::run_folder::layout::FinetuneFolder;
use crate::train::backend::Backend;

/// Arguments of `pim eval`: which run, by folder or by dataset name.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["run", "dataset"])))]
pub struct EvalArgs {
    /// The --out folder of `pim finetune`; predictions.csv and results.json go there.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// A dataset pim knows: evaluates runs/<name>/finetune-<from>-<shots>shots-seed<seed>.
    #[arg(long, conflicts_with = "run")]
    pub dataset: Option<String>,
    /// With --dataset: the fine-tuning run's start (pim, masked, transform, pim+masked, scratch; default
    /// the preset's pretrain.method).
    #[arg(long, requires = "dataset")]
    pub from: Option<FinetuneFrom>,
    /// With --dataset: the fine-tuning run's shots (default the preset's finetune.shots).
    #[arg(long, requires = "dataset", allow_hyphen_values = true)]
    pub shots: Option<Shots>,
    /// With --dataset: the fine-tuning run's seed (default the preset's seed).
    #[arg(long, requires = "dataset")]
    pub seed: Option<u64>,
    /// With --dataset: the sensors its encoder reads, comma-separated (default every sensor).
    #[arg(long, requires = "dataset", value_delimiter = ',')]
    pub sensors: Option<Vec<String>>,
    /// Where the windows are.
    #[command(flatten)]
    pub data: DataArgs,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// Run `pim eval` and print the headline figures.
pub fn run_eval(args: &EvalArgs, quiet: bool) -> Result<()> {
    let preset = args.dataset.as_deref().map(presets::find).transpose()?;
    let run = match (&args.run, preset) {
        (Some(run), _) => run.clone(),
        (None, Some(preset)) => {
            let mut config = preset.config();
            let start = args.from.unwrap_or(FinetuneFrom::Pretrained(config.pretrain.method));
            config.finetune.shots = args.shots.unwrap_or(config.finetune.shots);
            config.seed = args.seed.unwrap_or(config.seed);
            config.model.sensors = args.sensors.clone().unwrap_or_default();
            let run = preset.run_dir(&finetune_stage(start.name(), &config));
            if !run.is_dir() {
                let runs = run.parent().map(finetune_runs).unwrap_or_default();
                let fix = if runs.is_empty() {
                    format!("run `pim finetune --dataset {}` first", preset.name)
                } else {
                    format!("pick one with --from, --shots and --seed, or --run: {}", runs.join(", "))
                };
                return Err(Error::bad_dataset(run, "does not exist", fix));
            }
            run
        }
        (None, None) => unreachable!("clap requires --run or --dataset"),
    };
    let results = evaluate(&run, &args.data.source(preset)?, args.backend, &StderrProgress { quiet })?;
    print_notices(&results.notices, quiet);
    if !quiet {
        eprintln!(
            "pim: {} test windows: macro-F1 {:.4}, accuracy {:.4} -> {}",
            results.windows,
            results.macro_f1,
            results.accuracy,
            FinetuneFolder::new(&run).results().display()
        );
    }
    Ok(())
}
