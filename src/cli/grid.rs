//! `pim grid` and `pim report`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::dataset::{data_dir, out_or_default};
use super::progress::{StderrProgress, print_lines};
use crate::error::{Error, Result};
use crate::grid::report::write_report;
use crate::grid::run::{GridPaths, collect, progress_of, run_unit, start};
use crate::grid::spec::{Grid, Unit};
use crate::presets;
use crate::train::backend::Backend;

/// Arguments of `pim grid`.
#[derive(Debug, Args)]
pub struct GridArgs {
    /// Grid file (JSON), e.g. configs/grid-dsads.json.
    #[arg(long)]
    pub grid: PathBuf,
    /// The grid's dataset, when pim knows it: its data folder and runs/<name>/grid are the
    /// defaults of --data-dir and --out.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Folder holding the dataset.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Output folder shared by all units; rerun the same command to resume.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only this unit (0-based, as `--list` numbers them), e.g. $SLURM_ARRAY_TASK_ID.
    #[arg(long)]
    pub unit: Option<usize>,
    /// List the units and how many of their cells are done, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
}

/// Arguments of `pim report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The --out folder of `pim grid`.
    #[arg(long)]
    pub grid_dir: PathBuf,
    /// Where to write results.csv, results.md, macro_f1.svg and paired_differences.svg (default: --grid-dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `pim grid`.
pub fn run_grid(args: &GridArgs, quiet: bool, argv: &[String]) -> Result<()> {
    let grid = Grid::load(&args.grid)?;
    let preset = args.dataset.as_deref().map(presets::find).transpose()?;
    if let Some(preset) = preset.filter(|p| p.name != grid.config.dataset.name) {
        return Err(Error::invalid_config(
            args.grid.clone(),
            "--dataset",
            format!("is {}, but the grid's config is of dataset {}", preset.name, grid.config.dataset.name),
            format!("drop --dataset, or pass --dataset {}", grid.config.dataset.name),
        ));
    }
    let out = out_or_default(&args.out, preset, "grid", "--out")?;
    let units = grid.units();
    if args.list {
        let folds = grid.folds();
        let mut lines = vec!["unit\tarms\tfold\tseed\tcells done".to_string()];
        for (i, unit) in units.iter().enumerate() {
            let (done, all) = progress_of(&grid, unit, &out);
            lines.push(format!(
                "{i}\t{}\t{}\t{}\t{done}/{all}",
                unit_arms(&grid, unit),
                folds[unit.fold].name,
                unit.seed
            ));
        }
        print_lines(&lines);
        return Ok(());
    }
    let chosen: Vec<usize> = match args.unit {
        Some(i) if i < units.len() => vec![i],
        Some(i) => {
            return Err(Error::invalid_config(
                args.grid.clone(),
                "--unit",
                format!("is {i}, but the grid has {} units (0 to {})", units.len(), units.len() - 1),
                "see `pim grid --list`; for a Slurm array use --array=0-N with N the last unit",
            ));
        }
        None => (0..units.len()).collect(),
    };
    let paths = GridPaths { data: data_dir(&args.data_dir, preset)?, out };
    start(&grid, &paths)?;
    let progress = StderrProgress { quiet };
    let started = Instant::now();
    let mut finished = 0;
    for &i in &chosen {
        let unit = &units[i];
        if !quiet {
            let fold = &grid.folds()[unit.fold].name;
            eprintln!("[unit {}/{}] {} {fold} seed {}", i + 1, units.len(), unit_arms(&grid, unit), unit.seed);
        }
        finished += run_unit(&grid, unit, &paths, args.backend, argv, &progress)?.len();
    }
    if !quiet {
        eprintln!(
            "pim: {finished} cells run in {:.0} s; `pim report --grid-dir {}` makes the tables",
            started.elapsed().as_secs_f64(),
            paths.out.display()
        );
    }
    Ok(())
}

/// The arms of a unit, comma-separated.
fn unit_arms(grid: &Grid, unit: &Unit) -> String {
    unit.arms.iter().map(|&a| grid.spec.arms[a].name.as_str()).collect::<Vec<_>>().join(",")
}

/// Run `pim report`.
pub fn run_report(args: &ReportArgs, quiet: bool) -> Result<()> {
    let results = collect(&args.grid_dir)?;
    let out = args.out.clone().unwrap_or_else(|| args.grid_dir.clone());
    let written = write_report(&results, &out)?;
    if !quiet {
        eprintln!(
            "pim: {} cells -> {}",
            results.cells.len(),
            written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
