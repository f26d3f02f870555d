//! The kernels of [`super::kernels`] as a Burn backend extension (Burn's `backend_extension`,
//! as in its custom-kernel examples): one differentiable operation, `relu?(conv(x, w) + b)`
//! for a convolution or a transposed convolution (stride 1, no padding) on time-major
//! tensors (`[batch, time, channels]`), implemented for the flex CPU backend, with its
//! backward pass registered for `Autodiff<Flex>`. Weights keep Burn's layouts
//! (`Conv1d`: `[out, in, kernel]`; `ConvTranspose1d`: `[in, out, kernel]`), so checkpoints
//! do not change. Other backends (wgpu) keep Burn's own convolution.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, backend_extension};
use burn::tensor::TensorData;

use super::kernels::{Correlation, WeightGrad, correlate, weight_grad};
use super::simd;

/// Direct convolutions as backend operations.
#[backend_extension(Autodiff, Flex)]
pub trait DirectConv: burn::backend::Backend {
    /// `relu?(conv(x, weight) + bias)`. `x`: `[batch, len, in]`; `weight`: `[out, in, kernel]`,
    /// or `[in, out, kernel]` when `transposed`; `bias`: `[out]`. Returns `[batch, len -
    /// kernel + 1, out]`, or `[batch, len + kernel - 1, out]` when `transposed`.
    fn direct_conv1d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        transposed: bool,
        relu: bool,
    ) -> FloatTensor<Self>;

    /// The gradient with respect to `x` of [`DirectConv::direct_conv1d`] (before bias and
    /// ReLU), given the gradient `grad` of its output.
    fn direct_conv1d_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        transposed: bool,
    ) -> FloatTensor<Self>;

    /// The gradient with respect to `weight`, given `x` and the output's gradient `grad`.
    fn direct_conv1d_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>, transposed: bool) -> FloatTensor<Self>;

    /// The gradient with respect to `bias`, given the output's gradient `grad` (`[batch,
    /// len, out]`): its sum over windows and time, window by window.
    fn direct_conv1d_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// A flex tensor laid out row-major (copied only if it is not already).
pub(in crate::model) fn row_major(tensor: FlexTensor) -> FlexTensor {
    if tensor.as_slice::<f32>().is_some() { tensor } else { tensor.to_contiguous() }
}

/// The values of a row-major f32 tensor, and its dimensions.
pub(in crate::model) fn values(tensor: &FlexTensor) -> (&[f32], Vec<usize>) {
    let values = tensor.as_slice::<f32>().expect("direct convolutions take row-major f32 tensors");
    (values, tensor.shape().as_slice().to_vec())
}

fn tensor(values: Vec<f32>, dims: [usize; 3]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

/// `weight` `[a, b, kernel]` as `[b, a, kernel]` with each kernel reversed: the weights of
/// the correlation that undoes a convolution's shape (its input gradient, or a transposed
/// convolution's forward pass).
fn swap_and_flip(weight: &[f32], dims: &[usize]) -> Vec<f32> {
    let (a, b, k) = (dims[0], dims[1], dims[2]);
    let mut out = vec![0f32; a * b * k];
    for i in 0..a {
        for j in 0..b {
            for t in 0..k {
                out[(j * a + i) * k + (k - 1 - t)] = weight[(i * b + j) * k + t];
            }
        }
    }
    out
}

impl DirectConv for Flex {
    fn direct_conv1d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, transposed: bool, relu: bool) -> FlexTensor {
        let (x, weight, bias) = (row_major(x), row_major(weight), row_major(bias));
        let ((x, x_dims), (weight, w_dims), (bias, _)) = (values(&x), values(&weight), values(&bias));
        let [batch, in_len, in_channels] = [x_dims[0], x_dims[1], x_dims[2]];
        let kernel = w_dims[2];
        let flipped;
        let (out_channels, weight, pad) = if transposed {
            flipped = swap_and_flip(weight, &w_dims);
            (w_dims[1], flipped.as_slice(), kernel - 1)
        } else {
            (w_dims[0], weight, 0)
        };
        let shape = Correlation { batch, in_channels, in_len, out_channels, kernel, pad };
        let out = correlate(simd::level(), x, weight, Some(bias), relu, shape);
        tensor(out, [batch, shape.out_len(), out_channels])
    }

    fn direct_conv1d_input_grad(grad: FlexTensor, weight: FlexTensor, transposed: bool) -> FlexTensor {
        let (grad, weight) = (row_major(grad), row_major(weight));
        let ((grad, g_dims), (weight, w_dims)) = (values(&grad), values(&weight));
        let [batch, grad_len, grad_channels] = [g_dims[0], g_dims[1], g_dims[2]];
        let kernel = w_dims[2];
        // A convolution's input gradient is a full correlation with swapped, flipped
        // weights; a transposed convolution's is a valid correlation with its own weights.
        let flipped;
        let (out_channels, weight, pad) = if transposed {
            (w_dims[0], weight, 0)
        } else {
            flipped = swap_and_flip(weight, &w_dims);
            (w_dims[1], flipped.as_slice(), kernel - 1)
        };
        let shape = Correlation { batch, in_channels: grad_channels, in_len: grad_len, out_channels, kernel, pad };
        let out = correlate(simd::level(), grad, weight, None, false, shape);
        tensor(out, [batch, shape.out_len(), out_channels])
    }

    fn direct_conv1d_weight_grad(x: FlexTensor, grad: FlexTensor, transposed: bool) -> FlexTensor {
        let (x, grad) = (row_major(x), row_major(grad));
        let ((x, x_dims), (grad, g_dims)) = (values(&x), values(&grad));
        // dw[o, i, k] = sum g[o, t] x[i, t + k]: for a transposed convolution the output's
        // gradient plays x and the input plays g.
        let ((long, long_dims), (short, short_dims)) =
            if transposed { ((grad, g_dims), (x, x_dims)) } else { ((x, x_dims), (grad, g_dims)) };
        let kernel = long_dims[1] + 1 - short_dims[1];
        let shape = WeightGrad {
            batch: long_dims[0],
            out_channels: short_dims[2],
            grad_len: short_dims[1],
            in_channels: long_dims[2],
            x_len: long_dims[1],
            kernel,
        };
        let dw = weight_grad(simd::level(), long, short, shape);
        tensor(dw, [shape.out_channels, shape.in_channels, kernel])
    }

    fn direct_conv1d_bias_grad(grad: FlexTensor) -> FlexTensor {
        let grad = row_major(grad);
        let (grad, dims) = values(&grad);
        let (len, channels) = (dims[1], dims[2]);
        // One sum per window over time, then the windows' sums in order: plain adds in a
        // fixed order (Burn's reductions add in lanes as wide as the CPU's vectors).
        let mut total = vec![0f32; channels];
        let mut window_sum = vec![0f32; channels];
        for window in grad.chunks(len * channels) {
            window_sum.fill(0.0);
            for sample in window.chunks(channels) {
                window_sum.iter_mut().zip(sample).for_each(|(s, &g)| *s += g);
            }
            total.iter_mut().zip(&window_sum).for_each(|(t, &s)| *t += s);
        }
        FlexTensor::from_data(TensorData::new(total, [channels]))
    }
}

/// The backward pass of [`DirectConv::direct_conv1d`]: parents x, weight, bias.
#[derive(Debug)]
struct DirectConvBackward;

impl<B: DirectConv> Backward<B, 3> for DirectConvBackward {
    /// x, weight, the output if ReLU was applied, and whether the convolution is transposed.
    type State = (NodeId, NodeId, Option<FloatTensor<B>>, bool);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, relu_output, transposed) = ops.state;
        let x: FloatTensor<B> = checkpointer.retrieve_node_output(x_state);
        let weight: FloatTensor<B> = checkpointer.retrieve_node_output(weight_state);
        let grad = match relu_output {
            Some(output) => B::relu_backward(output, grad),
            None => grad,
        };
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, B::direct_conv1d_bias_grad(grad.clone()));
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::direct_conv1d_input_grad(grad.clone(), weight, transposed));
        }
        if let Some(node) = node_weight {
            grads.register::<B>(node.id, B::direct_conv1d_weight_grad(x, grad, transposed));
        }
    }
}

/// Gradient kernels (of convolutions, of losses), called on the autodiff backend: never
/// differentiated again.
#[derive(Debug)]
pub(in crate::model) struct NotDifferentiated;

impl<B: burn::backend::Backend> Backward<B, 0> for NotDifferentiated {
    type State = ();

    fn backward(self, _: Ops<(), 0>, _: &mut Gradients, _: &mut Checkpointer) {}
}

impl<B: DirectConv, C: CheckpointStrategy> DirectConv for Autodiff<B, C> {
    fn direct_conv1d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        transposed: bool,
        relu: bool,
    ) -> FloatTensor<Self> {
        match DirectConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output = B::direct_conv1d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    transposed,
                    relu,
                );
                prep.finish((x_state, weight_state, relu.then(|| output.clone()), transposed), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::direct_conv1d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                transposed,
                relu,
            )),
        }
    }

    fn direct_conv1d_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        transposed: bool,
    ) -> FloatTensor<Self> {
        let output = B::direct_conv1d_input_grad(grad.into_primitive(), weight.into_primitive(), transposed);
        NotDifferentiated.prepare::<C>([]).compute_bound().stateless(output)
    }

    fn direct_conv1d_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>, transposed: bool) -> FloatTensor<Self> {
        let output = B::direct_conv1d_weight_grad(x.into_primitive(), grad.into_primitive(), transposed);
        NotDifferentiated.prepare::<C>([]).compute_bound().stateless(output)
    }

    fn direct_conv1d_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let output = B::direct_conv1d_bias_grad(grad.into_primitive());
        NotDifferentiated.prepare::<C>([]).compute_bound().stateless(output)
    }
}
