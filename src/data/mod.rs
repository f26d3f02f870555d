//! Data in: dataset configs, readers that turn folders into recordings in physical units,
//! and windowing.

pub mod config;
pub mod kshot;
pub mod prepared;
pub mod readers;
pub mod recording;
pub mod transform;
pub mod window;

pub use config::DatasetConfig;
pub use prepared::{MappedSamples, PreparedWindows, WindowInfo};
pub use readers::{Dataset, read_dataset};
pub use recording::{ChannelLayout, Recording};
pub use window::{Window, cut_windows};
