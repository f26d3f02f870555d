//! Are the pseudo-labels informative? For each label column, on the training subjects'
//! labelled windows: its entropy, its mutual information with the activity (what a
//! pretext task can teach about the classes) and with the subject (what it teaches about
//! who wore the sensors, which does not transfer), in bits; and a figure of each column's
//! bin distribution per activity.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::io::read_label_rows;
use crate::config::PimConfig;
use crate::error::{Error, Result};
use crate::run_folder::layout::{LabelsFolder, Layout, label_information};
use crate::run_folder::{RunFolder, load_json, require_finished};

/// Entropy of a discrete variable, in bits (plug-in estimate).
pub fn entropy(values: &[usize]) -> f64 {
    let n = values.len() as f64;
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for &v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts.values().map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum()
}

/// Mutual information of two discrete variables observed together, in bits (plug-in
/// estimate: `sum p(a, b) log2(p(a, b) / (p(a) p(b)))`).
pub fn mutual_information(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len() as f64;
    let mut joint: HashMap<(usize, usize), usize> = HashMap::new();
    let (mut pa, mut pb): (HashMap<usize, usize>, HashMap<usize, usize>) = (HashMap::new(), HashMap::new());
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1;
        *pa.entry(x).or_default() += 1;
        *pb.entry(y).or_default() += 1;
    }
    joint
        .iter()
        .map(|(&(x, y), &c)| {
            let p = c as f64 / n;
            p * (p / (pa[&x] as f64 / n * pb[&y] as f64 / n)).log2()
        })
        .sum()
}

/// `labels.csv` of the training subjects' labelled windows.
struct TrainingLabels {
    names: Vec<String>,
    /// Activity index of each window.
    activities: Vec<usize>,
    activity_names: Vec<String>,
    /// Subject index of each window.
    subjects: Vec<usize>,
    /// `[column][window]` bins.
    bins: Vec<Vec<usize>>,
}

fn read(labels_dir: &Path, config: &PimConfig) -> Result<TrainingLabels> {
    let (path, names, rows) =
        read_label_rows(labels_dir, config.labels.bins, "pass --labels the --out folder of `pim pseudo-label`")?;
    let activity_names: Vec<String> = config.dataset.classes.iter().map(|c| c.name.clone()).collect();
    let train = &config.dataset.split.train;
    let mut labels = TrainingLabels {
        bins: vec![Vec::new(); names.len()],
        names,
        activities: Vec::new(),
        activity_names,
        subjects: Vec::new(),
    };
    for row in rows {
        let (Some(subject), Some(activity)) = (
            train.iter().position(|s| *s == row.window.subject),
            labels.activity_names.iter().position(|a| *a == row.window.activity),
        ) else {
            continue;
        };
        labels.subjects.push(subject);
        labels.activities.push(activity);
        for (column, &bin) in row.bins.iter().enumerate() {
            labels.bins[column].push(usize::from(bin));
        }
    }
    if labels.activities.is_empty() {
        return Err(Error::bad_dataset(
            path,
            "has no labelled window of a training subject",
            "check dataset.split.train and dataset.classes in the labels' config.json",
        ));
    }
    Ok(labels)
}

/// Write `label_information.csv` and `label_distributions.svg` for the labels in
/// `labels_dir` into `out`.
pub fn inspect_labels(labels_dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let fix = "run `pim pseudo-label` first, or pass --labels the --out folder of a finished one";
    require_finished(labels_dir, "pseudo-label", fix)?;
    let config: PimConfig =
        load_json(&LabelsFolder::new(labels_dir).config(), "pass --labels the --out folder of `pim pseudo-label`")?;
    let labels = read(labels_dir, &config)?;
    let mut folder = RunFolder::open(out)?;
    let mut csv = String::from("column,entropy_bits,activity_information_bits,subject_information_bits,bins_used\n");
    for (name, bins) in labels.names.iter().zip(&labels.bins) {
        let mut used = bins.clone();
        used.sort_unstable();
        used.dedup();
        let _ = writeln!(
            csv,
            "{name},{:.4},{:.4},{:.4},{}",
            entropy(bins),
            mutual_information(bins, &labels.activities),
            mutual_information(bins, &labels.subjects),
            used.len()
        );
    }
    let (csv_path, svg_path) = label_information(out);
    let svg = distributions(&labels, config.labels.bins)?;
    folder.stage_text(&csv_path, &csv)?;
    folder.stage_text(&svg_path, &svg)?;
    folder.commit()
}

/// One heat map per column: activities as rows, bins as columns, shaded by the share of
/// the activity's windows in the bin.
fn distributions(labels: &TrainingLabels, bins: usize) -> Result<String> {
    let plot_error = |e: String| Error::Artefact {
        path: "label_distributions.svg".into(),
        problem: format!("could not be drawn ({e})"),
        fix: "report this as a bug".into(),
    };
    let columns = 6;
    let rows = labels.names.len().div_ceil(columns);
    let activities = labels.activity_names.len();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (columns as u32 * 230, rows as u32 * 260 + 40)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(e.to_string()))?;
        let root = root
            .titled("Pseudo-label bins (x) per activity (y, in config order), training subjects", ("sans-serif", 20))
            .map_err(|e| plot_error(e.to_string()))?;
        for (panel, (name, column)) in
            root.split_evenly((rows, columns)).iter().zip(labels.names.iter().zip(&labels.bins))
        {
            let mut counts = vec![vec![0usize; bins]; activities];
            for (&bin, &activity) in column.iter().zip(&labels.activities) {
                counts[activity][bin.min(bins - 1)] += 1;
            }
            let mut chart = ChartBuilder::on(panel)
                .caption(name, ("sans-serif", 12))
                .margin(4)
                .x_label_area_size(18)
                .y_label_area_size(24)
                .build_cartesian_2d(0..bins, 0..activities)
                .map_err(|e| plot_error(e.to_string()))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(3)
                .y_labels(4)
                .label_style(("sans-serif", 9))
                .draw()
                .map_err(|e| plot_error(e.to_string()))?;
            let cells = counts.iter().enumerate().flat_map(|(activity, row)| {
                let total = row.iter().sum::<usize>().max(1) as f64;
                row.iter().enumerate().filter(|(_, c)| **c > 0).map(move |(bin, &c)| {
                    let shade = BLUE.mix((c as f64 / total).sqrt());
                    Rectangle::new([(bin, activity), (bin + 1, activity + 1)], shade.filled())
                })
            });
            chart.draw_series(cells).map_err(|e| plot_error(e.to_string()))?;
        }
        root.present().map_err(|e| plot_error(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_information_by_hand() {
        // Four equally likely values: 2 bits. A variable with itself: its entropy.
        let four = [0, 1, 2, 3, 0, 1, 2, 3];
        assert!((entropy(&four) - 2.0).abs() < 1e-12);
        assert!((mutual_information(&four, &four) - 2.0).abs() < 1e-12);
        // Independent by construction (every pair equally often): 0 bits.
        let (a, b) = ([0, 0, 1, 1], [0, 1, 0, 1]);
        assert!(mutual_information(&a, &b).abs() < 1e-12);
        // b = a mod 2 over four values: b's whole bit is shared.
        let halves = [0, 1, 0, 1, 0, 1, 0, 1];
        assert!((mutual_information(&four, &halves) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn information_is_entropies_minus_joint_entropy() {
        // Independent slow oracle: I(A; B) = H(A) + H(B) - H(A, B) on a skewed sample.
        let a: Vec<usize> = (0..200).map(|i| (i * 7 + i / 13) % 5).collect();
        let b: Vec<usize> = (0..200).map(|i| (i * 3 + i / 7) % 4).collect();
        let pairs: Vec<usize> = a.iter().zip(&b).map(|(x, y)| x * 10 + y).collect();
        let oracle = entropy(&a) + entropy(&b) - entropy(&pairs);
        assert!((mutual_information(&a, &b) - oracle).abs() < 1e-12);
        assert!(oracle > 0.0);
    }
}
