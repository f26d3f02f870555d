//! The network: the shared 1D-CNN encoder, the pretext heads (physics bins, or one
//! transformation detector each), the masked-reconstruction decoder and the classifier.

pub mod conv;
pub mod decoder;
pub mod dropout;
pub mod encoder;
pub mod heads;
#[cfg(test)]
mod tests;

pub use decoder::{Decoder, DecoderConfig, masked_mse};
pub use dropout::DropoutMasks;
pub use encoder::{Encoder, EncoderConfig};
pub use heads::{Classifier, ClassifierConfig, PretextHead, PretextHeadConfig};

use crate::config::ModelConfig;

/// The Burn module configs, built from the config file's model group (the one source of
/// the hyperparameters and their defaults).
impl ModelConfig {
    /// The encoder for windows of `channels` channels.
    pub fn encoder(&self, channels: usize) -> EncoderConfig {
        EncoderConfig::new(channels, self.filters, self.kernels, self.dropout)
    }

    /// The masked-reconstruction decoder mirroring [`ModelConfig::encoder`].
    pub fn decoder(&self, channels: usize) -> DecoderConfig {
        DecoderConfig::new(channels, self.filters, self.kernels)
    }

    /// A pretext head predicting `bins` classes for each of `columns` label columns.
    pub fn pretext_head(&self, columns: usize, bins: usize) -> PretextHeadConfig {
        PretextHeadConfig::new(self.embedding(), columns, bins, self.head_hidden)
    }

    /// The activity classifier over `classes` classes.
    pub fn classifier(&self, classes: usize) -> ClassifierConfig {
        ClassifierConfig::new(self.embedding(), classes, self.classifier_hidden)
    }
}
