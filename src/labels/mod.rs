//! Pseudo-labels: which physical quantities a dataset yields (its schema), computing them
//! per window, discretising them into bins, writing them to disk, and measuring how much
//! they say about the activity.

pub mod compute;
pub mod discretise;
pub mod inspect;
pub mod io;
pub mod pseudo_label;
pub mod schema;

pub use schema::{Quantity, quantities};
