//! The shared encoder (method.md, "Encoder, heads, losses"): the Transformation Prediction
//! Network encoder of Saeed et al. 2019, three unpadded Conv1d + ReLU + Dropout blocks and
//! a max over time, giving a fixed-size embedding whatever the window length.

use burn::nn::Relu;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::prelude::*;

use super::conv::{conv1d, encode};
use super::dropout::DropoutMasks;

/// Encoder hyperparameters.
#[derive(Config, Debug, PartialEq)]
pub struct EncoderConfig {
    /// Input channels (DSADS: 45).
    pub channels: usize,
    /// Filters of the three convolutions; the last is the embedding size.
    pub filters: [usize; 3],
    /// Kernel sizes of the three convolutions.
    pub kernels: [usize; 3],
    /// Dropout probability after each block (applied by [`Encoder::forward_train`]).
    pub dropout: f64,
}

impl EncoderConfig {
    /// A freshly initialised encoder on `device`.
    pub fn init(&self, device: &Device) -> Encoder {
        let inputs = [self.channels, self.filters[0], self.filters[1]];
        let convs =
            (0..3).map(|i| Conv1dConfig::new(inputs[i], self.filters[i], self.kernels[i]).init(device)).collect();
        Encoder { convs, activation: Relu::new() }
    }
}

/// Three convolution blocks and a max over time. Dropout is not part of the module: the
/// training loop passes its [`DropoutMasks`] to [`Encoder::forward_train`].
#[derive(Module, Debug)]
pub struct Encoder {
    convs: Vec<Conv1d>,
    activation: Relu,
}

impl Encoder {
    /// Size of the embedding: the last convolution's filters.
    pub fn embedding_size(&self) -> usize {
        self.convs.last().map_or(0, |conv| conv.weight.val().dims()[0])
    }

    /// Embed a batch of windows, without dropout (evaluation, frozen encoders).
    ///
    /// # Shapes
    /// - `windows`: `[batch, channels, time]`, `time >= ModelConfig::min_window()`
    /// - returns: `[batch, filters[2]]`
    pub fn forward(&self, windows: Tensor<3>) -> Tensor<2> {
        // Inference on the CPU: one fused pass per window, the layer path's bits.
        encode(&self.convs, &windows).unwrap_or_else(|| max_over_time(self.feature_map(windows, None)))
    }

    /// Embed a batch of windows with dropout after each block (training).
    ///
    /// # Shapes
    /// As [`Encoder::forward`].
    pub fn forward_train(&self, windows: Tensor<3>, masks: &mut DropoutMasks) -> Tensor<2> {
        max_over_time(self.feature_map(windows, Some(masks)))
    }

    /// The last block's feature map, before the max over time, without dropout (what the
    /// masked-reconstruction decoder reads), time-major.
    ///
    /// # Shapes
    /// - `windows`: `[batch, channels, time]`
    /// - returns: `[batch, time - sum of (kernel - 1), filters[2]]`
    pub fn features(&self, windows: Tensor<3>) -> Tensor<3> {
        self.feature_map(windows, None)
    }

    /// [`Encoder::features`] with dropout after each block (training).
    pub fn features_train(&self, windows: Tensor<3>, masks: &mut DropoutMasks) -> Tensor<3> {
        self.feature_map(windows, Some(masks))
    }

    fn feature_map(&self, windows: Tensor<3>, mut masks: Option<&mut DropoutMasks>) -> Tensor<3> {
        // [batch, time, channels]: the layout the direct convolutions work in.
        let mut x = windows.swap_dims(1, 2);
        for conv in &self.convs {
            // [batch, time - sum of (kernel - 1) so far, filters_i]
            x = conv1d(conv, x, true);
            if let Some(masks) = masks.as_deref_mut() {
                x = masks.apply(x);
            }
        }
        x
    }
}

/// The embedding of a time-major feature map: `[batch, time', filters] -> [batch, filters]`.
pub fn max_over_time(features: Tensor<3>) -> Tensor<2> {
    features.max_dim(1).squeeze_dim::<2>(1)
}
