//! The network: the shared 1D-CNN encoder, the physics pretext heads and the classifier.

pub mod dropout;
pub mod encoder;
pub mod heads;
#[cfg(test)]
mod tests;

pub use dropout::DropoutMasks;
pub use encoder::{Encoder, EncoderConfig};
pub use heads::{Classifier, ClassifierConfig, PretextHead, PretextHeadConfig};
