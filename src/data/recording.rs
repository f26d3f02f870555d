//! A recording: a stretch of contiguous samples of one subject doing one activity, in
//! physical units, channels first, as every reader produces it.

use ndarray::{Array2, ArrayView1};

use super::dataset_config::{DatasetConfig, Modality, SensorConfig};

/// Where each sensor's modalities sit among the channels of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLayout {
    /// Per sensor (config order), per modality (acc, gyro, mag): the x, y, z channel rows.
    sensors: Vec<[Option<[usize; 3]>; 3]>,
    /// Total channel count.
    channels: usize,
}

impl ChannelLayout {
    /// The layout of the network input that `config` describes (see
    /// [`DatasetConfig::channel_names`]).
    pub fn new(config: &DatasetConfig) -> Self {
        Self::of(config.sensors.iter())
    }

    /// The layout of the encoder's input when it reads only the sensors named `seen`
    /// (every sensor where `seen` is empty), in the dataset's order, rows from 0.
    pub fn seen(config: &DatasetConfig, seen: &[String]) -> Self {
        Self::of(config.sensors.iter().filter(|s| is_seen(s, seen)))
    }

    /// The rows of [`ChannelLayout::new`] that [`ChannelLayout::seen`] keeps, in order.
    pub fn seen_rows(config: &DatasetConfig, seen: &[String]) -> Vec<usize> {
        let all = Self::new(config);
        let mut rows = Vec::new();
        for (sensor, _) in config.sensors.iter().enumerate().filter(|(_, s)| is_seen(s, seen)) {
            rows.extend(Modality::ALL.into_iter().filter_map(|m| all.rows(sensor, m)).flatten());
        }
        rows
    }

    fn of<'a>(sensors: impl Iterator<Item = &'a SensorConfig>) -> Self {
        let mut next = 0;
        let sensors = sensors
            .map(|sensor| {
                Modality::ALL.map(|modality| {
                    sensor.has(modality).then(|| {
                        let rows = [next, next + 1, next + 2];
                        next += 3;
                        rows
                    })
                })
            })
            .collect();
        ChannelLayout { sensors, channels: next }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Number of sensor units.
    pub fn sensors(&self) -> usize {
        self.sensors.len()
    }

    /// Channel rows of a sensor's modality, if it has that modality.
    pub fn rows(&self, sensor: usize, modality: Modality) -> Option<[usize; 3]> {
        self.sensors[sensor][modality as usize]
    }
}

/// Whether an encoder that reads the sensors named `seen` (every sensor where it is empty)
/// reads `sensor`.
fn is_seen(sensor: &SensorConfig, seen: &[String]) -> bool {
    seen.is_empty() || seen.contains(&sensor.name)
}

/// Contiguous samples of one subject and one activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Subject id, as named in the split.
    pub subject: String,
    /// Class id (DSADS `a01`; CSV the `activity` value).
    pub activity: String,
    /// The file it came from, relative to the data folder, with `/` separators.
    pub source: String,
    /// Index of its first sample among the data rows of that file.
    pub start: usize,
    /// Signals, `[channels, time]`, acceleration in m/s^2, angular rate in rad/s,
    /// magnetometer in the dataset's unit; channels as [`ChannelLayout`] says.
    pub samples: Array2<f32>,
}

impl Recording {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.ncols()
    }

    /// Whether the recording holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One channel over the whole recording.
    pub fn channel(&self, row: usize) -> ArrayView1<'_, f32> {
        self.samples.row(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoder_of_some_sensors_reads_their_rows_in_the_dataset_order() {
        // DSADS: five sensors (torso, right_arm, left_arm, right_leg, left_leg), each acc,
        // gyro, mag: nine rows apiece.
        let dsads = crate::presets::find("dsads").unwrap().config().dataset;
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(ChannelLayout::seen_rows(&dsads, &names(&["right_arm"])), (9..18).collect::<Vec<_>>());
        let legs_then_torso = names(&["left_leg", "torso"]);
        let rows: Vec<usize> = (0..9).chain(36..45).collect();
        assert_eq!(ChannelLayout::seen_rows(&dsads, &legs_then_torso), rows, "the dataset's order, not the list's");
        assert_eq!(ChannelLayout::seen_rows(&dsads, &[]), (0..45).collect::<Vec<_>>(), "none named: every sensor");
        let seen = ChannelLayout::seen(&dsads, &legs_then_torso);
        assert_eq!((seen.channels(), seen.sensors()), (18, 2));
        assert_eq!(seen.rows(1, Modality::Gyro), Some([12, 13, 14]), "the left leg's gyro, renumbered from 0");
        assert_eq!(ChannelLayout::seen(&dsads, &[]), ChannelLayout::new(&dsads));
    }
}
