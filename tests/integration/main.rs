//! The integration tests, as one test binary: each of them runs `pim` or reads the crate
//! as a user would. One binary links once instead of several times. The tests that need a
//! GPU or the complete datasets are in `tests/environment/`, which shows them as ignored
//! where the machine lacks those.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod devices;
mod export;
mod golden;
mod grid;
mod hybrid;
mod layout;
mod pipeline;
mod readers;
