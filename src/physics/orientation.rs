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
//!
//! The angle *of movement* (an option, `physics.angle_quantity = "movement"`) is instead
//! how much a sensor's tilt varies within the window: roll and pitch of every raw
//! acceleration sample (gravity plus the limb's own acceleration), summarised by their
//! circular standard deviation `sqrt(-2 ln R)`, `R` the length of the mean unit vector
//! (Mardia and Jupp 2000, eq. 2.3.11; scipy's `circstd`). It does not depend on how the
//! sensor was worn or which way the subject faced, which the mean orientation does.
//!
//! The trigonometry is the `libm` crate's, not the system's: glibc picks its `sin`, `cos`
//! and `atan2` by CPU (with or without FMA), whose last bits can differ.

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
    let roll = libm::atan2(g[1], g[2]);
    let pitch = libm::atan2(-g[0], (g[1] * g[1] + g[2] * g[2]).sqrt());
    (roll, pitch)
}

/// Tilt-compensated heading (radians) of magnetometer reading `m` at the given roll and pitch.
pub fn tilt_compensated_yaw_rad(m: [f64; 3], roll_rad: f64, pitch_rad: f64) -> f64 {
    let (sin_roll, cos_roll) = libm::sincos(roll_rad);
    let (sin_pitch, cos_pitch) = libm::sincos(pitch_rad);
    let mx = m[0] * cos_pitch + m[1] * sin_roll * sin_pitch + m[2] * cos_roll * sin_pitch;
    let my = m[1] * cos_roll - m[2] * sin_roll;
    libm::atan2(-my, mx)
}

/// Azimuth (radians) of gravity in the sensor's x-y plane.
pub fn gravity_azimuth_rad(g: [f64; 3]) -> f64 {
    libm::atan2(g[1], g[0])
}

/// Circular mean (radians, in [-pi, pi]) of angles in radians; 0 for none.
pub fn circular_mean_rad(angles: impl IntoIterator<Item = f64>) -> f64 {
    let (sin_sum, cos_sum) = angles.into_iter().fold((0.0, 0.0), |(s, c), a| (s + libm::sin(a), c + libm::cos(a)));
    libm::atan2(sin_sum, cos_sum)
}

/// Circular standard deviation (radians, >= 0) of angles in radians: `sqrt(-2 ln R)` with
/// `R = |mean of (cos, sin)|`; 0 for identical angles, growing without bound as they
/// spread evenly around the circle.
pub fn circular_spread_rad(angles: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sin_sum, mut cos_sum, mut n) = (0.0, 0.0, 0usize);
    for a in angles {
        sin_sum += libm::sin(a);
        cos_sum += libm::cos(a);
        n += 1;
    }
    let resultant = (libm::hypot(sin_sum, cos_sum) / n.max(1) as f64).min(1.0);
    (-2.0 * libm::log(resultant)).sqrt()
}

/// The spread of roll and pitch (radians) over a window of raw acceleration samples
/// `acc_mps2`: the angle of movement.
pub fn movement_angles_rad(acc_mps2: [&[f64]; 3]) -> [f64; 2] {
    let n = acc_mps2[0].len();
    let (rolls, pitches): (Vec<f64>, Vec<f64>) =
        (0..n).map(|t| roll_pitch_rad([acc_mps2[0][t], acc_mps2[1][t], acc_mps2[2][t]])).unzip();
    [circular_spread_rad(rolls), circular_spread_rad(pitches)]
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
            sum.0 += libm::sin(angle);
            sum.1 += libm::cos(angle);
        }
    }
    sums.map(|(s, c)| libm::atan2(s, c))
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

#[cfg(test)]
mod spread_tests {
    use std::f64::consts::PI;

    use super::*;

    #[test]
    fn identical_angles_do_not_spread() {
        assert!(circular_spread_rad([0.3; 10]).abs() < 1e-7);
        // Around the +-pi seam too: the spread is circular.
        assert!(circular_spread_rad([PI - 0.01, -PI + 0.01]) < 0.011);
    }

    #[test]
    fn two_angles_spread_by_hand() {
        // +-a: R = cos a, so the spread is sqrt(-2 ln cos a).
        for a in [0.1f64, 0.5, 1.0, 1.5] {
            let want = (-2.0 * a.cos().ln()).sqrt();
            assert!((circular_spread_rad([a, -a]) - want).abs() < 1e-12, "a = {a}");
        }
    }

    #[test]
    fn movement_angles_of_a_still_sensor_are_zero_and_of_a_swinging_one_are_not() {
        // Still: gravity along +z in every sample.
        let z = vec![9.8; 50];
        let zero = vec![0.0; 50];
        let still = movement_angles_rad([&zero, &zero, &z]);
        assert!(still[0].abs() < 1e-7 && still[1].abs() < 1e-7, "{still:?}");
        // Rolling back and forth by +-0.4 rad about x: roll spreads, pitch stays 0.
        let roll: Vec<f64> = (0..50).map(|t| 0.4 * (t as f64 * 0.3).sin()).collect();
        let y: Vec<f64> = roll.iter().map(|r| 9.8 * r.sin()).collect();
        let z: Vec<f64> = roll.iter().map(|r| 9.8 * r.cos()).collect();
        let swinging = movement_angles_rad([&zero, &y, &z]);
        assert!((swinging[0] - circular_spread_rad(roll.iter().copied())).abs() < 1e-12);
        assert!(swinging[0] > 0.2 && swinging[1].abs() < 1e-7, "{swinging:?}");
    }
}
