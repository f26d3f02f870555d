//! The eight signal transformations of the transformation-discrimination baseline (Saeed et
//! al. 2019; method.md, "Baselines"), applied to one window in physical units,
//! `[channels, time]` row-major.
//!
//! Choices where the method is silent: one rotation per body-worn unit, shared by its
//! accelerometer, gyroscope and magnetometer (they sit in one housing); channel shuffle
//! permutes the axes within each 3-axis sensor, never across sensors or modalities; the
//! noise level is relative to each channel's standard deviation, so 0.05 means the same
//! for m/s², rad/s and magnetometer units; time warp uses one warping curve per window
//! (all channels share one clock), a natural cubic spline through the knots; permutation
//! cuts the window into equal segments. Permutations and shuffles are never the identity.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Normal, StandardNormal};
use serde::{Deserialize, Serialize};

use super::ChannelLayout;
use super::dataset_config::Modality;

/// One transformation; each gets its own binary head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transformation {
    /// Additive Gaussian noise.
    Noise,
    /// Each channel multiplied by its own factor.
    Scaling,
    /// A random 3-D rotation of each sensor unit.
    Rotation,
    /// Every sample negated.
    Negation,
    /// Time runs backwards.
    TimeReversal,
    /// Equal time segments put in another order.
    Permutation,
    /// Time locally sped up and slowed down along a smooth random curve.
    TimeWarp,
    /// The axes of each 3-axis sensor put in another order.
    ChannelShuffle,
}

impl Transformation {
    /// All eight, in head order.
    pub const ALL: [Transformation; 8] = [
        Transformation::Noise,
        Transformation::Scaling,
        Transformation::Rotation,
        Transformation::Negation,
        Transformation::TimeReversal,
        Transformation::Permutation,
        Transformation::TimeWarp,
        Transformation::ChannelShuffle,
    ];

    /// The name used in metrics and configs.
    pub fn name(self) -> &'static str {
        match self {
            Transformation::Noise => "noise",
            Transformation::Scaling => "scaling",
            Transformation::Rotation => "rotation",
            Transformation::Negation => "negation",
            Transformation::TimeReversal => "time_reversal",
            Transformation::Permutation => "permutation",
            Transformation::TimeWarp => "time_warp",
            Transformation::ChannelShuffle => "channel_shuffle",
        }
    }
}

/// Strengths of the transformations (method.md's values are the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformConfig {
    /// Standard deviation of the noise, in units of each channel's standard deviation.
    pub noise_sigma: f64,
    /// Standard deviation of the scaling factors, drawn around 1.
    pub scaling_sigma: f64,
    /// Segments of a permutation (at least 2).
    pub segments: usize,
    /// Interior knots of the time-warp curve.
    pub warp_knots: usize,
    /// Standard deviation of the time-warp curve's knots, drawn around 1.
    pub warp_sigma: f64,
}

impl Default for TransformConfig {
    fn default() -> Self {
        TransformConfig { noise_sigma: 0.05, scaling_sigma: 0.1, segments: 4, warp_knots: 4, warp_sigma: 0.2 }
    }
}

/// What the transformations need to know about a window's channels.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowShape {
    /// Channels per window.
    pub channels: usize,
    /// Samples per window.
    pub time: usize,
    /// Per sensor unit, the x, y, z channels of each of its 3-axis sensors.
    pub units: Vec<Vec<[usize; 3]>>,
}

impl WindowShape {
    /// The shape of windows of `time` samples laid out as `layout`.
    pub fn new(layout: &ChannelLayout, time: usize) -> Self {
        let units =
            (0..layout.sensors()).map(|s| Modality::ALL.iter().filter_map(|&m| layout.rows(s, m)).collect()).collect();
        WindowShape { channels: layout.channels(), time, units }
    }
}

/// `window` (`[channels, time]`, row-major) transformed by `transformation`;
/// `channel_std` (each channel's standard deviation) scales the noise.
pub fn apply(
    transformation: Transformation,
    window: &[f32],
    shape: &WindowShape,
    channel_std: &[f32],
    config: &TransformConfig,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let time = shape.time;
    debug_assert_eq!(window.len(), shape.channels * time);
    let mut out = window.to_vec();
    match transformation {
        Transformation::Noise => {
            for (c, channel) in out.chunks_mut(time).enumerate() {
                let sigma = config.noise_sigma * f64::from(channel_std[c]);
                for v in channel {
                    *v += (sigma * standard_normal(rng)) as f32;
                }
            }
        }
        Transformation::Scaling => {
            for channel in out.chunks_mut(time) {
                let factor = (1.0 + config.scaling_sigma * standard_normal(rng)) as f32;
                channel.iter_mut().for_each(|v| *v *= factor);
            }
        }
        Transformation::Rotation => {
            for unit in &shape.units {
                let rotation = random_rotation(rng);
                for triad in unit {
                    rotate(&mut out, window, *triad, &rotation, time);
                }
            }
        }
        Transformation::Negation => out.iter_mut().for_each(|v| *v = -*v),
        Transformation::TimeReversal => out.chunks_mut(time).for_each(<[f32]>::reverse),
        Transformation::Permutation => {
            let segments = config.segments.clamp(2, time);
            let order = non_identity_permutation(segments, rng);
            let bounds: Vec<usize> = (0..=segments).map(|s| s * time / segments).collect();
            for (channel, source) in out.chunks_mut(time).zip(window.chunks(time)) {
                let mut t = 0;
                for &s in &order {
                    let piece = &source[bounds[s]..bounds[s + 1]];
                    channel[t..t + piece.len()].copy_from_slice(piece);
                    t += piece.len();
                }
            }
        }
        Transformation::TimeWarp => {
            let warped = warped_times(time, config.warp_knots, config.warp_sigma, rng);
            for (channel, source) in out.chunks_mut(time).zip(window.chunks(time)) {
                for (t, v) in channel.iter_mut().enumerate() {
                    *v = interpolate(&warped, source, t as f64) as f32;
                }
            }
        }
        Transformation::ChannelShuffle => {
            for triad in shape.units.iter().flatten() {
                let order = non_identity_permutation(3, rng);
                for (axis, &from) in order.iter().enumerate() {
                    let (to, from) = (triad[axis] * time, triad[from] * time);
                    out[to..to + time].copy_from_slice(&window[from..from + time]);
                }
            }
        }
    }
    out
}

fn standard_normal(rng: &mut impl Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// A uniformly random rotation matrix, from a random unit quaternion (four standard normal
/// draws, normalised, are uniform on the 3-sphere).
fn random_rotation(rng: &mut impl Rng) -> [[f64; 3]; 3] {
    let q: [f64; 4] = std::array::from_fn(|_| standard_normal(rng));
    let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [w, x, y, z] = q.map(|v| v / norm);
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]
}

/// Write `rotation` times the triad's vector at every time step of `source` into `out`.
fn rotate(out: &mut [f32], source: &[f32], triad: [usize; 3], rotation: &[[f64; 3]; 3], time: usize) {
    for t in 0..time {
        let v = triad.map(|c| f64::from(source[c * time + t]));
        for (row, &c) in rotation.iter().zip(&triad) {
            out[c * time + t] = (row[0] * v[0] + row[1] * v[1] + row[2] * v[2]) as f32;
        }
    }
}

/// A uniformly random permutation of `0..n` other than the identity (`n >= 2`).
fn non_identity_permutation(n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let identity: Vec<usize> = (0..n).collect();
    loop {
        let mut order = identity.clone();
        order.shuffle(rng);
        if order != identity {
            return order;
        }
    }
}

/// The time each output sample is read from, increasing from 0 to `time - 1`: the running
/// integral of a random speed curve (a natural cubic spline through `knots + 2` evenly
/// spaced values drawn from N(1, sigma)), rescaled to the window's length (Um et al. 2017).
fn warped_times(time: usize, knots: usize, sigma: f64, rng: &mut impl Rng) -> Vec<f64> {
    let last = (time - 1) as f64;
    let xs: Vec<f64> = (0..knots + 2).map(|k| k as f64 * last / (knots + 1) as f64).collect();
    let normal = Normal::new(1.0, sigma).expect("sigma is checked to be finite and non-negative");
    let ys: Vec<f64> = xs.iter().map(|_| normal.sample(rng)).collect();
    let spline = NaturalCubicSpline::new(xs, ys);
    // Speeds stay positive so that time never stops or runs backwards.
    let speed: Vec<f64> = (0..time).map(|t| spline.at(t as f64).max(0.01)).collect();
    let mut warped = vec![0.0; time];
    for t in 1..time {
        warped[t] = warped[t - 1] + (speed[t - 1] + speed[t]) / 2.0;
    }
    let scale = if warped[time - 1] > 0.0 { last / warped[time - 1] } else { 1.0 };
    warped.iter_mut().for_each(|w| *w *= scale);
    warped
}

/// The value at `t` of the signal whose sample `i` was taken at time `times[i]` (increasing),
/// by linear interpolation, held constant outside `times` (numpy's `interp`).
fn interpolate(times: &[f64], values: &[f32], t: f64) -> f64 {
    let upper = times.partition_point(|&x| x < t);
    if upper == 0 {
        return f64::from(values[0]);
    }
    if upper == times.len() {
        return f64::from(values[times.len() - 1]);
    }
    let (t0, t1) = (times[upper - 1], times[upper]);
    let (v0, v1) = (f64::from(values[upper - 1]), f64::from(values[upper]));
    if t1 == t0 { v1 } else { v0 + (v1 - v0) * (t - t0) / (t1 - t0) }
}

/// The cubic spline through `(xs, ys)` with zero second derivative at both ends.
struct NaturalCubicSpline {
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// Second derivative at each knot.
    second: Vec<f64>,
}

impl NaturalCubicSpline {
    /// `xs` strictly increasing, at least two knots.
    fn new(xs: Vec<f64>, ys: Vec<f64>) -> Self {
        let n = xs.len();
        let mut second = vec![0.0; n];
        if n > 2 {
            // Tridiagonal system for the interior second derivatives (Thomas algorithm).
            let h: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
            let mut diagonal = vec![0.0; n];
            let mut rhs = vec![0.0; n];
            for i in 1..n - 1 {
                diagonal[i] = 2.0 * (h[i - 1] + h[i]);
                rhs[i] = 6.0 * ((ys[i + 1] - ys[i]) / h[i] - (ys[i] - ys[i - 1]) / h[i - 1]);
            }
            for i in 2..n - 1 {
                let factor = h[i - 1] / diagonal[i - 1];
                diagonal[i] -= factor * h[i - 1];
                rhs[i] -= factor * rhs[i - 1];
            }
            for i in (1..n - 1).rev() {
                second[i] = (rhs[i] - h[i] * second[i + 1]) / diagonal[i];
            }
        }
        NaturalCubicSpline { xs, ys, second }
    }

    fn at(&self, x: f64) -> f64 {
        let n = self.xs.len();
        let i = self.xs.partition_point(|&k| k <= x).clamp(1, n - 1) - 1;
        let h = self.xs[i + 1] - self.xs[i];
        let (a, b) = ((self.xs[i + 1] - x) / h, (x - self.xs[i]) / h);
        a * self.ys[i]
            + b * self.ys[i + 1]
            + ((a * a * a - a) * self.second[i] + (b * b * b - b) * self.second[i + 1]) * h * h / 6.0
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Two units: unit 0 has acc (channels 0-2) and gyro (3-5), unit 1 has acc (6-8).
    fn shape(time: usize) -> WindowShape {
        WindowShape { channels: 9, time, units: vec![vec![[0, 1, 2], [3, 4, 5]], vec![[6, 7, 8]]] }
    }

    /// Every channel's standard deviation.
    const STD: [f32; 9] = [2.0; 9];

    /// Channel c holds `c * 100 + t + sin(t)`: every sample distinct.
    fn window(time: usize) -> Vec<f32> {
        (0..9).flat_map(|c| (0..time).map(move |t| (c * 100 + t) as f32 + (t as f32).sin())).collect()
    }

    fn run(t: Transformation, time: usize, seed: u64) -> Vec<f32> {
        apply(t, &window(time), &shape(time), &STD, &TransformConfig::default(), &mut ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn negation_negates() {
        let out = run(Transformation::Negation, 20, 0);
        assert!(out.iter().zip(window(20)).all(|(o, w)| *o == -w));
    }

    #[test]
    fn time_reversal_reverses_each_channel() {
        let (out, original) = (run(Transformation::TimeReversal, 20, 0), window(20));
        for c in 0..9 {
            for t in 0..20 {
                assert_eq!(out[c * 20 + t], original[c * 20 + 19 - t]);
            }
        }
    }

    #[test]
    fn rotation_keeps_each_sensors_norm_and_moves_its_axes() {
        let original = window(30);
        for seed in 0..5 {
            let out = run(Transformation::Rotation, 30, seed);
            for triad in [[0, 1, 2], [3, 4, 5], [6, 7, 8]] {
                for t in 0..30 {
                    let norm = |w: &[f32]| triad.iter().map(|&c| f64::from(w[c * 30 + t]).powi(2)).sum::<f64>().sqrt();
                    let (before, after) = (norm(&original), norm(&out));
                    assert!((before - after).abs() < 1e-5 * before, "seed {seed} t {t}: {before} -> {after}");
                }
            }
            assert_ne!(out, original);
        }
    }

    #[test]
    fn one_unit_shares_one_rotation() {
        // Identical acc and gyro signals in unit 0 stay identical after rotation.
        let time = 10;
        let mut input = window(time);
        input.copy_within(0..3 * time, 3 * time);
        let out = apply(
            Transformation::Rotation,
            &input,
            &shape(time),
            &STD,
            &TransformConfig::default(),
            &mut ChaCha8Rng::seed_from_u64(3),
        );
        assert_eq!(out[..3 * time], out[3 * time..6 * time]);
    }

    #[test]
    fn permutation_keeps_the_multiset_of_samples_and_moves_whole_segments() {
        let original = window(20);
        for seed in 0..10 {
            let out = run(Transformation::Permutation, 20, seed);
            assert_ne!(out, original, "seed {seed}: a permutation is never the identity");
            for c in 0..9 {
                let mut before = original[c * 20..(c + 1) * 20].to_vec();
                let mut after = out[c * 20..(c + 1) * 20].to_vec();
                // Segments of 5 samples move whole: each output segment is some input segment.
                for piece in after.chunks(5) {
                    assert!(before.chunks(5).any(|s| s == piece), "seed {seed}: segment {piece:?} is new");
                }
                before.sort_by(f32::total_cmp);
                after.sort_by(f32::total_cmp);
                assert_eq!(before, after);
            }
        }
    }

    #[test]
    fn channel_shuffle_permutes_axes_within_each_sensor() {
        let original = window(12);
        for seed in 0..10 {
            let out = run(Transformation::ChannelShuffle, 12, seed);
            for triad in [[0, 1, 2], [3, 4, 5], [6, 7, 8]] {
                let channel = |w: &[f32], c: usize| w[c * 12..(c + 1) * 12].to_vec();
                let mut sources: Vec<usize> = triad
                    .iter()
                    .map(|&c| {
                        *triad
                            .iter()
                            .find(|&&s| channel(&original, s) == channel(&out, c))
                            .expect("a channel of the triad")
                    })
                    .collect();
                assert_ne!(sources, triad.to_vec(), "seed {seed}: never the identity");
                sources.sort_unstable();
                assert_eq!(sources, triad.to_vec());
            }
        }
    }

    #[test]
    fn scaling_multiplies_each_channel_by_one_factor() {
        let (out, original) = (run(Transformation::Scaling, 16, 1), window(16));
        for c in 0..9 {
            let factor = out[c * 16 + 1] / original[c * 16 + 1];
            for t in 0..16 {
                assert!((out[c * 16 + t] - factor * original[c * 16 + t]).abs() < 1e-3);
            }
            assert!((factor - 1.0).abs() < 0.6, "factor {factor} is 6 sigma from 1");
        }
    }

    #[test]
    fn noise_has_the_configured_spread() {
        // Channel std 2 and sigma 0.05: noise std 0.1. 9 * 2000 draws: the estimate is
        // within 3% of it with overwhelming probability.
        let (out, original) = (run(Transformation::Noise, 2000, 2), window(2000));
        let diffs: Vec<f64> = out.iter().zip(&original).map(|(o, w)| f64::from(o - w)).collect();
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let std = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / diffs.len() as f64).sqrt();
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((std - 0.1).abs() < 0.003, "std {std}");
    }

    #[test]
    fn time_warp_keeps_the_ends_and_constant_and_linear_signals() {
        let time = 50;
        // Constant channels stay constant; a linear ramp keeps its ends and stays monotone.
        let mut input = vec![3.0f32; 9 * time];
        input[..time].iter_mut().enumerate().for_each(|(t, v)| *v = t as f32);
        for seed in 0..5 {
            let out = apply(
                Transformation::TimeWarp,
                &input,
                &shape(time),
                &STD,
                &TransformConfig::default(),
                &mut ChaCha8Rng::seed_from_u64(seed),
            );
            assert!(out[time..].iter().all(|&v| (v - 3.0).abs() < 1e-6));
            assert!(out[0].abs() < 1e-6 && (out[time - 1] - (time - 1) as f32).abs() < 1e-4);
            assert!(out[..time].windows(2).all(|w| w[1] >= w[0]), "seed {seed}: warp ran time backwards");
            assert!(out[..time].iter().zip(&input[..time]).any(|(o, i)| (o - i).abs() > 0.1), "seed {seed}: no warp");
        }
    }

    #[test]
    fn natural_cubic_spline_matches_scipy() {
        // scipy.interpolate.CubicSpline([0, 1, 2.5, 4], [1, .7, 1.3, .9], bc_type="natural").
        let spline = NaturalCubicSpline::new(vec![0.0, 1.0, 2.5, 4.0], vec![1.0, 0.7, 1.3, 0.9]);
        for (x, expected) in
            [(0.5, 0.7797297297297296), (1.7, 0.9488328328328328), (3.2, 1.2489665665665668), (4.0, 0.9), (1.0, 0.7)]
        {
            assert!((spline.at(x) - expected).abs() < 1e-12, "at {x}: {} vs {expected}", spline.at(x));
        }
        // Three knots by hand: through (0,0), (1,1), (2,0) the middle second derivative is
        // -3, so at 0.5 the value is 0.5 + (0.125 - 0.5) * -3 / 6 = 0.6875.
        let hand = NaturalCubicSpline::new(vec![0.0, 1.0, 2.0], vec![0.0, 1.0, 0.0]);
        assert!((hand.at(0.5) - 0.6875).abs() < 1e-12);
    }

    #[test]
    fn interpolation_is_numpys_interp() {
        let times = [0.0, 1.0, 3.0];
        let values = [0.0f32, 10.0, 30.0];
        assert_eq!(interpolate(&times, &values, 2.0), 20.0);
        assert_eq!(interpolate(&times, &values, -1.0), 0.0);
        assert_eq!(interpolate(&times, &values, 5.0), 30.0);
        assert_eq!(interpolate(&times, &values, 0.5), 5.0);
    }

    #[test]
    fn same_seed_same_transformation() {
        for t in Transformation::ALL {
            assert_eq!(run(t, 20, 7), run(t, 20, 7), "{}", t.name());
        }
    }
}
