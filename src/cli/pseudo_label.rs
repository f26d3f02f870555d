//! `pim pseudo-label`.

use std::path::PathBuf;

use clap::Args;

use super::progress::StderrProgress;
use crate::config::PimConfig;
use crate::error::Result;
use crate::labels::pseudo_label::pseudo_label;

/// Arguments of `pim pseudo-label`.
#[derive(Debug, Args)]
pub struct PseudoLabelArgs {
    /// Config file (JSON), e.g. configs/dsads.json.
    #[arg(long)]
    pub config: PathBuf,
    /// Folder holding the dataset in the config's format.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Folder to write features.csv, labels.csv, discretiser.json, config.json, run.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// Load the config, run the stage, and print notices and a summary to stderr.
pub fn run(args: &PseudoLabelArgs, quiet: bool, argv: &[String]) -> Result<()> {
    let config = PimConfig::load(&args.config)?;
    let report = pseudo_label(&config, &args.data_dir, &args.out, true, argv, &StderrProgress { quiet })?;
    for notice in &report.notices {
        eprintln!("notice: {notice}");
    }
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
            args.out.display()
        );
    }
    Ok(())
}

/// Arguments of `pim inspect-labels`.
#[derive(Debug, Args)]
pub struct InspectLabelsArgs {
    /// The --out folder of `pim pseudo-label`.
    #[arg(long)]
    pub labels: PathBuf,
    /// Where to write label_information.csv and label_distributions.svg (default: --labels).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `pim inspect-labels`.
pub fn run_inspect(args: &InspectLabelsArgs, quiet: bool) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.labels.clone());
    let written = crate::labels::inspect::inspect_labels(&args.labels, &out)?;
    if !quiet {
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("pim: wrote {}", names.join(", "));
    }
    Ok(())
}
