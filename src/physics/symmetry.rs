//! Left/right symmetry of a limb pair (method.md, "Symmetry").
//!
//! The norms of the raw acceleration of the two sensors, each minus its window mean (mean
//! removal keeps magnitude: two still limbs read as symmetric, one moving limb against a
//! still one as asymmetric), are aligned at the lag that maximises their cross-correlation
//! within `|tau| <= max_lag`; the overlapping `W - |tau|` samples are compared by DTW, and
//! the cost is divided by `n + m`, giving m/s^2.

use super::dtw::dtw_cost;
use super::xcorr::CrossCorrelator;

/// Euclidean norm per sample of a 3-axis signal, minus its mean.
pub fn centred_norm(acc_mps2: [&[f64]; 3]) -> Vec<f64> {
    let n = acc_mps2[0].len();
    let mut norm: Vec<f64> =
        (0..n).map(|t| (acc_mps2[0][t].powi(2) + acc_mps2[1][t].powi(2) + acc_mps2[2][t].powi(2)).sqrt()).collect();
    if n > 0 {
        let mean = norm.iter().sum::<f64>() / n as f64;
        norm.iter_mut().for_each(|v| *v -= mean);
    }
    norm
}

/// The overlapping parts of `left` and `right` at lag `tau` (`right` shifted by `tau`):
/// for `tau >= 0`, `left[..W-tau]` against `right[tau..]`; else `left[-tau..]` against
/// `right[..W+tau]`.
pub fn overlap_at_lag<'a>(left: &'a [f64], right: &'a [f64], tau: isize) -> (&'a [f64], &'a [f64]) {
    let w = left.len();
    let shift = tau.unsigned_abs();
    if tau >= 0 { (&left[..w - shift], &right[shift..]) } else { (&left[shift..], &right[..w - shift]) }
}

/// Symmetry distance (m/s^2) between the raw accelerations of a left and a right sensor
/// over one window; `max_lag` bounds the alignment, `band` the DTW path.
pub fn symmetry_distance(
    left_mps2: [&[f64]; 3],
    right_mps2: [&[f64]; 3],
    max_lag: usize,
    band: Option<usize>,
    correlator: &mut CrossCorrelator,
) -> f64 {
    let left = centred_norm(left_mps2);
    let right = centred_norm(right_mps2);
    let tau = correlator.best_lag(&left, &right, max_lag);
    let (left, right) = overlap_at_lag(&left, &right, tau);
    dtw_cost(left, right, band) / (left.len() + right.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::testing::random_signal;

    fn axes(x: &[f64]) -> [Vec<f64>; 3] {
        [x.to_vec(), vec![0.0; x.len()], vec![9.8; x.len()]]
    }

    fn as_slices(a: &[Vec<f64>; 3]) -> [&[f64]; 3] {
        [&a[0], &a[1], &a[2]]
    }

    #[test]
    fn centred_norm_of_a_hand_worked_signal() {
        // Norms 5 (3,4,0) and 13 (5,12,0): mean 9, so -4 and 4.
        assert_eq!(centred_norm([&[3.0, 5.0], &[4.0, 12.0], &[0.0, 0.0]]), vec![-4.0, 4.0]);
    }

    #[test]
    fn overlap_follows_the_sign_of_the_lag() {
        let (l, r) = ([0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0]);
        assert_eq!(overlap_at_lag(&l, &r, 1), (&l[..3], &r[1..]));
        assert_eq!(overlap_at_lag(&l, &r, -2), (&l[2..], &r[..2]));
        assert_eq!(overlap_at_lag(&l, &r, 0), (&l[..], &r[..]));
    }

    #[test]
    fn identical_limbs_are_perfectly_symmetric() {
        let motion = axes(&random_signal(5, 125));
        let distance = symmetry_distance(as_slices(&motion), as_slices(&motion), 31, None, &mut CrossCorrelator::new());
        assert!(distance.abs() < 1e-12, "distance {distance}");
    }

    #[test]
    fn two_still_limbs_are_symmetric_and_one_moving_limb_is_not() {
        let still = axes(&[0.0; 125]);
        let mut correlator = CrossCorrelator::new();
        assert_eq!(symmetry_distance(as_slices(&still), as_slices(&still), 31, None, &mut correlator), 0.0);
        // Against a still limb (centred norm all zero) every lag ties, so tau = 0, and
        // every warping path visits each moving sample at least once: the diagonal is
        // optimal and the distance is sum |n_i| / (W + W).
        let moving: Vec<f64> = random_signal(9, 125).iter().map(|v| 5.0 * v).collect();
        let moving = axes(&moving);
        let distance = symmetry_distance(as_slices(&moving), as_slices(&still), 31, None, &mut correlator);
        let want = centred_norm(as_slices(&moving)).iter().map(|v| v.abs()).sum::<f64>() / 250.0;
        assert!(want > 0.1, "the moving limb should move");
        assert!((distance - want).abs() < 1e-12, "distance {distance}, expected {want}");
    }

    #[test]
    fn a_delayed_copy_is_aligned_before_warping() {
        // The left limb leads the right one by 5 samples (a circular shift, so both
        // windows have the same mean): at lag 5 the 120 overlapping samples are equal.
        let right: Vec<f64> = random_signal(21, 125).iter().map(|v| 3.0 * v).collect();
        let left: Vec<f64> = (0..125).map(|t| right[(t + 5) % 125]).collect();
        let (left, right) = (axes(&left), axes(&right));
        let (l, r) = (centred_norm(as_slices(&left)), centred_norm(as_slices(&right)));
        let mut correlator = CrossCorrelator::new();
        assert_eq!(correlator.best_lag(&l, &r, 31), 5);
        let distance = symmetry_distance(as_slices(&left), as_slices(&right), 31, None, &mut correlator);
        assert!(distance.abs() < 1e-12, "distance {distance}");
    }
}
