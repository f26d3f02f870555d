//! Saving and loading network weights and optimiser state (Burn's burnpack records), each
//! written under a temporary name and renamed, so a kill never leaves a torn file.

use std::path::Path;

use crate::error::{Error, Result};
use crate::run_folder::{rename_into_place as finish, temporary_path as temporary};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::ModuleOptimizer;
use burn::prelude::Tensor;

/// Save `module`'s weights to `path`.
pub fn save_module<M: Module>(module: M, path: &Path) -> Result<()> {
    let staging = temporary(path);
    module.save_file(&staging).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("cannot be written ({e})"),
        fix: "check the disk has space and the folder is writable".into(),
    })?;
    finish(&staging, path)
}

/// Load weights from `path` into `module`, which must have the same architecture. Weights
/// that are not finite (a diverged run, a damaged file) are refused.
pub fn load_module<M: Module>(module: M, path: &Path, fix: &str) -> Result<M> {
    if !path.is_file() {
        return Err(Error::Artefact { path: path.to_path_buf(), problem: "does not exist".into(), fix: fix.into() });
    }
    let module = module.try_load_file(path).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("does not fit this model ({e})"),
        fix: fix.into(),
    })?;
    let mut counter = NonFiniteWeights { count: 0, total: 0 };
    module.visit(&mut counter);
    if counter.count > 0 {
        return Err(Error::Artefact {
            path: path.to_path_buf(),
            problem: format!("holds {} non-finite weights (NaN or infinity) of {}", counter.count, counter.total),
            fix: fix.into(),
        });
    }
    Ok(module)
}

/// Counts a module's weights that are NaN or infinite.
struct NonFiniteWeights {
    count: usize,
    total: usize,
}

impl ModuleVisitor for NonFiniteWeights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data();
        let values = data.iter::<f32>();
        self.total += data.num_elements();
        self.count += values.filter(|w| !w.is_finite()).count();
    }
}

/// Save an optimiser's state to `path`.
pub fn save_optimizer(optimizer: &ModuleOptimizer, path: &Path) -> Result<()> {
    let staging = temporary(path);
    optimizer.save(&staging).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("cannot be written ({e})"),
        fix: "check the disk has space and the folder is writable".into(),
    })?;
    finish(&staging, path)
}

/// Load an optimiser's state from `path`.
pub fn load_optimizer(optimizer: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer> {
    optimizer.load(path).map_err(|e| Error::Artefact {
        path: path.to_path_buf(),
        problem: format!("cannot be read ({e})"),
        fix: "delete the run folder's checkpoint/ to start over".into(),
    })
}
