//! Convolutions for the encoder and the masked-reconstruction decoder, on time-major
//! tensors (`[batch, time, channels]`, which the direct kernels need), and the heads' dense
//! layers: pim's own direct kernels on the CPU (flex), Burn's layers on other backends, or
//! everywhere after [`use_burn_convolutions`] (to compare the two).

pub mod kernels;
pub mod op;
pub mod simd;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use burn::backend::flex::FlexTensor;
use burn::backend::{Dispatch, DispatchDevice, Flex};
use burn::nn::Linear;
use burn::nn::conv::{Conv1d, ConvTranspose1d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use op::DirectConv;

static BURN_CONVOLUTIONS: OnceLock<bool> = OnceLock::new();

/// Run Burn's own convolutions and dense layers instead of pim's kernels for the rest of
/// the process (to compare the two; the command line reads `PIM_CONV=burn`). Call it
/// before the first layer; later calls change nothing. The losses stay pim's.
pub fn use_burn_convolutions() {
    BURN_CONVOLUTIONS.set(true).ok();
}

/// Whether the direct kernels run for `tensor`: on the flex CPU backend, unless
/// [`use_burn_convolutions`] asked for Burn's.
fn direct<const D: usize>(tensor: &Tensor<D>) -> bool {
    let burn = *BURN_CONVOLUTIONS.get_or_init(|| false);
    !burn && on_flex(tensor)
}

/// Whether `tensor` lives on the flex CPU backend (autodiff or not).
pub(in crate::model) fn on_flex<const D: usize>(tensor: &Tensor<D>) -> bool {
    matches!(tensor.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// The bias of a convolution, or zeros if it has none.
fn bias_or_zeros(bias: Option<Tensor<1>>, channels: usize, device: &Device) -> Tensor<1> {
    bias.unwrap_or_else(|| Tensor::zeros([channels], device))
}

/// Burn's own convolution on a time-major tensor, for backends without the direct kernels.
fn channels_first(x: Tensor<3>, with_relu: bool, forward: impl FnOnce(Tensor<3>) -> Tensor<3>) -> Tensor<3> {
    let y = forward(x.swap_dims(1, 2));
    let y = if with_relu { relu(y) } else { y };
    y.swap_dims(1, 2)
}

/// `conv(x) + bias`, then ReLU if `with_relu`, for a stride-1, unpadded `conv`.
///
/// # Shapes
/// - `x`: `[batch, len, in]` (time-major), `len >= kernel`
/// - returns: `[batch, len - kernel + 1, out]`
pub fn conv1d(conv: &Conv1d, x: Tensor<3>, with_relu: bool) -> Tensor<3> {
    if !direct(&x) {
        return channels_first(x, with_relu, |x| conv.forward(x));
    }
    let weight = conv.weight.val();
    let bias = bias_or_zeros(conv.bias.as_ref().map(|b| b.val()), weight.dims()[0], &x.device());
    let y = Dispatch::direct_conv1d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), false, with_relu);
    Tensor::from_dispatch(y)
}

/// `x W + b` of `linear`, then ReLU if `with_relu`. On the CPU it runs as a one-tap
/// convolution along the batch, by the direct kernels, so that its sums (and its
/// gradients') run in the same order on every CPU; Burn's matrix product picks its kernel
/// and blocking by CPU.
///
/// # Shapes
/// - `x`: `[batch, in]`
/// - returns: `[batch, out]`
pub fn dense(linear: &Linear, x: Tensor<2>, with_relu: bool) -> Tensor<2> {
    if !direct(&x) {
        let y = linear.forward(x);
        return if with_relu { relu(y) } else { y };
    }
    let [batch, inputs] = x.dims();
    // Linear's weight is [in, out]; a convolution's [out, in, kernel].
    let weight = linear.weight.val().transpose();
    let outputs = weight.dims()[0];
    let weight = weight.reshape([outputs, inputs, 1]);
    let bias = bias_or_zeros(linear.bias.as_ref().map(|b| b.val()), outputs, &x.device());
    let x = x.reshape([1, batch, inputs]);
    let y = Dispatch::direct_conv1d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), false, with_relu);
    Tensor::<3>::from_dispatch(y).reshape([batch, outputs])
}

/// `conv_transpose(x) + bias`, then ReLU if `with_relu`, for a stride-1, unpadded `conv`.
///
/// # Shapes
/// - `x`: `[batch, len, in]` (time-major)
/// - returns: `[batch, len + kernel - 1, out]`
pub fn conv_transpose1d(conv: &ConvTranspose1d, x: Tensor<3>, with_relu: bool) -> Tensor<3> {
    if !direct(&x) {
        return channels_first(x, with_relu, |x| conv.forward(x));
    }
    let weight = conv.weight.val();
    let bias = bias_or_zeros(conv.bias.as_ref().map(|b| b.val()), weight.dims()[1], &x.device());
    let y = Dispatch::direct_conv1d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), true, with_relu);
    Tensor::from_dispatch(y)
}

/// The embedding of `windows` under `convs` (each with bias and ReLU) and a max over time,
/// by the fused per-window kernel (the same bits as the layer-by-layer path); `None` where
/// that path must run (a tensor that records gradients, another backend, `PIM_CONV=burn`).
///
/// # Shapes
/// - `windows`: `[batch, channels, time]`
/// - returns: `[batch, last filters]`
pub fn encode(convs: &[Conv1d], windows: &Tensor<3>) -> Option<Tensor<2>> {
    let device = windows.device();
    if device.is_autodiff() || !direct(windows) {
        return None;
    }
    // The flex tensors' own storage, read in place: a batch of windows is megabytes, and
    // copying it out (`into_data`) took a tenth of the pass.
    let flex = |tensor: Tensor<1>| op::row_major(tensor.try_into_primitive::<Flex>().expect("a flex tensor"));
    let parameters: Vec<(FlexTensor, Option<FlexTensor>, [usize; 3])> = convs
        .iter()
        .map(|conv| {
            let weight = conv.weight.val();
            let dims = weight.dims();
            let bias = conv.bias.as_ref().map(|b| flex(b.val()));
            (flex(weight.reshape([dims.iter().product::<usize>()])), bias, dims)
        })
        .collect();
    let zeros: Vec<Vec<f32>> = parameters.iter().map(|(_, _, dims)| vec![0.0; dims[0]]).collect();
    let layers: Vec<kernels::Layer> = parameters
        .iter()
        .zip(&zeros)
        .map(|((weight, bias, dims), zeros)| kernels::Layer {
            weight: op::values(weight).0,
            bias: bias.as_ref().map_or(zeros.as_slice(), |b| op::values(b).0),
            out_channels: dims[0],
            kernel: dims[2],
        })
        .collect();
    let [batch, channels, time] = windows.dims();
    let inputs = op::row_major(windows.clone().try_into_primitive::<Flex>().expect("a flex tensor"));
    let embedding = kernels::encode(simd::level(), op::values(&inputs).0, channels, time, &layers);
    let filters = layers.last().map_or(channels, |l| l.out_channels);
    Some(Tensor::from_data(TensorData::new(embedding, [batch, filters]), &device))
}
