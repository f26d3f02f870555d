//! Missing samples (NaN) filled by linear interpolation along time, channel by channel,
//! between the nearest valid samples (the nearest one at either end), and counted, so that
//! the reader can say how many it filled. PAMAP2's dropped IMU packets and WEAR's gaps are
//! short runs; a channel with no valid sample at all cannot be filled and is refused.

use ndarray::Array2;

/// Fill every NaN of `samples` (`[channels, time]`) in place; returns how many were filled,
/// or the first channel that holds no valid sample.
pub fn fill_gaps(samples: &mut Array2<f32>) -> Result<usize, usize> {
    let mut filled = 0;
    for (c, mut channel) in samples.rows_mut().into_iter().enumerate() {
        let values = channel.as_slice_mut().expect("recordings are row-major");
        let valid: Vec<usize> = (0..values.len()).filter(|&t| !values[t].is_nan()).collect();
        if valid.len() == values.len() {
            continue;
        }
        let (Some(&first), Some(&last)) = (valid.first(), valid.last()) else { return Err(c) };
        for t in 0..values.len() {
            if !values[t].is_nan() {
                continue;
            }
            values[t] = if t < first {
                values[first]
            } else if t > last {
                values[last]
            } else {
                // The valid samples around t: the last before and the first after.
                let after = valid[valid.partition_point(|&v| v < t)];
                let before = valid[valid.partition_point(|&v| v < t) - 1];
                let w = (t - before) as f32 / (after - before) as f32;
                values[before] + w * (values[after] - values[before])
            };
            filled += 1;
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn runs_are_interpolated_and_ends_held() {
        let nan = f32::NAN;
        let mut samples = array![[nan, 1.0, nan, nan, 4.0, nan], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
        assert_eq!(fill_gaps(&mut samples), Ok(4));
        assert_eq!(samples.row(0).to_vec(), vec![1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
    }

    #[test]
    fn a_channel_without_any_sample_is_refused() {
        let mut samples = array![[1.0, 2.0], [f32::NAN, f32::NAN]];
        assert_eq!(fill_gaps(&mut samples), Err(1));
    }
}
