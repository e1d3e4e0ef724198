//! Spike-GAN (Molano-Mazon et al., ICLR 2018): a WGAN-GP whose critic is "semi-convolutional"
//! (neurons are channels, 1-D convolutions over time) and whose generator mirrors it, in Burn 0.22.
//! Also the fully connected GAN the paper compares against ([`Arch::Mlp`]).
//!
//! The library takes the [`burn::tensor::Device`] it is given (training needs `.autodiff()`); the
//! backend is chosen by the caller (`spikegan --backend flex|cuda`). Hyperparameters are Burn
//! `Config`s: [`TrainingConfig::paper`] is the paper's exact setup, [`TrainingConfig::fast`] the
//! CPU-friendly preset. Checkpoints ([`checkpoint`]) hold everything for an exact resume.
//! [`importance`] computes the paper's importance maps from a trained critic and infers packets.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use spike_data::{io, SampleSet, WindowSpec};
//! use spikegan_model::{checkpoint, train::{Trainer, TrainingData}, ModelConfig, TrainingConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let io::SpikeData::Raster(raster) = io::read("retina.mat".as_ref(), &Default::default())?.data else { return Ok(()) };
//! let windows = SampleSet::windows(&raster, WindowSpec::sliding(32))?;   // [n, 50, 32]
//! let data = TrainingData::new(&windows, 0.0)?;
//! let config = TrainingConfig::fast(ModelConfig::new().with_neurons(50).with_bins(32)).with_seed(1);
//! let mut trainer = Trainer::new(config, &data, &Device::flex().autodiff())?;
//! for _ in 0..1000 { let log = trainer.step(&data)?; println!("{} W = {:.3}", log.iteration, log.wasserstein); }
//! checkpoint::save("runs/retina".as_ref(), &trainer, spikegan_model::sample::PRECISE_CALIBRATION_SAMPLES)?;
//! let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
//! let samples = spikegan_model::sample::sample_binary(&trainer.generator, &trainer.config.model, 8192, &mut rng, trainer.device())?;
//! # Ok(()) }
//! ```

pub mod checkpoint;
pub mod config;
pub mod ema;
mod error;
pub mod host;
pub mod importance;
pub mod model;
pub mod moments;
pub mod penalty;
pub mod sample;
pub mod train;

pub use config::{Arch, ModelConfig, Polish, TrainingConfig};
pub use error::{GanError, Result};
pub use model::{Critic, Generator, InitRng};
