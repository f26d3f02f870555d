//! Data in: dataset configs, readers that turn folders into recordings in physical units,
//! and windowing.

pub mod dataset_config;
pub mod kshot;
pub mod normaliser;
pub mod prepared;
pub mod readers;
pub mod recording;
pub mod transform;
pub mod window;

pub use dataset_config::DatasetConfig;
pub use normaliser::Normaliser;
pub use prepared::{MappedSamples, PreparedWindows, WindowInfo};
pub use readers::{Dataset, read_dataset};
pub use recording::{ChannelLayout, Recording};
pub use window::{Window, cut_windows};
