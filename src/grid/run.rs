//! Running a grid: each unit (arm x seed) pre-trains once (resuming a killed run), then
//! fine-tunes and evaluates every shot count, each cell ending with its own `cell.json`.
//! A cell with a `cell.json` is done and skipped, so a grid that is stopped and started
//! again carries on where it stopped, and units can run on different machines against
//! one shared output folder.
//!
//! Layout of the output folder:
//! - `grid.json`: the grid file and the base config it resolved to;
//! - `labels/`: the pseudo-labels (`pim pseudo-label`), made once for all PIM arms;
//! - `<arm>/seed<s>/pretrain/`: the pre-training run;
//! - `<arm>/seed<s>/shots-<k>/`: the fine-tuning run, its evaluation and `cell.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::spec::{ArmMethod, Grid, GridSpec, Unit};
use crate::config::PimConfig;
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::eval::report::evaluate;
use crate::labels::Task;
use crate::labels::pseudo_label::pseudo_label;
use crate::progress::Progress;
use crate::train::backend::Backend;
use crate::train::checkpoint::{load_json, save_json};
use crate::train::finetune::{FinetunePaths, finetune};
use crate::train::pretrain::{ENCODER_FILE, METRICS_FILE, PretrainPaths, pretrain};

/// The file that marks a cell done.
pub const CELL_FILE: &str = "cell.json";
/// The grid as run, at the top of the output folder.
pub const GRID_FILE: &str = "grid.json";

/// What `grid.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridRecord {
    /// The grid file as written.
    pub spec: GridSpec,
    /// The base config after the overrides.
    pub config: PimConfig,
}

/// One finished cell: an arm, a seed and a shot count, scored on the test subjects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Arm name.
    pub arm: String,
    /// How its encoder was made.
    pub method: ArmMethod,
    /// PIM's tasks (empty for the other methods).
    pub tasks: Vec<Task>,
    /// Seed.
    pub seed: u64,
    /// Labelled windows per class asked for.
    pub shots: Shots,
    /// Labelled windows drawn in all.
    pub drawn: usize,
    /// Macro-F1 on the test subjects.
    pub macro_f1: f64,
    /// Accuracy on the test subjects.
    pub accuracy: f64,
    /// Fine-tuning epoch kept (best validation macro-F1).
    pub best_epoch: usize,
    /// Wall time of fine-tuning and evaluation.
    pub seconds: f64,
    /// Wall time of the unit's pre-training (summed over resumed runs; 0 for scratch).
    pub pretrain_seconds: f64,
}

/// Where a grid reads and writes.
#[derive(Debug, Clone)]
pub struct GridPaths {
    /// The dataset folder.
    pub data: PathBuf,
    /// The output folder.
    pub out: PathBuf,
}

/// Folder of a unit under the output folder `out`.
pub fn unit_dir(out: &Path, grid: &Grid, unit: &Unit) -> PathBuf {
    out.join(&grid.spec.arms[unit.arm].name).join(format!("seed{}", unit.seed))
}

/// Folder of a cell under the output folder `out`.
pub fn cell_dir(out: &Path, grid: &Grid, unit: &Unit, shots: Shots) -> PathBuf {
    unit_dir(out, grid, unit).join(format!("shots-{shots}"))
}

/// Whether a cell has finished (its `cell.json` exists).
fn is_done(out: &Path, grid: &Grid, unit: &Unit, shots: Shots) -> bool {
    cell_dir(out, grid, unit, shots).join(CELL_FILE).is_file()
}

/// Cells of a unit that are done, and how many it has.
pub fn progress_of(grid: &Grid, unit: &Unit, out: &Path) -> (usize, usize) {
    let shots = grid.shots_of(&grid.spec.arms[unit.arm]);
    let done = shots.iter().filter(|&&s| is_done(out, grid, unit, s)).count();
    (done, shots.len())
}

/// Record the grid in the output folder, or check that the one recorded there is this one
/// (results of two different grids must not mix).
pub fn start(grid: &Grid, paths: &GridPaths) -> Result<()> {
    let record = GridRecord { spec: grid.spec.clone(), config: grid.config.clone() };
    let path = paths.out.join(GRID_FILE);
    if path.is_file() {
        let saved: GridRecord = load_json(&path, "delete the output folder to start over")?;
        if saved != record {
            return Err(Error::Artefact {
                path,
                problem: "records a different grid or base config than this one".into(),
                fix: "use a new --out for a changed grid, or restore the grid file that made it".into(),
            });
        }
        return Ok(());
    }
    std::fs::create_dir_all(&paths.out)
        .map_err(|e| Error::io("create folder", &paths.out, "choose a --out folder you can write to", e))?;
    save_json(&record, &path)
}

/// Run one unit: pseudo-labels if a PIM arm needs them and they are missing, pre-training
/// (resumed if it was cut short), then every shot count not yet done. Returns the cells
/// this call finished.
pub fn run_unit(
    grid: &Grid,
    unit: &Unit,
    paths: &GridPaths,
    backend: Backend,
    command: &[String],
    progress: &dyn Progress,
) -> Result<Vec<Cell>> {
    let arm = &grid.spec.arms[unit.arm];
    let shots = grid.shots_of(arm);
    let config = grid.config_of(arm, unit.seed);
    let todo: Vec<Shots> = shots.into_iter().filter(|&s| !is_done(&paths.out, grid, unit, s)).collect();
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let labels = paths.out.join("labels");
    if arm.method == ArmMethod::Pim && !labels.is_dir() {
        make_labels(grid, paths, &labels, command, progress)?;
    }
    let (init, pretrain_seconds) = match arm.method.pretrain_method() {
        Some(_) => {
            let out = unit_dir(&paths.out, grid, unit).join("pretrain");
            progress.line(&format!("{} seed {}: pre-training -> {}", arm.name, unit.seed, out.display()));
            let pretrain_paths = PretrainPaths {
                labels: (arm.method == ArmMethod::Pim).then(|| labels.clone()),
                data: paths.data.clone(),
                out: out.clone(),
            };
            let report = pretrain(&config, &pretrain_paths, backend, progress)?;
            for notice in &report.notices {
                progress.line(&format!("notice: {notice}"));
            }
            (Some(out.join(ENCODER_FILE)), report.history.iter().map(|r| r.seconds).sum())
        }
        None => (None, 0.0),
    };
    let mut cells = Vec::new();
    for shots in todo {
        let started = Instant::now();
        let dir = cell_dir(&paths.out, grid, unit, shots);
        let mut cell_config = config.clone();
        cell_config.finetune.shots = shots;
        let finetune_paths = FinetunePaths { data: paths.data.clone(), init: init.clone(), out: dir.clone() };
        let tuned = finetune(&cell_config, &finetune_paths, backend, progress)?;
        let scores = evaluate(&dir, &paths.data, backend, progress)?;
        let cell = Cell {
            arm: arm.name.clone(),
            method: arm.method,
            tasks: if arm.method == ArmMethod::Pim { config.pretrain.tasks.clone() } else { Vec::new() },
            seed: unit.seed,
            shots,
            drawn: tuned.drawn,
            macro_f1: scores.macro_f1,
            accuracy: scores.accuracy,
            best_epoch: tuned.best_epoch,
            seconds: started.elapsed().as_secs_f64(),
            pretrain_seconds,
        };
        save_json(&cell, &dir.join(CELL_FILE))?;
        progress.line(&format!(
            "{} seed {} {shots} shots: macro-F1 {:.3}, accuracy {:.3} ({:.0} s)",
            arm.name, unit.seed, cell.macro_f1, cell.accuracy, cell.seconds
        ));
        cells.push(cell);
    }
    Ok(cells)
}

/// Pseudo-label into a private folder, then rename it to `labels` in one step: units
/// running at once never see half a labels folder, and the first rename wins.
fn make_labels(
    grid: &Grid,
    paths: &GridPaths,
    labels: &Path,
    command: &[String],
    progress: &dyn Progress,
) -> Result<()> {
    progress.line(&format!("pseudo-labels -> {}", labels.display()));
    let staging = paths.out.join(format!(".labels-{}", std::process::id()));
    pseudo_label(&grid.config, &paths.data, &staging, command, progress)?;
    if std::fs::rename(&staging, labels).is_err() && labels.is_dir() {
        // Another unit got there first with the same labels.
        let _ = std::fs::remove_dir_all(&staging);
        return Ok(());
    }
    if labels.is_dir() {
        Ok(())
    } else {
        Err(Error::Artefact {
            path: labels.to_path_buf(),
            problem: "could not be created".into(),
            fix: "check the --out folder is writable".into(),
        })
    }
}

/// The losses of one pre-training run, epoch by epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainCurve {
    /// Arm name.
    pub arm: String,
    /// Seed.
    pub seed: u64,
    /// Weighted training loss per epoch.
    pub train: Vec<f64>,
    /// Weighted validation loss per epoch.
    pub validation: Vec<f64>,
}

impl PretrainCurve {
    /// 1-based epoch with the lowest validation loss (the one kept).
    pub fn kept_epoch(&self) -> usize {
        let best = self.validation.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1));
        best.map_or(0, |(i, _)| i + 1)
    }
}

/// What a grid's output folder holds so far.
#[derive(Debug, Clone)]
pub struct GridResults {
    /// The grid as run.
    pub record: GridRecord,
    /// Finished cells, in grid order.
    pub cells: Vec<Cell>,
    /// Pre-training runs with at least one epoch, in grid order.
    pub curves: Vec<PretrainCurve>,
}

/// Everything finished under a grid's output folder.
pub fn collect(out: &Path) -> Result<GridResults> {
    let record: GridRecord = load_json(&out.join(GRID_FILE), "pass --grid-dir the --out folder of `pim grid`")?;
    let grid = Grid { spec: record.spec.clone(), config: record.config.clone(), path: out.join(GRID_FILE) };
    let mut cells = Vec::new();
    let mut curves = Vec::new();
    for unit in grid.units() {
        let arm = &grid.spec.arms[unit.arm];
        for shots in grid.shots_of(arm) {
            let path = cell_dir(out, &grid, &unit, shots).join(CELL_FILE);
            if path.is_file() {
                cells.push(load_json(&path, "delete the cell's folder to run it again")?);
            }
        }
        let metrics = unit_dir(out, &grid, &unit).join("pretrain").join(METRICS_FILE);
        if metrics.is_file() {
            let (train, validation) = read_losses(&metrics)?;
            curves.push(PretrainCurve { arm: arm.name.clone(), seed: unit.seed, train, validation });
        }
    }
    Ok(GridResults { record, cells, curves })
}

/// The `train_loss` and `validation_loss` columns of a pre-training `metrics.csv`.
fn read_losses(path: &Path) -> Result<(Vec<f64>, Vec<f64>)> {
    let fix = "delete the unit's pretrain/ folder to run it again";
    let bad = |line: u64, problem: String| Error::BadRow { path: path.to_path_buf(), line, problem, fix: fix.into() };
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(0, e.to_string()))?;
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let column =
        |name: &str| header.iter().position(|h| h == name).ok_or_else(|| bad(1, format!("has no {name} column")));
    let (train_at, validation_at) = (column("train_loss")?, column("validation_loss")?);
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let number =
            |i: usize| record[i].parse::<f64>().map_err(|_| bad(line, format!("{:?} is not a number", &record[i])));
        train.push(number(train_at)?);
        validation.push(number(validation_at)?);
    }
    Ok((train, validation))
}
