//! Per-channel z-normalisation: the mean and standard deviation of each channel over the
//! training subjects' windows, saved beside every model and applied to every window the
//! model sees.

use serde::{Deserialize, Serialize};

/// Per-channel mean and standard deviation over the training subjects' windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normaliser {
    /// Mean of each channel.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel (1 where it is 0).
    pub std: Vec<f32>,
}

impl Normaliser {
    /// Z-normalise one window (`[channels, time]`, row-major) in place.
    pub fn apply(&self, window: &mut [f32], time: usize) {
        for (c, channel) in window.chunks_mut(time).enumerate() {
            let (mean, std) = (self.mean[c], self.std[c]);
            channel.iter_mut().for_each(|v| *v = (*v - mean) / std);
        }
    }

    /// Fit on `windows` (each `[channels, time]`, row-major), accumulated in f64 in window
    /// order; the population standard deviation.
    pub fn fit<'a>(windows: impl Iterator<Item = &'a [f32]>, channels: usize, time: usize) -> Self {
        let mut sum = vec![0f64; channels];
        let mut sum_sq = vec![0f64; channels];
        let mut count = 0;
        for window in windows {
            count += 1;
            for (c, channel) in window.chunks(time).enumerate() {
                for &v in channel {
                    sum[c] += f64::from(v);
                    sum_sq[c] += f64::from(v) * f64::from(v);
                }
            }
        }
        let n = (count * time).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = (0..channels)
            .map(|c| {
                let variance = (sum_sq[c] / n - mean[c] * mean[c]).max(0.0);
                if variance > 0.0 { variance.sqrt() as f32 } else { 1.0 }
            })
            .collect();
        Normaliser { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_channels_and_a_constant_one() {
        // Two windows of 2 channels x 3 steps. Channel 0: 1..=6, mean 3.5, population
        // variance 35/12. Channel 1: constant 5, so its std is 1 (not 0).
        let windows = [[1.0, 2.0, 3.0, 5.0, 5.0, 5.0], [4.0, 5.0, 6.0, 5.0, 5.0, 5.0]];
        let normaliser = Normaliser::fit(windows.iter().map(|w| &w[..]), 2, 3);
        assert_eq!(normaliser.mean, vec![3.5, 5.0]);
        assert!((normaliser.std[0] - (35f32 / 12.0).sqrt()).abs() < 1e-6);
        assert_eq!(normaliser.std[1], 1.0);
        let mut window = windows[1];
        normaliser.apply(&mut window, 3);
        let expected = [0.5 / normaliser.std[0], 1.5 / normaliser.std[0], 2.5 / normaliser.std[0], 0.0, 0.0, 0.0];
        assert_eq!(window, expected);
        let empty = Normaliser::fit(std::iter::empty(), 2, 3);
        assert_eq!((empty.mean, empty.std), (vec![0.0, 0.0], vec![1.0, 1.0]), "no windows: the identity");
    }
}
