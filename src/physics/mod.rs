//! The physics of human motion that PIM turns into pseudo-labels: pure functions on
//! `f64` slices in SI units (acceleration m/s^2, speed m/s, angles rad), with the sampling
//! rate passed explicitly and no state beyond reusable FFT plans. `docs/method.md`
//! gives every formula; each module cites its part.
//!
//! Every kernel is tested three ways: hand-worked cases, an independent slow oracle on
//! seeded random input, and golden values from the numpy/scikit-learn reference in
//! `scripts/reference/` (`tests/integration/golden.rs`).

pub mod dtw;
pub mod filter;
pub mod orientation;
pub mod physics_config;
pub mod speed;
pub mod symmetry;
pub mod xcorr;

#[cfg(test)]
pub(crate) mod testing;

pub use physics_config::{AngleQuantity, PhysicsConfig};
