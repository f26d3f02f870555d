//! `pim`: physics-informed multi-task pre-training (PIM, arXiv 2503.17978) for IMU
//! activity recognition with few labels.
//!
//! The pipeline follows the modules: [`data`] reads a dataset into recordings in physical
//! units and windows them; [`physics`] holds the pure kernels (filters, integration,
//! angles, cross-correlation, DTW); [`labels`] turns windows into pseudo-labels and bins;
//! [`model`] is the Burn encoder, heads and decoder; [`train`] runs pre-training (PIM or a
//! baseline) and fine-tuning; [`eval`] scores predictions; [`grid`] runs and reports
//! experiment grids; [`cli`] is the command line. Imports run one way, in that order, with
//! [`config`] (the config file's schema) between `physics` and `labels`, and [`error`],
//! [`run_folder`] (the run folder's files), [`progress`] and [`metrics`] (macro-F1 and the
//! confusion matrix, which training, evaluation and the grid all score with) below
//! everything. `docs/method.md` is
//! the specification every choice follows.

pub mod cli;
pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod grid;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod physics;
pub mod presets;
pub mod progress;
pub mod run_folder;
pub mod train;

pub use config::PimConfig;
pub use error::{Error, Result};
