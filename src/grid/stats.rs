//! Paired comparisons of two methods: the mean difference, a seeded percentile-bootstrap
//! 95% confidence interval, the two-sided Wilcoxon signed-rank test, and Holm's correction
//! for a family of such tests. The report pairs methods over folds (each fold's mean over
//! its seeds): the seeds of one fold share their test subject, so the fold, not the cell,
//! is the unit, and resampling fold means is the cluster bootstrap.
//!
//! The Wilcoxon test follows `scipy.stats.wilcoxon` with its defaults (scipy 1.17): zero
//! differences are dropped (`zero_method="wilcox"`), ties share their average rank, and the
//! p-value comes from the exact null distribution when there are no ties or zeros and at
//! most 50 pairs, from an exact permutation test over every sign pattern when there are
//! ties or zeros and at most 13 pairs, and otherwise from the normal approximation with the
//! tie correction and no continuity correction. `tests/fixtures/golden/wilcoxon.json`
//! (written by `scripts/reference/wilcoxon.py`) checks each branch against scipy.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A paired comparison: `a - b` over pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// Pairs compared.
    pub n: usize,
    /// Mean difference.
    pub mean: f64,
    /// 95% percentile-bootstrap interval of the mean difference.
    pub interval: (f64, f64),
    /// Two-sided Wilcoxon signed-rank p-value (NaN when every difference is 0).
    pub p_value: f64,
}

impl Paired {
    /// Compare the paired differences `diffs`; `seed` drives the bootstrap.
    pub fn of(diffs: &[f64], seed: u64) -> Self {
        Paired {
            n: diffs.len(),
            mean: diffs.iter().sum::<f64>() / diffs.len().max(1) as f64,
            interval: bootstrap_interval(diffs, BOOTSTRAP_RESAMPLES, seed),
            p_value: wilcoxon(diffs).p_value,
        }
    }

    /// Whether the interval excludes zero over at least [`MIN_PAIRS`] pairs.
    pub fn is_clear(&self) -> bool {
        self.n >= MIN_PAIRS && (self.interval.0 > 0.0 || self.interval.1 < 0.0)
    }

    /// Whether a difference is called: its interval excludes zero (over at least
    /// [`MIN_PAIRS`] pairs) and its family-adjusted p-value `adjusted_p` is below 0.05.
    pub fn is_called(&self, adjusted_p: f64) -> bool {
        self.is_clear() && adjusted_p < 0.05
    }
}

/// Holm's step-down adjustment of a family's p-values, in their order (statsmodels'
/// `multipletests(p, method="holm")[1]`): the i-th smallest p is multiplied by `m - i`
/// (i from 0), capped at 1, and made non-decreasing in that order. A NaN p (every
/// difference zero) counts as 1: it is a test of the family that found nothing.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let p = |i: usize| if p_values[i].is_nan() { 1.0 } else { p_values[i] };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p(a).total_cmp(&p(b)));
    let mut adjusted = vec![0.0; m];
    let mut running = 0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p(i)).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// The smallest two-sided p-value the Wilcoxon signed-rank test can give over `n` pairs
/// (every difference of one sign: `2 / 2^n`), at most 1. Below six pairs it is over 0.05,
/// and Holm over a family of `m` tests needs it below `0.05 / m` to call anything at all.
pub fn smallest_wilcoxon_p(n: usize) -> f64 {
    (2.0 / 2f64.powi(n as i32)).min(1.0)
}

/// The fewest pairs from which the report calls a difference. A bootstrap of fewer pairs
/// gives intervals that exclude zero by construction (one pair gives a point), and below
/// six pairs the Wilcoxon test cannot reach p < 0.05 at all.
pub const MIN_PAIRS: usize = 6;

/// Bootstrap resamples behind every interval.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The 2.5th and 97.5th percentiles (numpy's linear interpolation) of the means of
/// `resamples` resamples of `values`, drawn with replacement from a ChaCha8 stream of `seed`.
pub fn bootstrap_interval(values: &[f64], resamples: usize, seed: u64) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = values.len();
    let mut means: Vec<f64> =
        (0..resamples).map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    (percentile(&means, 2.5), percentile(&means, 97.5))
}

/// numpy's `percentile(sorted, q)` (method "linear") of an ascending, non-empty slice.
fn percentile(sorted: &[f64], q_percent: f64) -> f64 {
    let position = q_percent / 100.0 * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

/// The outcome of a Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    /// `min(W+, W-)`, the smaller rank sum.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// The two-sided Wilcoxon signed-rank test of paired differences `diffs` against 0.
pub fn wilcoxon(diffs: &[f64]) -> Wilcoxon {
    let nonzero: Vec<f64> = diffs.iter().copied().filter(|&d| d != 0.0).collect();
    let zeros = diffs.len() - nonzero.len();
    let (ranks, tie_sizes) = average_ranks(&nonzero);
    let rank_sum = |positive: bool| {
        nonzero.iter().zip(&ranks).filter(|(d, _)| (**d > 0.0) == positive).map(|(_, r)| r).sum::<f64>()
    };
    let (plus, minus) = (rank_sum(true), rank_sum(false));
    let statistic = plus.min(minus);
    let has_ties = tie_sizes.iter().any(|&t| t > 1);
    let n = nonzero.len();
    let p_value = if n == 0 {
        f64::NAN
    } else if diffs.len() <= 50 && !has_ties && zeros == 0 {
        exact_p_value(n, plus)
    } else if diffs.len() <= 13 {
        permutation_p_value(&ranks, plus)
    } else {
        normal_p_value(n, plus, &tie_sizes)
    };
    Wilcoxon { statistic, p_value }
}

/// Ranks 1.. of `|values|`, ties sharing their average, and the size of each tie group.
fn average_ranks(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()));
    let mut ranks = vec![0.0; values.len()];
    let mut ties = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]].abs() == values[order[start]].abs() {
            end += 1;
        }
        // Positions start..end (0-based) share the average of ranks start+1..=end.
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        ties.push(end - start);
        start = end;
    }
    (ranks, ties)
}

/// The exact two-sided p-value of `W+ = plus` among `n` untied, nonzero differences:
/// `2 min(P(W+ >= floor(plus)), P(W+ <= ceil(plus)))`, at most 1. Under the null each of
/// the `2^n` sign patterns is equally likely; the counts of each rank sum come from the
/// subset sums of `1..=n`.
fn exact_p_value(n: usize, plus: f64) -> f64 {
    let total = n * (n + 1) / 2;
    let mut counts = vec![0f64; total + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for sum in (rank..=total).rev() {
            counts[sum] += counts[sum - rank];
        }
    }
    let patterns = 2f64.powi(n as i32);
    let cdf = |k: usize| counts[..=k.min(total)].iter().sum::<f64>() / patterns;
    let sf = |k: usize| counts[k.min(total + 1)..].iter().sum::<f64>() / patterns;
    (2.0 * sf(plus.floor() as usize).min(cdf(plus.ceil() as usize))).clamp(0.0, 1.0)
}

/// The two-sided p-value of `W+ = plus` by enumerating every sign pattern of the ranked
/// differences (scipy's exact permutation test, with its relative tolerance for equal sums).
fn permutation_p_value(ranks: &[f64], plus: f64) -> f64 {
    let n = ranks.len();
    let tolerance = (plus * f64::EPSILON * 100.0).abs();
    let (mut at_most, mut at_least) = (0usize, 0usize);
    // Zeros were dropped; flipping their signs changes nothing, so the 2^n patterns of the
    // nonzero differences give the same proportions as scipy's 2^(n + zeros).
    for pattern in 0u32..(1 << n) {
        let sum: f64 = (0..n).filter(|&i| pattern & (1 << i) != 0).map(|i| ranks[i]).sum();
        at_most += usize::from(sum <= plus + tolerance);
        at_least += usize::from(sum >= plus - tolerance);
    }
    let patterns = (1u64 << n) as f64;
    (2.0 * (at_most as f64 / patterns).min(at_least as f64 / patterns)).min(1.0)
}

/// The two-sided p-value of `W+ = plus` from the normal approximation, with the tie
/// correction and without a continuity correction.
fn normal_p_value(n: usize, plus: f64, tie_sizes: &[usize]) -> f64 {
    let n = n as f64;
    let mean = n * (n + 1.0) / 4.0;
    let tie_correction: f64 = tie_sizes.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    let sd = ((n * (n + 1.0) * (2.0 * n + 1.0) - tie_correction / 2.0) / 24.0).sqrt();
    let z = (plus - mean) / sd;
    // 2 P(Z <= -|z|) = erfc(|z| / sqrt 2).
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_their_ties() {
        let (ranks, ties) = average_ranks(&[0.3, -0.1, 0.1, 0.2]);
        assert_eq!(ranks, vec![4.0, 1.5, 1.5, 3.0]);
        assert_eq!(ties, vec![2, 1, 1]);
    }

    #[test]
    fn exact_distribution_by_hand() {
        // n = 3: rank sums 0..6 have counts 1 1 1 2 1 1 1 over 8 patterns. W+ = 6 (all
        // positive): P(W+ >= 6) = 1/8, P(W+ <= 6) = 1: p = 2/8.
        assert_eq!(exact_p_value(3, 6.0), 0.25);
        // W+ = 3 sits in the middle: both tails are 5/8; p is capped at 1.
        assert_eq!(exact_p_value(3, 3.0), 1.0);
        let result = wilcoxon(&[0.5, 0.2, 0.9]);
        assert_eq!((result.statistic, result.p_value), (0.0, 0.25));
    }

    #[test]
    fn every_zero_difference_has_no_p_value() {
        assert!(wilcoxon(&[0.0, 0.0]).p_value.is_nan());
    }

    #[test]
    fn bootstrap_of_a_constant_is_that_constant_and_the_interval_holds_the_mean() {
        assert_eq!(bootstrap_interval(&[0.25; 7], 1000, 1), (0.25, 0.25));
        let values: Vec<f64> = (0..20).map(|i| f64::from(i) / 100.0).collect();
        let (low, high) = bootstrap_interval(&values, 5000, 3);
        assert!(low < 0.095 && 0.095 < high && high - low < 0.1, "({low}, {high})");
        assert_eq!(bootstrap_interval(&values, 5000, 3), (low, high), "the same seed gives the same interval");
        assert_ne!(bootstrap_interval(&values, 5000, 4), (low, high));
    }

    #[test]
    fn a_clear_difference_needs_an_interval_without_zero() {
        assert!(!Paired::of(&[0.05, 0.06, 0.04, 0.07, 0.05], 0).is_clear(), "five pairs are too few to call");
        let better = Paired::of(&[0.05, 0.06, 0.04, 0.07, 0.05, 0.06], 0);
        assert!(better.is_clear() && better.interval.0 > 0.0);
        let unclear = Paired::of(&[0.05, -0.06, 0.04, -0.07, 0.05, -0.02], 0);
        assert!(!unclear.is_clear());
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.01, 0.02, 0.03, 0.5 times 4, 3, 2, 1: 0.04, 0.06, 0.06, 0.5; the NaN is a 1.
        let adjusted = holm(&[0.03, 0.01, 0.5, 0.02]);
        let expected = [0.06, 0.04, 0.5, 0.06];
        for (got, want) in adjusted.iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{adjusted:?}");
        }
        // Monotone: the larger p's 0.04 * 1 is below the smaller's 0.03 * 2, so it is raised to 0.06.
        assert_eq!(holm(&[0.03, 0.04]), vec![0.06, 0.06]);
        assert_eq!(holm(&[f64::NAN, 0.2]), vec![1.0, 0.4]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn smallest_p_of_the_signed_rank_test() {
        assert_eq!(smallest_wilcoxon_p(8), 2.0 / 256.0);
        assert_eq!(smallest_wilcoxon_p(8), wilcoxon(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]).p_value);
        assert_eq!(smallest_wilcoxon_p(1), 1.0);
    }

    #[test]
    fn percentile_interpolates_as_numpy() {
        // numpy.percentile([1, 2, 3, 4], 2.5) = 1.075; 97.5 -> 3.925.
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 2.5) - 1.075).abs() < 1e-12);
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 97.5) - 3.925).abs() < 1e-12);
    }
}
