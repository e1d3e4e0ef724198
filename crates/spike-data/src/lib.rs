//! Spike data for spikegan-rs: the types every other crate speaks, and all file IO.
//!
//! - [`SpikeRaster`]: binned counts, bins x neurons, with bin width (ms), start time (s) and unit ids.
//! - [`SpikeTrains`]: spike times (s) per unit with observation intervals, as NWB stores them.
//! - [`SampleSet`]: n binary samples of N neurons x T bins, owned or as cheap windows over a raster,
//!   with [`PackedSamples`] (64 bins per word) for fast statistics.
//! - [`io`]: readers chosen by content (MAT v5, MAT v7.3, HDF5, NWB units, `.npy`) and atomic writers.
//! - [`binning`]: spike times to rasters with documented edge semantics.
//! - [`simulate`]: the paper's synthetic data sets, seeded.
//! - [`registry`]: known public data sets, their URLs and sha256 sums.
//! - [`generative`]: the fit/sample contract every generative model implements.
//!
//! This crate is the only one in the workspace that touches files (besides the CLI writing
//! reports). It knows nothing of statistics, models or Burn.
//!
//! ```
//! use spike_data::{SpikeRaster, SampleSet, WindowSpec};
//! // 4 bins x 2 neurons, bin-major.
//! let raster = SpikeRaster::new(vec![1, 0, 0, 1, 1, 1, 0, 0], 4, 2)?;
//! let windows = SampleSet::windows(&raster, WindowSpec::sliding(2))?;
//! assert_eq!(windows.n_samples(), 3);
//! assert_eq!(windows.flat_sample(1), vec![0, 1, 1, 1]); // neuron-major: neuron 0's bins, then neuron 1's
//! # Ok::<(), spike_data::DataError>(())
//! ```

pub mod binning;
mod error;
pub mod generative;
pub mod io;
mod raster;
pub mod registry;
mod samples;
pub mod simulate;
mod trains;

pub use error::{DataError, Result};
pub use generative::{FitSpikeModel, SpikeModel};
pub use raster::{DataOrigin, SpikeRaster};
pub use samples::{PackedSamples, SampleSet, SampleStorage, WindowSpec};
pub use trains::{SpikeTrains, UnitTrain};
