//! Benchmark: pim's direct convolution kernels against Burn's own convolution (im2col and
//! a matrix product on flex), measured in the same run, on the encoder's three layers at
//! DSADS shapes (batch 64): forward, input gradient and weight gradient. Prints one line
//! per layer and pass with windows/s and the ratio to Burn.
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
}
