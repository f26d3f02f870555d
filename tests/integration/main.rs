//! The integration tests, as one test binary: each of them runs `pim` or reads the crate
//! as a user would. One binary links once instead of nine times, and lets the long tests
//! (the GPU smoke test, the complete datasets) run beside the others instead of after them.

mod common;

mod cli;
mod dsads_full;
mod golden;
#[cfg(feature = "wgpu")]
mod gpu;
mod grid;
mod handoff;
mod pipeline;
mod readers;
mod usc_had_full;
