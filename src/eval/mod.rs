//! Evaluation: metrics on predicted classes, and the `eval` stage that writes them.

pub mod handoff;
pub mod metrics;
pub mod report;

pub use metrics::{ClassScores, ConfusionMatrix};
