//! Roll, pitch and yaw of a sensor from its gravity vector and magnetometer (method.md,
//! "Angles").
//!
//! With gravity `g = (gx, gy, gz)` as the accelerometer reads it at rest (`+|g|` on the
//! axis pointing up): roll `phi = atan2(gy, gz)`, pitch `theta = atan2(-gx, sqrt(gy^2 + gz^2))`.
//! Yaw is the tilt-compensated magnetic heading (NXP application note AN4248, eq. 22):
//! `mx' = mx cos(theta) + my sin(phi) sin(theta) + mz cos(phi) sin(theta)`,
//! `my' = my cos(phi) - mz sin(phi)`, `psi = atan2(-my', mx')`. These invert the rotation
//! `R = Rz(psi) Ry(theta) Rx(phi)` from sensor to a z-up world frame whose x axis points
//! to magnetic north (tested that way below). Without a magnetometer, yaw falls back to
//! the azimuth of gravity in the sensor's x-y plane, `atan2(gy, gx)`.
//!
//! A window's angle is the circular mean `atan2(mean sin, mean cos)`, so angles near
//! +-pi average to +-pi rather than to 0.

/// How a sensor's yaw is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YawSource {
    /// Tilt-compensated magnetic heading.
    Magnetometer,
    /// Azimuth of gravity in the sensor's x-y plane (no magnetometer).
    GravityAzimuth,
}

/// Roll and pitch (radians) of a gravity vector.
pub fn roll_pitch_rad(g: [f64; 3]) -> (f64, f64) {
    let roll = g[1].atan2(g[2]);
    let pitch = (-g[0]).atan2((g[1] * g[1] + g[2] * g[2]).sqrt());
    (roll, pitch)
}

/// Tilt-compensated heading (radians) of magnetometer reading `m` at the given roll and pitch.
pub fn tilt_compensated_yaw_rad(m: [f64; 3], roll_rad: f64, pitch_rad: f64) -> f64 {
    let (sin_roll, cos_roll) = roll_rad.sin_cos();
    let (sin_pitch, cos_pitch) = pitch_rad.sin_cos();
    let mx = m[0] * cos_pitch + m[1] * sin_roll * sin_pitch + m[2] * cos_roll * sin_pitch;
    let my = m[1] * cos_roll - m[2] * sin_roll;
    (-my).atan2(mx)
}

/// Azimuth (radians) of gravity in the sensor's x-y plane.
pub fn gravity_azimuth_rad(g: [f64; 3]) -> f64 {
    g[1].atan2(g[0])
}

/// Circular mean (radians, in [-pi, pi]) of angles in radians; 0 for none.
pub fn circular_mean_rad(angles: impl IntoIterator<Item = f64>) -> f64 {
    let (sin_sum, cos_sum) = angles.into_iter().fold((0.0, 0.0), |(s, c), a| (s + a.sin(), c + a.cos()));
    sin_sum.atan2(cos_sum)
}

/// Circular-mean roll, pitch and yaw (radians) over a window of gravity samples
/// `gravity_mps2` and, when present, raw magnetometer samples `mag`.
pub fn mean_angles_rad(gravity_mps2: [&[f64]; 3], mag: Option<[&[f64]; 3]>) -> [f64; 3] {
    let n = gravity_mps2[0].len();
    let mut sums = [(0.0f64, 0.0f64); 3];
    for t in 0..n {
        let g = [gravity_mps2[0][t], gravity_mps2[1][t], gravity_mps2[2][t]];
        let (roll, pitch) = roll_pitch_rad(g);
        let yaw = match mag {
            Some(m) => tilt_compensated_yaw_rad([m[0][t], m[1][t], m[2][t]], roll, pitch),
            None => gravity_azimuth_rad(g),
        };
        for (sum, angle) in sums.iter_mut().zip([roll, pitch, yaw]) {
            sum.0 += angle.sin();
            sum.1 += angle.cos();
        }
    }
    sums.map(|(s, c)| s.atan2(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    type Matrix = [[f64; 3]; 3];

    fn multiply(a: Matrix, b: Matrix) -> Matrix {
        let mut out = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                out[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        out
    }

    /// `R^T v`: a world vector seen in the sensor frame.
    fn to_sensor(r: Matrix, v: [f64; 3]) -> [f64; 3] {
        [0, 1, 2].map(|j| (0..3).map(|i| r[i][j] * v[i]).sum())
    }

    /// Sensor-to-world rotation `Rz(yaw) Ry(pitch) Rx(roll)`.
    fn rotation(roll: f64, pitch: f64, yaw: f64) -> Matrix {
        let (sr, cr) = roll.sin_cos();
        let (sp, cp) = pitch.sin_cos();
        let (sy, cy) = yaw.sin_cos();
        let rx = [[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]];
        let ry = [[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]];
        let rz = [[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]];
        multiply(rz, multiply(ry, rx))
    }

    #[test]
    fn sensor_lying_flat_reads_zero_roll_and_pitch() {
        let (roll, pitch) = roll_pitch_rad([0.0, 0.0, 9.80665]);
        assert_eq!((roll, pitch), (0.0, 0.0));
    }

    #[test]
    fn gravity_along_minus_x_is_pitch_up_a_quarter_turn() {
        // g = |g| (-sin theta, sin phi cos theta, cos phi cos theta): theta = pi/2 gives
        // (-|g|, 0, 0).
        let (_, pitch) = roll_pitch_rad([-9.81, 0.0, 0.0]);
        assert!((pitch - PI / 2.0).abs() < 1e-12, "pitch {pitch}");
    }

    #[test]
    fn tilted_sensor_reads_its_roll_pitch_and_heading() {
        // Earth's field points north and dips 65 degrees below the horizon (as in Ankara).
        let dip = 65f64.to_radians();
        let field = [0.5 * dip.cos(), 0.0, -0.5 * dip.sin()];
        for (roll, pitch, yaw) in [(0.3, -0.4, 1.0), (-1.2, 0.7, -2.5), (2.5, 1.2, 3.0), (0.0, 0.0, -0.2)] {
            let r = rotation(roll, pitch, yaw);
            let g = to_sensor(r, [0.0, 0.0, 9.80665]);
            let m = to_sensor(r, field);
            let (got_roll, got_pitch) = roll_pitch_rad(g);
            let got_yaw = tilt_compensated_yaw_rad(m, got_roll, got_pitch);
            for (name, got, want) in [("roll", got_roll, roll), ("pitch", got_pitch, pitch), ("yaw", got_yaw, yaw)] {
                assert!((got - want).abs() < 1e-12, "{name}: {got}, expected {want}");
            }
        }
    }

    #[test]
    fn gravity_azimuth_is_the_angle_in_the_xy_plane() {
        assert!((gravity_azimuth_rad([1.0, 1.0, 9.0]) - PI / 4.0).abs() < 1e-12);
        assert!((gravity_azimuth_rad([-1.0, 0.0, 9.0]) - PI).abs() < 1e-12);
    }

    #[test]
    fn circular_mean_wraps_around_pi() {
        // 179 and -179 degrees average to 180, not to 0.
        let mean = circular_mean_rad([179f64.to_radians(), (-179f64).to_radians()]);
        assert!((mean.abs() - PI).abs() < 1e-12, "mean {mean}");
        let mean = circular_mean_rad([0.1, 0.3]);
        assert!((mean - 0.2).abs() < 1e-12, "mean {mean}");
    }

    #[test]
    fn window_angles_are_circular_means_of_sample_angles() {
        // Two samples tilted by roll 0.2 and 0.4 average to roll 0.3; yaw from gravity.
        let g0 = to_sensor(rotation(0.2, 0.0, 0.0), [0.0, 0.0, 9.8]);
        let g1 = to_sensor(rotation(0.4, 0.0, 0.0), [0.0, 0.0, 9.8]);
        let gravity = [[g0[0], g1[0]], [g0[1], g1[1]], [g0[2], g1[2]]];
        let [roll, pitch, yaw] = mean_angles_rad([&gravity[0], &gravity[1], &gravity[2]], None);
        assert!((roll - 0.3).abs() < 1e-12 && pitch.abs() < 1e-12, "roll {roll}, pitch {pitch}");
        // gx = 0 and gy > 0 for both: azimuth pi/2.
        assert!((yaw - PI / 2.0).abs() < 1e-12, "yaw {yaw}");
    }
}
