//! Physical quantities of every window: each recording is filtered once (gravity and
//! body acceleration over its whole length, method.md), then each of its windows is
//! measured. Recordings are spread over all cores; each worker keeps its own FFT plans.

use indicatif::ProgressBar;
use ndarray::Array2;
use rayon::prelude::*;

use super::quantities;
use crate::data::dataset_config::{DatasetConfig, Modality};
use crate::data::{ChannelLayout, Recording, Window};
use crate::physics::AngleQuantity;
use crate::physics::PhysicsConfig;
use crate::physics::filter::{Band, FftFilter};
use crate::physics::orientation::{mean_angles_rad, movement_angles_rad};
use crate::physics::speed::mean_speed_mps;
use crate::physics::symmetry::symmetry_distance;
use crate::physics::xcorr::CrossCorrelator;

/// One recording's signals in f64, split as the physics needs them.
struct SensorSignals {
    raw_acc: [Vec<f64>; 3],
    gravity: [Vec<f64>; 3],
    body: [Vec<f64>; 3],
    mag: Option<[Vec<f64>; 3]>,
}

/// Per-thread reusable FFT state.
#[derive(Default)]
struct Workspace {
    filter: FftFilter,
    correlator: CrossCorrelator,
}

/// Values of every quantity of [`super::quantities`] for every window, `[windows, quantities]`,
/// ticking `progress` once per recording.
pub fn compute_quantities(
    recordings: &[Recording],
    windows: &[Window],
    config: &DatasetConfig,
    physics: &PhysicsConfig,
    progress: &ProgressBar,
) -> Array2<f64> {
    let columns = quantities(config, physics.angle_quantity).len();
    let mut offsets = vec![Vec::new(); recordings.len()];
    for window in windows {
        offsets[window.recording].push(window.offset);
    }
    let layout = ChannelLayout::new(config);
    progress.set_length(recordings.len() as u64);
    let rows: Vec<Vec<f64>> = recordings
        .par_iter()
        .zip(&offsets)
        .map_init(Workspace::default, |workspace, (recording, offsets)| {
            let rows = recording_rows(recording, offsets, config, physics, &layout, workspace);
            progress.inc(1);
            rows
        })
        .flatten()
        .collect();
    Array2::from_shape_vec((windows.len(), columns), rows.concat()).expect("one row of every quantity per window")
}

fn recording_rows(
    recording: &Recording,
    offsets: &[usize],
    config: &DatasetConfig,
    physics: &PhysicsConfig,
    layout: &ChannelLayout,
    workspace: &mut Workspace,
) -> Vec<Vec<f64>> {
    if offsets.is_empty() {
        return Vec::new();
    }
    let fs = config.sampling_rate_hz;
    let gravity_band = Band::LowPass { cutoff_hz: physics.gravity_cutoff_hz };
    let body_band = Band::BandPass { low_hz: physics.body_band_hz[0], high_hz: physics.body_band_hz[1].min(fs / 2.0) };
    let channel = |row: usize| recording.channel(row).iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
    let signals: Vec<SensorSignals> = (0..config.sensors.len())
        .map(|s| {
            let raw_acc = layout.rows(s, Modality::Acc).expect("every sensor has acc").map(channel);
            let gravity = raw_acc.clone().map(|axis| workspace.filter.apply(&axis, fs, gravity_band));
            let body = [0, 1, 2].map(|a| {
                let residual: Vec<f64> = raw_acc[a].iter().zip(&gravity[a]).map(|(x, g)| x - g).collect();
                workspace.filter.apply(&residual, fs, body_band)
            });
            let mag = layout.rows(s, Modality::Mag).map(|rows| rows.map(channel));
            SensorSignals { raw_acc, gravity, body, mag }
        })
        .collect();

    let length = config.window.length;
    let max_lag = physics.max_lag(length);
    let pairs: Vec<(usize, usize)> = config
        .pairs
        .iter()
        .map(|p| {
            let index = |name: &str| config.sensor_index(name).expect("validated: pairs name known sensors");
            (index(&p.left), index(&p.right))
        })
        .collect();
    offsets
        .iter()
        .map(|&offset| {
            let range = offset..offset + length;
            let mut row = Vec::new();
            row.extend(
                signals.iter().map(|s| mean_speed_mps(window_of(&s.body, range.clone()), fs, physics.detrend_velocity)),
            );
            for s in &signals {
                let means = || {
                    mean_angles_rad(
                        window_of(&s.gravity, range.clone()),
                        s.mag.as_ref().map(|m| window_of(m, range.clone())),
                    )
                };
                match physics.angle_quantity {
                    AngleQuantity::MeanOrientation => row.extend(means()),
                    AngleQuantity::MeanOrientationWithoutYaw => row.extend(&means()[..2]),
                    AngleQuantity::Movement => row.extend(movement_angles_rad(window_of(&s.raw_acc, range.clone()))),
                }
            }
            row.extend(pairs.iter().map(|&(left, right)| {
                symmetry_distance(
                    window_of(&signals[left].raw_acc, range.clone()),
                    window_of(&signals[right].raw_acc, range.clone()),
                    max_lag,
                    physics.dtw_band,
                    &mut workspace.correlator,
                )
            }));
            row
        })
        .collect()
}

/// The same sample range of each of three axes.
fn window_of(axes: &[Vec<f64>; 3], range: std::ops::Range<usize>) -> [&[f64]; 3] {
    [&axes[0][range.clone()], &axes[1][range.clone()], &axes[2][range]]
}
