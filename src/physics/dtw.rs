//! Dynamic time warping distance (method.md, "Symmetry").
//!
//! The accumulated cost of the cheapest monotone path from `(0, 0)` to `(n-1, m-1)` with
//! steps (1,0), (0,1), (1,1) and local cost `|x_i - y_j|`:
//! `D[i][j] = |x_i - y_j| + min(D[i-1][j], D[i][j-1], D[i-1][j-1])`. An optional
//! Sakoe-Chiba band keeps the path to cells with `|i - j| <= band`. Two rows of the table
//! are kept, so memory is O(m).
//!
//! Tested against the full-table recursion and, for short sequences, against the
//! minimum over every warping path enumerated one by one.

/// DTW accumulated cost of `x` against `y`; `f64::INFINITY` when no path fits the band
/// or exactly one sequence is empty, 0 when both are.
pub fn dtw_cost(x: &[f64], y: &[f64], band: Option<usize>) -> f64 {
    let (n, m) = (x.len(), y.len());
    if n == 0 || m == 0 {
        return if n == m { 0.0 } else { f64::INFINITY };
    }
    let inside = |i: usize, j: usize| band.is_none_or(|b| i.abs_diff(j) <= b);
    let mut previous = vec![f64::INFINITY; m];
    let mut current = vec![f64::INFINITY; m];
    for (i, &xi) in x.iter().enumerate() {
        for j in 0..m {
            current[j] = if !inside(i, j) {
                f64::INFINITY
            } else {
                let best_before = match (i, j) {
                    (0, 0) => 0.0,
                    (0, _) => current[j - 1],
                    (_, 0) => previous[j],
                    _ => previous[j].min(current[j - 1]).min(previous[j - 1]),
                };
                (xi - y[j]).abs() + best_before
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[m - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::testing::random_signal;

    /// The full (n x m) table, filled by the textbook recursion: the oracle.
    fn full_table_dtw(x: &[f64], y: &[f64], band: Option<usize>) -> f64 {
        let (n, m) = (x.len(), y.len());
        let mut d = vec![vec![f64::INFINITY; m + 1]; n + 1];
        d[0][0] = 0.0;
        for i in 1..=n {
            for j in 1..=m {
                if band.is_some_and(|b| (i as isize - j as isize).unsigned_abs() > b) {
                    continue;
                }
                d[i][j] = (x[i - 1] - y[j - 1]).abs() + d[i - 1][j].min(d[i][j - 1]).min(d[i - 1][j - 1]);
            }
        }
        d[n][m]
    }

    /// Minimum cost over every warping path, enumerated recursively (tiny inputs only).
    fn every_path_dtw(x: &[f64], y: &[f64], i: usize, j: usize) -> f64 {
        let here = (x[i] - y[j]).abs();
        if i + 1 == x.len() && j + 1 == y.len() {
            return here;
        }
        let mut best = f64::INFINITY;
        if i + 1 < x.len() {
            best = best.min(every_path_dtw(x, y, i + 1, j));
        }
        if j + 1 < y.len() {
            best = best.min(every_path_dtw(x, y, i, j + 1));
        }
        if i + 1 < x.len() && j + 1 < y.len() {
            best = best.min(every_path_dtw(x, y, i + 1, j + 1));
        }
        here + best
    }

    #[test]
    fn distance_of_a_sequence_with_itself_is_zero() {
        let x = random_signal(11, 125);
        assert_eq!(dtw_cost(&x, &x, None), 0.0);
        assert_eq!(dtw_cost(&x, &x, Some(0)), 0.0);
    }

    #[test]
    fn hand_worked_warp() {
        // x = [0, 1, 2], y = [0, 2]: path (0,0) (1,0)|(1,1) (2,1): |0-0| + min(|1-0|, |1-2|) + |2-2| = 1.
        assert_eq!(dtw_cost(&[0.0, 1.0, 2.0], &[0.0, 2.0], None), 1.0);
        // A repeated sample costs nothing: [1, 2, 3] against [1, 2, 2, 3].
        assert_eq!(dtw_cost(&[1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 3.0], None), 0.0);
        // A band of 0 forces the diagonal: the sum of |x_i - y_i|.
        assert_eq!(dtw_cost(&[0.0, 1.0, 0.0], &[1.0, 0.0, 1.0], Some(0)), 3.0);
        assert_eq!(dtw_cost(&[0.0, 1.0, 0.0], &[1.0, 0.0, 1.0], None), 2.0);
    }

    #[test]
    fn empty_and_impossible_inputs() {
        assert_eq!(dtw_cost(&[], &[], None), 0.0);
        assert_eq!(dtw_cost(&[1.0], &[], None), f64::INFINITY);
        // Lengths 2 and 5 cannot meet at the corner within a band of 1.
        assert_eq!(dtw_cost(&[0.0; 2], &[0.0; 5], Some(1)), f64::INFINITY);
    }

    #[test]
    fn matches_the_full_table_oracle() {
        for (n, m) in [(1, 1), (1, 7), (7, 1), (2, 3), (10, 10), (46, 40), (125, 125), (100, 93)] {
            let x = random_signal(n as u64 * 31 + m as u64, n);
            let y = random_signal(n as u64 * 17 + m as u64 + 5, m);
            for band in [None, Some(0), Some(3), Some(20), Some(200)] {
                let fast = dtw_cost(&x, &y, band);
                let slow = full_table_dtw(&x, &y, band);
                let same = (fast.is_infinite() && slow.is_infinite()) || (fast - slow).abs() <= 1e-12 * slow.max(1.0);
                assert!(same, "n={n} m={m} band={band:?}: {fast} vs oracle {slow}");
            }
        }
    }

    #[test]
    fn matches_every_path_enumeration_on_short_sequences() {
        for (n, m) in [(1, 1), (2, 2), (3, 4), (5, 3), (6, 6)] {
            let x = random_signal(n as u64 + 100, n);
            let y = random_signal(m as u64 + 200, m);
            let fast = dtw_cost(&x, &y, None);
            let slow = every_path_dtw(&x, &y, 0, 0);
            assert!((fast - slow).abs() < 1e-12, "n={n} m={m}: {fast} vs every path {slow}");
        }
    }

    #[test]
    fn distance_is_symmetric_and_bounded_by_the_diagonal() {
        for seed in 0..20 {
            let x = random_signal(seed, 30);
            let y = random_signal(seed + 50, 30);
            let forward = dtw_cost(&x, &y, None);
            assert!((forward - dtw_cost(&y, &x, None)).abs() < 1e-12, "seed {seed}: not symmetric");
            let diagonal: f64 = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum();
            assert!(forward <= diagonal + 1e-12, "seed {seed}: {forward} above the diagonal path {diagonal}");
            assert!(dtw_cost(&x, &y, Some(2)) >= forward - 1e-12, "seed {seed}: a band lowered the cost");
        }
    }
}
