//! The checkpoint rules: which epoch each rule keeps, and writing the kept encoders once
//! every epoch is trained.

use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::*;

use super::resume::{ResumeState, epoch_snapshot};
use super::{EpochRecord, Inputs, init_model, weighted_total};
use crate::config::{CheckpointRule, PimConfig};
use crate::error::{Error, Result};
use crate::run_folder::layout::PretrainFolder;
use crate::run_folder::{load_json, save_json};
use crate::train::checkpoint::{load_module, save_module};
use crate::train::objective::Objective;

/// The epoch each rule keeps, given every epoch's figures.
pub fn choose_epochs(history: &[EpochRecord], weights: &[f64]) -> BTreeMap<CheckpointRule, usize> {
    let first_lowest = |score: &dyn Fn(&EpochRecord) -> f64| {
        history
            .iter()
            .map(|r| (r.epoch, score(r)))
            .fold((0, f64::INFINITY), |best, (e, s)| if s < best.1 { (e, s) } else { best })
            .0
    };
    let lowest_total = first_lowest(&|r| r.validation_loss);
    // A term improved if it fell below its first-epoch validation loss at some epoch.
    let improving: Vec<bool> = (0..weights.len())
        .map(|t| history.iter().skip(1).any(|r| r.validation_terms[t] < history[0].validation_terms[t]))
        .collect();
    let improving_total = if improving.iter().any(|&i| i) {
        first_lowest(&|r| {
            let kept: Vec<f64> = weights.iter().zip(&improving).map(|(&w, &i)| if i { w } else { 0.0 }).collect();
            weighted_total(&kept, &r.validation_terms)
        })
    } else {
        lowest_total
    };
    let probe = history
        .iter()
        .filter_map(|r| r.probe_macro_f1.map(|f| (r.epoch, f)))
        .fold(None, |best: Option<(usize, f64)>, (e, f)| if best.is_none_or(|b| f > b.1) { Some((e, f)) } else { best })
        .map_or(lowest_total, |(e, _)| e);
    BTreeMap::from([
        (CheckpointRule::LowestValidationLoss, lowest_total),
        (CheckpointRule::LastEpoch, history.len()),
        (CheckpointRule::ImprovingTasks, improving_total),
        (CheckpointRule::Probe, probe),
    ])
}

/// Write every rule's encoder (`encoders/<rule>.bpk`), the config's rule's encoder and whole
/// network (`encoder.bpk`, `pretrain_model.bpk`), for PIM `tasks.json`, and last
/// `checkpoints.json`.
pub(super) fn keep_checkpoints(
    config: &PimConfig,
    inputs: &Inputs,
    history: &[EpochRecord],
    out: &Path,
    device: &Device,
) -> Result<BTreeMap<CheckpointRule, usize>> {
    let layout = PretrainFolder::new(out);
    let kept = choose_epochs(history, &inputs.objective.term_weights());
    let encoders = layout.rule_encoders();
    std::fs::create_dir_all(&encoders)
        .map_err(|e| Error::io("create folder", &encoders, "check the folder is writable", e))?;
    let fix = "delete the run folder to start over: its per-epoch checkpoints are incomplete";
    for (rule, &epoch) in &kept {
        let snapshot = epoch_snapshot(out, epoch);
        let model = load_module(init_model(config, inputs.set.channels, &inputs.objective, device), &snapshot, fix)?;
        save_module(model.encoder.clone(), &layout.rule_encoder(rule.name()))?;
        if *rule == config.pretrain.checkpoint {
            save_module(model.encoder.clone(), &layout.encoder())?;
            save_module(model, &layout.pretrain_model())?;
        }
    }
    if let Objective::Physics { tasks, .. } = &inputs.objective {
        save_json(tasks, &layout.tasks())?;
    }
    // Last, as the mark that every file above is written: a rerun then trusts them, and the
    // per-epoch snapshots can go.
    let by_name: BTreeMap<&str, usize> = kept.iter().map(|(rule, &epoch)| (rule.name(), epoch)).collect();
    save_json(&by_name, &layout.checkpoints())?;
    Ok(kept)
}

/// The epoch each rule kept, where a run in `out` with every epoch of `state` trained
/// already wrote them (`checkpoints.json`, the last file of [`keep_checkpoints`]).
pub(super) fn kept_epochs(
    config: &PimConfig,
    out: &Path,
    state: &ResumeState,
) -> Result<Option<BTreeMap<CheckpointRule, usize>>> {
    let checkpoints = PretrainFolder::new(out).checkpoints();
    if state.history.len() < config.pretrain.epochs || !checkpoints.is_file() {
        return Ok(None);
    }
    let by_name: BTreeMap<String, usize> = load_json(&checkpoints, "delete the run folder to start over")?;
    let kept: BTreeMap<CheckpointRule, usize> =
        CheckpointRule::ALL.into_iter().filter_map(|rule| by_name.get(rule.name()).map(|&e| (rule, e))).collect();
    Ok(kept.contains_key(&config.pretrain.checkpoint).then_some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, terms: [f64; 2], probe: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 0.0,
            train_terms: vec![0.0; 2],
            validation_loss: terms[0] + terms[1],
            validation_terms: terms.to_vec(),
            probe_macro_f1: probe,
            windows_per_second: 1.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn each_rule_keeps_its_epoch() {
        // Term 0 only rises (as PIM's angle task on DSADS); term 1 falls to epoch 3, then
        // rises. Totals: 3.0, 3.2, 3.3, 3.9: lowest at epoch 1. Without term 0: 2.0, 1.7,
        // 1.5, 1.9: lowest at epoch 3. The probe is best at epoch 2; the last epoch is 4.
        let history = vec![
            record(1, [1.0, 2.0], Some(0.1)),
            record(2, [1.5, 1.7], Some(0.5)),
            record(3, [1.8, 1.5], Some(0.4)),
            record(4, [2.0, 1.9], None),
        ];
        let kept = choose_epochs(&history, &[1.0, 1.0]);
        assert_eq!(kept[&CheckpointRule::LowestValidationLoss], 1);
        assert_eq!(kept[&CheckpointRule::ImprovingTasks], 3);
        assert_eq!(kept[&CheckpointRule::Probe], 2);
        assert_eq!(kept[&CheckpointRule::LastEpoch], 4);
        // A term of weight 0 has no say in the improving-tasks rule.
        let kept = choose_epochs(&history, &[1.0, 0.0]);
        assert_eq!(kept[&CheckpointRule::ImprovingTasks], 1, "only term 1 improved, and it weighs nothing");
    }

    #[test]
    fn no_improving_term_falls_back_to_the_total_and_no_probe_too() {
        let history = vec![record(1, [1.0, 1.0], None), record(2, [1.1, 1.2], None)];
        let kept = choose_epochs(&history, &[1.0, 1.0]);
        assert_eq!(kept[&CheckpointRule::ImprovingTasks], 1);
        assert_eq!(kept[&CheckpointRule::Probe], 1);
    }
}
