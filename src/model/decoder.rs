//! The masked-reconstruction decoder (method.md, "Baselines"): transposed convolutions that
//! mirror the encoder's convolutions, turning its feature map back into a window of the
//! input's shape (its loss, [`masked_mse`](super::loss::masked_mse), lives with the others).

use burn::nn::Relu;
use burn::nn::conv::{ConvTranspose1d, ConvTranspose1dConfig};
use burn::prelude::*;

use super::conv::conv_transpose1d;

/// Decoder hyperparameters: the encoder's, read in reverse.
#[derive(Config, Debug, PartialEq)]
pub struct DecoderConfig {
    /// Channels of the reconstructed window (the encoder's input channels).
    pub channels: usize,
    /// The encoder's filters.
    pub filters: [usize; 3],
    /// The encoder's kernel sizes.
    pub kernels: [usize; 3],
}

impl DecoderConfig {
    /// A freshly initialised decoder on `device`: 96->64 (k 8), 64->32 (k 16), 32->C (k 24)
    /// for the default encoder. Each unpadded transposed convolution adds back the
    /// `kernel - 1` samples its mirror consumed, so the output has the window's length.
    pub fn init(&self, device: &Device) -> Decoder {
        let [f1, f2, f3] = self.filters;
        let [k1, k2, k3] = self.kernels;
        let deconvs = vec![
            ConvTranspose1dConfig::new([f3, f2], k3).init(device),
            ConvTranspose1dConfig::new([f2, f1], k2).init(device),
            ConvTranspose1dConfig::new([f1, self.channels], k1).init(device),
        ];
        Decoder { deconvs, activation: Relu::new() }
    }
}

/// Reconstructs a window from the encoder's feature map.
#[derive(Module, Debug)]
pub struct Decoder {
    deconvs: Vec<ConvTranspose1d>,
    activation: Relu,
}

impl Decoder {
    /// The reconstructed window; ReLU between the layers, a linear output (inputs are
    /// z-normalised, so negative values are normal).
    ///
    /// # Shapes
    /// - `features`: `[batch, time - sum of (kernel - 1), filters[2]]`, the encoder's
    ///   time-major [`features`](super::Encoder::features)
    /// - returns: `[batch, channels, time]`
    pub fn forward(&self, features: Tensor<3>) -> Tensor<3> {
        let last = self.deconvs.len() - 1;
        let mut x = features;
        for (i, deconv) in self.deconvs.iter().enumerate() {
            // [batch, time so far, channels of this layer]
            x = conv_transpose1d(deconv, x, i < last);
        }
        x.swap_dims(1, 2)
    }
}
