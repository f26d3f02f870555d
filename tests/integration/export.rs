//! `pim embed` and `pim export` through the binary on the bundled sample, checked without
//! Python: the export's names, shapes and metadata, and a naive re-implementation of the
//! encoder on the exported tensors that must reproduce `pim embed`'s embeddings.

use std::fs;

use crate::common::{pim, root};
use ndarray::{Array1, Array2, Array3, ArrayView2, s};
use ndarray_npy::ReadNpyExt;
use safetensors::SafeTensors;

fn run(args: &[&str]) {
    let output = pim().arg("-q").args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// One exported tensor as f32 values and its shape.
fn tensor(tensors: &SafeTensors, name: &str) -> (Vec<f32>, Vec<usize>) {
    let view = tensors.tensor(name).unwrap_or_else(|_| panic!("the export has no {name}"));
    assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
    let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (values, view.shape().to_vec())
}

/// PyTorch's Conv1d without padding, then ReLU: `x` is [in, time], `weight` [out, in, k].
fn conv_relu(x: ArrayView2<f32>, weight: &Array3<f32>, bias: &Array1<f32>) -> Array2<f32> {
    let (out, _, k) = weight.dim();
    let steps = x.ncols() - k + 1;
    Array2::from_shape_fn((out, steps), |(o, t)| {
        let sum: f64 =
            (0..k).map(|j| (0..x.nrows()).map(|i| f64::from(weight[[o, i, j]] * x[[i, t + j]])).sum::<f64>()).sum();
        (sum as f32 + bias[o]).max(0.0)
    })
}

#[test]
fn exported_weights_reproduce_pims_embeddings_in_a_naive_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let (config, sample) = (root().join("configs/dsads.json"), root().join("data/dsads-sample"));
    let (config, sample) = (config.to_str().unwrap(), sample.to_str().unwrap());
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (labels, pretrained, tuned) = (path("labels"), path("pretrain"), path("finetune"));
    run(&["pseudo-label", "--config", config, "--data-dir", sample, "--out", &labels]);
    run(&[
        "pretrain",
        "--config",
        config,
        "--labels",
        &labels,
        "--windows",
        &labels,
        "--epochs",
        "1",
        "--out",
        &pretrained,
    ]);
    run(&[
        "finetune",
        "--config",
        config,
        "--windows",
        &labels,
        "--init",
        &pretrained,
        "--shots",
        "2",
        "--epochs",
        "2",
        "--out",
        &tuned,
    ]);
    run(&["embed", "--run", &tuned, "--windows", &labels]);
    run(&["export", "--run", &tuned, "--format", "safetensors"]);

    let bytes = fs::read(dir.path().join("finetune/model.safetensors")).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = tensors.names().into_iter().map(String::from).collect();
    names.sort();
    let expected_shapes = [
        ("classifier.hidden.bias", vec![1024]),
        ("classifier.hidden.weight", vec![1024, 96]),
        ("classifier.output.bias", vec![19]),
        ("classifier.output.weight", vec![19, 1024]),
        ("encoder.convs.0.bias", vec![32]),
        ("encoder.convs.0.weight", vec![32, 45, 24]),
        ("encoder.convs.1.bias", vec![64]),
        ("encoder.convs.1.weight", vec![64, 32, 16]),
        ("encoder.convs.2.bias", vec![96]),
        ("encoder.convs.2.weight", vec![96, 64, 8]),
        ("encoder.mean", vec![45]),
        ("encoder.std", vec![45]),
    ];
    assert_eq!(names, expected_shapes.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>());
    for (name, shape) in &expected_shapes {
        assert_eq!(&tensor(&tensors, name).1, shape, "{name}");
    }
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap();
    assert_eq!(metadata["format"], "pt");
    let exported_config: serde_json::Value = serde_json::from_str(&metadata["pim_config"]).unwrap();
    assert_eq!(exported_config["finetune"]["shots"], 2);

    // The embeddings, recomputed from the export alone.
    let windows = Array3::<f32>::read_npy(fs::File::open(dir.path().join("labels/windows.npy")).unwrap()).unwrap();
    let embeddings =
        Array2::<f32>::read_npy(fs::File::open(dir.path().join("finetune/embeddings.npy")).unwrap()).unwrap();
    assert_eq!(embeddings.dim(), (304, 96));
    let vector = |name: &str| Array1::from(tensor(&tensors, name).0);
    let kernel = |name: &str| {
        let (values, shape) = tensor(&tensors, name);
        Array3::from_shape_vec((shape[0], shape[1], shape[2]), values).unwrap()
    };
    let (mean, std) = (vector("encoder.mean"), vector("encoder.std"));
    let layers: Vec<_> = (0..3)
        .map(|l| (kernel(&format!("encoder.convs.{l}.weight")), vector(&format!("encoder.convs.{l}.bias"))))
        .collect();
    for w in [0, 1, 150, 303] {
        let mut x = windows.slice(s![w, .., ..]).to_owned();
        for (c, mut channel) in x.rows_mut().into_iter().enumerate() {
            channel.mapv_inplace(|v| (v - mean[c]) / std[c]);
        }
        for (weight, bias) in &layers {
            x = conv_relu(x.view(), weight, bias);
        }
        for f in 0..96 {
            let naive = x.row(f).iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let got = embeddings[[w, f]];
            assert!((naive - got).abs() <= 1e-4 * naive.abs().max(1.0), "window {w}, feature {f}: {got} vs {naive}");
        }
    }
    let index = fs::read_to_string(dir.path().join("finetune/embeddings.csv")).unwrap();
    assert_eq!(index.lines().count(), 1 + 304);
    assert!(index.starts_with("subject,activity,source,start,split\n"));
}

#[test]
fn embed_and_export_refuse_an_unfinished_run() {
    let dir = tempfile::tempdir().unwrap();
    let (config, sample) = (root().join("configs/dsads.json"), root().join("data/dsads-sample"));
    let pretrained = dir.path().join("pretrain");
    pim()
        .args(["-q", "pretrain", "--method", "masked", "--epochs", "1", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&sample)
        .arg("--out")
        .arg(&pretrained)
        .assert()
        .success();
    // As if killed during its last writes: everything but the completion mark.
    fs::remove_file(pretrained.join("run.json")).unwrap();
    let unfinished = "is not a finished `pim pretrain` run (no run.json";
    let embeddings = dir.path().join("embeddings");
    pim()
        .args(["embed", "--run"])
        .arg(&pretrained)
        .arg("--data-dir")
        .arg(&sample)
        .arg("--out")
        .arg(&embeddings)
        .assert()
        .failure()
        .stderr(predicates::str::contains(unfinished));
    assert!(!embeddings.exists(), "nothing written");
    let file = dir.path().join("weights.safetensors");
    pim()
        .args(["export", "--run"])
        .arg(&pretrained)
        .arg("--out")
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicates::str::contains(unfinished));
    assert!(!file.exists(), "nothing written");
}
