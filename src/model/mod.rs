//! The network: the shared 1D-CNN encoder, the pretext heads (physics bins, or one
//! transformation detector each), the masked-reconstruction decoder and the classifier.

pub mod conv;
pub mod decoder;
pub mod dropout;
pub mod encoder;
pub mod heads;
#[cfg(test)]
mod tests;

pub use decoder::{Decoder, DecoderConfig, masked_mse};
pub use dropout::DropoutMasks;
pub use encoder::{Encoder, EncoderConfig};
pub use heads::{Classifier, ClassifierConfig, PretextHead, PretextHeadConfig};
