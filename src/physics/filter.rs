//! FFT brick-wall band masks, used to split acceleration into gravity and body motion.
//!
//! method.md, "Gravity and body acceleration": pad the N samples by `floor(N/2)` on each
//! end with mirror reflection that does not repeat the edge sample (numpy
//! `np.pad(x, p, mode="reflect")`: `d c b | a b c d | c b a`), take the FFT of the padded
//! length L, zero every bin whose frequency `|f_k|` (`f_k = k fs / L`, k above L/2 folded
//! to k - L) the [`Band`] rejects, invert, and crop the middle N samples. Reflection keeps
//! the padded signal continuous at the ends, which keeps the brick wall from ringing there.
//!
//! Tested against a naive O(L^2) DFT with the same mask ([`tests`]) and against numpy
//! (`tests/integration/golden.rs`, `scripts/reference/`).

use std::sync::Arc;

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlannerScalar};

/// Which frequencies pass, by their absolute value in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// Keep `|f| <= cutoff_hz`.
    LowPass {
        /// Highest frequency kept.
        cutoff_hz: f64,
    },
    /// Keep `low_hz < |f| <= high_hz`.
    BandPass {
        /// Frequencies at or below this are removed.
        low_hz: f64,
        /// Highest frequency kept.
        high_hz: f64,
    },
}

impl Band {
    /// Whether a frequency of absolute value `f_abs_hz` passes.
    pub fn passes(self, f_abs_hz: f64) -> bool {
        match self {
            Band::LowPass { cutoff_hz } => f_abs_hz <= cutoff_hz,
            Band::BandPass { low_hz, high_hz } => low_hz < f_abs_hz && f_abs_hz <= high_hz,
        }
    }
}

/// Absolute frequency of bin `k` of an FFT of length `len` at `fs_hz`.
pub fn bin_frequency_hz(k: usize, len: usize, fs_hz: f64) -> f64 {
    let folded = if 2 * k > len { len - k } else { k };
    folded as f64 * fs_hz / len as f64
}

/// `x` padded by `pad` samples on each end by mirror reflection without repeating the
/// edge sample (numpy `mode="reflect"`). Needs `pad < x.len()`.
pub fn reflect_pad(x: &[f64], pad: usize) -> Vec<f64> {
    let n = x.len();
    assert!(pad < n.max(1), "reflect padding of {pad} needs more than {n} samples");
    let mut padded = Vec::with_capacity(n + 2 * pad);
    padded.extend((1..=pad).rev().map(|i| x[i]));
    padded.extend_from_slice(x);
    padded.extend((1..=pad).map(|i| x[n - 1 - i]));
    padded
}

/// Applies band masks by FFT; keeps its FFT plans, so reuse one per thread.
/// Its plans are rustfft's scalar ones: the SIMD planner picks different algorithms on
/// CPUs with and without AVX, and so different bits in the pseudo-labels.
pub struct FftFilter {
    planner: FftPlannerScalar<f64>,
    buffer: Vec<Complex64>,
}

impl Default for FftFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl FftFilter {
    /// A filter with no plans yet.
    pub fn new() -> Self {
        FftFilter { planner: FftPlannerScalar::new(), buffer: Vec::new() }
    }

    fn plans(&mut self, len: usize) -> (Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>) {
        (self.planner.plan_fft_forward(len), self.planner.plan_fft_inverse(len))
    }

    /// `x` (sampled at `fs_hz`) with the frequencies outside `band` removed.
    pub fn apply(&mut self, x: &[f64], fs_hz: f64, band: Band) -> Vec<f64> {
        let n = x.len();
        if n < 2 {
            // One sample holds only the DC bin.
            return x.iter().map(|&v| if band.passes(0.0) { v } else { 0.0 }).collect();
        }
        let pad = n / 2;
        let padded = reflect_pad(x, pad);
        let len = padded.len();
        let (forward, inverse) = self.plans(len);
        self.buffer.clear();
        self.buffer.extend(padded.iter().map(|&v| Complex64::new(v, 0.0)));
        forward.process(&mut self.buffer);
        for (k, bin) in self.buffer.iter_mut().enumerate() {
            if !band.passes(bin_frequency_hz(k, len, fs_hz)) {
                *bin = Complex64::new(0.0, 0.0);
            }
        }
        inverse.process(&mut self.buffer);
        // rustfft leaves the inverse unnormalised; the mask is even, so the imaginary part
        // is rounding noise.
        self.buffer[pad..pad + n].iter().map(|c| c.re / len as f64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::testing::{assert_all_close, random_signal};
    use std::f64::consts::PI;

    /// The same mask applied through a naive O(L^2) DFT: an independent oracle.
    fn naive_filter(x: &[f64], fs_hz: f64, band: Band) -> Vec<f64> {
        let n = x.len();
        let pad = n / 2;
        let padded = reflect_pad(x, pad);
        let len = padded.len();
        let spectrum: Vec<Complex64> = (0..len)
            .map(|k| {
                if !band.passes(bin_frequency_hz(k, len, fs_hz)) {
                    return Complex64::new(0.0, 0.0);
                }
                padded
                    .iter()
                    .enumerate()
                    .map(|(t, &v)| v * Complex64::from_polar(1.0, -2.0 * PI * (k * t) as f64 / len as f64))
                    .sum()
            })
            .collect();
        (pad..pad + n)
            .map(|t| {
                let sum: Complex64 = spectrum
                    .iter()
                    .enumerate()
                    .map(|(k, &c)| c * Complex64::from_polar(1.0, 2.0 * PI * (k * t) as f64 / len as f64))
                    .sum();
                sum.re / len as f64
            })
            .collect()
    }

    #[test]
    fn reflect_pad_mirrors_without_repeating_the_edge() {
        // numpy: np.pad([1, 2, 3, 4], 2, mode="reflect") == [3, 2, 1, 2, 3, 4, 3, 2]
        assert_eq!(reflect_pad(&[1.0, 2.0, 3.0, 4.0], 2), vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
    }

    #[test]
    fn bin_frequencies_fold_above_half_the_length() {
        // L = 10 at 25 Hz: bins are 2.5 Hz apart; bin 7 is -3 * 2.5 Hz.
        assert_eq!(bin_frequency_hz(0, 10, 25.0), 0.0);
        assert_eq!(bin_frequency_hz(5, 10, 25.0), 12.5);
        assert_eq!(bin_frequency_hz(7, 10, 25.0), 7.5);
    }

    #[test]
    fn gravity_of_a_constant_vector_is_that_vector() {
        let mut filter = FftFilter::new();
        let x = vec![9.80665; 125];
        let low = filter.apply(&x, 25.0, Band::LowPass { cutoff_hz: 0.3 });
        assert_all_close("low-pass of a constant", &low, &x, 1e-12, 1e-12);
        let band = filter.apply(&x, 25.0, Band::BandPass { low_hz: 0.3, high_hz: 20.0 });
        assert_all_close("band-pass of a constant", &band, &[0.0; 125], 1e-12, 0.0);
    }

    #[test]
    fn sinusoid_in_the_band_passes_and_is_blocked_by_the_low_pass() {
        // A 2 Hz cosine over N = 101 samples at 25 Hz is symmetric about both ends
        // (2 f (N-1) / fs = 16 is whole), so the reflected padding continues it exactly;
        // what is left is the padded length (201) not holding whole periods, whose leakage
        // numpy puts at 0.0064 at most: hence the 1e-2 tolerance.
        let fs = 25.0;
        let x: Vec<f64> = (0..101).map(|t| (2.0 * PI * 2.0 * t as f64 / fs).cos()).collect();
        let mut filter = FftFilter::new();
        let band = filter.apply(&x, fs, Band::BandPass { low_hz: 0.3, high_hz: 20.0 });
        assert_all_close("band-pass of an in-band cosine", &band, &x, 1e-2, 0.0);
        let low = filter.apply(&x, fs, Band::LowPass { cutoff_hz: 0.3 });
        assert_all_close("low-pass of a 2 Hz cosine", &low, &[0.0; 101], 1e-2, 0.0);
    }

    #[test]
    fn low_pass_plus_band_pass_rebuilds_a_signal_within_the_band() {
        // With the band's top at Nyquist, the two masks partition the spectrum.
        let fs = 25.0;
        let mut filter = FftFilter::new();
        for (seed, n) in [(1, 2), (2, 3), (3, 17), (4, 125), (5, 256)] {
            let x = random_signal(seed, n);
            let low = filter.apply(&x, fs, Band::LowPass { cutoff_hz: 0.3 });
            let high = filter.apply(&x, fs, Band::BandPass { low_hz: 0.3, high_hz: fs / 2.0 });
            let sum: Vec<f64> = low.iter().zip(&high).map(|(a, b)| a + b).collect();
            assert_all_close(&format!("low + band, n = {n}"), &sum, &x, 1e-12, 1e-12);
        }
    }

    #[test]
    fn fft_filter_matches_the_naive_dft_oracle() {
        let mut filter = FftFilter::new();
        let bands = [
            Band::LowPass { cutoff_hz: 0.3 },
            Band::BandPass { low_hz: 0.3, high_hz: 20.0 },
            Band::BandPass { low_hz: 1.0, high_hz: 5.0 },
        ];
        for n in [2, 3, 4, 5, 7, 16, 31, 46, 64, 99, 125] {
            let x = random_signal(n as u64, n);
            for fs in [25.0, 50.0, 100.0] {
                for band in bands {
                    let fast = filter.apply(&x, fs, band);
                    let slow = naive_filter(&x, fs, band);
                    assert_all_close(&format!("{band:?} n={n} fs={fs}"), &fast, &slow, 1e-10, 1e-10);
                }
            }
        }
    }
}
