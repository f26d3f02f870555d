//! One PIM optimiser step, written out for `scripts/compare_step.py` to repeat in PyTorch:
//! the pre-training network at its seeded initialisation, the first 64 training windows of
//! the bundled DSADS sample (normalised) with their pseudo-label bins, then the gradients of
//! the loss (dropout off) and the weights after one Adam step (lr 1e-3, eps 1e-8), each as
//! safetensors with PyTorch's names and layouts.
//!
//! `cargo run --release --example one_step -- OUT_DIR`

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use indicatif::ProgressBar;
use pim::PimConfig;
use pim::data::dataset_config::SplitRole;
use pim::labels::pseudo_label::pseudo_label;
use pim::model::PretrainModel;
use pim::progress::Silent;
use pim::train::backend::Backend;
use pim::train::objective::TaskColumns;
use pim::train::objective::{Objective, TaskTargets};
use pim::train::pretrain::init_model;
use pim::train::windows::{WindowSet, WindowSource, read_labels};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Replaces every parameter by its gradient.
struct Gradients<'a>(&'a GradientsParams);

impl ModuleMapper for Gradients<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let id = param.id;
        let gradient = self.0.get::<D>(id).expect("every parameter has a gradient");
        Param::initialized(id, gradient)
    }
}

fn save(tensors: Vec<(String, Vec<usize>, Vec<f32>)>, metadata: HashMap<String, String>, path: &Path) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> =
        tensors.into_iter().map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect())).collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap())
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, Some(metadata)).unwrap()).unwrap();
}

fn weights(model: &PretrainModel) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    model
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|t| {
            let (name, _, shape, _, bytes) = t.into_parts().unwrap();
            let values = bytes.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
            (name, shape.as_slice().to_vec(), values)
        })
        .collect()
}

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: one_step OUT_DIR"));
    std::fs::create_dir_all(&out).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = PimConfig::load(&root.join("configs/dsads.json")).unwrap();
    let labels = out.join("labels");
    pseudo_label(&config, &root.join("data/dsads-sample"), &labels, true, &[], &Silent).unwrap();
    let mut set =
        WindowSet::load(&config, &WindowSource::Prepared(labels.clone()), &SplitRole::ALL, &ProgressBar::hidden())
            .unwrap();
    let train = set.indices_of(SplitRole::Train);
    set.normalise(&set.fit_normaliser(&train), Path::new("data/dsads-sample")).expect("finite windows");
    let (names, bins) = read_labels(&labels, &set, config.labels.bins).unwrap();
    let tasks: Vec<TaskColumns> = config
        .pretrain
        .tasks
        .iter()
        .map(|&task| TaskColumns {
            task,
            columns: names.iter().filter(|n| n.starts_with(&format!("{}.", task.name()))).cloned().collect(),
        })
        .collect();
    let objective = Objective::Physics {
        targets: TaskTargets::new(&tasks, &names, &bins),
        tasks: tasks.clone(),
        weights: config.pretrain.loss_weights,
        reconstruction: None,
    };
    let device = Backend::Cpu.device(config.seed).unwrap().autodiff();
    let model = init_model(&config, set.channels, &objective, &device);
    let batch: Vec<usize> = train[..64].to_vec();

    let mut inputs = vec![(
        "windows".to_string(),
        vec![64, set.channels, set.time],
        batch.iter().flat_map(|&i| set.window(i).to_vec()).collect(),
    )];
    for task in &tasks {
        let positions: Vec<usize> = task.columns.iter().map(|c| names.iter().position(|n| n == c).unwrap()).collect();
        let targets: Vec<f32> =
            batch.iter().flat_map(|&i| positions.iter().map(|&p| f32::from(bins[i][p])).collect::<Vec<_>>()).collect();
        inputs.push((format!("targets.{}", task.task.name()), vec![64, positions.len()], targets));
    }
    // Where the max over time falls for each (window, filter): near-ties can fall elsewhere
    // under another summation order, and move that pair's whole gradient.
    let features = model.encoder.features(set.batch(&batch, &device));
    let argmax: Vec<f32> = features.argmax(1).into_data().convert::<f32>().try_to_vec().unwrap();
    inputs.push(("argmax".to_string(), vec![64, argmax.len() / 64], argmax));
    save(inputs, HashMap::new(), &out.join("batch.safetensors"));
    save(weights(&model), HashMap::new(), &out.join("initial.safetensors"));

    // Dropout off: the objective's evaluation path.
    let terms = objective.terms(&model, &set, &batch, None, &mut ChaCha8Rng::seed_from_u64(0), &device);
    let weights_of = objective.term_weights();
    let total =
        terms.into_iter().zip(weights_of).map(|(t, w)| t.expect("a term").loss * w).reduce(|a, b| a + b).unwrap();
    let loss: f32 = total.clone().into_scalar();
    let grads = GradientsParams::from_grads(total.backward(), &model);
    let gradient_model = model.clone().map(&mut Gradients(&grads));
    let metadata = HashMap::from([("loss".to_string(), format!("{loss}"))]);
    save(weights(&gradient_model), metadata, &out.join("gradients.safetensors"));
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let updated = optimizer.step(1e-3, model, grads);
    save(weights(&updated), HashMap::new(), &out.join("updated.safetensors"));
    println!("pim: loss {loss}; wrote batch, initial, gradients and updated weights to {}", out.display());
}
