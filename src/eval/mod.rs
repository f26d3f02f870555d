//! Evaluation: the `eval` stage (scores on the test subjects), and the hand-off of a run's
//! embeddings and weights to Python.

pub mod evaluate;
pub mod export;
