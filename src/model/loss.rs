//! The training losses: cross-entropy (physics bins, activity classes), binary
//! cross-entropy (transformation detectors) and the masked reconstruction error.
//!
//! On the CPU they run as pim's own backend operation, summing in one fixed order in f64
//! with `libm`'s exponential and logarithm: Burn's reductions add in SIMD lanes whose width
//! depends on the CPU (8 with AVX2, 16 with AVX-512), and the system's `expf` picks its code
//! by CPU too, so the same seed would train to different bits on different machines. Other
//! backends (wgpu) keep Burn's own operations.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Dispatch, Flex, backend_extension};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;

use super::conv::on_flex;
use super::conv::op::{NotDifferentiated, row_major, values};

/// Which loss [`FixedOrderLoss`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// Mean cross-entropy of `[rows, classes]` logits against class indices `[rows]`.
    CrossEntropy,
    /// Mean binary cross-entropy of `[n]` logits against 0/1 labels `[n]`.
    BinaryCrossEntropy,
    /// Mean squared error of `[batch, channels, time]` at the time steps where the mask
    /// (`[batch, time]`) is 1.
    MaskedSquaredError,
}

/// The losses as backend operations.
#[backend_extension(Autodiff, Flex)]
pub trait FixedOrderLoss: burn::backend::Backend {
    /// The loss `kind` (not the masked error) of `prediction` against `target`: `[1]`.
    fn fixed_order_loss(kind: LossKind, prediction: FloatTensor<Self>, target: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The gradient of that loss with respect to `prediction`, times `upstream` (`[1]`).
    fn fixed_order_loss_grad(
        kind: LossKind,
        prediction: FloatTensor<Self>,
        target: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The masked squared error of `reconstruction` against `original` at the steps `mask`
    /// marks: `[1]`.
    fn masked_squared_error(
        reconstruction: FloatTensor<Self>,
        original: FloatTensor<Self>,
        mask: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradient of that error with respect to `reconstruction`, times `upstream`.
    fn masked_squared_error_grad(
        reconstruction: FloatTensor<Self>,
        original: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The loss `kind` and, if `scale` is given, its gradient times `scale`, on plain values:
/// every sum runs in index order in f64.
pub fn loss_and_grad(
    kind: LossKind,
    prediction: &[f32],
    dims: &[usize],
    target: &[f32],
    mask: Option<&[f32]>,
    scale: Option<f64>,
) -> (f64, Option<Vec<f32>>) {
    match kind {
        LossKind::CrossEntropy => cross_entropy_values(prediction, dims[dims.len() - 1], target, scale),
        LossKind::BinaryCrossEntropy => binary_cross_entropy_values(prediction, target, scale),
        LossKind::MaskedSquaredError => {
            let mask = mask.expect("the masked squared error takes a mask");
            masked_squared_error_values(prediction, [dims[0], dims[1], dims[2]], target, mask, scale)
        }
    }
}

fn cross_entropy_values(
    logits: &[f32],
    classes: usize,
    targets: &[f32],
    scale: Option<f64>,
) -> (f64, Option<Vec<f32>>) {
    let rows = targets.len();
    assert_eq!(logits.len(), rows * classes, "cross-entropy: {rows} targets for {} logits", logits.len());
    let mut total = 0.0;
    let mut grad = scale.map(|_| vec![0f32; logits.len()]);
    for (row, (z, &target)) in logits.chunks(classes).zip(targets).enumerate() {
        let target = target as usize;
        let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let sum: f64 = z.iter().map(|&v| libm::exp(f64::from(v) - max)).sum();
        total += max + libm::log(sum) - f64::from(z[target]);
        if let (Some(grad), Some(scale)) = (grad.as_mut(), scale) {
            let per_row = scale / rows as f64;
            for (class, (g, &v)) in grad[row * classes..][..classes].iter_mut().zip(z).enumerate() {
                let probability = libm::exp(f64::from(v) - max) / sum;
                let one_hot = if class == target { 1.0 } else { 0.0 };
                *g = ((probability - one_hot) * per_row) as f32;
            }
        }
    }
    (total / rows as f64, grad)
}

fn binary_cross_entropy_values(logits: &[f32], labels: &[f32], scale: Option<f64>) -> (f64, Option<Vec<f32>>) {
    let n = labels.len();
    assert_eq!(logits.len(), n, "binary cross-entropy: {n} labels for {} logits", logits.len());
    let mut total = 0.0;
    for (&z, &y) in logits.iter().zip(labels) {
        let (z, y) = (f64::from(z), f64::from(y));
        // -y ln s(z) - (1 - y) ln s(-z) = softplus(z) - y z, with softplus kept finite.
        total += z.max(0.0) + libm::log1p(libm::exp(-z.abs())) - y * z;
    }
    let grad = scale.map(|scale| {
        let per_item = scale / n as f64;
        logits.iter().zip(labels).map(|(&z, &y)| ((sigmoid(f64::from(z)) - f64::from(y)) * per_item) as f32).collect()
    });
    (total / n as f64, grad)
}

/// The logistic function, without overflow for large `|z|`.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + libm::exp(-z))
    } else {
        let e = libm::exp(z);
        e / (1.0 + e)
    }
}

fn masked_squared_error_values(
    reconstruction: &[f32],
    [batch, channels, time]: [usize; 3],
    original: &[f32],
    mask: &[f32],
    scale: Option<f64>,
) -> (f64, Option<Vec<f32>>) {
    assert_eq!(reconstruction.len(), batch * channels * time, "masked error: reconstruction shape");
    assert_eq!(original.len(), reconstruction.len(), "masked error: original shape");
    assert_eq!(mask.len(), batch * time, "masked error: mask shape");
    let count = mask.iter().map(|&m| f64::from(m)).sum::<f64>() * channels as f64;
    let mut total = 0.0;
    let mut grad = scale.map(|_| vec![0f32; reconstruction.len()]);
    for (i, (&r, &o)) in reconstruction.iter().zip(original).enumerate() {
        let weight = f64::from(mask[(i / (channels * time)) * time + i % time]);
        let error = f64::from(r) - f64::from(o);
        total += weight * error * error;
        if let (Some(grad), Some(scale)) = (grad.as_mut(), scale) {
            grad[i] = (2.0 * weight * error * scale / count) as f32;
        }
    }
    (total / count, grad)
}

/// The loss (`upstream` None) or its gradient times `upstream`, on flex tensors, read in
/// place (a reconstruction batch is over a megabyte).
fn flex_loss(
    kind: LossKind,
    prediction: FlexTensor,
    target: FlexTensor,
    mask: Option<FlexTensor>,
    upstream: Option<FlexTensor>,
) -> FlexTensor {
    let (prediction, target) = (row_major(prediction), row_major(target));
    let mask = mask.map(row_major);
    let ((prediction, dims), (target, _)) = (values(&prediction), values(&target));
    let scale = upstream.map(|u| f64::from(values(&row_major(u)).0[0]));
    let mask = mask.as_ref().map(|m| values(m).0);
    let (loss, grad) = loss_and_grad(kind, prediction, &dims, target, mask, scale);
    match grad {
        Some(grad) => FlexTensor::from_data(TensorData::new(grad, dims)),
        None => FlexTensor::from_data(TensorData::new(vec![loss as f32], [1])),
    }
}

impl FixedOrderLoss for Flex {
    fn fixed_order_loss(kind: LossKind, prediction: FlexTensor, target: FlexTensor) -> FlexTensor {
        flex_loss(kind, prediction, target, None, None)
    }

    fn fixed_order_loss_grad(
        kind: LossKind,
        prediction: FlexTensor,
        target: FlexTensor,
        upstream: FlexTensor,
    ) -> FlexTensor {
        flex_loss(kind, prediction, target, None, Some(upstream))
    }

    fn masked_squared_error(reconstruction: FlexTensor, original: FlexTensor, mask: FlexTensor) -> FlexTensor {
        flex_loss(LossKind::MaskedSquaredError, reconstruction, original, Some(mask), None)
    }

    fn masked_squared_error_grad(
        reconstruction: FlexTensor,
        original: FlexTensor,
        mask: FlexTensor,
        upstream: FlexTensor,
    ) -> FlexTensor {
        flex_loss(LossKind::MaskedSquaredError, reconstruction, original, Some(mask), Some(upstream))
    }
}

/// A loss's inputs other than the prediction, kept for its backward pass.
#[derive(Clone, Debug)]
enum LossInputs<B: burn::backend::Backend> {
    Target(LossKind, FloatTensor<B>),
    Masked { original: FloatTensor<B>, mask: FloatTensor<B> },
}

impl<B: FixedOrderLoss> LossInputs<B> {
    fn loss(self, prediction: FloatTensor<B>) -> FloatTensor<B> {
        match self {
            LossInputs::Target(kind, target) => B::fixed_order_loss(kind, prediction, target),
            LossInputs::Masked { original, mask } => B::masked_squared_error(prediction, original, mask),
        }
    }

    fn grad(self, prediction: FloatTensor<B>, upstream: FloatTensor<B>) -> FloatTensor<B> {
        match self {
            LossInputs::Target(kind, target) => B::fixed_order_loss_grad(kind, prediction, target, upstream),
            LossInputs::Masked { original, mask } => B::masked_squared_error_grad(prediction, original, mask, upstream),
        }
    }
}

/// The backward pass of the losses: one parent, the prediction.
#[derive(Debug)]
struct FixedOrderLossBackward;

impl<B: FixedOrderLoss> Backward<B, 1> for FixedOrderLossBackward {
    type State = (FloatTensor<B>, LossInputs<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let upstream = grads.consume::<B>(&ops.node);
        let (prediction, inputs) = ops.state;
        if let Some(node) = node {
            grads.register::<B>(node.id, inputs.grad(prediction, upstream));
        }
    }
}

/// The loss of `prediction` on the autodiff backend, its gradient recorded if it is tracked.
fn tracked_loss<B: FixedOrderLoss, C: CheckpointStrategy>(
    prediction: FloatTensor<Autodiff<B, C>>,
    inputs: LossInputs<B>,
) -> FloatTensor<Autodiff<B, C>> {
    match FixedOrderLossBackward.prepare::<C>([prediction.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let prediction = prediction.into_primitive();
            let loss = inputs.clone().loss(prediction.clone());
            prep.finish((prediction, inputs), loss)
        }
        OpsKind::UnTracked(prep) => prep.finish(inputs.loss(prediction.into_primitive())),
    }
}

/// A gradient computed on the autodiff backend: a leaf, never differentiated again.
fn untracked<B: burn::backend::Backend, C: CheckpointStrategy>(output: FloatTensor<B>) -> FloatTensor<Autodiff<B, C>> {
    NotDifferentiated.prepare::<C>([]).compute_bound().stateless(output)
}

impl<B: FixedOrderLoss, C: CheckpointStrategy> FixedOrderLoss for Autodiff<B, C> {
    fn fixed_order_loss(kind: LossKind, prediction: FloatTensor<Self>, target: FloatTensor<Self>) -> FloatTensor<Self> {
        tracked_loss::<B, C>(prediction, LossInputs::Target(kind, target.into_primitive()))
    }

    fn fixed_order_loss_grad(
        kind: LossKind,
        prediction: FloatTensor<Self>,
        target: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let inputs = LossInputs::<B>::Target(kind, target.into_primitive());
        untracked::<B, C>(inputs.grad(prediction.into_primitive(), upstream.into_primitive()))
    }

    fn masked_squared_error(
        reconstruction: FloatTensor<Self>,
        original: FloatTensor<Self>,
        mask: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        tracked_loss::<B, C>(
            reconstruction,
            LossInputs::Masked { original: original.into_primitive(), mask: mask.into_primitive() },
        )
    }

    fn masked_squared_error_grad(
        reconstruction: FloatTensor<Self>,
        original: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let inputs = LossInputs::<B>::Masked { original: original.into_primitive(), mask: mask.into_primitive() };
        untracked::<B, C>(inputs.grad(reconstruction.into_primitive(), upstream.into_primitive()))
    }
}

fn fixed_order<const D: usize>(kind: LossKind, prediction: Tensor<D>, target: Tensor<1>) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fixed_order_loss(kind, prediction.into_dispatch(), target.into_dispatch()))
}

/// Mean cross-entropy of each row of `logits` against its class in `targets`.
///
/// # Shapes
/// - `logits`: `[rows, classes]`
/// - `targets`: `[rows]`, classes in `0..classes`
/// - returns: `[1]`
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    if on_flex(&logits) {
        return fixed_order(LossKind::CrossEntropy, logits, targets.float());
    }
    CrossEntropyLossConfig::new().init(&logits.device()).forward(logits, targets)
}

/// Mean binary cross-entropy of `logits` against 0/1 `labels`, from log-sigmoids so that
/// large logits do not overflow.
///
/// # Shapes
/// - `logits`, `labels`: `[n]`
/// - returns: `[1]`
pub fn binary_cross_entropy(logits: Tensor<1>, labels: Tensor<1>) -> Tensor<1> {
    if on_flex(&logits) {
        return fixed_order(LossKind::BinaryCrossEntropy, logits, labels);
    }
    let positive = log_sigmoid(logits.clone()) * labels.clone();
    let negative = log_sigmoid(-logits) * (-labels + 1.0);
    -(positive + negative).mean()
}

/// Mean squared error over the masked time steps only: unmasked steps, which the encoder
/// saw, contribute nothing.
///
/// # Shapes
/// - `reconstruction`, `original`: `[batch, channels, time]`
/// - `masked`: `[batch, time]`, 1 at masked steps and 0 elsewhere; at least one 1
/// - returns: `[1]`, the sum of squared errors at masked steps over (masked steps x channels)
pub fn masked_mse(reconstruction: Tensor<3>, original: Tensor<3>, masked: Tensor<2>) -> Tensor<1> {
    if on_flex(&reconstruction) {
        let loss = Dispatch::masked_squared_error(
            reconstruction.into_dispatch(),
            original.into_dispatch(),
            masked.into_dispatch(),
        );
        return Tensor::from_dispatch(loss);
    }
    let [batch, channels, time] = reconstruction.dims();
    let weights = masked.reshape([batch, 1, time]);
    let count = weights.clone().sum() * channels as f64;
    let squared = (reconstruction - original).powi_scalar(2) * weights;
    squared.sum() / count
}
