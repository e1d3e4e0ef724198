//! One interface for every generative model of population spike patterns, so that Spike-GAN,
//! maximum-entropy models and dichotomized Gaussians are interchangeable in comparisons.
//!
//! The pattern follows linfa: validated parameters ([`FitSpikeModel`]) are fitted to data and
//! give a model ([`SpikeModel`]) that samples. Models live in higher crates (`baselines`,
//! `spikegan-model`); this crate only fixes the contract, in the types every crate speaks.

use crate::{SampleSet, SpikeRaster};

/// A fitted generative model of binary spike patterns of a fixed population.
pub trait SpikeModel {
    /// The error sampling can return.
    type Error: std::error::Error + Send + Sync + 'static;

    /// What the model is, for reports ("k-pairwise maximum entropy", "Spike-GAN", ...).
    fn describe(&self) -> String;

    /// Number of neurons N of every sample.
    fn n_neurons(&self) -> usize;

    /// Longest window (bins) the model can sample, if limited (a spatio-temporal model fitted on
    /// windows of T bins, a GAN trained on T bins); `None` when any length works.
    fn max_bins(&self) -> Option<usize>;

    /// `n_samples` binary samples of N neurons x `n_bins` bins, the same for the same `seed`.
    fn sample(&self, n_samples: usize, n_bins: usize, seed: u64) -> Result<SampleSet<'static>, Self::Error>;
}

/// Validated parameters that fit a [`SpikeModel`] to a binary raster (bins x neurons).
pub trait FitSpikeModel {
    /// The fitted model.
    type Model: SpikeModel;
    /// The error fitting can return (bad data, invalid parameters, a fit that failed).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fit to every bin of `data` (which must be binary).
    fn fit(&self, data: &SpikeRaster) -> Result<Self::Model, Self::Error>;
}
