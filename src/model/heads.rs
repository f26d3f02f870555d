//! Output heads on the encoder's embedding: one pretext head per physics task, predicting
//! an `bins`-way class for each of the task's label columns, and the activity classifier.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;

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
            activation: Relu::new(),
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
    activation: Relu,
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
        let logits = self.output.forward(self.activation.forward(self.hidden.forward(embedding)));
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
        CrossEntropyLossConfig::new().init(&flat_logits.device()).forward(flat_logits, flat_targets)
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
            activation: Relu::new(),
        }
    }
}

/// Class logits from an embedding.
#[derive(Module, Debug)]
pub struct Classifier {
    hidden: Linear,
    output: Linear,
    activation: Relu,
}

impl Classifier {
    /// Class logits.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding]`
    /// - returns: `[batch, classes]`
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.activation.forward(self.hidden.forward(embedding)))
    }
}
