//! A grid's cells as a paper would show them:
//! - `results.csv`: one row per cell (arm, fold, seed, shots, test and validation scores);
//! - `results.md`: the choice among each method's variants (validation scores only); test
//!   macro-F1 and accuracy of the chosen variants, methods as rows and shot counts as
//!   columns, mean ± standard deviation over the fold x seed cells; paired differences of
//!   PIM against each baseline (mean, 95% bootstrap interval, Wilcoxon p); every arm; the
//!   per-fold scores; the ablation of PIM's tasks; and the pre-training runs;
//! - `macro_f1.svg` and `paired_differences.svg` (see [`super::figures`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::figures::{macro_f1_figure, paired_figure};
use super::run::{Cell, GridResults, PretrainCurve};
use super::select::{Choice, choose};
use super::spec::{Arm, ArmMethod, Grid, Table};
use super::stats::{MIN_PAIRS, Paired};
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::output::save_text;

/// Mean and sample standard deviation (n - 1 in the denominator; 0 for one value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Values summarised.
    pub n: usize,
}

impl Summary {
    /// Summarise `values` (`None` if empty).
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd =
            if n > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
        Some(Summary { mean, sd, n })
    }
}

/// Which score a table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// Macro-F1 on the test subjects.
    MacroF1,
    /// Accuracy on the test subjects.
    Accuracy,
}

impl Score {
    fn of(self, cell: &Cell) -> f64 {
        match self {
            Score::MacroF1 => cell.macro_f1,
            Score::Accuracy => cell.accuracy,
        }
    }
}

/// The summary of `score` for one arm and shot count, over its fold x seed cells.
pub fn summarise(cells: &[Cell], arm: &str, shots: Shots, score: Score) -> Option<Summary> {
    let values: Vec<f64> = cells.iter().filter(|c| c.arm == arm && c.shots == shots).map(|c| score.of(c)).collect();
    Summary::of(&values)
}

/// A row of a table: arm name, label, and how many cells the grid plans per shot count.
pub type Row = (String, String, usize);

/// A Markdown table: one row per arm of `rows`, one column per shot count, `mean ± sd` of
/// `score`, the best mean of each column in bold, and `(n=k)` where fewer cells are in
/// than planned.
pub fn markdown_table(cells: &[Cell], rows: &[Row], shots: &[Shots], score: Score) -> String {
    let mut text = String::from("| method |");
    for s in shots {
        let _ = write!(text, " {s} |");
    }
    text.push_str("\n| --- |");
    text.push_str(&" ---: |".repeat(shots.len()));
    text.push('\n');
    let best: Vec<Option<f64>> = shots
        .iter()
        .map(|&s| {
            rows.iter()
                .filter_map(|(arm, _, _)| summarise(cells, arm, s, score))
                .map(|summary| summary.mean)
                .max_by(f64::total_cmp)
        })
        .collect();
    for (arm, label, planned) in rows {
        let _ = write!(text, "| {label} |");
        for (&s, best) in shots.iter().zip(&best) {
            match summarise(cells, arm, s, score) {
                Some(summary) => {
                    let figure = format!("{:.3} ± {:.3}", summary.mean, summary.sd);
                    let figure = if Some(summary.mean) == *best { format!("**{figure}**") } else { figure };
                    let partial = if summary.n < *planned { format!(" (n={})", summary.n) } else { String::new() };
                    let _ = write!(text, " {figure}{partial} |");
                }
                None => text.push_str(" – |"),
            }
        }
        text.push('\n');
    }
    text
}

/// The choice among each method's variants, with every candidate's validation score.
pub fn selection_table(choices: &[Choice], shots: &[Shots]) -> String {
    let shots: Vec<String> = shots.iter().map(Shots::to_string).collect();
    let mut text = format!(
        "| method | candidates: mean validation macro-F1 at {} shots (cells) | chosen |\n| --- | --- | --- |\n",
        shots.join(", ")
    );
    for choice in choices {
        let candidates: Vec<String> =
            choice.candidates.iter().map(|(name, score, n)| format!("{name} {score:.3} ({n})")).collect();
        let inductive = choice.inductive.as_ref().map_or_else(String::new, |name| {
            format!(" (transductive; the best inductive candidate, {name}, is reported beside it)")
        });
        let _ = writeln!(text, "| {} | {} | **{}**{inductive} |", choice.root, candidates.join(", "), choice.chosen);
    }
    text
}

/// The paired differences of `pim` against each of `baselines` at each shot count, over
/// the (fold, seed) cells both have: mean, 95% bootstrap interval, Wilcoxon p-value and
/// what they say. Returns the table and the comparisons (baseline, shots, result).
pub fn paired_table(
    cells: &[Cell],
    pim: &Row,
    baselines: &[Row],
    shots: &[Shots],
) -> (String, Vec<(String, Shots, Paired)>) {
    let mut text = String::from(
        "| shots | PIM minus | pairs | mean difference | 95% interval | Wilcoxon p | reading |\n| ---: | --- | ---: | ---: | --- | ---: | --- |\n",
    );
    let mut comparisons = Vec::new();
    for &s in shots {
        for (baseline, label, _) in baselines {
            let diffs = paired_differences(cells, &pim.0, baseline, s);
            if diffs.is_empty() {
                continue;
            }
            let paired = Paired::of(&diffs, 0);
            let reading = if paired.n < MIN_PAIRS {
                "too few pairs to call"
            } else if !paired.is_clear() {
                "no clear difference"
            } else if paired.mean > 0.0 {
                "PIM better"
            } else {
                "PIM worse"
            };
            let _ = writeln!(
                text,
                "| {s} | {label} | {} | {:+.3} | [{:+.3}, {:+.3}] | {:.3} | {reading} |",
                paired.n, paired.mean, paired.interval.0, paired.interval.1, paired.p_value
            );
            comparisons.push((label.clone(), s, paired));
        }
    }
    (text, comparisons)
}

/// `a - b` in test macro-F1 over the (fold, seed) cells both arms have at `shots`.
pub fn paired_differences(cells: &[Cell], a: &str, b: &str, shots: Shots) -> Vec<f64> {
    cells
        .iter()
        .filter(|c| c.arm == a && c.shots == shots)
        .filter_map(|x| {
            cells
                .iter()
                .find(|y| y.arm == b && y.shots == shots && y.fold == x.fold && y.seed == x.seed)
                .map(|y| x.macro_f1 - y.macro_f1)
        })
        .collect()
}

/// Test macro-F1 per fold (mean over seeds) of each row at each shot count.
pub fn per_fold_table(cells: &[Cell], rows: &[Row], shots: &[Shots], folds: &[String]) -> String {
    let mut text = String::from("| method | shots |");
    for fold in folds {
        let _ = write!(text, " {fold} |");
    }
    text.push_str("\n| --- | ---: |");
    text.push_str(&" ---: |".repeat(folds.len()));
    text.push('\n');
    for (arm, label, _) in rows {
        for &s in shots {
            let _ = write!(text, "| {label} | {s} |");
            for fold in folds {
                let values: Vec<f64> = cells
                    .iter()
                    .filter(|c| &c.arm == arm && c.shots == s && &c.fold == fold)
                    .map(|c| c.macro_f1)
                    .collect();
                match Summary::of(&values) {
                    Some(summary) => {
                        let _ = write!(text, " {:.3} |", summary.mean);
                    }
                    None => text.push_str(" – |"),
                }
            }
            text.push('\n');
        }
    }
    text
}

/// A Markdown table of the pre-training runs: per pre-training, the runs, and for each
/// checkpoint rule the epoch it kept (median and range over runs); the mean over runs of
/// the training loss (first and last epoch) and of the validation loss (first, lowest and
/// last).
pub fn pretraining_table(curves: &[PretrainCurve]) -> String {
    let mut text = String::from(
        "| pre-training | runs | kept epoch: lowest validation loss / improving tasks / probe, median [range] | training loss, first → last | validation loss, first → lowest → last |\n\
         | --- | ---: | --- | --- | --- |\n",
    );
    let mut names: Vec<&str> = Vec::new();
    for curve in curves {
        if !names.contains(&curve.arm.as_str()) {
            names.push(&curve.arm);
        }
    }
    for name in names {
        let runs: Vec<&PretrainCurve> = curves.iter().filter(|c| c.arm == name && !c.train.is_empty()).collect();
        let mean = |pick: &dyn Fn(&PretrainCurve) -> f64| runs.iter().map(|c| pick(c)).sum::<f64>() / runs.len() as f64;
        let kept = |rule: &str| {
            let mut epochs: Vec<usize> = runs.iter().filter_map(|c| c.kept.get(rule).copied()).collect();
            epochs.sort_unstable();
            match (epochs.first(), epochs.last()) {
                (Some(low), Some(high)) => format!("{} [{low}–{high}]", epochs[epochs.len() / 2]),
                _ => "–".into(),
            }
        };
        let lowest = |c: &PretrainCurve| c.validation.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            text,
            "| {name} | {} | {} / {} / {} (of {}) | {:.3} → {:.3} | {:.3} → {:.3} → {:.3} |",
            runs.len(),
            kept("lowest_validation_loss"),
            kept("improving_tasks"),
            kept("probe"),
            runs.first().map_or(0, |c| c.train.len()),
            mean(&|c| c.train[0]),
            mean(&|c| c.train[c.train.len() - 1]),
            mean(&|c| c.validation[0]),
            mean(&lowest),
            mean(&|c| c.validation[c.validation.len() - 1]),
        );
    }
    text
}

/// The label of an arm in tables: its method, its name, and whether it is transductive.
fn label(grid: &Grid, arm: &Arm) -> String {
    let method = match arm.method {
        ArmMethod::Pim => "PIM",
        ArmMethod::Masked => "Masked reconstruction",
        ArmMethod::Transform => "Transformation discrimination",
        ArmMethod::Scratch => "Supervised from scratch",
    };
    format!("{method} ({}{})", arm.name, if grid.is_transductive(arm) { ", transductive" } else { "" })
}

/// The row of an arm: name, label, and the cells it plans per shot count.
fn row(grid: &Grid, arm: &Arm) -> Row {
    (arm.name.clone(), label(grid, arm), grid.seeds_of(arm).len() * grid.folds().len())
}

/// Write `results.csv`, `results.md`, `macro_f1.svg` and `paired_differences.svg` for a
/// grid's results into `out`.
pub fn write_report(results: &GridResults, out: &Path) -> Result<Vec<PathBuf>> {
    let cells = results.cells.as_slice();
    if cells.is_empty() {
        return Err(Error::Artefact {
            path: out.to_path_buf(),
            problem: "the grid has no finished cell yet".into(),
            fix: "run `pim grid` first (each cell ends with a cell.json)".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io("create folder", out, "choose a writable --out", e))?;
    let grid = results.grid();
    let spec = &grid.spec;
    let arm = |name: &str| spec.arms.iter().find(|a| a.name == name).expect("choices name grid arms");
    let choices = choose(&grid, cells, &grid.selection_shots());
    // A choice's arm, then its best inductive candidate's where the chosen one is transductive.
    let rows_of = |c: &Choice| -> Vec<Row> {
        std::iter::once(&c.chosen).chain(&c.inductive).map(|name| row(&grid, arm(name))).collect()
    };
    let shown: Vec<Row> = choices.iter().flat_map(rows_of).collect();
    let main: Vec<Row> = spec.arms.iter().filter(|a| a.table == Table::Main).map(|a| row(&grid, a)).collect();
    let folds: Vec<String> = grid.folds().iter().map(|f| f.name.clone()).collect();

    let mut md = header(results, &grid, &folds);
    let has_variants = spec.arms.iter().any(|a| a.variant_of.is_some());
    if has_variants {
        md += "\n## The variant chosen for each method (validation subjects only)\n\n";
        md += &selection_table(&choices, &grid.selection_shots());
    }
    md += "\n## Macro-F1 by labelled windows per class\n\n";
    md += &markdown_table(cells, &shown, &spec.shots, Score::MacroF1);
    md += "\n## Accuracy by labelled windows per class\n\n";
    md += &markdown_table(cells, &shown, &spec.shots, Score::Accuracy);
    let pim = choices.iter().position(|c| arm(&c.root).method == ArmMethod::Pim);
    let mut comparisons = Vec::new();
    if let Some(p) = pim {
        let baselines: Vec<Row> =
            choices.iter().enumerate().filter(|&(i, _)| i != p).flat_map(|(_, c)| rows_of(c)).collect();
        md += "\n## PIM against each baseline, paired over the same (fold, seed) cells\n\n\
               Test macro-F1 of the chosen PIM minus that of each chosen baseline (and of its best inductive \
               variant where the chosen one is transductive). A difference is called only \
               where the 95% bootstrap interval (10,000 resamples of the pairs, seeded) excludes zero, over at \
               least six pairs.\n\n";
        let (table, found) = paired_table(cells, &row(&grid, arm(&choices[p].chosen)), &baselines, &spec.shots);
        md += &table;
        comparisons = found;
    }
    if has_variants {
        md += "\n## Every arm (macro-F1)\n\n";
        md += &markdown_table(cells, &main, &spec.shots, Score::MacroF1);
    }
    if folds.len() > 1 {
        md += "\n## Macro-F1 per fold (mean over seeds)\n\n";
        md += &per_fold_table(cells, &shown, &spec.shots, &folds);
    }
    md += &ablation_section(&grid, cells, pim.map(|p| choices[p].chosen.as_str()));
    if !results.curves.is_empty() {
        md += "\n## Pre-training\n\nLosses are means over runs, on each method's own scale (not comparable across methods).\n\n";
        md += &pretraining_table(&results.curves);
    }

    let classes = grid.config.dataset.classes.len();
    let written = [
        ("results.csv", results_csv(cells)),
        ("results.md", md),
        ("macro_f1.svg", macro_f1_figure(cells, &shown, &spec.shots, classes)?),
        ("paired_differences.svg", paired_figure(&comparisons, &spec.shots)?),
    ];
    let mut paths = Vec::new();
    for (name, text) in written {
        let path = out.join(name);
        save_text(&path, &text)?;
        paths.push(path);
    }
    Ok(paths)
}

/// The opening paragraph: what was run and how the numbers are summarised.
fn header(results: &GridResults, grid: &Grid, folds: &[String]) -> String {
    let cells = &results.cells;
    let finetune_minutes: f64 = cells.iter().map(|c| c.seconds).sum::<f64>() / 60.0;
    let mut pretrain_runs: BTreeMap<(String, String, u64), f64> = BTreeMap::new();
    for c in cells {
        pretrain_runs.insert((c.arm.clone(), c.fold.clone(), c.seed), c.pretrain_seconds);
    }
    let pretrain_minutes: f64 = pretrain_runs.values().sum::<f64>() / 60.0;
    let seeds: Vec<String> = grid.spec.seeds.iter().map(u64::to_string).collect();
    let split = if folds.len() > 1 {
        format!("{} cross-subject folds ({})", folds.len(), folds.join(", "))
    } else {
        format!("test subjects {}", grid.config.dataset.split.test.join(", "))
    };
    format!(
        "# Results\n\n{} cells: {split}, seeds {}. Scores are on each fold's test subjects: mean ± sample standard \
         deviation over the fold × seed cells; the best mean of each column is in bold; `(n=k)` marks fewer cells \
         than planned. Compute: {pretrain_minutes:.0} min pre-training (arms sharing a pre-training counted once per arm), \
         {finetune_minutes:.0} min fine-tuning and evaluation.{}\n",
        cells.len(),
        seeds.join(", "),
        builds_note(cells),
    )
}

/// Which builds made the cells (from their records): one is named; several are flagged,
/// since a build that sums in another order trains to other last bits.
fn builds_note(cells: &[Cell]) -> String {
    let mut builds: BTreeMap<&str, usize> = BTreeMap::new();
    for cell in cells {
        *builds.entry(cell.pim_commit.as_deref().unwrap_or("not recorded")).or_default() += 1;
    }
    let listed: Vec<String> = builds.iter().map(|(build, n)| format!("{build} ({n})")).collect();
    match builds.len() {
        1 if builds.contains_key("not recorded") => String::new(),
        1 => format!(" Build: {}.", builds.keys().next().expect("one build")),
        _ => format!(
            " **Cells of several builds**: {}. Builds whose kernels sum in another order train to other last bits, \
             so these cells do not all reproduce with one build.",
            listed.join(", ")
        ),
    }
}

/// The ablation of PIM's tasks: the chosen PIM arm and the ablation table's PIM arms, over
/// the seeds and shot counts every one of them has (the full PIM often has more seeds than
/// the ablation; comparing unequal cell sets would mix seed spread into the gaps), then the
/// full PIM minus each subset of its tasks, paired over the same (fold, seed) cells.
fn ablation_section(grid: &Grid, cells: &[Cell], chosen_pim: Option<&str>) -> String {
    let arms: Vec<&Arm> = grid
        .spec
        .arms
        .iter()
        .filter(|a| a.method == ArmMethod::Pim && (a.table == Table::Ablation || Some(a.name.as_str()) == chosen_pim))
        .collect();
    // The seeds every row has (an arm may list seeds the grid's own list lacks).
    let seeds: Vec<u64> = arms.first().map_or_else(Vec::new, |first| {
        grid.seeds_of(first).into_iter().filter(|s| arms.iter().all(|a| grid.seeds_of(a).contains(s))).collect()
    });
    let cells: Vec<Cell> = cells.iter().filter(|c| seeds.contains(&c.seed)).cloned().collect();
    let rows: Vec<Row> = arms
        .iter()
        .map(|a| {
            let tasks = a.tasks.clone().unwrap_or_else(|| grid.config.pretrain.tasks.clone());
            let tasks = tasks.iter().map(|t| t.name()).collect::<Vec<_>>().join(" + ");
            (a.name.clone(), format!("{tasks} ({})", a.name), seeds.len() * grid.folds().len())
        })
        .collect();
    let shots: Vec<Shots> = grid
        .spec
        .shots
        .iter()
        .copied()
        .filter(|&s| {
            !rows.is_empty() && rows.iter().all(|(arm, _, _)| cells.iter().any(|c| &c.arm == arm && c.shots == s))
        })
        .collect();
    if rows.len() < 2 || shots.is_empty() {
        return String::new();
    }
    let mut text = String::from("\n## Ablation: PIM's pretext tasks (macro-F1)\n\n");
    let chosen_seeds = arms.iter().find(|a| Some(a.name.as_str()) == chosen_pim).map(|a| grid.seeds_of(a).len());
    if chosen_seeds.is_some_and(|n| n > seeds.len()) {
        let listed = seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let _ = write!(
            text,
            "{} {listed} only, the {} every row has, so the chosen PIM's row can differ from the tables above.\n\n",
            if seeds.len() == 1 { "Seed" } else { "Seeds" },
            if seeds.len() == 1 { "seed" } else { "seeds" },
        );
    }
    text += &markdown_table(&cells, &rows, &shots, Score::MacroF1);
    let full = rows.iter().find(|(arm, _, _)| Some(arm.as_str()) == chosen_pim);
    if let Some(full) = full {
        let subsets: Vec<Row> = rows.iter().filter(|r| r.0 != full.0).cloned().collect();
        text += "\nThe chosen PIM minus each ablation arm, paired over the same (fold, seed) cells \
                 (\"PIM better\" reads: the chosen PIM is better). These are many comparisons over few pairs, \
                 not corrected for multiplicity: read a single call as a hint, not a finding.\n\n";
        text += &paired_table(&cells, full, &subsets, &shots).0;
    }
    text
}

/// One row per cell.
fn results_csv(cells: &[Cell]) -> String {
    let mut csv = String::from(
        "arm,method,tasks,fold,seed,shots,drawn,macro_f1,accuracy,validation_macro_f1,best_epoch,pretrain_epoch,seconds,pretrain_seconds\n",
    );
    for c in cells {
        let method = serde_json::to_value(c.method).expect("a unit enum serialises");
        let tasks: Vec<&str> = c.tasks.iter().map(|t| t.name()).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{:.1}",
            c.arm,
            method.as_str().unwrap_or_default(),
            tasks.join("+"),
            c.fold,
            c.seed,
            c.shots,
            c.drawn,
            c.macro_f1,
            c.accuracy,
            c.validation_macro_f1,
            c.best_epoch,
            c.pretrain_epoch.map(|e| e.to_string()).unwrap_or_default(),
            c.seconds,
            c.pretrain_seconds
        );
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(arm: &str, fold: &str, seed: u64, shots: Shots, macro_f1: f64) -> Cell {
        Cell {
            arm: arm.into(),
            method: ArmMethod::Scratch,
            tasks: Vec::new(),
            fold: fold.into(),
            seed,
            shots,
            drawn: 19,
            macro_f1,
            accuracy: macro_f1 + 0.01,
            validation_macro_f1: macro_f1,
            best_epoch: 1,
            pretrain_epoch: None,
            seconds: 1.0,
            pretrain_seconds: 0.0,
            pim_commit: None,
        }
    }

    #[test]
    fn summary_of_hand_made_values() {
        // 0.5, 0.6, 0.7: mean 0.6, squared deviations 0.01 + 0 + 0.01 over n - 1 = 2: SD 0.1.
        let s = Summary::of(&[0.5, 0.6, 0.7]).unwrap();
        assert!((s.mean - 0.6).abs() < 1e-12 && (s.sd - 0.1).abs() < 1e-12 && s.n == 3);
        assert_eq!(Summary::of(&[0.4]), Some(Summary { mean: 0.4, sd: 0.0, n: 1 }));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn table_summarises_folds_and_seeds_and_marks_the_best_and_partial_cells() {
        let one = Shots::PerClass(1);
        let cells = vec![
            cell("a", "f1", 0, one, 0.5),
            cell("a", "f2", 0, one, 0.7),
            cell("b", "f1", 0, one, 0.65),
            cell("a", "f1", 0, Shots::All, 0.9),
            cell("b", "f1", 0, Shots::All, 0.95),
            cell("b", "f2", 0, Shots::All, 0.97),
        ];
        let rows = vec![("a".to_string(), "A".to_string(), 2), ("b".to_string(), "B".to_string(), 2)];
        let table = markdown_table(&cells, &rows, &[one, Shots::All], Score::MacroF1);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "| method | 1 | all |");
        // a at 1 shot: two folds, mean 0.6, SD sqrt(0.02) = 0.141; b: 0.65 from one cell.
        assert_eq!(lines[2], "| A | 0.600 ± 0.141 | 0.900 ± 0.000 (n=1) |");
        assert_eq!(lines[3], "| B | **0.650 ± 0.000** (n=1) | **0.960 ± 0.014** |");
        let accuracy = markdown_table(&cells, &rows, &[one], Score::Accuracy);
        assert!(accuracy.contains("| A | 0.610 ± 0.141 |"), "{accuracy}");
        let per_fold = per_fold_table(&cells, &rows[..1], &[one], &["f1".into(), "f2".into()]);
        assert!(per_fold.contains("| A | 1 | 0.500 | 0.700 |"), "{per_fold}");
    }

    #[test]
    fn paired_differences_match_cells_by_fold_and_seed() {
        let two = Shots::PerClass(2);
        // PIM beats b by exactly 0.1 in four (fold, seed) cells; c has one cell only.
        let mut cells = Vec::new();
        for (fold, seed) in [("f1", 0), ("f1", 1), ("f2", 0), ("f2", 1)] {
            cells.push(cell("pim", fold, seed, two, 0.6 + seed as f64 / 10.0));
            cells.push(cell("b", fold, seed, two, 0.5 + seed as f64 / 10.0));
        }
        cells.push(cell("c", "f1", 0, two, 0.7));
        assert_eq!(paired_differences(&cells, "pim", "c", two), vec![0.6 - 0.7]);
        let pim = ("pim".to_string(), "PIM".to_string(), 4);
        let baselines = vec![("b".to_string(), "B".to_string(), 4), ("c".to_string(), "C".to_string(), 4)];
        let (table, comparisons) = paired_table(&cells, &pim, &baselines, &[two]);
        assert_eq!(comparisons.len(), 2);
        let b = comparisons[0].2;
        assert!((b.mean - 0.1).abs() < 1e-12 && (b.interval.0 - 0.1).abs() < 1e-12 && b.n == 4, "{b:?}");
        // Four positive differences, all tied: the exact permutation test gives 2/16.
        assert!((b.p_value - 0.125).abs() < 1e-12, "{b:?}");
        assert!(table.contains("| 2 | B | 4 | +0.100 | [+0.100, +0.100] | 0.125 | too few pairs to call |"), "{table}");
        assert!(table.contains("| 2 | C | 1 | -0.100 |"), "{table}");
    }

    #[test]
    fn pretraining_table_by_hand() {
        let curve = |seed, train: &[f64], validation: &[f64], kept: usize| PretrainCurve {
            arm: "pim".into(),
            fold: "f1".into(),
            seed,
            train: train.to_vec(),
            validation: validation.to_vec(),
            kept: BTreeMap::from([("lowest_validation_loss".to_string(), kept), ("probe".to_string(), 3)]),
        };
        let curves =
            vec![curve(0, &[4.0, 2.0, 1.0], &[3.0, 3.5, 4.0], 1), curve(1, &[2.0, 1.0, 0.0], &[3.0, 2.0, 2.5], 2)];
        let table = pretraining_table(&curves);
        // Kept by lowest validation loss: epochs 1 and 2 (median 2 of the sorted [1, 2]).
        // Means: train 3 -> 0.5; validation first 3, lowest (3 + 2) / 2 = 2.5, last 3.25.
        assert!(
            table.contains("| pim | 2 | 2 [1–2] / – / 3 [3–3] (of 3) | 3.000 → 0.500 | 3.000 → 2.500 → 3.250 |"),
            "{table}"
        );
    }

    #[test]
    fn the_header_names_the_build_and_flags_several() {
        let made_by = |commits: &[Option<&str>]| {
            let cells: Vec<Cell> = commits
                .iter()
                .map(|c| Cell { pim_commit: c.map(String::from), ..cell("a", "f", 0, Shots::PerClass(1), 0.5) })
                .collect();
            builds_note(&cells)
        };
        assert_eq!(made_by(&[None, None]), "");
        assert_eq!(made_by(&[Some("98b6d44"), Some("98b6d44")]), " Build: 98b6d44.");
        let mixed = made_by(&[Some("98b6d44"), None, Some("3193f1d"), Some("98b6d44")]);
        assert!(mixed.contains("**Cells of several builds**: 3193f1d (1), 98b6d44 (2), not recorded (1)."), "{mixed}");
    }

    #[test]
    fn the_ablation_compares_only_the_seeds_every_row_has() {
        let spec: super::super::spec::GridSpec = serde_json::from_value(serde_json::json!({
            "config": "c.json", "seeds": [0, 1], "shots": [2],
            "arms": [
                {"name": "pim", "method": "pim"},
                {"name": "pim-speed", "method": "pim", "tasks": ["speed"], "seeds": [0], "table": "ablation"}
            ]
        }))
        .unwrap();
        let config = serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap();
        let grid = Grid { spec, config, path: "g.json".into() };
        let two = Shots::PerClass(2);
        // Seed 1 of the full PIM (0.1) must not pull its ablation row down from 0.7.
        let cells = vec![
            cell("pim", "split", 0, two, 0.7),
            cell("pim", "split", 1, two, 0.1),
            cell("pim-speed", "split", 0, two, 0.5),
        ];
        let text = ablation_section(&grid, &cells, Some("pim"));
        assert!(text.contains("Seed 0 only"), "{text}");
        assert!(text.contains("| speed + angle + symmetry (pim) | **0.700 ± 0.000** |"), "{text}");
        assert!(text.contains("| speed (pim-speed) | 0.500 ± 0.000 |"), "{text}");
        assert!(text.contains("| 2 | speed (pim-speed) | 1 | +0.200 |"), "{text}");
        // Every row at seed 7 only, outside the grid's seeds: the table still shows, unannotated.
        let mut grid = grid;
        for arm in &mut grid.spec.arms {
            arm.seeds = Some(vec![7]);
        }
        let cells = vec![cell("pim", "split", 7, two, 0.7), cell("pim-speed", "split", 7, two, 0.5)];
        let text = ablation_section(&grid, &cells, Some("pim"));
        assert!(text.contains("| speed (pim-speed) | 0.500 ± 0.000 |") && !text.contains("only"), "{text}");
    }

    #[test]
    fn missing_cells_show_a_dash() {
        let cells = vec![cell("a", "f", 0, Shots::PerClass(2), 0.5)];
        let rows = vec![("a".to_string(), "A".to_string(), 1), ("b".to_string(), "B".to_string(), 1)];
        let table = markdown_table(&cells, &rows, &[Shots::PerClass(2)], Score::MacroF1);
        assert!(table.contains("| B | – |"), "{table}");
    }
}
