//! Test helpers shared by the kernel tests: seeded random signals and one closeness
//! checker whose panic message says what differed where.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` values uniform in [-1, 1) from a fixed-seed generator.
pub fn random_signal(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Panics, naming `what` and the first offending index, unless every
/// `|got - want| <= atol + rtol * |want|`.
#[track_caller]
pub fn assert_all_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tolerance = atol + rtol * w.abs();
        assert!(
            (g - w).abs() <= tolerance,
            "{what}: index {i} is {g}, expected {w} (|diff| {:e} > tolerance {tolerance:e})",
            (g - w).abs()
        );
    }
}
