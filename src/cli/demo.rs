//! `pim demo`: the whole pipeline on the bundled DSADS sample, PIM against masked
//! reconstruction and training from scratch at 4 shots, in well under a minute on two cores.

use std::path::PathBuf;

use clap::Args;

use super::progress::{StderrProgress, print_notices};
use crate::config::PimConfig;
use crate::config::PretrainMethod;
use crate::data::kshot::Shots;
use crate::error::Result;
use crate::eval::evaluate::evaluate;
use crate::labels::pseudo_label::pseudo_label;
use crate::presets;
use crate::progress::Progress;
use crate::run_folder::layout::{Layout, PretrainFolder};
use crate::train::backend::Backend;
use crate::train::finetune::{FinetunePaths, Init, finetune};
use crate::train::pretrain::{PretrainPaths, pretrain};
use crate::train::windows::WindowSource;

/// Arguments of `pim demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Config file (JSON); by default the built-in DSADS config with 50 fine-tuning epochs.
    #[arg(long)]
    pub config: Option<PathBuf>,
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

/// Fine-tuning epochs of the demo's default config (DSADS's is 100): half the time, and on
/// the sample's 4-shot draws the kept checkpoint comes before epoch 50 anyway.
pub const DEMO_FINETUNE_EPOCHS: usize = 50;

/// Run pseudo-label, pretrain (PIM and masked reconstruction), finetune (from each, and
/// from scratch) and eval; print a table.
pub fn run(args: &DemoArgs, quiet: bool, argv: &[String]) -> Result<()> {
    let progress = StderrProgress { quiet };
    let mut config = match &args.config {
        Some(path) => PimConfig::load(path)?,
        None => {
            let mut dsads = presets::find("dsads")?.config();
            dsads.finetune.epochs = DEMO_FINETUNE_EPOCHS;
            dsads
        }
    };
    config.finetune.shots = args.shots;
    let labels = args.out.join("labels");

    progress.line(&format!("[1/4] pseudo-labels -> {}", labels.display()));
    pseudo_label(&config, &args.data_dir, &labels, true, argv, &progress)?;
    let windows = WindowSource::Prepared(labels.clone());
    let mut starts = Vec::new();
    for method in [PretrainMethod::Pim, PretrainMethod::Masked] {
        let out = args.out.join(format!("pretrain-{}", method.name()));
        if PretrainFolder::new(&out).run_record().is_file() {
            progress.line(&format!(
                "[2/4] pre-training {}: reusing the finished run in {}",
                method.name(),
                out.display()
            ));
        } else {
            progress.line(&format!("[2/4] pre-training {} -> {}", method.name(), out.display()));
        }
        let mut method_config = config.clone();
        method_config.pretrain.method = method;
        let paths = PretrainPaths { labels: Some(labels.clone()), data: windows.clone(), out: out.clone() };
        pretrain(&method_config, &paths, args.backend, &progress)?;
        starts.push((method.name(), Some(Init::resolve(&out, None))));
    }
    starts.push(("scratch", None));

    let mut rows = Vec::new();
    for (method, init) in starts {
        let out = args.out.join(format!("{method}-{}shot", args.shots));
        progress.line(&format!("[3/4] fine-tuning {method} at {} shots -> {}", args.shots, out.display()));
        let paths = FinetunePaths { data: windows.clone(), init, out: out.clone() };
        let report = finetune(&config, &paths, args.backend, &progress)?;
        print_notices(&report.notices, quiet);
        progress.line(&format!("[4/4] evaluating {method} on the test subjects"));
        let results = evaluate(&out, &windows, args.backend, &progress)?;
        rows.push((method, results.macro_f1, results.accuracy, results.windows));
    }
    println!("| method | shots | test macro-F1 | test accuracy | test windows |");
    println!("| --- | --- | --- | --- | --- |");
    for (method, f1, accuracy, windows) in rows {
        println!("| {method} | {} | {f1:.3} | {accuracy:.3} | {windows} |", args.shots);
    }
    progress.line(
        "The sample holds 2 windows per class and test subject: this table shows that the chain works, not which \
         method is better. README.md's answer and results/ say what the complete datasets show.",
    );
    Ok(())
}
