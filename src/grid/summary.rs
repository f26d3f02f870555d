//! The figures a report shows, apart from how it lays them out: a summary of scores
//! (mean and standard deviation), the row of a table, and one test of a family of paired
//! comparisons with what it reads. The report's tables and its figures both draw on these.

use super::run::Cell;
use super::stats::{MIN_PAIRS, Paired};
use crate::data::kshot::Shots;

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

/// A row of a table: an arm, its label, and how many cells the grid plans per shot count.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmRow {
    /// The arm's name (its cells' `arm`).
    pub arm: String,
    /// What the table shows for it.
    pub label: String,
    /// Cells the grid plans for it at each shot count (folds x seeds).
    pub planned: usize,
}

/// One test of a family: PIM minus a baseline at a shot count, paired over folds, with
/// its Holm-adjusted p-value.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The baseline's label.
    pub baseline: String,
    /// Labelled windows per class.
    pub shots: Shots,
    /// The fold-level comparison.
    pub paired: Paired,
    /// Its p-value after Holm's correction over the family (every row of its table).
    pub adjusted_p: f64,
}

impl Comparison {
    /// What the comparison says: only a called difference names a winner.
    pub fn reading(&self) -> &'static str {
        if self.paired.n < MIN_PAIRS {
            "too few folds to call"
        } else if !self.paired.is_called(self.adjusted_p) {
            "not shown"
        } else if self.paired.mean > 0.0 {
            "PIM better"
        } else {
            "PIM worse"
        }
    }
}
