//! Discretisers that turn each continuous quantity into one of `bins` classes, fitted on
//! the training subjects' windows only and saved, so every split is binned alike.
//!
//! `uniform` is scikit-learn's `KBinsDiscretizer(encode="ordinal", strategy="uniform")`:
//! edges `np.linspace(min, max, bins + 1)`, reproduced operation for operation
//! (`edge_i = i * ((max - min) / bins) + min`, last edge `max`), so edges match bit for
//! bit. `quantile` is its `strategy="quantile"`: edges at `np.percentile(x, linspace(0,
//! 100, bins + 1))` with linear interpolation, then edges closer than 1e-8 to the previous
//! one removed (fewer bins, with a warning). A value's bin is the number of inner edges
//! `<= x` (`np.searchsorted(edges[1:-1], x, side="right")`): below the fitted range is bin
//! 0, above it the last bin. A constant column gets edges `[c, c]`, one bin, and a
//! warning, as scikit-learn does. Checked against scikit-learn in `tests/integration/golden.rs`.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::config::{BinStrategy, DiscretiserConfig};

/// Fitted edges of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnEdges {
    /// Column name.
    pub name: String,
    /// Ascending edges, first the fitted minimum, last the maximum; `edges.len() - 1` bins.
    pub edges: Vec<f64>,
}

impl ColumnEdges {
    /// Number of bins of this column.
    pub fn bins(&self) -> usize {
        self.edges.len() - 1
    }

    /// Bin of a value: the number of inner edges `<= x`.
    pub fn bin(&self, x: f64) -> usize {
        let inner = &self.edges[1..self.edges.len() - 1];
        inner.partition_point(|&edge| edge <= x)
    }
}

/// Fitted discretiser for every column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discretiser {
    /// The settings it was fitted with.
    pub config: DiscretiserConfig,
    /// Edges per column, in column order.
    pub columns: Vec<ColumnEdges>,
}

/// numpy's `linspace(start, stop, num)` with the same arithmetic, for bit-identical edges.
pub fn numpy_linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let step = (stop - start) / (num - 1) as f64;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    out[num - 1] = stop;
    out
}

/// numpy's `percentile(sorted, q)` (method "linear") of an ascending, non-empty slice.
pub fn numpy_percentile(sorted: &[f64], q_percent: f64) -> f64 {
    let virtual_index = (q_percent / 100.0) * (sorted.len() - 1) as f64;
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    let a = sorted[below as usize];
    let b = sorted[(below as usize + 1).min(sorted.len() - 1)];
    let difference = b - a;
    // numpy's _lerp: interpolate from the nearer end for accuracy.
    if gamma >= 0.5 { b - difference * (1.0 - gamma) } else { a + difference * gamma }
}

impl Discretiser {
    /// Fit edges to `values` (`[windows, columns]`, training windows only), naming columns
    /// `names`. Returns the discretiser and warnings (constant columns, merged bins).
    pub fn fit(config: &DiscretiserConfig, names: &[String], values: ArrayView2<f64>) -> (Self, Vec<String>) {
        assert_eq!(names.len(), values.ncols(), "one name per column");
        assert!(values.nrows() > 0, "fitting needs at least one window");
        let mut warnings = Vec::new();
        let columns = names
            .iter()
            .zip(values.columns())
            .map(|(name, column)| {
                let mut sorted = column.to_vec();
                sorted.sort_by(f64::total_cmp);
                let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
                if min == max {
                    warnings.push(format!(
                        "quantity {name} is constant ({min}) on the training windows: all its labels are bin 0"
                    ));
                    return ColumnEdges { name: name.clone(), edges: vec![min, max] };
                }
                let edges = match config.strategy {
                    BinStrategy::Uniform => numpy_linspace(min, max, config.bins + 1),
                    BinStrategy::Quantile => {
                        let levels = numpy_linspace(0.0, 100.0, config.bins + 1);
                        let mut edges: Vec<f64> = Vec::with_capacity(levels.len());
                        for q in levels {
                            let edge = numpy_percentile(&sorted, q);
                            if edges.last().is_none_or(|&last| edge - last > 1e-8) {
                                edges.push(edge);
                            }
                        }
                        if edges.len() != config.bins + 1 {
                            warnings.push(format!(
                                "quantity {name}: {} of {} quantile bins were narrower than 1e-8 and merged",
                                config.bins + 1 - edges.len(),
                                config.bins
                            ));
                        }
                        edges
                    }
                };
                ColumnEdges { name: name.clone(), edges }
            })
            .collect();
        (Discretiser { config: config.clone(), columns }, warnings)
    }

    /// Bins of `values` (`[windows, columns]`), column by column.
    pub fn transform(&self, values: ArrayView2<f64>) -> Array2<u8> {
        assert_eq!(values.ncols(), self.columns.len(), "one value per fitted column");
        Array2::from_shape_fn(values.dim(), |(row, col)| {
            u8::try_from(self.columns[col].bin(values[[row, col]])).expect("validated: at most 255 bins")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn uniform(bins: usize) -> DiscretiserConfig {
        DiscretiserConfig { bins, strategy: BinStrategy::Uniform }
    }

    #[test]
    fn uniform_edges_of_a_hand_worked_column() {
        // min 0, max 10, 5 bins: edges 0 2 4 6 8 10; 2.0 sits on an edge and goes up.
        let (d, warnings) = Discretiser::fit(&uniform(5), &["q".into()], array![[0.0], [3.0], [10.0]].view());
        assert!(warnings.is_empty());
        assert_eq!(d.columns[0].edges, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let bins = d.transform(array![[-1.0], [0.0], [1.99], [2.0], [9.99], [10.0], [11.0]].view());
        assert_eq!(bins.column(0).to_vec(), vec![0, 0, 0, 1, 4, 4, 4]);
    }

    #[test]
    fn constant_column_puts_everything_in_bin_zero_and_warns() {
        let (d, warnings) = Discretiser::fit(&uniform(11), &["flat".into()], array![[2.5], [2.5]].view());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("flat"));
        assert_eq!(d.transform(array![[-3.0], [2.5], [9.0]].view()).column(0).to_vec(), vec![0, 0, 0]);
    }

    #[test]
    fn quantile_edges_hand_worked() {
        // 0..=8, 4 bins: percentiles 0, 25, 50, 75, 100 at indices 0, 2, 4, 6, 8.
        let values = ndarray::Array2::from_shape_fn((9, 1), |(i, _)| i as f64);
        let config = DiscretiserConfig { bins: 4, strategy: BinStrategy::Quantile };
        let (d, _) = Discretiser::fit(&config, &["q".into()], values.view());
        assert_eq!(d.columns[0].edges, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn quantile_merges_empty_bins_and_warns() {
        // Mostly zeros: the lower percentiles coincide and collapse into one bin.
        let mut values = vec![0.0; 9];
        values.push(1.0);
        let values = ndarray::Array2::from_shape_vec((10, 1), values).unwrap();
        let config = DiscretiserConfig { bins: 4, strategy: BinStrategy::Quantile };
        let (d, warnings) = Discretiser::fit(&config, &["q".into()], values.view());
        assert_eq!(d.columns[0].edges, vec![0.0, 1.0]);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn percentile_interpolates_linearly() {
        // numpy.percentile([1, 2, 4], 75) == 3.0 (index 1.5 between 2 and 4).
        assert_eq!(numpy_percentile(&[1.0, 2.0, 4.0], 75.0), 3.0);
        assert_eq!(numpy_percentile(&[1.0, 2.0, 4.0], 100.0), 4.0);
        assert_eq!(numpy_percentile(&[5.0], 50.0), 5.0);
    }
}
