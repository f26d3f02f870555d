//! Evaluation: metrics on predicted classes.

pub mod metrics;

pub use metrics::{ClassScores, ConfusionMatrix};
