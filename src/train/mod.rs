//! Training: the compute backend, windows as tensors, checkpoints, and
//! the `pretrain` and `finetune` stages.

pub mod backend;
pub mod checkpoint;
pub mod finetune;
pub mod objective;
pub mod pretrain;
pub mod windows;

use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::PimConfig;
use crate::error::{Error, Result};
use crate::model::DropoutMasks;

/// Fail unless `saved` (read from `path`) and `current` agree on every group in `groups`,
/// naming the first group that differs.
pub(crate) fn check_same_groups(saved: &PimConfig, current: &PimConfig, path: &Path, groups: &[&str]) -> Result<()> {
    let (saved, current) =
        (serde_json::to_value(saved).expect("serialises"), serde_json::to_value(current).expect("serialises"));
    for group in groups {
        if let Some((field, was, now)) = first_difference(group, &saved[group], &current[group]) {
            return Err(Error::Artefact {
                path: path.to_path_buf(),
                problem: format!("was made with `{field}` = {was}, the config given now has {now}"),
                fix: "pass the config that made it, or redo that stage with this config (a fresh --out)".into(),
            });
        }
    }
    Ok(())
}

/// The first field (dotted path from `at`) where `saved` and `current` differ, with both
/// values as JSON (`null` where one lacks it).
fn first_difference(
    at: &str,
    saved: &serde_json::Value,
    current: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (saved, current) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| {
                let (x, y) = (a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null));
                first_difference(&format!("{at}.{key}"), x, y)
            })
        }
        _ if saved == current => None,
        _ => Some((at.to_string(), saved.to_string(), current.to_string())),
    }
}

/// The seeded randomness of one training epoch, shared by pre-training and fine-tuning: the
/// shuffled order of `items`, the dropout masks, and the generator that goes on to draw the
/// epoch's other choices (masks, transformations). Epoch `epoch` of `seed` is the same in
/// every run, so a resumed run continues exactly as an uninterrupted one.
pub(crate) fn epoch_randomness(
    seed: u64,
    epoch: usize,
    items: &[usize],
    dropout: f64,
) -> (Vec<usize>, DropoutMasks, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order = items.to_vec();
    order.shuffle(&mut rng);
    (order, DropoutMasks::new(seed, epoch as u64, dropout), rng)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::first_difference;

    #[test]
    fn the_first_differing_field_is_named_with_both_values() {
        let saved = json!({"epochs": 30, "weights": {"speed": 1.0, "angle": 1.0}, "tasks": ["speed"]});
        let mut now = saved.clone();
        assert_eq!(first_difference("pretrain", &saved, &now), None);
        now["weights"]["angle"] = json!(0.5);
        now["tasks"] = json!(["speed", "angle"]);
        assert_eq!(
            first_difference("pretrain", &saved, &now),
            Some(("pretrain.tasks".into(), "[\"speed\"]".into(), "[\"speed\",\"angle\"]".into()))
        );
        now["tasks"] = saved["tasks"].clone();
        now["extra"] = json!(1);
        assert_eq!(
            first_difference("pretrain", &saved, &now),
            Some(("pretrain.extra".into(), "null".into(), "1".into()))
        );
    }
}
