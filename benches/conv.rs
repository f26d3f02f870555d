//! Benchmark: pim's direct convolution kernels against Burn's own convolution (im2col and
//! a matrix product on flex), measured in the same run, on the encoder's three layers at
//! DSADS shapes (batch 64): forward, input gradient and weight gradient; then the heads'
//! and classifier's dense layers, which run through the same kernels as one-tap
//! convolutions along the batch, against Burn's matrix product. Prints one line per layer
//! and pass with windows/s and the ratio to Burn.
//!
//! `cargo bench --bench conv` (set RAYON_NUM_THREADS to pin the thread count)

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use pim::model::conv::kernels::{Correlation, WeightGrad, correlate, weight_grad};
use pim::model::conv::simd;

const BATCH: usize = 64;
const ROUNDS: usize = 9;

/// Windows per second of `run`: the best of several rounds of `reps` calls (interference
/// from other processes only ever slows a round down).
fn rate(reps: usize, mut run: impl FnMut()) -> f64 {
    run();
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..reps {
                run();
            }
            (reps * BATCH) as f64 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn main() {
    let level = simd::level();
    let device = Device::flex();
    println!("level {level:?}, {} threads", rayon::current_num_threads());
    for (cin, len, cout, k) in [(45, 125, 32, 24), (32, 102, 64, 16), (64, 87, 96, 8)] {
        let x = Tensor::<3>::random([BATCH, cin, len], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<3>::random([cout, cin, k], Distribution::Normal(0.0, 0.1), &device);
        let xs: Vec<f32> = x.clone().into_data().try_to_vec().unwrap();
        let ws: Vec<f32> = w.clone().into_data().try_to_vec().unwrap();
        let out = len - k + 1;
        let g: Vec<f32> = vec![0.5; BATCH * cout * out];
        let shape = Correlation { batch: BATCH, in_channels: cin, in_len: len, out_channels: cout, kernel: k, pad: 0 };
        let burn = rate(5, || {
            let _ = conv1d(x.clone(), w.clone(), None, ConvOptions::new([1], [0], [1], 1)).into_data();
        });
        let direct = rate(5, || {
            let _ = correlate(level, &xs, &ws, None, true, shape);
        });
        let input_shape =
            Correlation { batch: BATCH, in_channels: cout, in_len: out, out_channels: cin, kernel: k, pad: k - 1 };
        let input_grad = rate(5, || {
            let _ = correlate(level, &g, &ws[..cin * cout * k], None, false, input_shape);
        });
        let wshape =
            WeightGrad { batch: BATCH, out_channels: cout, grad_len: out, in_channels: cin, x_len: len, kernel: k };
        let wgrad = rate(5, || {
            let _ = weight_grad(level, &xs, &g, wshape);
        });
        // The direct sum's multiply-adds: for split kernels, a direct-equivalent rate.
        let flops = 2.0 * (cin * cout * k * out) as f64;
        println!(
            "conv {cin}->{cout} k{k} t{len}: burn forward {burn:.0} windows/s; direct forward {direct:.0} ({:.2}x, {:.1} GFLOP/s), input grad {input_grad:.0} ({:.1} GFLOP/s), weight grad {wgrad:.0} ({:.1} GFLOP/s)",
            direct / burn,
            direct * flops / 1e9,
            input_grad * flops / 1e9,
            wgrad * flops / 1e9,
        );
    }
    // (batch, in, out): a pretext head's two layers, a transformation head's on its pairs,
    // the classifier's two layers at the inference batch.
    for (batch, cin, cout) in [(64, 96, 256), (64, 256, 165), (16, 96, 256), (256, 96, 1024), (256, 1024, 19)] {
        let x = Tensor::<2>::random([batch, cin], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<2>::random([cin, cout], Distribution::Normal(0.0, 0.1), &device);
        let xs: Vec<f32> = x.clone().into_data().try_to_vec().unwrap();
        let ws: Vec<f32> = w.clone().transpose().into_data().try_to_vec().unwrap();
        let g: Vec<f32> = vec![0.5; batch * cout];
        let shape = Correlation { batch: 1, in_channels: cin, in_len: batch, out_channels: cout, kernel: 1, pad: 0 };
        let per_batch = |rate: f64| rate * batch as f64 / BATCH as f64;
        let burn = per_batch(rate(20, || {
            let _ = x.clone().matmul(w.clone()).into_data();
        }));
        let direct = per_batch(rate(20, || {
            let _ = correlate(level, &xs, &ws, None, false, shape);
        }));
        let input_shape =
            Correlation { batch: 1, in_channels: cout, in_len: batch, out_channels: cin, kernel: 1, pad: 0 };
        let input_grad = per_batch(rate(20, || {
            let _ = correlate(level, &g, &ws, None, false, input_shape);
        }));
        let wshape =
            WeightGrad { batch: 1, out_channels: cout, grad_len: batch, in_channels: cin, x_len: batch, kernel: 1 };
        let wgrad = per_batch(rate(20, || {
            let _ = weight_grad(level, &xs, &g, wshape);
        }));
        println!(
            "dense {cin}->{cout} batch {batch}: burn forward {burn:.0} windows/s; direct forward {direct:.0} ({:.2}x), input grad {input_grad:.0}, weight grad {wgrad:.0}",
            direct / burn,
        );
    }
}
