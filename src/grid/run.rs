//! Running a grid: each unit (the arms sharing one pre-training, at one fold and one seed)
//! pre-trains once (resuming a killed run), then fine-tunes and evaluates each arm at each
//! of its shot counts, each cell ending with its own `cell.json`. A cell with a `cell.json`
//! is done and skipped, so a grid that is stopped and started again carries on where it
//! stopped, and units can run on different machines against one shared output folder.
//!
//! Layout of the output folder:
//! - `grid.json`: the grid file and the base config it resolved to;
//! - `windows/`: the prepared windows, read once from the raw data for every fold;
//! - `labels/<arm>/<fold>/`: the pseudo-labels of a fold (discretiser fitted on its
//!   training subjects), one folder per distinct physics and labels config, named after the
//!   first PIM arm that uses it;
//! - `pretrain/<arm>/<fold>/seed<s>/`: a pre-training run, named after the first arm that
//!   shares it (arms that differ only in their checkpoint rule share one);
//! - `cells/<arm>/<fold>/seed<s>/shots-<k>/`: a fine-tuning run, its evaluation and
//!   `cell.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::spec::{Arm, ArmMethod, Grid, GridSpec, Unit};
use crate::config::PimConfig;
use crate::config::Task;
use crate::data::kshot::Shots;
use crate::data::prepared::prepare_windows;
use crate::error::{Error, Result};
use crate::eval::evaluate::evaluate;
use crate::labels::pseudo_label::pseudo_label;
use crate::progress::Progress;
use crate::run_folder::layout::PretrainFolder;
use crate::run_folder::{PIM_COMMIT, exit_here_if_asked, load_json, save_json};
use crate::train::backend::Backend;
use crate::train::finetune::{FinetunePaths, Init, finetune};
use crate::train::pretrain::{PretrainPaths, pretrain};
use crate::train::windows::WindowSource;

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

/// One finished cell: an arm, a fold, a seed and a shot count, scored on the fold's test
/// subjects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Arm name.
    pub arm: String,
    /// How its encoder was made.
    pub method: ArmMethod,
    /// PIM's tasks (empty for the other methods).
    pub tasks: Vec<Task>,
    /// Fold name.
    pub fold: String,
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
    /// Macro-F1 on the validation windows fine-tuning was allowed, at the kept epoch (what
    /// selection reads; test scores never take part in a choice); `None` where it was
    /// allowed none.
    pub validation_macro_f1: Option<f64>,
    /// Fine-tuning epoch kept (best validation macro-F1).
    pub best_epoch: usize,
    /// The pre-training epoch of the encoder (none for scratch).
    pub pretrain_epoch: Option<usize>,
    /// Wall time of fine-tuning and evaluation.
    pub seconds: f64,
    /// Wall time of the unit's pre-training (summed over resumed runs; 0 for scratch).
    pub pretrain_seconds: f64,
    /// The build that fine-tuned and scored it (`pim --version`'s commit); absent in
    /// records made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pim_commit: Option<String>,
}

/// Where a grid reads and writes.
#[derive(Debug, Clone)]
pub struct GridPaths {
    /// The dataset folder.
    pub data: PathBuf,
    /// The output folder.
    pub out: PathBuf,
}

/// Folder of a cell under the output folder `out`.
pub fn cell_dir(out: &Path, arm: &str, fold: &str, seed: u64, shots: Shots) -> PathBuf {
    out.join("cells").join(arm).join(fold).join(format!("seed{seed}")).join(format!("shots-{shots}"))
}

/// Folder of a unit's pre-training under the output folder `out`.
pub fn pretrain_dir(out: &Path, grid: &Grid, unit: &Unit) -> PathBuf {
    let name = &grid.spec.arms[unit.arms[0]].name;
    out.join("pretrain").join(name).join(&grid.folds()[unit.fold].name).join(format!("seed{}", unit.seed))
}

/// The cells of a unit: (arm index, shot count), in order.
fn cells_of(grid: &Grid, unit: &Unit) -> Vec<(usize, Shots)> {
    unit.arms.iter().flat_map(|&a| grid.shots_of(&grid.spec.arms[a]).into_iter().map(move |s| (a, s))).collect()
}

/// Whether a cell has finished: its `cell.json` exists and reads as a cell (a damaged one,
/// empty or cut short, makes the cell run again).
fn is_done(out: &Path, grid: &Grid, unit: &Unit, arm: usize, shots: Shots) -> bool {
    let fold = &grid.folds()[unit.fold].name;
    let path = cell_dir(out, &grid.spec.arms[arm].name, fold, unit.seed, shots).join(CELL_FILE);
    path.is_file() && load_json::<Cell>(&path, "").is_ok()
}

/// Cells of a unit that are done, and how many it has.
pub fn progress_of(grid: &Grid, unit: &Unit, out: &Path) -> (usize, usize) {
    let cells = cells_of(grid, unit);
    let done = cells.iter().filter(|&&(arm, shots)| is_done(out, grid, unit, arm, shots)).count();
    (done, cells.len())
}

/// Record the grid in the output folder, or check that the one recorded there is this one
/// or extends it (results of two different grids must not mix). A grid extends another if
/// the base config, overrides and folds are the same and every arm of the other is in it
/// with the same definition, give or take seeds and shot counts: more cells of the same
/// experiment. The record is then updated.
pub fn start(grid: &Grid, paths: &GridPaths) -> Result<()> {
    let record = GridRecord { spec: grid.spec.clone(), config: grid.config.clone() };
    let path = paths.out.join(GRID_FILE);
    if path.is_file() {
        let saved: GridRecord = load_json(&path, "delete the output folder to start over")?;
        if saved == record {
            return Ok(());
        }
        if !extends(&record, &saved) {
            return Err(Error::Artefact {
                path,
                problem: "records a different grid or base config than this one".into(),
                fix: "use a new --out for a changed grid (adding arms, seeds or shot counts is allowed), or restore \
                      the grid file that made it"
                    .into(),
            });
        }
        return save_json(&record, &path);
    }
    std::fs::create_dir_all(&paths.out)
        .map_err(|e| Error::io("create folder", &paths.out, "choose a --out folder you can write to", e))?;
    save_json(&record, &path)
}

/// Whether `new` only adds cells to `old`: same base config, overrides, folds and
/// selection, and every arm of `old` unchanged but for its seeds and shot counts.
fn extends(new: &GridRecord, old: &GridRecord) -> bool {
    let (n, o) = (&new.spec, &old.spec);
    let same_arm = |a: &Arm, b: &Arm| {
        Arm { seeds: None, shots: None, ..a.clone() } == Arm { seeds: None, shots: None, ..b.clone() }
    };
    new.config == old.config
        && n.config == o.config
        && n.overrides == o.overrides
        && n.folds == o.folds
        && n.selection == o.selection
        && o.arms.iter().all(|old_arm| n.arms.iter().any(|arm| same_arm(arm, old_arm)))
}

/// Run one unit: the prepared windows and the fold's pseudo-labels if missing, the
/// pre-training (resumed if it was cut short), then every cell not yet done. Returns the
/// cells this call finished.
pub fn run_unit(
    grid: &Grid,
    unit: &Unit,
    paths: &GridPaths,
    backend: Backend,
    command: &[String],
    progress: &dyn Progress,
) -> Result<Vec<Cell>> {
    let todo: Vec<(usize, Shots)> =
        cells_of(grid, unit).into_iter().filter(|&(arm, shots)| !is_done(&paths.out, grid, unit, arm, shots)).collect();
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let windows_dir = paths.out.join("windows");
    make_once(&windows_dir, &paths.out, progress, |staging| {
        prepare_windows((&grid.config.dataset, &grid.config, grid.config.seed), &paths.data, staging, command, progress)
            .map(|_| ())
    })?;
    let windows = WindowSource::Prepared(windows_dir);
    let fold = &grid.folds()[unit.fold];
    let first = &grid.spec.arms[unit.arms[0]];
    let config = grid.config_of(first, unit.fold, unit.seed);
    let (pretrained, pretrain_seconds) = match first.method.pretrain_method() {
        Some(_) => {
            let labels = match grid.labels_name(first) {
                Some(name) => {
                    let dir = paths.out.join("labels").join(name).join(&fold.name);
                    make_once(&dir, &paths.out, progress, |staging| {
                        pseudo_label(&config, &paths.data, staging, false, command, progress).map(|_| ())
                    })?;
                    Some(dir)
                }
                None => None,
            };
            let out = pretrain_dir(&paths.out, grid, unit);
            progress.line(&format!(
                "{} {} seed {}: pre-training -> {}",
                first.name,
                fold.name,
                unit.seed,
                out.display()
            ));
            let report = pretrain(
                &config,
                &PretrainPaths { labels, data: windows.clone(), out: out.clone() },
                backend,
                progress,
            )?;
            for notice in &report.notices {
                progress.line(&format!("notice: {notice}"));
            }
            (Some((out, report.kept)), report.history.iter().map(|r| r.seconds).sum())
        }
        None => (None, 0.0),
    };
    let mut cells = Vec::new();
    for (arm_index, shots) in todo {
        let arm = &grid.spec.arms[arm_index];
        let mut cell_config = grid.config_of(arm, unit.fold, unit.seed);
        cell_config.finetune.shots = shots;
        let rule = cell_config.pretrain.checkpoint;
        let init = pretrained.as_ref().map(|(run, _)| Init::resolve(run, Some(rule)));
        let pretrain_epoch = pretrained.as_ref().map(|(_, kept)| kept[&rule]);
        let cell = run_cell(arm, &cell_config, fold.name.clone(), init, &windows, paths, backend, progress)?;
        let cell = Cell { pretrain_epoch, pretrain_seconds, ..cell };
        save_json(&cell, &cell_dir(&paths.out, &arm.name, &fold.name, unit.seed, shots).join(CELL_FILE))?;
        progress.line(&format!(
            "{} {} seed {} {shots} shots: macro-F1 {:.3}, accuracy {:.3} ({:.0} s)",
            arm.name, fold.name, unit.seed, cell.macro_f1, cell.accuracy, cell.seconds
        ));
        cells.push(cell);
        // Tests interrupt here, after an exact number of cells, instead of racing a timer.
        exit_here_if_asked(EXIT_AFTER_CELLS_VAR, cells.len());
    }
    Ok(cells)
}

/// The environment variable that makes a grid exit (status 137, as if killed) once a unit
/// has saved that many of its cells: tests interrupt a grid deterministically with it.
pub const EXIT_AFTER_CELLS_VAR: &str = "PIM_TEST_EXIT_AFTER_CELLS";

/// Fine-tune and evaluate one cell (its pre-training figures still to fill in).
#[allow(clippy::too_many_arguments)]
fn run_cell(
    arm: &Arm,
    config: &PimConfig,
    fold: String,
    init: Option<Init>,
    windows: &WindowSource,
    paths: &GridPaths,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<Cell> {
    let started = Instant::now();
    let dir = cell_dir(&paths.out, &arm.name, &fold, config.seed, config.finetune.shots);
    let tuned = finetune(config, &FinetunePaths { data: windows.clone(), init, out: dir.clone() }, backend, progress)?;
    let scores = evaluate(&dir, windows, backend, progress)?;
    Ok(Cell {
        arm: arm.name.clone(),
        method: arm.method,
        tasks: if arm.method.learns_physics() { config.pretrain.tasks.clone() } else { Vec::new() },
        fold,
        seed: config.seed,
        shots: config.finetune.shots,
        drawn: tuned.drawn,
        macro_f1: scores.macro_f1,
        accuracy: scores.accuracy,
        validation_macro_f1: tuned.best_macro_f1,
        best_epoch: tuned.best_epoch,
        pretrain_epoch: None,
        seconds: started.elapsed().as_secs_f64(),
        pretrain_seconds: 0.0,
        pim_commit: Some(PIM_COMMIT.into()),
    })
}

/// Make the folder `dir` with `make`, unless it exists: into a private folder, renamed
/// into place in one step, so units running at once never see half of it, and the first
/// rename wins.
fn make_once(dir: &Path, out: &Path, progress: &dyn Progress, make: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    progress.line(&format!("preparing {}", dir.display()));
    let staging = out.join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    make(&staging)?;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("create folder", parent, "check the --out folder is writable", e))?;
    }
    if std::fs::rename(&staging, dir).is_err() && dir.is_dir() {
        // Another unit got there first with the same contents.
        let _ = std::fs::remove_dir_all(&staging);
    }
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::Artefact {
            path: dir.to_path_buf(),
            problem: "could not be created".into(),
            fix: "check the --out folder is writable".into(),
        })
    }
}

/// The losses of one pre-training run, epoch by epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainCurve {
    /// Name of the pre-training (its first arm).
    pub arm: String,
    /// Fold name.
    pub fold: String,
    /// Seed.
    pub seed: u64,
    /// Weighted training loss per epoch.
    pub train: Vec<f64>,
    /// Weighted validation loss per epoch.
    pub validation: Vec<f64>,
    /// The epoch each checkpoint rule kept, by rule name (empty until the run finished).
    pub kept: BTreeMap<String, usize>,
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

impl GridResults {
    /// The grid, rebuilt from its record.
    pub fn grid(&self) -> Grid {
        Grid { spec: self.record.spec.clone(), config: self.record.config.clone(), path: GRID_FILE.into() }
    }
}

/// Everything finished under a grid's output folder.
pub fn collect(out: &Path) -> Result<GridResults> {
    let record: GridRecord = load_json(&out.join(GRID_FILE), "pass --grid-dir the --out folder of `pim grid`")?;
    let grid = Grid { spec: record.spec.clone(), config: record.config.clone(), path: out.join(GRID_FILE) };
    let folds = grid.folds();
    let mut cells = Vec::new();
    let mut curves = Vec::new();
    for unit in grid.units() {
        for (arm, shots) in cells_of(&grid, &unit) {
            let path =
                cell_dir(out, &grid.spec.arms[arm].name, &folds[unit.fold].name, unit.seed, shots).join(CELL_FILE);
            if path.is_file() {
                cells.push(load_json(&path, "delete the cell's folder to run it again")?);
            }
        }
        let metrics = PretrainFolder::new(pretrain_dir(out, &grid, &unit)).metrics();
        if metrics.is_file() {
            let (train, validation) = read_losses(&metrics)?;
            let arm = grid.spec.arms[unit.arms[0]].name.clone();
            let checkpoints = PretrainFolder::new(pretrain_dir(out, &grid, &unit)).checkpoints();
            let kept = if checkpoints.is_file() {
                load_json(&checkpoints, "delete the unit's pretrain folder")?
            } else {
                BTreeMap::new()
            };
            curves.push(PretrainCurve {
                arm,
                fold: folds[unit.fold].name.clone(),
                seed: unit.seed,
                train,
                validation,
                kept,
            });
        }
    }
    Ok(GridResults { record, cells, curves })
}

/// The `train_loss` and `validation_loss` columns of a pre-training `metrics.csv`.
fn read_losses(path: &Path) -> Result<(Vec<f64>, Vec<f64>)> {
    let fix = "delete the unit's pretrain/ folder to run it again";
    let bad = |line: u64, problem: String| Error::bad_row(path, line, problem, fix);
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
