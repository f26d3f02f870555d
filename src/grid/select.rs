//! Choosing among an arm and its variants on validation scores alone: for each main-table
//! arm, the candidate (the arm or one of its `variant_of` arms) with the best mean
//! validation macro-F1 over the (fold, seed, shots) cells that every candidate finished at
//! the selection's shot counts. Test scores never enter: the choice reads
//! `Cell::validation_macro_f1` only (a test perturbs the test scores and checks).

use super::run::Cell;
use super::spec::{Grid, Table};
use crate::data::kshot::Shots;

/// The choice among one arm's variants.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The main-table arm whose variants compete.
    pub root: String,
    /// Each candidate: name, mean validation macro-F1 over the common cells (minus infinity
    /// for a candidate without validation scores), cells used.
    pub candidates: Vec<(String, f64, usize)>,
    /// The candidate chosen (the first of the best, in grid order).
    pub chosen: String,
    /// Where the chosen candidate pre-trained on the test subjects' windows (transductive),
    /// the best candidate that did not, so that a reader can compare like with like.
    pub inductive: Option<String>,
}

/// The first candidate with the best mean validation macro-F1.
fn best<'a>(candidates: impl Iterator<Item = &'a (String, f64, usize)>) -> Option<&'a String> {
    candidates
        .fold(
            None,
            |best: Option<&(String, f64, usize)>, c| if best.is_none_or(|b| c.1 > b.1) { Some(c) } else { best },
        )
        .map(|c| &c.0)
}

/// One choice per main-table arm without a `variant_of`, in grid order, over the cells at
/// `shots`.
pub fn choose(grid: &Grid, cells: &[Cell], shots: &[Shots]) -> Vec<Choice> {
    let arms = &grid.spec.arms;
    arms.iter()
        .filter(|a| a.table == Table::Main && a.variant_of.is_none())
        .map(|root| {
            let names: Vec<&str> = std::iter::once(root.name.as_str())
                .chain(arms.iter().filter(|a| a.variant_of.as_deref() == Some(&root.name)).map(|a| a.name.as_str()))
                .collect();
            let key = |c: &Cell| (c.fold.clone(), c.seed, c.shots);
            let keys_of = |name: &str| -> Vec<(String, u64, Shots)> {
                cells.iter().filter(|c| c.arm == name && shots.contains(&c.shots)).map(key).collect()
            };
            // Compare on the cells every candidate with any cell has: the same folds,
            // seeds and shot counts for all.
            let present: Vec<&str> = names.iter().copied().filter(|n| !keys_of(n).is_empty()).collect();
            let common: Vec<(String, u64, Shots)> = present
                .first()
                .map(|first| {
                    keys_of(first).into_iter().filter(|k| present.iter().all(|n| keys_of(n).contains(k))).collect()
                })
                .unwrap_or_default();
            let candidates: Vec<(String, f64, usize)> = present
                .iter()
                .map(|&name| {
                    let scores: Vec<f64> = cells
                        .iter()
                        .filter(|c| c.arm == name && common.contains(&key(c)))
                        .filter_map(|c| c.validation_macro_f1)
                        .collect();
                    // A candidate fine-tuned without validation labels cannot be chosen.
                    let mean = if scores.is_empty() {
                        f64::NEG_INFINITY
                    } else {
                        scores.iter().sum::<f64>() / scores.len() as f64
                    };
                    (name.to_string(), mean, scores.len())
                })
                .collect();
            let chosen = best(candidates.iter()).unwrap_or(&root.name).clone();
            let transductive = |name: &str| arms.iter().any(|a| a.name == name && grid.is_transductive(a));
            let inductive = if transductive(&chosen) {
                best(candidates.iter().filter(|c| !transductive(&c.0))).cloned()
            } else {
                None
            };
            Choice { root: root.name.clone(), candidates, chosen, inductive }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::PimConfig;
    use crate::grid::spec::{ArmMethod, GridSpec};

    fn grid() -> Grid {
        let spec: GridSpec = serde_json::from_value(json!({
            "config": "c.json", "seeds": [0, 1], "shots": [2, 8],
            "arms": [
                {"name": "pim", "method": "pim"},
                {"name": "pim-last", "method": "pim", "variant_of": "pim"},
                {"name": "pim-probe", "method": "pim", "variant_of": "pim"},
                {"name": "pim-all", "method": "pim", "variant_of": "pim", "overrides": {"pretrain": {"pool": "all_subjects"}}},
                {"name": "scratch", "method": "scratch"},
                {"name": "pim-speed", "method": "pim", "tasks": ["speed"], "table": "ablation"}
            ]
        }))
        .unwrap();
        let config: PimConfig =
            serde_json::from_str(&std::fs::read_to_string("tests/fixtures/dsads-tiny.json").unwrap()).unwrap();
        Grid { spec, config, path: "g.json".into() }
    }

    fn cell(arm: &str, seed: u64, shots: usize, validation: f64, test: f64) -> Cell {
        Cell {
            arm: arm.into(),
            method: ArmMethod::Pim,
            tasks: Vec::new(),
            fold: "f".into(),
            seed,
            shots: Shots::PerClass(shots),
            drawn: 1,
            macro_f1: test,
            accuracy: test,
            validation_macro_f1: Some(validation),
            best_epoch: 1,
            pretrain_epoch: Some(1),
            seconds: 0.0,
            pretrain_seconds: 0.0,
            pim_commit: None,
        }
    }

    fn cells() -> Vec<Cell> {
        let mut cells = Vec::new();
        for seed in [0, 1] {
            for shots in [2, 8] {
                cells.push(cell("pim", seed, shots, 0.60, 0.70));
                cells.push(cell("pim-last", seed, shots, 0.65, 0.50));
                cells.push(cell("scratch", seed, shots, 0.40, 0.45));
                cells.push(cell("pim-speed", seed, shots, 0.99, 0.99));
            }
            // pim-probe ran at 2 shots only: it is compared with the others there alone.
            cells.push(cell("pim-probe", seed, 2, 0.62, 0.90));
        }
        cells
    }

    #[test]
    fn the_best_validation_score_wins_among_an_arm_and_its_variants() {
        let choices = choose(&grid(), &cells(), &[Shots::PerClass(2), Shots::PerClass(8)]);
        assert_eq!(choices.len(), 2, "pim and scratch; the ablation arm competes with nothing");
        assert_eq!(choices[0].chosen, "pim-last");
        let names: Vec<&str> = choices[0].candidates.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["pim", "pim-last", "pim-probe"]);
        assert_eq!(choices[0].candidates[2], ("pim-probe".to_string(), 0.62, 2), "compared on the 2-shot cells");
        assert_eq!(choices[1].chosen, "scratch");
    }

    #[test]
    fn a_transductive_choice_names_the_best_inductive_candidate_too() {
        let shots = [Shots::PerClass(2), Shots::PerClass(8)];
        assert_eq!(choose(&grid(), &cells(), &shots)[0].inductive, None, "pim-last is inductive");
        let mut with_all = cells();
        for seed in [0, 1] {
            for shots in [2, 8] {
                with_all.push(cell("pim-all", seed, shots, 0.70, 0.95));
            }
        }
        let choice = &choose(&grid(), &with_all, &shots)[0];
        assert_eq!(choice.chosen, "pim-all");
        assert_eq!(choice.inductive.as_deref(), Some("pim-last"));
    }

    #[test]
    fn test_scores_never_change_the_choice() {
        let shots = [Shots::PerClass(2), Shots::PerClass(8)];
        let before = choose(&grid(), &cells(), &shots);
        let mut perturbed = cells();
        for (i, cell) in perturbed.iter_mut().enumerate() {
            cell.macro_f1 = 1.0 - cell.macro_f1 + i as f64 * 1e-3;
            cell.accuracy = (i % 3) as f64;
        }
        assert_eq!(choose(&grid(), &perturbed, &shots), before);
        // The validation scores do decide: lowering pim-last's flips the choice.
        let mut lowered = cells();
        lowered.iter_mut().filter(|c| c.arm == "pim-last").for_each(|c| c.validation_macro_f1 = Some(0.1));
        assert_eq!(choose(&grid(), &lowered, &shots)[0].chosen, "pim-probe");
    }
}
