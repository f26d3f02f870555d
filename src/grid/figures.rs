//! The report's figures, as SVG text (plotters' SVG backend; text is laid out by the
//! viewer, so no font library is needed):
//! - `macro_f1.svg`: test macro-F1 against labelled windows per class, one line per
//!   method, a band of ± one standard deviation over the fold x seed cells;
//! - `paired_differences.svg`: PIM minus each baseline, the mean fold-level difference and
//!   its 95% interval (folds resampled) at each shot count, against the zero line.

use plotters::prelude::*;

use super::run::Cell;
use super::stats::Paired;
use super::summary::{ArmRow, Comparison, Score, Summary, summarise};
use crate::data::kshot::Shots;
use crate::error::{Error, Result};

fn plot_error(file: &str, e: impl std::fmt::Display) -> Error {
    Error::Artefact {
        path: file.into(),
        problem: format!("could not be drawn ({e})"),
        fix: "report this as a bug".into(),
    }
}

/// Draw the legend at the lower right and write the figure out.
fn finish<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    file: &str,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_error(file, e))?;
    chart.plotting_area().present().map_err(|e| plot_error(file, e))
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

/// The macro-F1 figure of `rows`.
pub fn macro_f1_figure(cells: &[Cell], rows: &[ArmRow], shots: &[Shots], classes: usize) -> Result<String> {
    let file = "macro_f1.svg";
    let mut svg = String::new();
    {
        let xs: Vec<f64> = shots.iter().filter_map(|&s| x_of(cells, s, classes)).collect();
        let x_max = xs.iter().copied().fold(1.0, f64::max) * 1.3;
        let root = SVGBackend::with_string(&mut svg, (760, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(file, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Macro-F1 on the test subjects (mean ± SD over folds × seeds)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d((0.8f64..x_max).log_scale(), 0f64..1f64)
            .map_err(|e| plot_error(file, e))?;
        chart
            .configure_mesh()
            .x_desc("labelled windows per class (log scale; the last point is 'all')")
            .y_desc("macro-F1")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(|e| plot_error(file, e))?;
        for (i, ArmRow { arm, label, .. }) in rows.iter().enumerate() {
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
                .map_err(|e| plot_error(file, e))?;
            chart
                .draw_series(LineSeries::new(points.iter().map(|(x, s)| (*x, s.mean)), colour.stroke_width(2)))
                .map_err(|e| plot_error(file, e))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart
                .draw_series(points.iter().map(|(x, s)| Circle::new((*x, s.mean), 3, colour.filled())))
                .map_err(|e| plot_error(file, e))?;
        }
        finish(&mut chart, file)?;
    }
    Ok(svg)
}

/// The paired-difference figure: for each baseline, the mean of PIM minus it and the 95%
/// interval at each shot count (categories along x, baselines side by side).
pub fn paired_figure(comparisons: &[Comparison], shots: &[Shots]) -> Result<String> {
    let file = "paired_differences.svg";
    let mut baselines: Vec<&str> = Vec::new();
    for c in comparisons {
        if !baselines.contains(&c.baseline.as_str()) {
            baselines.push(&c.baseline);
        }
    }
    let extent = comparisons
        .iter()
        .flat_map(|c| [c.paired.interval.0.abs(), c.paired.interval.1.abs()])
        .filter(|v| v.is_finite())
        .fold(0.05, f64::max)
        * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(file, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("PIM minus each baseline: paired test macro-F1 (mean, 95% interval)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..shots.len() as f64 - 0.5, -extent..extent)
            .map_err(|e| plot_error(file, e))?;
        let labels: Vec<String> = shots.iter().map(Shots::to_string).collect();
        chart
            .configure_mesh()
            .x_desc("labelled windows per class")
            .y_desc("difference in macro-F1")
            .x_labels(shots.len())
            .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
            .draw()
            .map_err(|e| plot_error(file, e))?;
        chart
            .draw_series(LineSeries::new([(-0.5, 0.0), (shots.len() as f64 - 0.5, 0.0)], BLACK.stroke_width(1)))
            .map_err(|e| plot_error(file, e))?;
        let width = 0.6 / baselines.len().max(1) as f64;
        for (b, name) in baselines.iter().enumerate() {
            let colour = Palette99::pick(b + 1).to_rgba();
            let offset = (b as f64 + 0.5) * width - 0.3;
            let points: Vec<(f64, Paired)> = comparisons
                .iter()
                .filter(|c| c.baseline == *name)
                .filter_map(|c| shots.iter().position(|x| *x == c.shots).map(|i| (i as f64 + offset, c.paired)))
                .collect();
            chart
                .draw_series(points.iter().map(|(x, p)| {
                    PathElement::new(vec![(*x, p.interval.0), (*x, p.interval.1)], colour.stroke_width(2))
                }))
                .map_err(|e| plot_error(file, e))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart
                .draw_series(points.iter().map(|(x, p)| Circle::new((*x, p.mean), 4, colour.filled())))
                .map_err(|e| plot_error(file, e))?;
        }
        finish(&mut chart, file)?;
    }
    Ok(svg)
}
