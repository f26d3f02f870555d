//! Shapes and loss values of the model on hand-made tensors (CPU backend), and pim's own
//! dense layers and losses against Burn's, in values and gradients.

use burn::nn::LinearConfig;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, relu};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::config::ModelConfig;

fn device() -> Device {
    Device::flex()
}

#[test]
fn encoder_embeds_a_dsads_batch_into_96_values() {
    let model = ModelConfig::default();
    // Kernels 24, 16 and 8 consume 23 + 15 + 7 samples; one must remain.
    assert_eq!(model.min_window(), 46);
    let encoder = model.encoder(45).init(&device());
    let embedding = encoder.forward(Tensor::zeros([4, 45, 125], &device()));
    assert_eq!(embedding.dims(), [4, 96]);
    // The shortest window still gives one value per filter.
    assert_eq!(encoder.forward(Tensor::zeros([2, 45, 46], &device())).dims(), [2, 96]);
}

#[test]
fn pretext_head_gives_bins_per_column() {
    let head = ModelConfig::default().pretext_head(15, 11).init(&device());
    assert_eq!(head.forward(Tensor::zeros([3, 96], &device())).dims(), [3, 15, 11]);
}

#[test]
fn uniform_logits_cost_ln_bins() {
    // All-zero logits give probability 1/11 to every bin: cross-entropy ln 11 whatever
    // the targets.
    let head = ModelConfig::default().pretext_head(2, 11).init(&device());
    let logits = Tensor::<3>::zeros([3, 2, 11], &device());
    let targets = Tensor::<2, Int>::from_data([[0, 10], [5, 5], [1, 2]], &device());
    let loss: f32 = head.loss(logits, targets).into_scalar();
    assert!((loss - 11f32.ln()).abs() < 1e-6, "loss {loss}, expected ln 11");
}

#[test]
fn confident_right_logits_cost_nearly_nothing_and_wrong_ones_a_lot() {
    // Logit 20 on the target bin: loss = ln(1 + 10 e^-20) ~ 2e-8. On a wrong bin: ~20.
    let head = ModelConfig::default().pretext_head(1, 11).init(&device());
    let mut logits = [[[0f32; 11]]; 2];
    logits[0][0][3] = 20.0;
    logits[1][0][3] = 20.0;
    let logits = Tensor::<3>::from_data(logits, &device());
    let right: f32 = head.loss(logits.clone(), Tensor::from_data([[3], [3]], &device())).into_scalar();
    let wrong: f32 = head.loss(logits, Tensor::from_data([[4], [4]], &device())).into_scalar();
    assert!(right < 1e-6, "right {right}");
    assert!((wrong - 20.0).abs() < 1e-3, "wrong {wrong}");
}

#[test]
fn classifier_gives_one_logit_per_class() {
    let classifier = ModelConfig::default().classifier(19).init(&device());
    assert_eq!(classifier.forward(Tensor::zeros([5, 96], &device())).dims(), [5, 19]);
}

#[test]
fn decoder_restores_the_window_shape_from_the_feature_map() {
    let encoder = ModelConfig::default().encoder(45).init(&device());
    let features = encoder.features(Tensor::zeros([2, 45, 125], &device()));
    assert_eq!(features.dims(), [2, 80, 96], "time-major: [batch, time, filters]");
    let decoder = ModelConfig::default().decoder(45).init(&device());
    assert_eq!(decoder.forward(features).dims(), [2, 45, 125]);
}

#[test]
fn masked_loss_is_the_mse_of_masked_steps_only() {
    // One window, 2 channels x 4 steps; steps 1 and 3 masked. Errors at masked steps:
    // channel 0: 1, 2; channel 1: 3, 0 -> (1 + 4 + 9 + 0) / 4 = 3.5.
    let original = Tensor::<3>::zeros([1, 2, 4], &device());
    let mask = Tensor::<2>::from_data([[0.0, 1.0, 0.0, 1.0]], &device());
    let reconstruction = |unmasked: f32| {
        Tensor::<3>::from_data([[[unmasked, 1.0, unmasked, 2.0], [unmasked, 3.0, -unmasked, 0.0]]], &device())
    };
    for unmasked in [0.0, 5.0, -100.0] {
        let loss: f32 = masked_mse(reconstruction(unmasked), original.clone(), mask.clone()).into_scalar();
        assert!((loss - 3.5).abs() < 1e-6, "unmasked error {unmasked} changed the loss to {loss}");
    }
}

#[test]
fn fused_inference_gives_the_layer_by_layer_embedding_to_the_bit() {
    use burn::tensor::Distribution;
    let encoder = ModelConfig::default().encoder(45).init(&device());
    let windows = Tensor::<3>::random([5, 45, 125], Distribution::Normal(0.0, 1.0), &device());
    let fused: Vec<f32> = encoder.forward(windows.clone()).into_data().try_to_vec().unwrap();
    let layered: Vec<f32> = encoder::max_over_time(encoder.features(windows)).into_data().try_to_vec().unwrap();
    assert_eq!(fused.len(), 5 * 96);
    // Both split each layer the same way and sum in the same order.
    assert!(fused == layered, "the fused pass is not the layer-by-layer one's bits");
}

#[test]
fn binary_cross_entropy_by_hand() {
    // Logit 0: ln 2 whatever the label. Logit ln 3 (p = 3/4) on label 1: ln(4/3); on
    // label 0: ln 4. Mean of the four: (2 ln 2 + ln(4/3) + ln 4) / 4.
    let logits = Tensor::<1>::from_data([0.0, 0.0, 3f32.ln(), 3f32.ln()], &device());
    let labels = Tensor::<1>::from_data([0.0, 1.0, 1.0, 0.0], &device());
    let loss: f32 = binary_cross_entropy(logits, labels).into_scalar();
    let expected = (2.0 * 2f32.ln() + (4f32 / 3.0).ln() + 4f32.ln()) / 4.0;
    assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
    // Huge logits stay finite.
    let loss: f32 =
        binary_cross_entropy(Tensor::from_data([200.0, -200.0], &device()), Tensor::from_data([0.0, 1.0], &device()))
            .into_scalar();
    assert!((loss - 200.0).abs() < 1e-3, "{loss}");
}

#[test]
fn loss_gradients_by_hand() {
    // Cross-entropy of logits [0, ln 3] (p = 1/4, 3/4): the gradient is (p - one-hot) / rows.
    let (ce, grad) =
        loss::loss_and_grad(loss::LossKind::CrossEntropy, &[0.0, 3f32.ln()], &[1, 2], &[1.0], None, Some(1.0));
    assert!((ce - (4.0f64 / 3.0).ln()).abs() < 1e-7, "{ce}");
    let grad = grad.unwrap();
    assert!((grad[0] - 0.25).abs() < 1e-7 && (grad[1] + 0.25).abs() < 1e-7, "{grad:?}");
    // Binary cross-entropy of logit ln 3 on label 0 and 1: sigmoid - label, over 2 items, times 2.
    let (_, grad) =
        loss::loss_and_grad(loss::LossKind::BinaryCrossEntropy, &[3f32.ln(); 2], &[2], &[0.0, 1.0], None, Some(2.0));
    let grad = grad.unwrap();
    assert!((grad[0] - 0.75).abs() < 1e-7 && (grad[1] + 0.25).abs() < 1e-7, "{grad:?}");
    // Masked error of [[1, 2]] against zeros, step 1 masked: 2 e / (1 step x 1 channel) at
    // the masked step, nothing at the other.
    let (mse, grad) = loss::loss_and_grad(
        loss::LossKind::MaskedSquaredError,
        &[1.0, 2.0],
        &[1, 1, 2],
        &[0.0, 0.0],
        Some(&[0.0, 1.0]),
        Some(1.0),
    );
    assert_eq!((mse, grad.unwrap()), (4.0, vec![0.0, 4.0]));
}

fn random_values(rng: &mut ChaCha8Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn leaf<const D: usize>(values: &[f32], dims: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(values.to_vec(), dims), device).require_grad()
}

/// Largest difference of two tensors' values, relative to the larger magnitude of `want`
/// (at least 1).
fn relative_error<const D: usize>(got: Tensor<D>, want: Tensor<D>) -> f32 {
    let got: Vec<f32> = got.into_data().try_to_vec().unwrap();
    let want: Vec<f32> = want.into_data().try_to_vec().unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    got.iter().zip(&want).fold(0f32, |m, (g, w)| m.max((g - w).abs())) / scale
}

/// f32 sums of up to a few thousand terms (Burn's) against f64 sums (pim's): 1e-5 of the
/// largest value leaves room for Burn's rounding.
const TOLERANCE: f32 = 1e-5;

#[test]
fn losses_match_burn_in_values_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (rows, classes, scale) in [(1, 2, 1.0), (7, 11, 4.0), (64 * 15, 11, 8.0), (3, 19, 30.0)] {
        let logits = random_values(&mut rng, rows * classes, scale);
        let targets: Vec<i64> = (0..rows).map(|_| rng.random_range(0..classes as i64)).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [rows]), &device);
        let (mine, burns) = (leaf(&logits, [rows, classes], &device), leaf(&logits, [rows, classes], &device));
        let my_loss = cross_entropy(mine.clone(), targets.clone());
        let burn_loss = CrossEntropyLossConfig::new().init(&device).forward(burns.clone(), targets);
        let (my_grads, burn_grads) = ((my_loss.clone() * 3.0).backward(), (burn_loss.clone() * 3.0).backward());
        assert!(relative_error(my_loss, burn_loss) < TOLERANCE, "cross-entropy of {rows} x {classes}");
        let grad = relative_error(mine.grad(&my_grads).unwrap(), burns.grad(&burn_grads).unwrap());
        assert!(grad < TOLERANCE, "cross-entropy gradient of {rows} x {classes} differs by {grad}");
    }
    for (n, scale) in [(1, 1.0), (16, 5.0), (128, 60.0)] {
        let logits = random_values(&mut rng, n, scale);
        let labels: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
        let labels = Tensor::<1>::from_data(TensorData::new(labels, [n]), &device);
        let (mine, burns) = (leaf(&logits, [n], &device), leaf(&logits, [n], &device));
        let my_loss = binary_cross_entropy(mine.clone(), labels.clone());
        let burn_loss =
            -(log_sigmoid(burns.clone()) * labels.clone() + log_sigmoid(-burns.clone()) * (-labels + 1.0)).mean();
        let (my_grads, burn_grads) = (my_loss.clone().backward(), burn_loss.clone().backward());
        assert!(relative_error(my_loss, burn_loss) < TOLERANCE, "binary cross-entropy of {n}");
        let grad = relative_error(mine.grad(&my_grads).unwrap(), burns.grad(&burn_grads).unwrap());
        assert!(grad < TOLERANCE, "binary cross-entropy gradient of {n} differs by {grad}");
    }
    for [batch, channels, time] in [[1, 1, 3], [3, 45, 125], [2, 6, 7]] {
        let recon = random_values(&mut rng, batch * channels * time, 2.0);
        let original = random_values(&mut rng, batch * channels * time, 2.0);
        let mut mask: Vec<f32> = (0..batch * time).map(|_| if rng.random_bool(0.3) { 1.0 } else { 0.0 }).collect();
        mask[time - 1] = 1.0;
        let original = Tensor::<3>::from_data(TensorData::new(original, [batch, channels, time]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [batch, time]), &device);
        let (mine, burns) =
            (leaf(&recon, [batch, channels, time], &device), leaf(&recon, [batch, channels, time], &device));
        let my_loss = masked_mse(mine.clone(), original.clone(), mask.clone());
        let weights = mask.reshape([batch, 1, time]);
        let count = weights.clone().sum() * channels as f64;
        let burn_loss = ((burns.clone() - original).powi_scalar(2) * weights).sum() / count;
        let (my_grads, burn_grads) = (my_loss.clone().backward(), burn_loss.clone().backward());
        assert!(relative_error(my_loss, burn_loss) < TOLERANCE, "masked error of {batch} x {channels} x {time}");
        let grad = relative_error(mine.grad(&my_grads).unwrap(), burns.grad(&burn_grads).unwrap());
        assert!(grad < TOLERANCE, "masked error gradient of {batch} x {channels} x {time} differs by {grad}");
    }
}

#[test]
fn dense_layers_match_burn_in_values_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // The heads' layers (96 -> 256 -> 165, 96 -> 1024 -> 19) and edge cases.
    for (batch, inputs, outputs) in
        [(64, 96, 256), (64, 256, 165), (5, 96, 1024), (5, 1024, 19), (1, 1, 1), (3, 17, 33)]
    {
        for with_relu in [false, true] {
            let linear = LinearConfig::new(inputs, outputs).init(&device);
            let x = random_values(&mut rng, batch * inputs, 1.0);
            let (mine, burns) = (leaf(&x, [batch, inputs], &device), leaf(&x, [batch, inputs], &device));
            let r = Tensor::<2>::from_data(
                TensorData::new(random_values(&mut rng, batch * outputs, 1.0), [batch, outputs]),
                &device,
            );
            let my_out = conv::dense(&linear, mine.clone(), with_relu);
            let burn_out = linear.forward(burns.clone());
            let burn_out = if with_relu { relu(burn_out) } else { burn_out };
            let my_grads = (my_out.clone() * r.clone()).sum().backward();
            let burn_grads = (burn_out.clone() * r).sum().backward();
            let what = format!("{batch} x {inputs} -> {outputs}, relu {with_relu}");
            assert!(relative_error(my_out, burn_out) < TOLERANCE, "{what}: outputs differ");
            let grad_x = relative_error(mine.grad(&my_grads).unwrap(), burns.grad(&burn_grads).unwrap());
            assert!(grad_x < TOLERANCE, "{what}: input gradients differ by {grad_x}");
            let (weight, bias) = (linear.weight.val(), linear.bias.as_ref().unwrap().val());
            let grad_w = relative_error(weight.grad(&my_grads).unwrap(), weight.grad(&burn_grads).unwrap());
            assert!(grad_w < TOLERANCE, "{what}: weight gradients differ by {grad_w}");
            let grad_b = relative_error(bias.grad(&my_grads).unwrap(), bias.grad(&burn_grads).unwrap());
            assert!(grad_b < TOLERANCE, "{what}: bias gradients differ by {grad_b}");
        }
    }
}
