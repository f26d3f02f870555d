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
use super::stats::{Paired, holm, smallest_wilcoxon_p};
use super::summary::{ArmRow, Comparison, Score, Summary, summarise};
use crate::config::{CheckpointRule, ValidationLabels};
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::run_folder::RunFolder;

/// A Markdown table: one row per arm of `rows`, one column per shot count, `mean ± sd` of
/// `score`, the best mean of each column in bold, and `(n=k)` where fewer cells are in
/// than planned.
pub fn markdown_table(cells: &[Cell], rows: &[ArmRow], shots: &[Shots], score: Score) -> String {
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
                .filter_map(|row| summarise(cells, &row.arm, s, score))
                .map(|summary| summary.mean)
                .max_by(f64::total_cmp)
        })
        .collect();
    for ArmRow { arm, label, planned } in rows {
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
            choice.candidates.iter().map(|(name, score, n)| candidate_score(name, *score, *n)).collect();
        let inductive = choice.inductive.as_ref().map_or_else(String::new, |name| {
            format!(" (transductive; the best inductive candidate, {name}, is reported beside it)")
        });
        let _ = writeln!(text, "| {} | {} | **{}**{inductive} |", choice.root, candidates.join(", "), choice.chosen);
    }
    text
}

/// How many candidates each pre-training method had (`pretrained` tells which methods
/// pre-train): a method tuned over more candidates has more chances to look good on
/// validation, so unequal budgets are flagged.
fn budget_note(choices: &[Choice], pretrained: impl Fn(&str) -> bool) -> String {
    let tuned: Vec<&Choice> = choices.iter().filter(|c| pretrained(&c.root)).collect();
    if tuned.iter().all(|c| c.candidates.len() <= 1) {
        return String::new();
    }
    let counts: Vec<String> = tuned.iter().map(|c| format!("{} {}", c.root, c.candidates.len())).collect();
    let equal = tuned.iter().all(|c| c.candidates.len() == tuned[0].candidates.len());
    let verdict = if equal { "equal tuning budgets" } else { "**unequal tuning budgets**" };
    format!("\nCandidates per pre-training method: {} ({verdict}).\n", counts.join(", "))
}

/// A candidate in the selection table: its mean validation score and cells, or that it has
/// none (fine-tuned without validation labels).
fn candidate_score(name: &str, score: f64, cells: usize) -> String {
    if score.is_finite() { format!("{name} {score:.3} ({cells})") } else { format!("{name} no validation score") }
}

/// Every baseline at every shot count, shot counts first: the tests of one family.
pub fn every_test(baselines: &[ArmRow], shots: &[Shots]) -> Vec<(ArmRow, Shots)> {
    shots.iter().flat_map(|&s| baselines.iter().map(move |b| (b.clone(), s))).collect()
}

/// PIM minus a baseline at a shot count for each of `tests`, paired over folds (each fold's
/// mean over the seeds both arms have there): mean, 95% interval resampling folds, Wilcoxon
/// p over the fold means, and Holm's correction over the tests found as one family.
/// Returns the table with a note on what the family can call, and the comparisons.
pub fn paired_table(cells: &[Cell], pim: &ArmRow, tests: &[(ArmRow, Shots)]) -> (String, Vec<Comparison>) {
    let mut found: Vec<(String, Shots, Paired)> = Vec::new();
    for (ArmRow { arm: baseline, label, .. }, s) in tests {
        let diffs = fold_differences(cells, &pim.arm, baseline, *s);
        if !diffs.is_empty() {
            found.push((label.clone(), *s, Paired::of(&diffs, 0)));
        }
    }
    // A planned test without cells yet still counts in the family (as p = 1), so a partly
    // finished grid is not corrected over fewer tests than it will have.
    let mut p_values: Vec<f64> = found.iter().map(|(_, _, p)| p.p_value).collect();
    p_values.resize(tests.len(), f64::NAN);
    let adjusted = holm(&p_values);
    let comparisons: Vec<Comparison> = found
        .into_iter()
        .zip(adjusted)
        .map(|((baseline, shots, paired), adjusted_p)| Comparison { baseline, shots, paired, adjusted_p })
        .collect();
    let mut text = String::from(
        "| shots | PIM minus | folds | mean difference | 95% interval | Wilcoxon p | Holm p | reading |\n\
         | ---: | --- | ---: | ---: | --- | ---: | ---: | --- |\n",
    );
    for c in &comparisons {
        let p = &c.paired;
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:+.3} | [{:+.3}, {:+.3}] | {:.3} | {:.3} | {} |",
            c.shots,
            c.baseline,
            p.n,
            p.mean,
            p.interval.0,
            p.interval.1,
            p.p_value,
            c.adjusted_p,
            c.reading()
        );
    }
    text += &family_note(&comparisons);
    (text, comparisons)
}

/// How many tests the family holds and the smallest Holm-adjusted p its folds allow.
fn family_note(comparisons: &[Comparison]) -> String {
    let (Some(folds), m) = (comparisons.iter().map(|c| c.paired.n).max(), comparisons.len()) else {
        return String::new();
    };
    let floor = (m as f64 * smallest_wilcoxon_p(folds)).min(1.0);
    let verdict = if floor < 0.05 {
        "so a difference of one sign in every fold can be called".to_string()
    } else {
        "above 0.05: this family cannot call any difference, whatever the data; read the intervals".to_string()
    };
    format!(
        "\nThe family: {m} tests. Over {folds} folds the smallest Wilcoxon p is {:.4}, so the smallest Holm p \
         is {floor:.3}, {verdict}.\n",
        smallest_wilcoxon_p(folds)
    )
}

/// The cell-level differences, a secondary view: PIM minus each baseline over the (fold,
/// seed) cells both have, with an interval resampling cells and an uncorrected Wilcoxon p.
/// The seeds of a fold share their test subject, so these pairs are not independent and
/// the table calls nothing.
pub fn cell_table(cells: &[Cell], pim: &ArmRow, baselines: &[ArmRow], shots: &[Shots]) -> String {
    let mut text = String::from(
        "| shots | PIM minus | cells | mean difference | 95% interval (cells resampled) | Wilcoxon p (uncorrected) |\n\
         | ---: | --- | ---: | ---: | --- | ---: |\n",
    );
    for &s in shots {
        for ArmRow { arm: baseline, label, .. } in baselines {
            let diffs = paired_differences(cells, &pim.arm, baseline, s);
            if diffs.is_empty() {
                continue;
            }
            let p = Paired::of(&diffs, 0);
            let _ = writeln!(
                text,
                "| {s} | {label} | {} | {:+.3} | [{:+.3}, {:+.3}] | {:.3} |",
                p.n, p.mean, p.interval.0, p.interval.1, p.p_value
            );
        }
    }
    text
}

/// `a - b` in test macro-F1 over the (fold, seed) cells both arms have at `shots`.
pub fn paired_differences(cells: &[Cell], a: &str, b: &str, shots: Shots) -> Vec<f64> {
    matched(cells, a, b, shots).map(|(_, difference)| difference).collect()
}

/// `a - b` in test macro-F1 per fold, in fold-name order: the mean over the seeds both arms
/// have in that fold.
pub fn fold_differences(cells: &[Cell], a: &str, b: &str, shots: Shots) -> Vec<f64> {
    let mut per_fold: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (fold, difference) in matched(cells, a, b, shots) {
        per_fold.entry(fold).or_default().push(difference);
    }
    per_fold.values().map(|d| d.iter().sum::<f64>() / d.len() as f64).collect()
}

/// The fold and `a - b` of every (fold, seed) cell both arms have at `shots`.
fn matched<'a>(cells: &'a [Cell], a: &'a str, b: &'a str, shots: Shots) -> impl Iterator<Item = (&'a str, f64)> + 'a {
    cells.iter().filter(move |c| c.arm == a && c.shots == shots).filter_map(move |x| {
        cells
            .iter()
            .find(|y| y.arm == b && y.shots == shots && y.fold == x.fold && y.seed == x.seed)
            .map(|y| (x.fold.as_str(), x.macro_f1 - y.macro_f1))
    })
}

/// Test macro-F1 per fold (mean over seeds) of each row at each shot count.
pub fn per_fold_table(cells: &[Cell], rows: &[ArmRow], shots: &[Shots], folds: &[String]) -> String {
    let mut text = String::from("| method | shots |");
    for fold in folds {
        let _ = write!(text, " {fold} |");
    }
    text.push_str("\n| --- | ---: |");
    text.push_str(&" ---: |".repeat(folds.len()));
    text.push('\n');
    for ArmRow { arm, label, .. } in rows {
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

/// The label of an arm in tables: its method, its name, and whether it is transductive or
/// chooses an epoch on more validation labels than its shots.
fn label(grid: &Grid, arm: &Arm) -> String {
    let method = match arm.method {
        ArmMethod::Pim => "PIM",
        ArmMethod::Masked => "Masked reconstruction",
        ArmMethod::Transform => "Transformation discrimination",
        ArmMethod::PimMasked => "PIM + masked reconstruction",
        ArmMethod::Scratch => "Supervised from scratch",
    };
    let mut flags = String::new();
    if grid.is_transductive(arm) {
        flags += ", transductive";
    }
    if grid.uses_oracle_validation(arm) {
        flags += ", oracle validation";
    }
    format!("{method} ({}{flags})", arm.name)
}

/// The row of an arm: name, label, and the cells it plans per shot count.
fn row(grid: &Grid, arm: &Arm) -> ArmRow {
    ArmRow { arm: arm.name.clone(), label: label(grid, arm), planned: grid.seeds_of(arm).len() * grid.folds().len() }
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
    let grid = results.grid();
    let spec = &grid.spec;
    let arm = |name: &str| spec.arms.iter().find(|a| a.name == name).expect("choices name grid arms");
    let choices = choose(&grid, cells, &grid.selection_shots());
    // A choice's arm, then its best inductive candidate's where the chosen one is transductive.
    let rows_of = |c: &Choice| -> Vec<ArmRow> {
        std::iter::once(&c.chosen).chain(&c.inductive).map(|name| row(&grid, arm(name))).collect()
    };
    let shown: Vec<ArmRow> = choices.iter().flat_map(rows_of).collect();
    let main: Vec<ArmRow> = spec.arms.iter().filter(|a| a.table == Table::Main).map(|a| row(&grid, a)).collect();
    let folds: Vec<String> = grid.folds().iter().map(|f| f.name.clone()).collect();

    let mut md = header(results, &grid, &folds);
    let has_variants = spec.arms.iter().any(|a| a.variant_of.is_some());
    if has_variants {
        md += "\n## The variant chosen for each method (validation subjects only)\n\n";
        md += &selection_table(&choices, &grid.selection_shots());
        md += &budget_note(&choices, |root| arm(root).method != ArmMethod::Scratch);
    }
    md += "\n## Macro-F1 by labelled windows per class\n\n";
    md += &markdown_table(cells, &shown, &spec.shots, Score::MacroF1);
    md += "\n## Accuracy by labelled windows per class\n\n";
    md += &markdown_table(cells, &shown, &spec.shots, Score::Accuracy);
    let pim = choices.iter().position(|c| arm(&c.root).method == ArmMethod::Pim);
    let mut comparisons = Vec::new();
    if let Some(p) = pim {
        let baselines: Vec<ArmRow> =
            choices.iter().enumerate().filter(|&(i, _)| i != p).flat_map(|(_, c)| rows_of(c)).collect();
        md += "\n## PIM against each baseline, paired over folds\n\n\
               Test macro-F1 of the chosen PIM minus that of each chosen baseline (and of its best inductive \
               variant where the chosen one is transductive). The test subject is the unit: each fold's \
               difference is the mean over its seeds, the interval resamples folds (10,000 resamples, seeded), \
               and the Wilcoxon signed-rank test runs on the fold differences. The rows form one family of \
               tests (two, where the grid file declares primary hypotheses), corrected by Holm's method. A difference is called only where the Holm p is below 0.05 \
               and the interval excludes zero; every other row reads \"not shown\".\n\n";
        let pim_row = row(&grid, arm(&choices[p].chosen));
        // (the method, the test), shot counts first as in the tables.
        let mut tests: Vec<(String, (ArmRow, Shots))> = choices
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != p)
            .flat_map(|(_, c)| every_test(&rows_of(c), &spec.shots).into_iter().map(|t| (c.root.clone(), t)))
            .collect();
        tests.sort_by_key(|(_, (_, s))| spec.shots.iter().position(|x| x == s));
        let (primary, secondary): (Vec<_>, Vec<_>) = tests.into_iter().partition(|(root, (_, s))| {
            spec.primary.as_ref().is_some_and(|h| h.baselines.contains(root) && h.shots.contains(s))
        });
        let strip = |tests: Vec<(String, (ArmRow, Shots))>| -> Vec<(ArmRow, Shots)> {
            tests.into_iter().map(|t| t.1).collect()
        };
        if primary.is_empty() {
            let (table, found) = paired_table(cells, &pim_row, &strip(secondary));
            md += &table;
            comparisons = found;
        } else {
            md += "### The primary hypotheses (declared in the grid file before it ran)\n\n";
            let (table, found) = paired_table(cells, &pim_row, &strip(primary));
            md += &table;
            md += "\n### Every other comparison (the secondary family)\n\n";
            let (table, others) = paired_table(cells, &pim_row, &strip(secondary));
            md += &table;
            comparisons = found.into_iter().chain(others).collect();
        }
        md += "\n### The same differences over (fold, seed) cells\n\n\
               The seeds of a fold share their test subject, so these pairs are not independent: this table \
               shows the spread over seeds and calls nothing.\n\n";
        md += &cell_table(cells, &pim_row, &baselines, &spec.shots);
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

    md += &convergence_section(&grid, cells, &results.curves);

    let classes = grid.config.dataset.classes.len();
    let written = [
        ("results.csv", results_csv(cells)),
        ("results.md", md),
        ("macro_f1.svg", macro_f1_figure(cells, &shown, &spec.shots, classes)?),
        ("paired_differences.svg", paired_figure(&comparisons, &spec.shots)?),
    ];
    // Staged, then renamed together: a failed write (a full disk) leaves the earlier
    // report whole instead of new tables beside old figures.
    let mut folder = RunFolder::open(out)?;
    for (name, text) in written {
        folder.stage_text(&out.join(name), &text)?;
    }
    folder.commit()
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
    let rows: Vec<ArmRow> = arms
        .iter()
        .map(|a| {
            let tasks = a.tasks.clone().unwrap_or_else(|| grid.config.pretrain.tasks.clone());
            let tasks = tasks.iter().map(|t| t.name()).collect::<Vec<_>>().join(" + ");
            ArmRow {
                arm: a.name.clone(),
                label: format!("{tasks} ({})", a.name),
                planned: seeds.len() * grid.folds().len(),
            }
        })
        .collect();
    let shots: Vec<Shots> = grid
        .spec
        .shots
        .iter()
        .copied()
        .filter(|&s| !rows.is_empty() && rows.iter().all(|row| cells.iter().any(|c| c.arm == row.arm && c.shots == s)))
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
    let full = rows.iter().find(|row| Some(row.arm.as_str()) == chosen_pim);
    if let Some(full) = full {
        let subsets: Vec<ArmRow> = rows.iter().filter(|r| r.arm != full.arm).cloned().collect();
        text += "\nThe chosen PIM minus each ablation arm, paired over folds as above (\"PIM better\" reads: the \
                 chosen PIM is better). The ablation is its own family, corrected by Holm's method.\n\n";
        text += &paired_table(&cells, full, &every_test(&subsets, &shots)).0;
    }
    text
}

/// The share of runs that kept their last epoch: a run still improving at its end was cut
/// short. Pre-training is read at its checkpoint rule's epoch (the lowest validation loss's
/// where the rule is the last epoch); fine-tuning at the kept epoch against the last one
/// its budget allows. Over a third, for any method, and every method's budget is to be
/// raised.
fn convergence_section(grid: &Grid, cells: &[Cell], curves: &[PretrainCurve]) -> String {
    let mut text = String::from(
        "\n## Convergence\n\nRuns that kept their last epoch, i.e. may still have been improving. Where \
         any method's share is over a third (in bold), every method's budget is to be raised, not that method's \
         alone.\n\n| arm | pre-trainings that kept their last epoch | fine-tunings that kept their last allowed epoch |\n\
         | --- | ---: | ---: |\n",
    );
    let share = |last: usize, of: usize| {
        let figure = format!("{last} of {of}");
        if of > 0 && 3 * last > of { format!("**{figure}**") } else { figure }
    };
    let groups = grid.pretraining_groups();
    for (i, arm) in grid.spec.arms.iter().enumerate() {
        let config = grid.config_of(arm, 0, 0);
        // Pre-training curves go by the first arm of those sharing the run.
        let group = groups.iter().find(|g| g.contains(&i)).expect("every arm is in a group");
        let pretraining = &grid.spec.arms[group[0]].name;
        let rule = match config.pretrain.checkpoint {
            CheckpointRule::LastEpoch => CheckpointRule::LowestValidationLoss,
            rule => rule,
        };
        let runs: Vec<&PretrainCurve> =
            curves.iter().filter(|c| &c.arm == pretraining && !c.train.is_empty()).collect();
        let kept_last = runs.iter().filter(|c| c.kept.get(rule.name()) == Some(&c.train.len())).count();
        let tuned: Vec<&Cell> = cells.iter().filter(|c| c.arm == arm.name).collect();
        let tuned_last = tuned.iter().filter(|c| c.best_epoch == config.finetune.epochs_for(c.drawn)).count();
        if tuned.is_empty() {
            continue;
        }
        let pretrained = if arm.method == ArmMethod::Scratch { "–".into() } else { share(kept_last, runs.len()) };
        // Without validation labels the last epoch is kept by rule, not for want of epochs.
        let tuned_share = if config.finetune.validation == ValidationLabels::None {
            "– (no validation labels)".into()
        } else {
            share(tuned_last, tuned.len())
        };
        let _ = writeln!(text, "| {} | {pretrained} | {tuned_share} |", arm.name);
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
            c.validation_macro_f1.map(|f1| f1.to_string()).unwrap_or_default(),
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

    fn arm_row(arm: &str, label: &str, planned: usize) -> ArmRow {
        ArmRow { arm: arm.into(), label: label.into(), planned }
    }

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
            validation_macro_f1: Some(macro_f1),
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
        let rows = vec![arm_row("a", "A", 2), arm_row("b", "B", 2)];
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
    fn differences_pair_cells_by_fold_and_seed_and_average_each_fold() {
        let two = Shots::PerClass(2);
        // PIM beats b by 0.1 at seed 0 and 0.3 at seed 1 in both folds; c has one cell only.
        let mut cells = Vec::new();
        for (fold, seed) in [("f1", 0), ("f1", 1), ("f2", 0), ("f2", 1)] {
            cells.push(cell("pim", fold, seed, two, 0.6 + seed as f64 / 10.0));
            cells.push(cell("b", fold, seed, two, 0.5 - seed as f64 / 10.0));
        }
        cells.push(cell("c", "f1", 0, two, 0.7));
        assert_eq!(paired_differences(&cells, "pim", "c", two), vec![0.6 - 0.7]);
        let by_fold = fold_differences(&cells, "pim", "b", two);
        assert_eq!(by_fold.len(), 2, "two folds, not four cells");
        assert!(by_fold.iter().all(|d| (d - 0.2).abs() < 1e-12), "{by_fold:?}");
        let pim = arm_row("pim", "PIM", 4);
        let baselines = vec![arm_row("b", "B", 4), arm_row("c", "C", 4)];
        let (table, comparisons) = paired_table(&cells, &pim, &every_test(&baselines, &[two]));
        assert_eq!(comparisons.len(), 2);
        let b = &comparisons[0];
        assert!((b.paired.mean - 0.2).abs() < 1e-12 && b.paired.n == 2, "{b:?}");
        // Two tied positive fold differences: the permutation test gives 2/4 = 0.5, and
        // Holm over the family of two doubles the smaller p: 1.
        assert!((b.paired.p_value - 0.5).abs() < 1e-12 && b.adjusted_p == 1.0, "{b:?}");
        assert!(
            table.contains("| 2 | B | 2 | +0.200 | [+0.200, +0.200] | 0.500 | 1.000 | too few folds to call |"),
            "{table}"
        );
        assert!(table.contains("| 2 | C | 1 | -0.100 |"), "{table}");
        assert!(table.contains("cannot call any difference"), "{table}");
        let secondary = cell_table(&cells, &pim, &baselines, &[two]);
        assert!(secondary.contains("| 2 | B | 4 | +0.200 | [+0.100, +0.300] |"), "{secondary}");
    }

    #[test]
    fn only_a_holm_corrected_difference_with_an_interval_off_zero_is_called() {
        let two = Shots::PerClass(2);
        let folds: Vec<String> = (0..8).map(|f| format!("f{f}")).collect();
        let mut cells = Vec::new();
        for (i, fold) in folds.iter().enumerate() {
            // b: PIM ahead in every fold; c: PIM ahead in 6 of 8; d: PIM behind in every fold.
            cells.push(cell("pim", fold, 0, two, 0.6));
            cells.push(cell("b", fold, 0, two, 0.5 - i as f64 / 1000.0));
            cells.push(cell("c", fold, 0, two, if i < 6 { 0.5 - i as f64 / 1000.0 } else { 0.7 + i as f64 / 1000.0 }));
            cells.push(cell("d", fold, 0, two, 0.7 + i as f64 / 1000.0));
        }
        let pim = arm_row("pim", "PIM", 8);
        let row = |name: &str| arm_row(name, &name.to_uppercase(), 8);
        let (_, comparisons) = paired_table(&cells, &pim, &every_test(&[row("b"), row("c"), row("d")], &[two]));
        let readings: Vec<&str> = comparisons.iter().map(Comparison::reading).collect();
        // b and d: exact p 2/256 each, Holm 3 x that for both (0.023, monotone); c: p 0.74.
        assert_eq!(readings, ["PIM better", "not shown", "PIM worse"], "{comparisons:?}");
        assert!((comparisons[0].adjusted_p - 3.0 * 2.0 / 256.0).abs() < 1e-12, "{comparisons:?}");
        // Nine more families' worth of tests push the same b over the line.
        let shots: Vec<Shots> = (1..=10).map(Shots::PerClass).collect();
        let many: Vec<Cell> =
            shots.iter().flat_map(|&s| cells.iter().map(move |c| Cell { shots: s, ..c.clone() })).collect();
        let (table, comparisons) = paired_table(&many, &pim, &every_test(&[row("b"), row("c"), row("d")], &shots));
        assert!(comparisons.iter().all(|c| c.reading() == "not shown"), "{table}");
        assert!(table.contains("The family: 30 tests") && table.contains("cannot call any difference"), "{table}");
    }

    #[test]
    fn unequal_tuning_budgets_are_flagged() {
        let choice = |root: &str, n: usize| Choice {
            root: root.into(),
            candidates: (0..n).map(|i| (format!("{root}-{i}"), 0.5, 8)).collect(),
            chosen: format!("{root}-0"),
            inductive: None,
        };
        let pretrained = |root: &str| root != "scratch";
        let even = [choice("pim", 4), choice("masked", 4), choice("scratch", 1)];
        assert_eq!(
            budget_note(&even, pretrained),
            "\nCandidates per pre-training method: pim 4, masked 4 (equal tuning budgets).\n"
        );
        let uneven = [choice("pim", 8), choice("masked", 4), choice("transform", 1)];
        assert!(budget_note(&uneven, pretrained).contains("pim 8, masked 4, transform 1 (**unequal tuning budgets**)"));
        assert_eq!(budget_note(&[choice("pim", 1), choice("scratch", 1)], pretrained), "", "nothing was tuned");
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
        assert!(text.contains("its own family, corrected by Holm's method"), "{text}");
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
        let rows = vec![arm_row("a", "A", 1), arm_row("b", "B", 1)];
        let table = markdown_table(&cells, &rows, &[Shots::PerClass(2)], Score::MacroF1);
        assert!(table.contains("| B | – |"), "{table}");
    }
}
