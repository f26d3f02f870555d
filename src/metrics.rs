//! Classification metrics on class indices: confusion matrix, accuracy, per-class
//! precision/recall/F1 and macro-F1.
//!
//! Conventions follow scikit-learn (`f1_score(average="macro")`, `zero_division=0`): a
//! ratio with a zero denominator is 0, and macro-F1 averages over the classes that occur
//! in the truth or the predictions, so a class absent from both (say, an activity no test
//! subject performed) neither helps nor hurts. Tested on hand-worked matrices.

use serde::Serialize;

/// Counts of (true class, predicted class) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// `counts[t][p]`: windows of true class `t` predicted as `p`.
    pub counts: Vec<Vec<u64>>,
}

/// Scores of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassScores {
    /// Of the windows predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the windows of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Windows of this class in the truth.
    pub support: u64,
    /// Windows predicted as this class.
    pub predicted: u64,
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 }
}

impl ConfusionMatrix {
    /// The matrix of `truth` against `predicted` over `classes` classes.
    pub fn new(classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        assert_eq!(truth.len(), predicted.len(), "one prediction per window");
        let mut counts = vec![vec![0; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            counts[t][p] += 1;
        }
        ConfusionMatrix { counts }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Windows counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Fraction of windows predicted correctly (0 for none).
    pub fn accuracy(&self) -> f64 {
        ratio((0..self.classes()).map(|c| self.counts[c][c]).sum(), self.total())
    }

    /// Precision, recall, F1 and support of every class.
    pub fn per_class(&self) -> Vec<ClassScores> {
        (0..self.classes())
            .map(|c| {
                let correct = self.counts[c][c];
                let support: u64 = self.counts[c].iter().sum();
                let predicted: u64 = self.counts.iter().map(|row| row[c]).sum();
                let precision = ratio(correct, predicted);
                let recall = ratio(correct, support);
                let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
                ClassScores { precision, recall, f1, support, predicted }
            })
            .collect()
    }

    /// Mean F1 over the classes present in the truth or the predictions (0 for none).
    pub fn macro_f1(&self) -> f64 {
        let present: Vec<f64> =
            self.per_class().into_iter().filter(|s| s.support + s.predicted > 0).map(|s| s.f1).collect();
        if present.is_empty() { 0.0 } else { present.iter().sum::<f64>() / present.len() as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_worked_three_class_matrix() {
        // truth     0 0 0 1 1 2
        // predicted 0 0 1 1 2 2
        // class 0: P 2/2, R 2/3, F1 0.8; class 1: P 1/2, R 1/2, F1 0.5;
        // class 2: P 1/2, R 1/1, F1 2/3. Accuracy 4/6; macro-F1 (0.8 + 0.5 + 2/3) / 3.
        let m = ConfusionMatrix::new(3, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!(close(m.accuracy(), 4.0 / 6.0));
        let s = m.per_class();
        assert!(close(s[0].precision, 1.0) && close(s[0].recall, 2.0 / 3.0) && close(s[0].f1, 0.8));
        assert!(close(s[1].f1, 0.5));
        assert!(close(s[2].precision, 0.5) && close(s[2].recall, 1.0) && close(s[2].f1, 2.0 / 3.0));
        assert!(close(m.macro_f1(), (0.8 + 0.5 + 2.0 / 3.0) / 3.0));
    }

    #[test]
    fn class_absent_from_truth_and_predictions_is_left_out_of_macro_f1() {
        // 4 classes, class 3 never occurs: macro-F1 averages classes 0..=2 only.
        let m = ConfusionMatrix::new(4, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert!(close(m.macro_f1(), (0.8 + 0.5 + 2.0 / 3.0) / 3.0));
        assert_eq!(m.per_class()[3].support, 0);
    }

    #[test]
    fn class_only_predicted_counts_as_zero_f1() {
        // truth all 0, one window predicted 1: class 0 P 1, R 1/2, F1 2/3; class 1 F1 0.
        let m = ConfusionMatrix::new(2, &[0, 0], &[0, 1]);
        assert!(close(m.macro_f1(), (2.0 / 3.0 + 0.0) / 2.0));
        assert!(close(m.accuracy(), 0.5));
    }

    #[test]
    fn perfect_and_empty_predictions() {
        let m = ConfusionMatrix::new(3, &[0, 1, 2, 2], &[0, 1, 2, 2]);
        assert!(close(m.accuracy(), 1.0) && close(m.macro_f1(), 1.0));
        let empty = ConfusionMatrix::new(3, &[], &[]);
        assert_eq!((empty.accuracy(), empty.macro_f1()), (0.0, 0.0));
    }
}
