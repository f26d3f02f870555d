//! Shapes and loss values of the model on hand-made tensors (CPU backend).

use burn::prelude::*;

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
