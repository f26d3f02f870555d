//! `pim pseudo-label`.

use std::path::PathBuf;

use clap::Args;

use super::dataset::{ConfigArgs, LABELS_STAGE, data_dir, out_or_default};
use super::progress::{StderrProgress, print_notices};
use crate::error::Result;
use crate::labels::pseudo_label::pseudo_label;
use crate::presets;

/// Arguments of `pim pseudo-label`.
#[derive(Debug, Args)]
pub struct PseudoLabelArgs {
    /// The dataset and its config.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Folder holding the dataset in the config's format (with --dataset: $PIM_DATA/<name>,
    /// else data/<name>).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Folder to write features.csv, labels.csv, windows.npy, discretiser.json, config.json,
    /// run.json (with --dataset: runs/<name>/labels).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Load the config, run the stage, and print notices and a summary to stderr.
pub fn run(args: &PseudoLabelArgs, quiet: bool, argv: &[String]) -> Result<()> {
    let resolved = args.config.resolve()?;
    resolved.config.validate(&resolved.path)?;
    let data = data_dir(&args.data_dir, resolved.preset)?;
    let out = out_or_default(&args.out, resolved.preset, LABELS_STAGE, "--out")?;
    let report = pseudo_label(&resolved.config, &data, &out, true, argv, &StderrProgress { quiet })?;
    print_notices(&report.notices, quiet);
    if !quiet {
        eprintln!(
            "pim: {} windows ({} training) x {} quantities from {} recordings in {:.2} s (parse {:.2} s, features {:.2} s) -> {}",
            report.windows,
            report.train_windows,
            report.quantities,
            report.recordings,
            (report.parse_time + report.features_time).as_secs_f64(),
            report.parse_time.as_secs_f64(),
            report.features_time.as_secs_f64(),
            out.display()
        );
    }
    Ok(())
}

/// Arguments of `pim inspect-labels`.
#[derive(Debug, Args)]
pub struct InspectLabelsArgs {
    /// The --out folder of `pim pseudo-label`.
    #[arg(long, required_unless_present = "dataset")]
    pub labels: Option<PathBuf>,
    /// A dataset pim knows: reads runs/<name>/labels.
    #[arg(long, conflicts_with = "labels")]
    pub dataset: Option<String>,
    /// Where to write label_information.csv and label_distributions.svg (default: --labels).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `pim inspect-labels`.
pub fn run_inspect(args: &InspectLabelsArgs, quiet: bool) -> Result<()> {
    let preset = args.dataset.as_deref().map(presets::find).transpose()?;
    let labels = out_or_default(&args.labels, preset, LABELS_STAGE, "--labels")?;
    let out = args.out.clone().unwrap_or_else(|| labels.clone());
    let written = crate::labels::inspect::inspect_labels(&labels, &out)?;
    if !quiet {
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("pim: wrote {}", names.join(", "));
    }
    Ok(())
}
