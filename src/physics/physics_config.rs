//! The physics group of a config: the choices method.md makes where the paper is silent.

use serde::{Deserialize, Serialize};

/// What the angle task predicts per sensor (method.md, "Angles"; the paper's abstract says
/// "angles of movement", its body is not available).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AngleQuantity {
    /// Circular means of roll, pitch and yaw from gravity: the sensor's orientation.
    #[default]
    MeanOrientation,
    /// Circular means of roll and pitch only, without the (magnetic) yaw.
    MeanOrientationWithoutYaw,
    /// Circular spread of roll and pitch of the raw acceleration within the window: how
    /// much the limb's tilt moves, whatever its orientation.
    Movement,
}

impl AngleQuantity {
    /// The names of the angle columns of one sensor, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            AngleQuantity::MeanOrientation => &["roll", "pitch", "yaw"],
            AngleQuantity::MeanOrientationWithoutYaw => &["roll", "pitch"],
            AngleQuantity::Movement => &["roll_spread", "pitch_spread"],
        }
    }
}

/// The physics group of a config: the choices method.md makes where the paper is silent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhysicsConfig {
    /// Gravity is the acceleration low-passed at this frequency (Hz).
    pub gravity_cutoff_hz: f64,
    /// Body acceleration (`a - gravity`) is band-limited to `(low, high]` Hz; `high` is
    /// capped at half the sampling rate.
    pub body_band_hz: [f64; 2],
    /// Remove the least-squares linear trend (drift) of each velocity axis.
    pub detrend_velocity: bool,
    /// Symmetry alignment searches lags up to this fraction of the window.
    pub max_lag_fraction: f64,
    /// Sakoe-Chiba band (samples) of the symmetry DTW; `null` for none.
    pub dtw_band: Option<usize>,
    /// What the angle task predicts.
    pub angle_quantity: AngleQuantity,
}

impl Default for PhysicsConfig {
    fn default() -> Self {
        PhysicsConfig {
            gravity_cutoff_hz: 0.3,
            body_band_hz: [0.3, 20.0],
            detrend_velocity: true,
            max_lag_fraction: 0.25,
            dtw_band: None,
            angle_quantity: AngleQuantity::MeanOrientation,
        }
    }
}

impl PhysicsConfig {
    /// Check ranges; `path` names the config file in errors.
    pub fn validate(&self, path: &std::path::Path) -> crate::Result<()> {
        let invalid = |field: &str, problem: String, fix: &str| {
            crate::Error::invalid_config(path, format!("physics.{field}"), problem, fix)
        };
        if !(self.gravity_cutoff_hz.is_finite() && self.gravity_cutoff_hz >= 0.0) {
            return Err(invalid(
                "gravity_cutoff_hz",
                format!("is {}", self.gravity_cutoff_hz),
                "use a frequency >= 0 Hz, e.g. 0.3",
            ));
        }
        let [low, high] = self.body_band_hz;
        if !(low.is_finite() && high.is_finite() && 0.0 <= low && low < high) {
            return Err(invalid(
                "body_band_hz",
                format!("is [{low}, {high}]"),
                "use [low, high] with 0 <= low < high, e.g. [0.3, 20]",
            ));
        }
        if !(self.max_lag_fraction.is_finite() && (0.0..1.0).contains(&self.max_lag_fraction)) {
            return Err(invalid(
                "max_lag_fraction",
                format!("is {}", self.max_lag_fraction),
                "use a fraction in [0, 1), e.g. 0.25",
            ));
        }
        Ok(())
    }

    /// The largest alignment lag (samples) for windows of `window` samples.
    pub fn max_lag(&self, window: usize) -> usize {
        ((window as f64 * self.max_lag_fraction).floor() as usize).min(window.saturating_sub(1))
    }
}
