//! Spike-GAN: a WGAN-GP with a semi-convolutional critic and generator, in Burn.

pub mod checkpoint;
pub mod config;
mod error;
pub mod model;
pub mod penalty;
pub mod sample;
pub mod train;

pub use config::{Arch, ModelConfig, TrainingConfig};
pub use error::{GanError, Result};
pub use model::{Critic, Generator};
