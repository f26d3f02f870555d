//! The network pre-training trains: the encoder, and on top of it the pretext heads (PIM's
//! physics tasks, or one detector per transformation) or the masked-reconstruction decoder.

use burn::prelude::*;

use super::{Decoder, Encoder, PretextHead, number_parameters};
use crate::config::ModelConfig;

/// What sits on the encoder during pre-training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PretextTop {
    /// One head per entry, predicting that many label columns of `bins` classes each, and
    /// with `decoder` the masked-reconstruction decoder beside them.
    Heads {
        /// Label columns of each head.
        columns: Vec<usize>,
        /// Classes per column.
        bins: usize,
        /// Whether the decoder sits beside the heads (method `pim+masked`).
        decoder: bool,
    },
    /// The masked-reconstruction decoder.
    Decoder,
}

/// The encoder and what the method puts on top of it.
#[derive(Module, Debug)]
pub struct PretrainModel {
    /// The shared encoder.
    pub encoder: Encoder,
    /// PIM: one head per task, in the run's task order. Transformation discrimination:
    /// one single-logit head per transformation. Masked reconstruction: none.
    pub heads: Vec<PretextHead>,
    /// Masked reconstruction's decoder (and PIM's beside its heads, in `pim+masked`).
    pub decoder: Option<Decoder>,
}

impl PretrainModel {
    /// A fresh network for windows of `channels` channels, its parameters numbered. The
    /// heads (or decoder) are made before the encoder: that order fixes which random draws
    /// each gets, and so every trained bit.
    pub fn init(model: &ModelConfig, channels: usize, top: &PretextTop, device: &Device) -> Self {
        let (heads, decoder) = match top {
            PretextTop::Heads { columns, bins, decoder } => {
                let heads = columns.iter().map(|&c| model.pretext_head(c, *bins).init(device)).collect();
                (heads, decoder.then(|| model.decoder(channels).init(device)))
            }
            PretextTop::Decoder => (Vec::new(), Some(model.decoder(channels).init(device))),
        };
        number_parameters(PretrainModel { encoder: model.encoder(channels).init(device), heads, decoder })
    }
}
