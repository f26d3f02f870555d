//! Samples no IMU can produce: a finite 1e30 passes every parse check, then turns into an
//! absurd speed and flattens its channel under normalisation (a warning); a value that
//! overflows f32 once converted to SI units (1e38 g) would poison every later sum (an
//! error).

use std::path::Path;

use super::super::dataset_config::{DatasetConfig, Modality, STANDARD_GRAVITY_MPS2};
use super::super::recording::{ChannelLayout, Recording};
use crate::error::{Error, Result};

/// The largest acceleration any IMU measures: 400 g (high-g accelerometers for impact
/// studies), in m/s^2.
pub const MAX_ACCELERATION_MPS2: f32 = 400.0 * STANDARD_GRAVITY_MPS2 as f32;
/// The largest angular rate any IMU measures: 6,000 deg/s, in rad/s.
pub const MAX_ANGULAR_RATE_RADPS: f32 = 6000.0 * std::f32::consts::PI / 180.0;

/// A notice counting the acceleration and angular-rate samples beyond those limits and
/// naming the first (file, data row, channel), or `None` if there are none. Magnetometer
/// channels are left alone: their unit is the dataset's own.
pub fn implausible_samples(recordings: &[Recording], config: &DatasetConfig) -> Option<String> {
    let layout = ChannelLayout::new(config);
    let names = config.channel_names();
    let mut limits = Vec::new();
    for sensor in 0..layout.sensors() {
        for (modality, limit) in [(Modality::Acc, MAX_ACCELERATION_MPS2), (Modality::Gyro, MAX_ANGULAR_RATE_RADPS)] {
            limits.extend(layout.rows(sensor, modality).into_iter().flatten().map(|row| (row, limit)));
        }
    }
    let (mut count, mut first) = (0usize, None);
    for recording in recordings {
        for (t, sample) in recording.samples.columns().into_iter().enumerate() {
            for &(row, limit) in &limits {
                if sample[row].abs() > limit {
                    count += 1;
                    first.get_or_insert((recording, t, row, sample[row]));
                }
            }
        }
    }
    let (recording, t, row, value) = first?;
    let samples_lie = if count == 1 { "sample lies" } else { "samples lie" };
    Some(format!(
        "{count} {samples_lie} beyond any IMU's range (acceleration above 400 g, angular rate above 6,000 deg/s), \
         the first in {}, data row {}, channel {}: {value:e} in SI units; check the file and the config's units",
        recording.source,
        recording.start + t + 1,
        names[row],
    ))
}

/// Fail on the first sample that is not finite after conversion to SI units, naming its
/// file (under `dir`), data row and channel.
pub fn check_finite(recordings: &[Recording], config: &DatasetConfig, dir: &Path) -> Result<()> {
    for recording in recordings {
        if let Some((index, value)) = recording.samples.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let (row, t) = (index / recording.samples.ncols(), index % recording.samples.ncols());
            return Err(Error::bad_dataset(
                dir.join(&recording.source),
                format!(
                    "data row {}, channel {}: {value} once converted to SI units (dataset.units), which f32 cannot hold",
                    recording.start + t + 1,
                    config.channel_names()[row],
                ),
                "fix the value, or the config's units if the file is in other units",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    fn recording(source: &str, start: usize, samples: Array2<f32>) -> Recording {
        Recording { subject: "p1".into(), activity: "a01".into(), source: source.into(), start, samples }
    }

    #[test]
    fn absurd_samples_are_counted_and_the_first_named() {
        let config = crate::presets::find("usc-had").unwrap().config().dataset;
        // USC-HAD: one hip sensor, acc x, y, z then gyro x, y, z.
        let quiet = Array2::<f32>::from_elem((6, 10), 9.0);
        let mut loud = quiet.clone();
        loud[[4, 3]] = -1e30; // gyro y, the file's 4th data row after start 0
        loud[[0, 7]] = 4000.0; // acc x just beyond 400 g (3,922.66 m/s^2)
        let mut mag_free = quiet.clone();
        mag_free[[1, 0]] = 3900.0; // within 400 g: not counted
        let recordings =
            [recording("a.mat", 0, quiet.clone()), recording("b.mat", 0, loud), recording("c.mat", 5, mag_free)];
        let notice = implausible_samples(&recordings, &config).expect("two absurd samples");
        assert!(notice.starts_with("2 samples lie beyond"), "{notice}");
        assert!(notice.contains("the first in b.mat, data row 4, channel hip.gyro.y: -1e30"), "{notice}");
        assert_eq!(implausible_samples(&[recording("a.mat", 0, quiet)], &config), None);
    }

    #[test]
    fn a_sample_that_overflows_in_si_units_is_an_error_naming_file_row_and_channel() {
        let config = crate::presets::find("usc-had").unwrap().config().dataset;
        let mut samples = Array2::<f32>::from_elem((6, 10), 9.0);
        assert!(check_finite(&[recording("a.mat", 0, samples.clone())], &config, Path::new("d")).is_ok());
        samples[[2, 6]] = 1e38 * 9.80665; // 1e38 g: infinity in f32
        let error = check_finite(&[recording("a.mat", 3, samples)], &config, Path::new("d")).unwrap_err().to_string();
        assert!(error.starts_with("d/a.mat: data row 10, channel hip.acc.z: inf once converted"), "{error}");
    }
}
