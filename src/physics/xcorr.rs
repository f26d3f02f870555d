//! Cross-correlation by FFT and the lag that best aligns two sequences (method.md,
//! "Symmetry").
//!
//! `c[tau] = sum_t x(t) y(t + tau)` for `|tau| <= max_lag`, computed as the inverse FFT of
//! `conj(X) Y` with both zero-padded to `2 W`, so the circular correlation has no
//! wrap-around. The best lag maximises `c`; values within [`TIE_TOLERANCE`] of the
//! correlation's Cauchy-Schwarz bound, plus an absolute [`TIE_FLOOR`], count as ties (FFT
//! rounding would otherwise break exact ties at random, and a still limb's centred norm is
//! zero only up to rounding), and ties go to the smallest `|tau|`, then to the negative lag.
//!
//! Tested against the naive O(W * lags) sum over many lengths and lags.

use rustfft::FftPlannerScalar;
use rustfft::num_complex::Complex64;

/// Correlations closer than this fraction of `sqrt(sum x^2 * sum y^2)` are ties.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Correlations closer than this (in the squared unit of the signals, (m/s^2)^2 for
/// acceleration) are ties whatever the signals' energy: far below any sensor's noise.
pub const TIE_FLOOR: f64 = 1e-12;

/// Computes FFT cross-correlations; keeps its FFT plans, so reuse one per thread.
/// Its plans are rustfft's scalar ones: the SIMD planner picks different algorithms on
/// CPUs with and without AVX, and so different bits in the pseudo-labels.
pub struct CrossCorrelator {
    planner: FftPlannerScalar<f64>,
    x_spectrum: Vec<Complex64>,
    y_spectrum: Vec<Complex64>,
}

impl Default for CrossCorrelator {
    fn default() -> Self {
        Self::new()
    }
}

impl CrossCorrelator {
    /// A correlator with no plans yet.
    pub fn new() -> Self {
        CrossCorrelator { planner: FftPlannerScalar::new(), x_spectrum: Vec::new(), y_spectrum: Vec::new() }
    }

    /// `c[tau]` for `tau = -max_lag ..= max_lag` (index `tau + max_lag`) of two sequences of
    /// equal length W; `max_lag` must be below W.
    pub fn correlate(&mut self, x: &[f64], y: &[f64], max_lag: usize) -> Vec<f64> {
        let w = x.len();
        assert_eq!(w, y.len(), "cross-correlation needs sequences of equal length");
        assert!(max_lag < w.max(1), "lag {max_lag} out of range for length {w}");
        let len = (2 * w).max(1);
        let forward = self.planner.plan_fft_forward(len);
        let inverse = self.planner.plan_fft_inverse(len);
        for (spectrum, signal) in [(&mut self.x_spectrum, x), (&mut self.y_spectrum, y)] {
            spectrum.clear();
            spectrum.extend(signal.iter().map(|&v| Complex64::new(v, 0.0)));
            spectrum.resize(len, Complex64::new(0.0, 0.0));
            forward.process(spectrum);
        }
        for (xs, ys) in self.x_spectrum.iter_mut().zip(&self.y_spectrum) {
            *xs = xs.conj() * ys;
        }
        inverse.process(&mut self.x_spectrum);
        let lag_index = |tau: isize| tau.rem_euclid(len as isize) as usize;
        (-(max_lag as isize)..=max_lag as isize).map(|tau| self.x_spectrum[lag_index(tau)].re / len as f64).collect()
    }

    /// The lag in `-max_lag ..= max_lag` that maximises `sum_t x(t) y(t + tau)`, with the
    /// tie rule of the module docs.
    pub fn best_lag(&mut self, x: &[f64], y: &[f64], max_lag: usize) -> isize {
        let correlation = self.correlate(x, y, max_lag);
        pick_lag(&correlation, max_lag, tie_tolerance(x, y))
    }
}

/// Absolute tolerance under which two correlations of `x` and `y` count as equal.
pub fn tie_tolerance(x: &[f64], y: &[f64]) -> f64 {
    let energy = |s: &[f64]| s.iter().map(|v| v * v).sum::<f64>();
    TIE_TOLERANCE * (energy(x) * energy(y)).sqrt() + TIE_FLOOR
}

/// The lag with the largest correlation (index `tau + max_lag`), ties within `tolerance`
/// going to the smallest `|tau|`, then to the negative lag.
pub fn pick_lag(correlation: &[f64], max_lag: usize, tolerance: f64) -> isize {
    let best = correlation.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let at = |tau: isize| correlation[(tau + max_lag as isize) as usize];
    // Preference order: 0, -1, 1, -2, 2, ...
    let preference = std::iter::once(0).chain((1..=max_lag as isize).flat_map(|k| [-k, k]));
    preference.into_iter().find(|&tau| at(tau) >= best - tolerance).expect("the maximum is among the lags")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::testing::{assert_all_close, random_signal};
    use proptest::prelude::*;

    /// The definition, summed directly: the oracle.
    fn naive_correlate(x: &[f64], y: &[f64], max_lag: usize) -> Vec<f64> {
        let w = x.len() as isize;
        (-(max_lag as isize)..=max_lag as isize)
            .map(|tau| {
                (0..w).filter(|t| (0..w).contains(&(t + tau))).map(|t| x[t as usize] * y[(t + tau) as usize]).sum()
            })
            .collect()
    }

    #[test]
    fn hand_worked_correlation() {
        // x = [1, 2, 3], y = [0, 1, 0.5]:
        // tau -1: x1 y0 + x2 y1 = 0 + 3 = 3; tau 0: 0 + 2 + 1.5 = 3.5; tau 1: x0 y1 + x1 y2 = 1 + 1 = 2.
        let got = CrossCorrelator::new().correlate(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5], 1);
        assert_all_close("correlation", &got, &[3.0, 3.5, 2.0], 1e-12, 0.0);
    }

    #[test]
    fn fft_correlation_matches_the_naive_oracle() {
        let mut correlator = CrossCorrelator::new();
        for w in [1, 2, 3, 5, 8, 13, 46, 100, 125, 128] {
            let x = random_signal(w as u64, w);
            let y = random_signal(1000 + w as u64, w);
            for max_lag in [0, w / 4, w - 1] {
                let fast = correlator.correlate(&x, &y, max_lag);
                let slow = naive_correlate(&x, &y, max_lag);
                assert_all_close(&format!("w={w} max_lag={max_lag}"), &fast, &slow, 1e-10, 1e-10);
            }
        }
    }

    #[test]
    fn ties_go_to_the_smallest_lag_then_the_negative_one() {
        assert_eq!(pick_lag(&[1.0, 1.0, 1.0], 1, 0.0), 0);
        assert_eq!(pick_lag(&[2.0, 1.0, 2.0], 1, 0.0), -1);
        assert_eq!(pick_lag(&[0.0, 1.0, 2.0], 1, 0.0), 1);
        // Within tolerance counts as a tie.
        assert_eq!(pick_lag(&[1.0, 1.0 - 1e-12, 1.0], 1, 1e-9), 0);
    }

    #[test]
    fn zero_signals_align_at_lag_zero() {
        assert_eq!(CrossCorrelator::new().best_lag(&[0.0; 40], &[0.0; 40], 10), 0);
    }

    #[test]
    fn rounding_noise_against_a_signal_ties_at_lag_zero() {
        // A still limb's centred norm is zero up to rounding (here 1e-15): its
        // correlations with anything are noise and must not pick a lag.
        let x = random_signal(4, 50);
        let noise: Vec<f64> = random_signal(5, 50).iter().map(|v| 1e-15 * v).collect();
        assert_eq!(CrossCorrelator::new().best_lag(&x, &noise, 12), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The lag of a shifted copy equals the shift: y(t) = x(t - s) peaks at tau = s.
        #[test]
        fn lag_of_a_shifted_copy_equals_the_shift(seed in 0u64..1000, shift in -10isize..=10) {
            let w = 64;
            let source = random_signal(seed, w + 20);
            let x: Vec<f64> = source[10..10 + w].to_vec();
            let y: Vec<f64> = (0..w as isize).map(|t| source[(10 + t - shift) as usize]).collect();
            prop_assert_eq!(CrossCorrelator::new().best_lag(&x, &y, w / 4), shift);
        }
    }
}
