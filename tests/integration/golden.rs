//! pim against an independent implementation: `scripts/reference/pseudo_labels.py`
//! (numpy FFT, scipy integration and detrending, direct correlation sums, full-table DTW,
//! scikit-learn's KBinsDiscretizer) wrote `tests/fixtures/golden/*.json`; these tests
//! recompute the same numbers in Rust.

use crate::common::{fixture, root};
use indicatif::ProgressBar;
use ndarray::Array2;
use pim::PimConfig;
use pim::config::{BinStrategy, DiscretiserConfig};
use pim::data::{cut_windows, read_dataset};
use pim::labels::compute::compute_quantities;
use pim::labels::discretise::Discretiser;
use serde_json::Value;

fn load(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture("golden").join(name)).unwrap()).unwrap()
}

fn matrix(value: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(value.clone()).unwrap();
    Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap()
}

#[test]
fn sample_features_and_labels_match_the_numpy_reference() {
    let golden = load("dsads_sample.json");
    let config = PimConfig::load(&root().join("configs/dsads.json")).unwrap();
    let recordings =
        read_dataset(&root().join("data/dsads-sample"), &config.dataset, &ProgressBar::hidden()).unwrap().recordings;
    let sources: Vec<&str> = recordings.iter().map(|r| r.source.as_str()).collect();
    let golden_sources: Vec<&str> = golden["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(sources, golden_sources);

    let (windows, _) = cut_windows(&recordings, config.dataset.window);
    let values = compute_quantities(&recordings, &windows, &config.dataset, &config.physics, &ProgressBar::hidden());
    let want = matrix(&golden["features"]);
    // Both sides start from the same float32 samples and compute in float64; what differs
    // is FFT and summation order, measured at under 4e-15 absolute when the fixture was
    // made. 1e-12 leaves room for other FFT algorithms while catching any formula change.
    for ((row, col), &got) in values.indexed_iter() {
        let expected = want[[row, col]];
        assert!(
            (got - expected).abs() <= 1e-12 + 1e-12 * expected.abs(),
            "window {} ({}), quantity {col}: pim {got}, numpy {expected}",
            row,
            sources[row]
        );
    }

    let train: Vec<usize> =
        (0..windows.len()).filter(|&i| config.dataset.split.train.contains(&recordings[i].subject)).collect();
    let names: Vec<String> = (0..values.ncols()).map(|c| format!("q{c}")).collect();
    let (discretiser, _) = Discretiser::fit(&config.labels, &names, values.select(ndarray::Axis(0), &train).view());
    let golden_edges: Vec<Vec<f64>> = serde_json::from_value(golden["edges"].clone()).unwrap();
    for (column, edges) in discretiser.columns.iter().zip(&golden_edges) {
        for (got, want) in column.edges.iter().zip(edges) {
            assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{}: edge {got} vs sklearn {want}", column.name);
        }
    }
    // Labels must agree exactly, except for a value within 1e-9 of an edge, where the
    // feature's own rounding decides; the fixture has none, so any mismatch is a bug.
    let bins = discretiser.transform(values.view());
    let want_bins = matrix(&golden["labels"]);
    for ((row, col), &bin) in bins.indexed_iter() {
        let near_edge = golden_edges[col].iter().any(|e| (values[[row, col]] - e).abs() < 1e-9);
        assert!(
            near_edge || f64::from(bin) == want_bins[[row, col]],
            "window {row} ({}), quantity {col}: bin {bin}, sklearn {}",
            sources[row],
            want_bins[[row, col]]
        );
    }
}

#[test]
fn discretiser_matches_scikit_learn() {
    let golden = load("discretiser.json");
    let names: Vec<String> = serde_json::from_value(golden["names"].clone()).unwrap();
    let fit = matrix(&golden["fit"]);
    let probe = matrix(&golden["probe"]);
    for case in golden["cases"].as_array().unwrap() {
        let strategy = match case["strategy"].as_str().unwrap() {
            "uniform" => BinStrategy::Uniform,
            _ => BinStrategy::Quantile,
        };
        let (discretiser, warnings) = Discretiser::fit(&DiscretiserConfig { bins: 11, strategy }, &names, fit.view());
        assert!(warnings.iter().any(|w| w.contains("constant")), "{strategy:?}: no warning for the constant column");
        for (column, want) in discretiser.columns.iter().zip(case["edges"].as_array().unwrap()) {
            if want.is_null() {
                // scikit-learn's [-inf, inf] for a constant column; pim keeps [c, c].
                assert_eq!(column.edges, vec![3.25, 3.25], "{}", column.name);
                continue;
            }
            let want: Vec<f64> = serde_json::from_value(want.clone()).unwrap();
            assert_eq!(column.edges.len(), want.len(), "{strategy:?} {}: bin count", column.name);
            for (got, want) in column.edges.iter().zip(&want) {
                // Uniform edges replicate numpy's linspace operation for operation (exact);
                // quantile edges replicate numpy's lerp, also exact in practice.
                assert!(
                    (got - want).abs() <= 1e-14 * want.abs().max(1.0),
                    "{strategy:?} {}: {got} vs {want}",
                    column.name
                );
            }
        }
        let bins = discretiser.transform(probe.view());
        assert_eq!(bins.mapv(f64::from), matrix(&case["bins"]), "{strategy:?}: bins differ from scikit-learn");
    }
}

#[test]
fn wilcoxon_matches_scipy_on_every_branch() {
    // scripts/reference/wilcoxon.py ran scipy.stats.wilcoxon (defaults) on these paired
    // differences. Exact and permutation p-values are sums of the same probabilities and
    // agree to rounding; the normal approximation goes through erfc, 1e-12 relative.
    let golden = load("wilcoxon.json");
    for case in golden["cases"].as_array().unwrap() {
        let diffs: Vec<f64> = serde_json::from_value(case["differences"].clone()).unwrap();
        let got = pim::grid::stats::wilcoxon(&diffs);
        let name = case["name"].as_str().unwrap();
        let (statistic, p) = (case["statistic"].as_f64().unwrap(), case["p_value"].as_f64().unwrap());
        assert!(
            (got.statistic - statistic).abs() < 1e-9,
            "{name}: statistic {} against scipy's {statistic}",
            got.statistic
        );
        assert!(
            (got.p_value - p).abs() <= 1e-12 * p.max(1e-300) + 1e-15,
            "{name}: p {} against scipy's {p}",
            got.p_value
        );
    }
}

#[test]
fn fold_level_comparisons_match_scipy_and_statsmodels() {
    // scripts/reference/fold_statistics.py: per-fold mean differences over seeds, scipy's
    // exact Wilcoxon on the 8 fold differences, statsmodels' Holm over the 9 tests.
    use pim::data::kshot::Shots;
    use pim::grid::report::{every_test, paired_table};
    use pim::grid::run::Cell;
    use pim::grid::spec::ArmMethod;
    use pim::grid::summary::ArmRow;
    let golden = load("fold_statistics.json");
    let cells: Vec<Cell> = golden["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Cell {
            arm: c["arm"].as_str().unwrap().into(),
            method: ArmMethod::Scratch,
            tasks: Vec::new(),
            fold: c["fold"].as_str().unwrap().into(),
            seed: c["seed"].as_u64().unwrap(),
            shots: Shots::PerClass(c["shots"].as_u64().unwrap() as usize),
            drawn: 0,
            macro_f1: c["macro_f1"].as_f64().unwrap(),
            accuracy: 0.0,
            validation_macro_f1: None,
            best_epoch: 0,
            pretrain_epoch: None,
            seconds: 0.0,
            pretrain_seconds: 0.0,
            pim_commit: None,
        })
        .collect();
    let row = |name: &str| ArmRow { arm: name.into(), label: name.into(), planned: 24 };
    let baselines = [row("masked"), row("scratch"), row("transform")];
    let shots = [1, 2, 4].map(Shots::PerClass);
    let (_, comparisons) = paired_table(&cells, &row("pim"), &every_test(&baselines, &shots));
    let expected = golden["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), expected.len());
    for (got, want) in comparisons.iter().zip(expected) {
        let name = format!("{} at {}", want["baseline"], want["shots"]);
        assert_eq!(got.baseline, want["baseline"].as_str().unwrap(), "{name}");
        assert_eq!(got.paired.n, 8, "{name}: paired over folds");
        let close = |a: f64, b: &Value| (a - b.as_f64().unwrap()).abs() < 1e-12;
        assert!(close(got.paired.mean, &want["mean"]), "{name}: mean {}", got.paired.mean);
        assert!(close(got.paired.p_value, &want["p_value"]), "{name}: p {}", got.paired.p_value);
        assert!(close(got.adjusted_p, &want["holm_p"]), "{name}: Holm p {}", got.adjusted_p);
    }
}
