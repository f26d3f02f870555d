//! Training: the compute backend, windows as tensors, checkpoints, and
//! the `pretrain` and `finetune` stages.

pub mod backend;
pub mod checkpoint;
pub mod finetune;
pub mod metrics;
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

/// The training subjects' channel statistics, saved beside every model.
pub const NORMALISER_FILE: &str = "normaliser.json";

/// Fail unless `saved` (read from `path`) and `current` agree on every group in `groups`,
/// naming the first group that differs.
pub(crate) fn check_same_groups(saved: &PimConfig, current: &PimConfig, path: &Path, groups: &[&str]) -> Result<()> {
    let (saved, current) =
        (serde_json::to_value(saved).expect("serialises"), serde_json::to_value(current).expect("serialises"));
    for group in groups {
        if saved[group] != current[group] {
            return Err(Error::Artefact {
                path: path.to_path_buf(),
                problem: format!("was made with a different `{group}` than the config given now"),
                fix: "pass the config that made it, or redo that stage with this config (a fresh --out)".into(),
            });
        }
    }
    Ok(())
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
