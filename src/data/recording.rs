//! A recording: a stretch of contiguous samples of one subject doing one activity, in
//! physical units, channels first, as every reader produces it.

use ndarray::{Array2, ArrayView1};

use super::dataset_config::{DatasetConfig, Modality};

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
        let mut next = 0;
        let sensors = config
            .sensors
            .iter()
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
