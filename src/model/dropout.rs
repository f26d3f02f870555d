//! Dropout whose masks come from a seeded generator the training loop owns.
//!
//! Burn's `Dropout` draws each element from the backend's process-wide generator; on the
//! flex CPU backend that generator sits behind a lock and cost about half of the encoder's
//! forward pass when measured on a 2-core machine. Drawing the whole mask in bulk from a
//! ChaCha8 stream is faster, and ties the masks to (seed, epoch) so an interrupted run
//! resumes with the same masks.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Inverted dropout: keeps each element with probability `1 - prob`, scaled by
/// `1 / (1 - prob)`, so the expected activation is unchanged.
pub struct DropoutMasks {
    rng: ChaCha8Rng,
    prob: f64,
}

impl DropoutMasks {
    /// Masks for one epoch of a run: stream `epoch` of `seed`.
    pub fn new(seed: u64, epoch: u64, prob: f64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD809_0C7E_D809_0C7E);
        rng.set_stream(epoch);
        DropoutMasks { rng, prob }
    }

    /// `x` with dropout applied.
    pub fn apply<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        if self.prob == 0.0 {
            return x;
        }
        let shape = x.shape();
        let keep = 1.0 - self.prob;
        // Compare 32 random bits with keep * 2^32 per element. The bits are drawn in bulk:
        // the same stream, word for word, as one `next_u32` per element.
        let threshold = (keep * 4_294_967_296.0) as u64;
        let scale = (1.0 / keep) as f32;
        let mut bits = vec![0u32; shape.num_elements()];
        self.rng.fill(bits.as_mut_slice());
        let mask: Vec<f32> = bits.iter().map(|&b| if u64::from(b) < threshold { scale } else { 0.0 }).collect();
        let mask = Tensor::from_data(TensorData::new(mask, shape), &x.device());
        x * mask
    }
}

#[cfg(test)]
mod tests {
    use rand::RngCore;

    use super::*;

    #[test]
    fn keeps_about_one_minus_p_and_rescales() {
        let device = Device::flex();
        let mut masks = DropoutMasks::new(0, 1, 0.25);
        let out: Vec<f32> = masks.apply(Tensor::<1>::ones([40_000], &device)).into_data().try_to_vec().unwrap();
        let kept = out.iter().filter(|&&v| v != 0.0).count() as f64 / out.len() as f64;
        // Binomial(40000, 0.75): standard deviation 0.0022, so 0.01 is over 4 sigma.
        assert!((kept - 0.75).abs() < 0.01, "kept {kept}");
        assert!(out.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn same_seed_and_epoch_give_the_same_mask() {
        let device = Device::flex();
        let draw = |seed, epoch| -> Vec<f32> {
            DropoutMasks::new(seed, epoch, 0.5)
                .apply(Tensor::<1>::ones([64], &device))
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        assert_eq!(draw(3, 2), draw(3, 2));
        assert_ne!(draw(3, 2), draw(3, 3));
        assert_ne!(draw(3, 2), draw(4, 2));
    }

    #[test]
    fn bulk_bits_are_the_per_element_stream() {
        // The masks of earlier builds drew one next_u32 per element; bulk filling must not
        // change them.
        let device = Device::flex();
        let out: Vec<f32> =
            DropoutMasks::new(5, 3, 0.5).apply(Tensor::<1>::ones([100], &device)).into_data().try_to_vec().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5 ^ 0xD809_0C7E_D809_0C7E);
        rng.set_stream(3);
        let want: Vec<f32> = (0..100).map(|_| if rng.next_u32() < 1 << 31 { 2.0 } else { 0.0 }).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn zero_probability_is_the_identity() {
        let device = Device::flex();
        let x = Tensor::<1>::from_data([1.0, -2.0, 3.0], &device);
        let out: Vec<f32> = DropoutMasks::new(0, 0, 0.0).apply(x).into_data().try_to_vec().unwrap();
        assert_eq!(out, vec![1.0, -2.0, 3.0]);
    }
}
