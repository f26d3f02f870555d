//! A grid's cells as a paper would show them: `results.csv` (one row per cell),
//! `results.md` (macro-F1 and accuracy, mean ± standard deviation over seeds, methods as
//! rows and shot counts as columns, the best mean per column in bold; and the ablation of
//! PIM's tasks) and `macro_f1.svg` (macro-F1 against labelled windows per class, one line
//! per method, a band of ± one standard deviation).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::run::{Cell, GridResults, PretrainCurve};
use super::spec::{ArmMethod, Table};
use crate::data::kshot::Shots;
use crate::error::{Error, Result};
use crate::train::checkpoint::save_text;

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
    /// Macro-F1.
    MacroF1,
    /// Accuracy.
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

/// The summary of `score` for one arm and shot count.
pub fn summarise(cells: &[Cell], arm: &str, shots: Shots, score: Score) -> Option<Summary> {
    let values: Vec<f64> = cells.iter().filter(|c| c.arm == arm && c.shots == shots).map(|c| score.of(c)).collect();
    Summary::of(&values)
}

/// A row of a table: arm name, label, and how many seeds the grid plans for it.
pub type Row = (String, String, usize);

/// A Markdown table: one row per arm of `rows`, one column per shot count, `mean ± sd` of
/// `score`, the best mean of each column in bold, and `(n=k)` where fewer seeds are in
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
    for (arm, label, seeds) in rows {
        let _ = write!(text, "| {label} |");
        for (&s, best) in shots.iter().zip(&best) {
            match summarise(cells, arm, s, score) {
                Some(summary) => {
                    let figure = format!("{:.3} ± {:.3}", summary.mean, summary.sd);
                    let figure = if Some(summary.mean) == *best { format!("**{figure}**") } else { figure };
                    let partial = if summary.n < *seeds { format!(" (n={})", summary.n) } else { String::new() };
                    let _ = write!(text, " {figure}{partial} |");
                }
                None => text.push_str(" – |"),
            }
        }
        text.push('\n');
    }
    text
}

/// A Markdown table of the pre-training runs: per arm, the epoch kept at each seed and
/// the mean over seeds of the training loss (first and last epoch) and of the validation
/// loss (first epoch, lowest, last epoch).
pub fn pretraining_table(curves: &[PretrainCurve]) -> String {
    let mut text = String::from(
        "| arm | kept epoch per seed | training loss, first → last | validation loss, first → lowest → last |\n\
         | --- | --- | --- | --- |\n",
    );
    let mut arms: Vec<&str> = Vec::new();
    for curve in curves {
        if !arms.contains(&curve.arm.as_str()) {
            arms.push(&curve.arm);
        }
    }
    for arm in arms {
        let runs: Vec<&PretrainCurve> = curves.iter().filter(|c| c.arm == arm && !c.train.is_empty()).collect();
        let mean = |pick: &dyn Fn(&PretrainCurve) -> f64| runs.iter().map(|c| pick(c)).sum::<f64>() / runs.len() as f64;
        let kept: Vec<String> = runs.iter().map(|c| format!("{}/{}", c.kept_epoch(), c.train.len())).collect();
        let lowest = |c: &PretrainCurve| c.validation.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            text,
            "| {arm} | {} | {:.3} → {:.3} | {:.3} → {:.3} → {:.3} |",
            kept.join(", "),
            mean(&|c| c.train[0]),
            mean(&|c| c.train[c.train.len() - 1]),
            mean(&|c| c.validation[0]),
            mean(&lowest),
            mean(&|c| c.validation[c.validation.len() - 1]),
        );
    }
    text
}

/// Write `results.csv`, `results.md` and `macro_f1.svg` for a grid's results into `out`.
pub fn write_report(results: &GridResults, out: &Path) -> Result<Vec<PathBuf>> {
    let (record, cells) = (&results.record, results.cells.as_slice());
    if cells.is_empty() {
        return Err(Error::Artefact {
            path: out.to_path_buf(),
            problem: "the grid has no finished cell yet".into(),
            fix: "run `pim grid` first (each cell ends with a cell.json)".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io("create folder", out, "choose a writable --out", e))?;
    let spec = &record.spec;
    let seeds = spec.seeds.len();
    let planned = |arm: &super::spec::Arm| arm.seeds.as_ref().map_or(seeds, Vec::len);
    let main: Vec<Row> = spec
        .arms
        .iter()
        .filter(|a| a.table == Table::Main)
        .map(|a| (a.name.clone(), label(a.method, &a.name), planned(a)))
        .collect();
    let ablation: Vec<Row> = spec
        .arms
        .iter()
        .filter(|a| a.method == ArmMethod::Pim)
        .map(|a| {
            let tasks = a.tasks.clone().unwrap_or_else(|| record.config.pretrain.tasks.clone());
            let tasks = tasks.iter().map(|t| t.name()).collect::<Vec<_>>().join(" + ");
            (a.name.clone(), format!("{tasks} ({})", a.name), planned(a))
        })
        .collect();
    let ablation_shots: Vec<Shots> = spec
        .shots
        .iter()
        .copied()
        .filter(|&s| ablation.iter().all(|(arm, _, _)| cells.iter().any(|c| &c.arm == arm && c.shots == s)))
        .collect();

    let mut csv =
        String::from("arm,method,tasks,seed,shots,drawn,macro_f1,accuracy,best_epoch,seconds,pretrain_seconds\n");
    for c in cells {
        let method = serde_json::to_value(c.method).expect("a unit enum serialises");
        let tasks: Vec<&str> = c.tasks.iter().map(|t| t.name()).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{:.1},{:.1}",
            c.arm,
            method.as_str().unwrap_or_default(),
            tasks.join("+"),
            c.seed,
            c.shots,
            c.drawn,
            c.macro_f1,
            c.accuracy,
            c.best_epoch,
            c.seconds,
            c.pretrain_seconds
        );
    }
    let finetune_seconds: f64 = cells.iter().map(|c| c.seconds).sum();
    let mut pretrain_seconds = 0.0;
    let mut seen = Vec::new();
    for c in cells {
        if !seen.contains(&(&c.arm, c.seed)) {
            seen.push((&c.arm, c.seed));
            pretrain_seconds += c.pretrain_seconds;
        }
    }
    let mut md = format!(
        "# Results\n\n{} cells: {} seeds ({}), test subjects {}. Compute: {:.0} min pre-training, {:.0} min \
         fine-tuning and evaluation. Scores are on the test subjects, mean ± sample standard deviation over \
         seeds; the best mean of each column is in bold; `(n=k)` marks a cell with fewer seeds than its arm plans.\n\n",
        cells.len(),
        seeds,
        spec.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        record.config.dataset.split.test.join(", "),
        pretrain_seconds / 60.0,
        finetune_seconds / 60.0,
    );
    md += "## Macro-F1 by labelled windows per class\n\n";
    md += &markdown_table(cells, &main, &spec.shots, Score::MacroF1);
    md += "\n## Accuracy by labelled windows per class\n\n";
    md += &markdown_table(cells, &main, &spec.shots, Score::Accuracy);
    if ablation.len() > 1 && !ablation_shots.is_empty() {
        md += "\n## Ablation: PIM's pretext tasks (macro-F1)\n\n";
        md += &markdown_table(cells, &ablation, &ablation_shots, Score::MacroF1);
    }
    if !results.curves.is_empty() {
        md += "\n## Pre-training\n\nThe encoder kept is the epoch of lowest validation loss. Losses are means over \
               seeds, on the method's own scale (not comparable across methods).\n\n";
        md += &pretraining_table(&results.curves);
    }

    let csv_path = out.join("results.csv");
    let md_path = out.join("results.md");
    let svg_path = out.join("macro_f1.svg");
    save_text(&csv_path, &csv)?;
    save_text(&md_path, &md)?;
    save_text(&svg_path, &figure(cells, &main, &spec.shots, record.config.dataset.classes.len())?)?;
    Ok(vec![csv_path, md_path, svg_path])
}

fn label(method: ArmMethod, name: &str) -> String {
    match method {
        ArmMethod::Pim => format!("PIM ({name})"),
        ArmMethod::Masked => format!("Masked reconstruction ({name})"),
        ArmMethod::Transform => format!("Transformation discrimination ({name})"),
        ArmMethod::Scratch => format!("Supervised from scratch ({name})"),
    }
}

/// Where a shot count sits on the x axis: k, or for `all` the mean windows drawn per class.
fn x_of(cells: &[Cell], shots: Shots, classes: usize) -> Option<f64> {
    match shots {
        Shots::PerClass(k) => Some(k as f64),
        Shots::All => {
            let drawn: Vec<f64> = cells.iter().filter(|c| c.shots == Shots::All).map(|c| c.drawn as f64).collect();
            Summary::of(&drawn).map(|s| s.mean / classes.max(1) as f64)
        }
    }
}

/// The macro-F1 figure as SVG text.
fn figure(cells: &[Cell], rows: &[Row], shots: &[Shots], classes: usize) -> Result<String> {
    let mut svg = String::new();
    let plot_error = |e: String| Error::Artefact {
        path: "macro_f1.svg".into(),
        problem: format!("could not be drawn ({e})"),
        fix: "report this as a bug".into(),
    };
    {
        let xs: Vec<f64> = shots.iter().filter_map(|&s| x_of(cells, s, classes)).collect();
        let x_max = xs.iter().copied().fold(1.0, f64::max) * 1.3;
        let root = SVGBackend::with_string(&mut svg, (760, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Macro-F1 on the test subjects (mean ± SD over seeds)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d((0.8f64..x_max).log_scale(), 0f64..1f64)
            .map_err(|e| plot_error(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("labelled windows per class (log scale; the last point is 'all')")
            .y_desc("macro-F1")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(|e| plot_error(e.to_string()))?;
        for (i, (arm, label, _)) in rows.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, Summary)> = shots
                .iter()
                .filter_map(|&s| Some((x_of(cells, s, classes)?, summarise(cells, arm, s, Score::MacroF1)?)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let band: Vec<(f64, f64)> = points
                .iter()
                .map(|(x, s)| (*x, (s.mean + s.sd).min(1.0)))
                .chain(points.iter().rev().map(|(x, s)| (*x, (s.mean - s.sd).max(0.0))))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15).filled())))
                .map_err(|e| plot_error(e.to_string()))?;
            chart
                .draw_series(LineSeries::new(points.iter().map(|(x, s)| (*x, s.mean)), colour.stroke_width(2)))
                .map_err(|e| plot_error(e.to_string()))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart
                .draw_series(points.iter().map(|(x, s)| Circle::new((*x, s.mean), 3, colour.filled())))
                .map_err(|e| plot_error(e.to_string()))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_error(e.to_string()))?;
        root.present().map_err(|e| plot_error(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(arm: &str, seed: u64, shots: Shots, macro_f1: f64) -> Cell {
        Cell {
            arm: arm.into(),
            method: ArmMethod::Scratch,
            tasks: Vec::new(),
            seed,
            shots,
            drawn: 19,
            macro_f1,
            accuracy: macro_f1 + 0.01,
            best_epoch: 1,
            seconds: 1.0,
            pretrain_seconds: 0.0,
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
    fn table_marks_the_best_per_column_and_partial_cells() {
        let one = Shots::PerClass(1);
        let cells = vec![
            cell("a", 0, one, 0.5),
            cell("a", 1, one, 0.7),
            cell("b", 0, one, 0.65),
            cell("a", 0, Shots::All, 0.9),
            cell("b", 0, Shots::All, 0.95),
            cell("b", 1, Shots::All, 0.97),
        ];
        let rows = vec![("a".to_string(), "A".to_string(), 2), ("b".to_string(), "B".to_string(), 2)];
        let table = markdown_table(&cells, &rows, &[one, Shots::All], Score::MacroF1);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "| method | 1 | all |");
        // a at 1 shot: mean 0.6, SD sqrt(0.02) = 0.141; b: 0.65 from one seed.
        assert_eq!(lines[2], "| A | 0.600 ± 0.141 | 0.900 ± 0.000 (n=1) |");
        assert_eq!(lines[3], "| B | **0.650 ± 0.000** (n=1) | **0.960 ± 0.014** |");
        let accuracy = markdown_table(&cells, &rows, &[one], Score::Accuracy);
        assert!(accuracy.contains("| A | 0.610 ± 0.141 |"), "{accuracy}");
    }

    #[test]
    fn pretraining_table_by_hand() {
        let curve = |seed, train: &[f64], validation: &[f64]| PretrainCurve {
            arm: "pim".into(),
            seed,
            train: train.to_vec(),
            validation: validation.to_vec(),
        };
        let curves = vec![curve(0, &[4.0, 2.0, 1.0], &[3.0, 3.5, 4.0]), curve(1, &[2.0, 1.0, 0.0], &[3.0, 2.0, 2.5])];
        let table = pretraining_table(&curves);
        // Kept: epoch 1 (seed 0), epoch 2 (seed 1). Means: train 3 -> 0.5; validation
        // first 3, lowest (3 + 2) / 2 = 2.5, last (4 + 2.5) / 2 = 3.25.
        assert!(table.contains("| pim | 1/3, 2/3 | 3.000 → 0.500 | 3.000 → 2.500 → 3.250 |"), "{table}");
    }

    #[test]
    fn missing_cells_show_a_dash() {
        let cells = vec![cell("a", 0, Shots::PerClass(2), 0.5)];
        let rows = vec![("a".to_string(), "A".to_string(), 1), ("b".to_string(), "B".to_string(), 1)];
        let table = markdown_table(&cells, &rows, &[Shots::PerClass(2)], Score::MacroF1);
        assert!(table.contains("| B | – |"), "{table}");
    }
}
