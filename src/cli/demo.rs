//! `pim demo`: the whole pipeline on the bundled DSADS sample, PIM against training from
//! scratch at 4 shots, in about a minute on two cores.

use std::path::PathBuf;

use clap::Args;

use super::progress::{StderrProgress, print_notices};
use crate::config::PimConfig;
use crate::data::kshot::Shots;
use crate::error::Result;
use crate::eval::evaluate::evaluate;
use crate::labels::pseudo_label::pseudo_label;
use crate::train::backend::Backend;
use crate::train::finetune::{FinetunePaths, Init, finetune};
use crate::train::pretrain::{PretrainPaths, pretrain};
use crate::train::windows::WindowSource;

/// Arguments of `pim demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Config file (JSON).
    #[arg(long, default_value = "configs/demo.json")]
    pub config: PathBuf,
    /// Folder holding the dataset.
    #[arg(long, default_value = "data/dsads-sample")]
    pub data_dir: PathBuf,
    /// Folder for every stage's output.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Labelled training windows per class.
    #[arg(long, default_value = "4")]
    pub shots: Shots,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// Run pseudo-label, pretrain, finetune (PIM and scratch) and eval; print a table.
pub fn run(args: &DemoArgs, quiet: bool, argv: &[String]) -> Result<()> {
    let progress = StderrProgress { quiet };
    let mut config = PimConfig::load(&args.config)?;
    config.finetune.shots = args.shots;
    let (labels, pretrained) = (args.out.join("labels"), args.out.join("pretrain"));

    eprintln!("[1/4] pseudo-labels -> {}", labels.display());
    pseudo_label(&config, &args.data_dir, &labels, true, argv, &progress)?;
    eprintln!("[2/4] pre-training -> {}", pretrained.display());
    let windows = WindowSource::Prepared(labels.clone());
    let paths = PretrainPaths { labels: Some(labels), data: windows.clone(), out: pretrained.clone() };
    pretrain(&config, &paths, args.backend, &progress)?;

    let mut rows = Vec::new();
    for (method, init) in [("pim", Some(Init::resolve(&pretrained, None))), ("scratch", None)] {
        let out = args.out.join(format!("{method}-{}shot", args.shots));
        eprintln!("[3/4] fine-tuning {method} at {} shots -> {}", args.shots, out.display());
        let paths = FinetunePaths { data: windows.clone(), init, out: out.clone() };
        let report = finetune(&config, &paths, args.backend, &progress)?;
        print_notices(&report.notices, quiet);
        eprintln!("[4/4] evaluating {method} on the test subjects");
        let results = evaluate(&out, &windows, args.backend, &progress)?;
        rows.push((method, results.macro_f1, results.accuracy, results.windows));
    }
    println!("| method | shots | test macro-F1 | test accuracy | test windows |");
    println!("| --- | --- | --- | --- | --- |");
    for (method, f1, accuracy, windows) in rows {
        println!("| {method} | {} | {f1:.3} | {accuracy:.3} | {windows} |", args.shots);
    }
    Ok(())
}
