//! The nearest-centroid probe: a quick, training-free macro-F1 of how well the frozen
//! encoder's embedding separates the activities, scored after every epoch.

use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::metrics::ConfusionMatrix;
use crate::model::Encoder;
use crate::train::windows::WindowSet;

/// Macro-F1 of a nearest-centroid probe of the frozen `encoder` on the labelled `windows`:
/// each class's windows are split in two halves by a seeded shuffle, and each half is
/// classified by the nearest class centroid (cosine) of the other half. A quick, training-free
/// measure of how well the embedding separates the activities.
pub fn probe(encoder: &Encoder, set: &WindowSet, windows: &[usize], seed: u64, device: &Device) -> f64 {
    let width = encoder.embedding_size();
    let mut embeddings = Vec::with_capacity(windows.len() * width);
    for batch in windows.chunks(256) {
        let values: Vec<f32> =
            encoder.forward(set.batch(batch, device)).into_data().try_to_vec().expect("f32 embeddings");
        embeddings.extend(values.into_iter().map(f64::from));
    }
    let classes: Vec<usize> = windows.iter().map(|&i| set.classes[i].expect("probe windows are labelled")).collect();
    nearest_centroid_macro_f1(&embeddings, width, &classes, seed)
}

/// The probe of [`probe`] on `embeddings` (`[windows, width]`, row-major) of windows of
/// `classes`.
pub fn nearest_centroid_macro_f1(embeddings: &[f64], width: usize, classes: &[usize], seed: u64) -> f64 {
    let unit: Vec<Vec<f64>> = embeddings
        .chunks(width)
        .map(|e| {
            let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            e.iter().map(|v| v / norm).collect()
        })
        .collect();
    let n_classes = classes.iter().max().map_or(0, |&c| c + 1);
    let mut half = vec![0usize; classes.len()];
    for class in 0..n_classes {
        let mut members: Vec<usize> = (0..classes.len()).filter(|&k| classes[k] == class).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(class as u64);
        members.shuffle(&mut rng);
        for (j, &k) in members.iter().enumerate() {
            half[k] = j % 2;
        }
    }
    // Unit centroids of each class in each half (None where a half holds none of it).
    let centroids: Vec<[Option<Vec<f64>>; 2]> = (0..n_classes)
        .map(|class| {
            [0, 1].map(|h| {
                let members: Vec<&Vec<f64>> =
                    (0..classes.len()).filter(|&k| classes[k] == class && half[k] == h).map(|k| &unit[k]).collect();
                (!members.is_empty()).then(|| {
                    let sum: Vec<f64> = (0..width).map(|d| members.iter().map(|m| m[d]).sum::<f64>()).collect();
                    let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                    sum.iter().map(|v| v / norm).collect()
                })
            })
        })
        .collect();
    let predicted: Vec<usize> = (0..classes.len())
        .map(|k| {
            let other = 1 - half[k];
            let cosine = |c: &Vec<f64>| c.iter().zip(&unit[k]).map(|(a, b)| a * b).sum::<f64>();
            (0..n_classes)
                .filter_map(|c| centroids[c][other].as_ref().map(|centroid| (c, cosine(centroid))))
                .fold(
                    None,
                    |best: Option<(usize, f64)>, (c, s)| if best.is_none_or(|b| s > b.1) { Some((c, s)) } else { best },
                )
                .map_or(classes[k], |(c, _)| c)
        })
        .collect();
    ConfusionMatrix::new(n_classes, classes, &predicted).macro_f1()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_of_separated_classes_is_perfect_and_of_identical_embeddings_is_not() {
        // Three classes along three axes, four windows each, slightly jittered.
        let classes: Vec<usize> = (0..12).map(|k| k % 3).collect();
        let separated: Vec<f64> = classes
            .iter()
            .enumerate()
            .flat_map(|(k, &c)| (0..3).map(move |d| if d == c { 1.0 } else { 0.01 * k as f64 }))
            .collect();
        assert_eq!(nearest_centroid_macro_f1(&separated, 3, &classes, 0), 1.0);
        // Identical embeddings: every window goes to the first class.
        let identical = vec![1.0; 12 * 3];
        let f1 = nearest_centroid_macro_f1(&identical, 3, &classes, 0);
        assert!(
            (f1 - (0.5 / 3.0)).abs() < 1e-12,
            "one class at recall 1, precision 1/3: F1 0.5 of 3 classes, got {f1}"
        );
    }
}
