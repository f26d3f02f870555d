//! The network: the shared 1D-CNN encoder, the pretext heads (physics bins, or one
//! transformation detector each), the masked-reconstruction decoder and the classifier.

pub mod conv;
pub mod decoder;
pub mod dropout;
pub mod encoder;
pub mod heads;
pub mod loss;
pub mod pretrain;
#[cfg(test)]
mod tests;

pub use decoder::{Decoder, DecoderConfig};
pub use dropout::DropoutMasks;
pub use encoder::{Encoder, EncoderConfig, max_over_time};
pub use heads::{Classifier, ClassifierConfig, PretextHead, PretextHeadConfig};
pub use loss::{binary_cross_entropy, cross_entropy, masked_mse};
pub use pretrain::{PretextTop, PretrainModel};

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::prelude::*;

use crate::config::ModelConfig;

/// Number a module's parameters 1, 2, ... in the order Burn visits them. Burn gives each
/// parameter a random id and saves it with the weights (the optimiser's state is keyed by
/// it), so two identical runs would write `.bpk` files that differ in those bytes alone.
/// Ids need only be unique within one model; the values are untouched (and a lazily
/// initialised parameter stays uninitialised, so no random draw moves).
pub fn number_parameters<M: Module>(module: M) -> M {
    struct Numbering(u64);
    impl ModuleMapper for Numbering {
        fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            self.0 += 1;
            param.id = ParamId::from(self.0);
            param
        }
    }
    module.map(&mut Numbering(0))
}

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
