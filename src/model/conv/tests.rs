//! The direct convolutions against Burn's own `conv1d` and `conv_transpose1d` on flex:
//! outputs and the gradients of input, weight and bias, on random shapes with the edge
//! cases (kernel as long as the input, one channel, batch 1, channel counts that are not
//! whole vectors), with and without ReLU.

use burn::backend::Dispatch;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::{conv_transpose1d, conv1d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::op::DirectConv;

/// Largest difference of `got` from `want`, relative to want's largest magnitude (at least
/// 1). f32 sums of a few hundred products agree to about 1e-6 of that; 1e-5 leaves room.
fn relative_error(got: Tensor<3>, want: Tensor<3>) -> f32 {
    let (got, want): (Vec<f32>, Vec<f32>) =
        (got.into_data().try_to_vec().unwrap(), want.into_data().try_to_vec().unwrap());
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    got.iter().zip(&want).fold(0f32, |m, (g, w)| m.max((g - w).abs())) / scale
}

const TOLERANCE: f32 = 1e-5;

/// A leaf tensor of `values` that records gradients.
fn leaf<const D: usize>(values: &[f32], dims: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(values.to_vec(), dims), device).require_grad()
}

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Compare one direct convolution with Burn's on the same values: output, and gradients
/// of `sum(output * r)` for a random `r`.
fn compare(batch: usize, cin: usize, len: usize, cout: usize, kernel: usize, transposed: bool, with_relu: bool) {
    let what = format!("batch {batch}, {cin}->{cout}, length {len}, kernel {kernel}, transposed {transposed}");
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64((batch * 31 + cin * 7 + len + cout * 3 + kernel) as u64);
    let weight_dims = if transposed { [cin, cout, kernel] } else { [cout, cin, kernel] };
    let (x, w, b) =
        (random(&mut rng, batch * cin * len), random(&mut rng, cin * cout * kernel), random(&mut rng, cout));
    let out_len = if transposed { len + kernel - 1 } else { len + 1 - kernel };
    let r = Tensor::<3>::from_data(
        TensorData::new(random(&mut rng, batch * cout * out_len), [batch, cout, out_len]),
        &device,
    );

    let (bx, bw, bb) =
        (leaf(&x, [batch, cin, len], &device), leaf(&w, weight_dims, &device), leaf(&b, [cout], &device));
    let burn = if transposed {
        conv_transpose1d(bx.clone(), bw.clone(), Some(bb.clone()), ConvTransposeOptions::new([1], [0], [0], [1], 1))
    } else {
        conv1d(bx.clone(), bw.clone(), Some(bb.clone()), ConvOptions::new([1], [0], [1], 1))
    };
    let burn = if with_relu { relu(burn) } else { burn };
    let burn_grads = (burn.clone() * r.clone()).sum().backward();

    let (dx, dw, db) =
        (leaf(&x, [batch, cin, len], &device), leaf(&w, weight_dims, &device), leaf(&b, [cout], &device));
    let direct = Dispatch::direct_conv1d(
        dx.clone().swap_dims(1, 2).into_dispatch(),
        dw.clone().into_dispatch(),
        db.clone().into_dispatch(),
        transposed,
        with_relu,
    );
    let direct = Tensor::<3>::from_dispatch(direct).swap_dims(1, 2);
    let direct_grads = (direct.clone() * r).sum().backward();

    assert!(relative_error(direct, burn) < TOLERANCE, "{what}: outputs differ");
    let grad_x = relative_error(dx.grad(&direct_grads).unwrap(), bx.grad(&burn_grads).unwrap());
    assert!(grad_x < TOLERANCE, "{what}: input gradients differ by {grad_x}");
    let grad_w = relative_error(dw.grad(&direct_grads).unwrap(), bw.grad(&burn_grads).unwrap());
    assert!(grad_w < TOLERANCE, "{what}: weight gradients differ by {grad_w}");
    let (db, bb) = (db.grad(&direct_grads).unwrap(), bb.grad(&burn_grads).unwrap());
    let grad_b = relative_error(db.reshape([1, 1, cout]), bb.reshape([1, 1, cout]));
    assert!(grad_b < TOLERANCE, "{what}: bias gradients differ by {grad_b}");
}

/// (batch, in channels, length, out channels, kernel): the encoder's layers and edge cases.
const SHAPES: [(usize, usize, usize, usize, usize); 8] = [
    (3, 45, 125, 32, 24),
    (2, 32, 102, 64, 16),
    (2, 64, 87, 96, 8),
    (1, 1, 7, 1, 7),
    (1, 3, 24, 5, 24),
    (2, 1, 30, 17, 5),
    (1, 20, 9, 45, 1),
    (4, 6, 16, 3, 2),
];

#[test]
fn convolution_matches_burn_in_values_and_gradients() {
    for (batch, cin, len, cout, kernel) in SHAPES {
        for with_relu in [false, true] {
            compare(batch, cin, len, cout, kernel, false, with_relu);
        }
    }
}

#[test]
fn transposed_convolution_matches_burn_in_values_and_gradients() {
    for (batch, cin, len, cout, kernel) in SHAPES {
        for with_relu in [false, true] {
            compare(batch, cin, len, cout, kernel, true, with_relu);
        }
    }
}
