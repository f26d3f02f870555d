//! Benchmark: training throughput of the three pre-training methods and inference
//! throughput of the fine-tuned network, on Burn with pim's kernels, at DSADS shapes
//! (45 channels x 125 samples; speed, angle and symmetry heads of 5, 15 and 2 columns x 11
//! bins; Adam). PIM's training step and the inference pass (encoder and classifier, batches
//! of 256, to the predicted class) have a PyTorch twin in `scripts/bench_torch.py`; the
//! baselines' steps (masked reconstruction, transformation discrimination) go through the
//! same objectives `pim pretrain` uses. Prints one JSON line, which
//! `scripts/bench_train.sh` sets beside PyTorch measured in the same run.
//!
//! `cargo bench --bench train [-- cpu|gpu] [-- --steps N]`

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use pim::PimConfig;
use pim::config::Task;
use pim::data::ChannelLayout;
use pim::data::Normaliser;
use pim::data::dataset_config::SplitRole;
use pim::data::transform::WindowShape;
use pim::model::DropoutMasks;
use pim::model::PretrainModel;
use pim::train::backend::Backend;
use pim::train::finetune::ClassifierModel;
use pim::train::objective::TaskColumns;
use pim::train::objective::{Objective, TaskTargets};
use pim::train::pretrain::init_model;
use pim::train::windows::WindowSet;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

// The allocator of the `pim` binary, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 64;
const INFERENCE_BATCH: usize = 256;
const CHANNELS: usize = 45;
const TIME: usize = 125;
const ROUNDS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Items per second of `run` (median of rounds of `reps` calls of `items` each), after one
/// warm-up call.
fn rate(reps: usize, items: usize, mut run: impl FnMut()) -> f64 {
    run();
    median(
        (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..reps {
                    run();
                }
                (reps * items) as f64 / started.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// A window set of `n` standard-normal training windows.
fn random_windows(n: usize) -> WindowSet {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    WindowSet {
        channels: CHANNELS,
        time: TIME,
        inputs: (0..n * CHANNELS * TIME).map(|_| rng.random_range(-2.0f32..2.0)).collect(),
        keys: (0..n).map(|i| (format!("w{i}"), 0)).collect(),
        mapped: None,
        rows: (0..n).collect(),
        subjects: vec!["p1".into(); n],
        roles: vec![SplitRole::Train; n],
        classes: vec![None; n],
        notices: Vec::new(),
    }
}

/// Training windows per second of `objective`'s steps (forward, backward, Adam).
fn train_rate(config: &PimConfig, objective: &Objective, set: &WindowSet, device: &Device, steps: usize) -> f64 {
    let mut model: PretrainModel = init_model(config, CHANNELS, objective, device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut masks = DropoutMasks::new(0, 0, config.model.dropout);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let batch: Vec<usize> = (0..BATCH).collect();
    rate(steps, BATCH, || {
        let terms = objective.terms(&model, set, &batch, Some(&mut masks), &mut rng, device);
        let total = terms.into_iter().flatten().map(|t| t.loss).reduce(|a, b| a + b).expect("a term");
        let _: f32 = total.clone().into_scalar();
        let grads = GradientsParams::from_grads(total.backward(), &model);
        model = optimizer.step(1e-3, model.clone(), grads);
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend: Backend = args.iter().find_map(|a| a.parse().ok()).unwrap_or_default();
    let steps: usize = args.iter().position(|a| a == "--steps").map_or(20, |i| args[i + 1].parse().unwrap());
    let config: PimConfig = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/dsads.json")).unwrap(),
    )
    .unwrap();
    let device = backend.device(0).expect("the backend is available");
    let training = device.clone().autodiff();
    let set = random_windows(BATCH);

    let tasks: Vec<TaskColumns> = [(Task::Speed, 5), (Task::Angle, 15), (Task::Symmetry, 2)]
        .into_iter()
        .map(|(task, n)| TaskColumns { task, columns: (0..n).map(|i| format!("c{i}")).collect() })
        .collect();
    let names: Vec<String> = tasks.iter().flat_map(|t| t.columns.clone()).collect();
    let bins: Vec<Vec<u8>> = (0..BATCH).map(|w| (0..names.len()).map(|c| ((w * 7 + c) % 11) as u8).collect()).collect();
    let pim = Objective::Physics {
        targets: TaskTargets::new(&tasks, &names, &bins),
        tasks,
        weights: config.pretrain.loss_weights,
        reconstruction: None,
    };
    let masked = Objective::Masked { ratio: config.pretrain.mask_ratio };
    let transform = Objective::Transform {
        config: config.pretrain.transform.clone(),
        shape: WindowShape::new(&ChannelLayout::new(&config.dataset), TIME),
        normaliser: Normaliser { mean: vec![0.0; CHANNELS], std: vec![1.0; CHANNELS] },
    };
    let pim_rate = train_rate(&config, &pim, &set, &training, steps);
    let masked_rate = train_rate(&config, &masked, &set, &training, steps / 2);
    let transform_rate = train_rate(&config, &transform, &set, &training, steps / 2);

    let model = ClassifierModel::init(&config, CHANNELS, &training).valid();
    let windows = Tensor::<3>::random([INFERENCE_BATCH, CHANNELS, TIME], Distribution::Normal(0.0, 1.0), &device);
    let inference_rate = rate(steps / 2, INFERENCE_BATCH, || {
        let logits = model.classifier.forward(model.encoder.forward(windows.clone()));
        let _ = logits.argmax(1).into_data();
    });
    println!(
        "{{\"framework\": \"burn-{}\", \"threads\": {}, \"train_windows_per_s\": {pim_rate:.1}, \"inference_windows_per_s\": {inference_rate:.1}, \"masked_train_windows_per_s\": {masked_rate:.1}, \"transform_train_windows_per_s\": {transform_rate:.1}}}",
        match backend {
            Backend::Cpu => "flex",
            Backend::Gpu => "wgpu",
        },
        rayon::current_num_threads(),
    );
}
