//! Benchmark: training and inference throughput of the PIM network on Burn, DSADS shapes
//! (batch 64 of 45 channels x 125 samples; speed, angle and symmetry heads of 5, 15 and
//! 2 columns x 11 bins; Adam). Prints one JSON line per backend so that
//! `scripts/bench_train.sh` can set it beside PyTorch measured in the same run.
//!
//! `cargo bench --bench train [-- cpu|gpu] [-- --steps N]`

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use pim::PimConfig;
use pim::labels::Task;
use pim::model::DropoutMasks;
use pim::train::backend::Backend;
use pim::train::objective::{Objective, TaskTargets};
use pim::train::pretrain::{PretrainModel, TaskColumns, init_model};

const BATCH: usize = 64;
const CHANNELS: usize = 45;
const TIME: usize = 125;
const ROUNDS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend: Backend = args.iter().find_map(|a| a.parse().ok()).unwrap_or_default();
    let steps: usize = args.iter().position(|a| a == "--steps").map_or(20, |i| args[i + 1].parse().unwrap());
    let config: PimConfig = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/dsads.json")).unwrap(),
    )
    .unwrap();
    let tasks: Vec<TaskColumns> = [(Task::Speed, 5), (Task::Angle, 15), (Task::Symmetry, 2)]
        .into_iter()
        .map(|(task, n)| TaskColumns { task, columns: (0..n).map(|i| format!("c{i}")).collect() })
        .collect();
    let device = backend.device(0).expect("the backend is available");
    let training = device.clone().autodiff();
    let names: Vec<String> = tasks.iter().flat_map(|t| t.columns.clone()).collect();
    let objective = Objective::Physics {
        targets: TaskTargets::new(&tasks, &names, &[vec![0; names.len()]]),
        tasks: tasks.clone(),
        weights: config.pretrain.loss_weights,
    };
    let mut model = init_model(&config, CHANNELS, &objective, &training);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let input = Tensor::<3>::random([BATCH, CHANNELS, TIME], Distribution::Normal(0.0, 1.0), &training);
    let targets: Vec<Tensor<2, Int>> = tasks
        .iter()
        .map(|t| {
            let n = t.columns.len();
            let values: Vec<i64> = (0..BATCH * n).map(|i| (i * 7 % 11) as i64).collect();
            Tensor::from_data(TensorData::new(values, [BATCH, n]), &training)
        })
        .collect();

    let mut masks = DropoutMasks::new(0, 0, config.model.dropout);
    let mut step = |model: PretrainModel| -> PretrainModel {
        let embedding = model.encoder.forward_train(input.clone(), &mut masks);
        let mut total = None;
        for (head, target) in model.heads.iter().zip(&targets) {
            let loss = head.loss(head.forward(embedding.clone()), target.clone());
            total = Some(match total {
                Some(sum) => sum + loss,
                None => loss,
            });
        }
        let total: Tensor<1> = total.unwrap();
        let _: f32 = total.clone().into_scalar();
        let grads = GradientsParams::from_grads(total.backward(), &model);
        optimizer.step(1e-3, model, grads)
    };
    for _ in 0..3 {
        model = step(model);
    }
    let mut train_rates = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..steps {
            model = step(model);
        }
        train_rates.push((steps * BATCH) as f64 / started.elapsed().as_secs_f64());
    }

    let inference = model.valid();
    let plain_input = Tensor::<3>::random([BATCH, CHANNELS, TIME], Distribution::Normal(0.0, 1.0), &device);
    let infer = || {
        let embedding = inference.encoder.forward(plain_input.clone());
        for head in &inference.heads {
            let _ = head.forward(embedding.clone()).into_data();
        }
    };
    infer();
    let mut infer_rates = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..steps * 2 {
            infer();
        }
        infer_rates.push((steps * 2 * BATCH) as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "{{\"framework\": \"burn-{}\", \"threads\": {}, \"train_windows_per_s\": {:.1}, \"inference_windows_per_s\": {:.1}}}",
        match backend {
            Backend::Cpu => "flex",
            Backend::Gpu => "wgpu",
        },
        rayon::current_num_threads(),
        median(train_rates),
        median(infer_rates)
    );
}
