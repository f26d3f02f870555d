//! Experiment grids: the grid file (arms x shots x seeds), running its units with resume,
//! and reporting the cells as tables and a figure.

pub mod figures;
pub mod report;
pub mod run;
pub mod select;
pub mod spec;
pub mod stats;
pub mod summary;
