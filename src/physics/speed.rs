//! Movement speed from body acceleration (method.md, "Speed").
//!
//! Velocity is the cumulative trapezoid integral of body acceleration over the window,
//! starting at 0 (`v[i] = v[i-1] + dt (b[i-1] + b[i]) / 2`, as scipy's
//! `cumulative_trapezoid(..., initial=0)`); the least-squares line through each axis is
//! then removed, because a small bias in the acceleration integrates into a drift that
//! grows with time and would otherwise dominate the speed. The window's value is the mean
//! Euclidean norm of the velocity, in m/s.

/// Cumulative trapezoid integral of `x` sampled every `dt` seconds, with value 0 first.
pub fn cumulative_trapezoid(x: &[f64], dt: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    let mut total = 0.0;
    for (i, &v) in x.iter().enumerate() {
        if i > 0 {
            total += 0.5 * dt * (x[i - 1] + v);
        }
        out.push(total);
    }
    out
}

/// Remove the least-squares line `a + b i` through `x` (scipy `detrend(type="linear")`).
pub fn remove_linear_trend(x: &mut [f64]) {
    let n = x.len();
    if n < 2 {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let t_mean = (n - 1) as f64 / 2.0;
    let x_mean = x.iter().sum::<f64>() / n as f64;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let dt = i as f64 - t_mean;
        covariance += dt * (v - x_mean);
        variance += dt * dt;
    }
    let slope = covariance / variance;
    for (i, v) in x.iter_mut().enumerate() {
        *v -= x_mean + slope * (i as f64 - t_mean);
    }
}

/// Mean speed (m/s) over a window of 3-axis body acceleration `body_mps2` at `fs_hz`,
/// removing each axis's linear velocity trend when `detrend` is set.
pub fn mean_speed_mps(body_mps2: [&[f64]; 3], fs_hz: f64, detrend: bool) -> f64 {
    let dt = 1.0 / fs_hz;
    let velocity = body_mps2.map(|axis| {
        let mut v = cumulative_trapezoid(axis, dt);
        if detrend {
            remove_linear_trend(&mut v);
        }
        v
    });
    let n = velocity[0].len();
    if n == 0 {
        return 0.0;
    }
    let total: f64 =
        (0..n).map(|t| (velocity[0][t].powi(2) + velocity[1][t].powi(2) + velocity[2][t].powi(2)).sqrt()).sum();
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::testing::{assert_all_close, random_signal};
    use std::f64::consts::PI;

    #[test]
    fn constant_acceleration_integrates_to_a_linear_speed() {
        // a = 2 m/s^2 at 10 Hz: v(t) = 2 t exactly (the trapezoid rule is exact on lines).
        let v = cumulative_trapezoid(&[2.0; 11], 0.1);
        let want: Vec<f64> = (0..11).map(|i| 0.2 * i as f64).collect();
        assert_all_close("integral of a constant", &v, &want, 1e-12, 0.0);
    }

    #[test]
    fn trapezoid_of_a_hand_worked_sequence() {
        // x = [0, 1, 3, 2], dt = 0.5: increments 0.25, 1.0, 1.25.
        assert_all_close(
            "trapezoid",
            &cumulative_trapezoid(&[0.0, 1.0, 3.0, 2.0], 0.5),
            &[0.0, 0.25, 1.25, 2.5],
            1e-12,
            0.0,
        );
    }

    #[test]
    fn detrending_a_line_leaves_zero_and_keeps_residuals_orthogonal() {
        let mut line: Vec<f64> = (0..20).map(|i| 3.0 - 0.7 * i as f64).collect();
        remove_linear_trend(&mut line);
        assert_all_close("detrended line", &line, &[0.0; 20], 1e-12, 0.0);

        let mut x = random_signal(7, 50);
        remove_linear_trend(&mut x);
        let sum: f64 = x.iter().sum();
        let moment: f64 = x.iter().enumerate().map(|(i, v)| i as f64 * v).sum();
        assert!(sum.abs() < 1e-12 && moment.abs() < 1e-10, "residual not orthogonal: sum {sum}, moment {moment}");
    }

    #[test]
    fn pure_sinusoidal_acceleration_gives_the_known_speed() {
        // a(t) = A sin(w t) on x over whole periods: v(t) = A/w (1 - cos w t); the linear
        // fit over whole periods is the constant A/w, leaving -A/w cos(w t), whose mean
        // absolute value is (2/pi) A/w. With 2 Hz at 1000 Hz over 1 s the trapezoid error
        // is O(dt^2) and the fit's slope O(1/n): a 0.5% tolerance covers both.
        let (amplitude, f_hz, fs) = (3.0, 2.0, 1000.0);
        let w = 2.0 * PI * f_hz;
        let x: Vec<f64> = (0..1000).map(|i| amplitude * (w * i as f64 / fs).sin()).collect();
        let zeros = vec![0.0; x.len()];
        let speed = mean_speed_mps([&x, &zeros, &zeros], fs, true);
        let want = 2.0 / PI * amplitude / w;
        assert!((speed - want).abs() < 5e-3 * want, "speed {speed}, expected {want}");
    }

    #[test]
    fn speed_is_the_norm_over_axes() {
        // The same signal on two axes scales the speed by sqrt(2).
        let x = random_signal(3, 64);
        let zeros = vec![0.0; 64];
        let one = mean_speed_mps([&x, &zeros, &zeros], 25.0, true);
        let two = mean_speed_mps([&x, &x, &zeros], 25.0, true);
        assert!((two - 2f64.sqrt() * one).abs() < 1e-12, "{two} vs sqrt(2) * {one}");
    }

    #[test]
    fn still_sensor_has_zero_speed() {
        let zeros = vec![0.0; 125];
        assert_eq!(mean_speed_mps([&zeros, &zeros, &zeros], 25.0, true), 0.0);
    }
}
