//! Missing samples (NaN) filled by linear interpolation along time, channel by channel,
//! between the nearest valid samples (the nearest one at either end), and counted, so that
//! the reader can say how many it filled. PAMAP2's dropped IMU packets and WEAR's gaps are
//! short runs; a channel with no valid sample at all cannot be filled and is refused.

use ndarray::Array2;

use crate::data::recording::Recording;

/// A stretch of one file with one activity, as read: its activity, its first data row, and
/// its samples time-major (`channels` values per row).
pub type Run = (String, usize, Vec<f32>);

/// The recordings of one subject's file from its runs, every gap filled; with the samples
/// filled and the samples read. Fails with (first row of the run, channel) for a channel
/// that holds no valid sample in its run.
pub fn recordings_from_runs(
    runs: Vec<Run>,
    channels: usize,
    subject: &str,
    source: &str,
) -> Result<(Vec<Recording>, usize, usize), (usize, usize)> {
    let (mut filled, mut total) = (0, 0);
    let mut recordings = Vec::with_capacity(runs.len());
    for (activity, start, time_major) in runs {
        let len = time_major.len() / channels;
        let mut samples = Array2::from_shape_vec((len, channels), time_major)
            .expect("each row pushed one value per channel")
            .reversed_axes()
            .as_standard_layout()
            .into_owned();
        filled += fill_gaps(&mut samples).map_err(|channel| (start, channel))?;
        total += samples.len();
        recordings.push(Recording {
            subject: subject.to_string(),
            activity,
            source: source.to_string(),
            start,
            samples,
        });
    }
    Ok((recordings, filled, total))
}

/// The notice for `filled` of `total` `what` that were missing (`why`) and filled; none
/// when nothing was.
pub fn filled_notice(filled: usize, total: usize, what: &str, why: &str) -> Option<String> {
    (filled > 0).then(|| {
        format!("{filled} of {total} {what} were missing ({why}) and were filled by linear interpolation within their recording")
    })
}

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
