//! Pseudo-labels: which physical quantities a dataset yields (its schema), computing them
//! per window, discretising them into bins, and writing them to disk.

pub mod compute;
pub mod discretise;
pub mod io;
pub mod pseudo_label;
pub mod schema;

pub use schema::{Quantity, Task, quantities};
