//! Output heads on the encoder's embedding: one pretext head per physics task, predicting
//! an `bins`-way class for each of the task's label columns, and the activity classifier.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::conv::dense;
use super::loss::cross_entropy;

/// A pretext head: `Linear(embedding -> hidden) ReLU Linear(hidden -> columns * bins)`.
#[derive(Config, Debug, PartialEq)]
pub struct PretextHeadConfig {
    /// Embedding size (the encoder's last filter count).
    pub embedding: usize,
    /// Label columns of the task (DSADS speed: 5, angle: 15, symmetry: 2).
    pub columns: usize,
    /// Bins per column.
    pub bins: usize,
    /// Hidden units.
    pub hidden: usize,
}

impl PretextHeadConfig {
    /// A freshly initialised head on `device`.
    pub fn init(&self, device: &Device) -> PretextHead {
        PretextHead {
            hidden: LinearConfig::new(self.embedding, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, self.columns * self.bins).init(device),
            columns: self.columns,
            bins: self.bins,
        }
    }
}

/// Predicts every label column of one task.
#[derive(Module, Debug)]
pub struct PretextHead {
    hidden: Linear,
    output: Linear,
    columns: usize,
    bins: usize,
}

impl PretextHead {
    /// Bin logits of every column.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding]`
    /// - returns: `[batch, columns, bins]`
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<3> {
        let [batch, _] = embedding.dims();
        let logits = dense(&self.output, dense(&self.hidden, embedding, true), false);
        // [batch, columns * bins] -> [batch, columns, bins]
        logits.reshape([batch, self.columns, self.bins])
    }

    /// Mean cross-entropy over the batch and the task's columns.
    ///
    /// # Shapes
    /// - `logits`: `[batch, columns, bins]`
    /// - `targets`: `[batch, columns]`, bins in `0..bins`
    /// - returns: `[1]`
    pub fn loss(&self, logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
        let [batch, columns, bins] = logits.dims();
        // Every (window, column) pair is one classification: [batch * columns, bins].
        let flat_logits = logits.reshape([batch * columns, bins]);
        let flat_targets = targets.reshape([batch * columns]);
        cross_entropy(flat_logits, flat_targets)
    }
}

/// The activity classifier: `Linear(embedding -> hidden) ReLU Linear(hidden -> classes)`.
#[derive(Config, Debug, PartialEq)]
pub struct ClassifierConfig {
    /// Embedding size.
    pub embedding: usize,
    /// Activity classes.
    pub classes: usize,
    /// Hidden units.
    pub hidden: usize,
}

impl ClassifierConfig {
    /// A freshly initialised classifier on `device`.
    pub fn init(&self, device: &Device) -> Classifier {
        Classifier {
            hidden: LinearConfig::new(self.embedding, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, self.classes).init(device),
        }
    }
}

/// Class logits from an embedding.
#[derive(Module, Debug)]
pub struct Classifier {
    hidden: Linear,
    output: Linear,
}

impl Classifier {
    /// Class logits.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding]`
    /// - returns: `[batch, classes]`
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<2> {
        dense(&self.output, dense(&self.hidden, embedding, true), false)
    }
}
