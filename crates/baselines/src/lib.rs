//! Baseline generative models of population spike patterns, fitted here:
//!
//! - [`maxent`]: maximum entropy over single-bin patterns — independent, pairwise (Ising) and
//!   k-pairwise (Tkacik et al. 2014); exact up to 20 neurons, MCMC above.
//! - [`dg`]: the dichotomized Gaussian — spatial (Macke et al. 2009) and spatio-temporal
//!   (Lyamzin et al. 2010).
//!
//! Every model follows the workspace's contract ([`spike_data::FitSpikeModel`] ->
//! [`spike_data::SpikeModel`]): validated parameters fit a binary raster, the fitted model
//! samples `[n, N, T]` binary sets deterministically from a seed. [`Baseline`] wraps any of them
//! for saving (JSON, with the data's identity and the fit diagnostics) and loading.
//!
//! ```
//! use baselines::maxent::{MaxEntKind, MaxEntParams};
//! use spike_data::{FitSpikeModel, SpikeModel, SpikeRaster};
//! // 6 bins x 2 neurons that tend to fire together.
//! let raster = SpikeRaster::new(vec![1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0], 6, 2)?;
//! let fit = MaxEntParams::new(MaxEntKind::Pairwise).fit(&raster)?;
//! assert!(fit.diagnostics.converged && fit.model.couplings[1] > 0.0);
//! let samples = fit.sample(100, 8, 0)?;
//! assert_eq!((samples.n_samples(), samples.n_neurons(), samples.n_bins()), (100, 2, 8));
//! # Ok::<(), baselines::BaselineError>(())
//! ```

pub mod correlation;
pub mod dg;
mod error;
pub mod lag_extension;
pub mod latent_fit;
pub mod maxent;
pub mod moments;
mod optim;

use std::path::Path;

use serde::{Deserialize, Serialize};
use spike_data::{SampleSet, SpikeModel};

pub use error::{BaselineError, Result};

/// The data a model was fitted to, for provenance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FittedOn {
    /// File path as given.
    pub file: String,
    /// MAT variable or HDF5 dataset.
    pub key: String,
    /// sha256 of the file, lowercase hex.
    pub sha256: String,
    /// Registered data set name, when the file is a known one.
    pub dataset: Option<String>,
    /// Bins x neurons of the raster.
    pub bins: usize,
    /// Neurons.
    pub neurons: usize,
    /// The file's neurons (0-based columns) the model was fitted to, in order, when not all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neuron_selection: Option<Vec<usize>>,
}

/// Any fitted baseline, as saved to and loaded from a model file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum Baseline {
    /// A maximum-entropy model.
    MaxEnt {
        /// The data it was fitted to.
        fitted_on: FittedOn,
        /// Parameters and diagnostics.
        fit: maxent::MaxEntFit,
    },
    /// A dichotomized Gaussian.
    DichotomizedGaussian {
        /// The data it was fitted to.
        fitted_on: FittedOn,
        /// Parameters and diagnostics.
        model: dg::DgModel,
    },
}

/// Format written in every model file, checked on load.
const FORMAT: &str = "spikegan-rs baseline model v1";

#[derive(Serialize, Deserialize)]
struct ModelFile<T> {
    format: String,
    #[serde(flatten)]
    baseline: T,
}

impl Baseline {
    /// Save as JSON, atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(&ModelFile {
            format: FORMAT.into(),
            baseline: self,
        })
        .map_err(|e| BaselineError::File {
            path: path.into(),
            detail: format!("cannot serialise the model: {e}"),
        })?;
        spike_data::io::write_atomically(path, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| spike_data::DataError::Io {
                path: tmp.to_path_buf(),
                source: e,
            })
        })?;
        Ok(())
    }

    /// Load a model file written by [`Baseline::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let err = |detail: String| BaselineError::File {
            path: path.into(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let head: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(format!("not a JSON model file: {e}")))?;
        match head.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            other => {
                return Err(err(format!(
                    "not a baseline model file (format {other:?}, expected {FORMAT:?}); \
                     Spike-GAN runs are sampled with --run"
                )));
            }
        }
        let file: ModelFile<Baseline> =
            serde_json::from_value(head).map_err(|e| err(format!("malformed model: {e}")))?;
        file.baseline.check().map_err(err)?;
        Ok(file.baseline)
    }

    /// Shapes consistent (a hand-edited or truncated file fails here, not in sampling).
    fn check(&self) -> std::result::Result<(), String> {
        match self {
            Baseline::MaxEnt { fit, .. } => {
                let m = &fit.model;
                let n = m.fields.len();
                if n == 0 || m.couplings.len() != n * n || m.count_potential.len() != n + 1 {
                    return Err(format!(
                        "maxent model has {n} fields, {} couplings (need {}), {} count potentials (need {})",
                        m.couplings.len(),
                        n * n,
                        m.count_potential.len(),
                        n + 1
                    ));
                }
                if !m
                    .fields
                    .iter()
                    .chain(&m.couplings)
                    .chain(&m.count_potential)
                    .all(|v| v.is_finite())
                {
                    return Err("maxent model has non-finite parameters".into());
                }
                if fit.exact_max_neurons > maxent::MAX_EXACT_NEURONS {
                    return Err(format!(
                        "maxent model asks for exact sampling up to {} neurons; at most {}",
                        fit.exact_max_neurons,
                        maxent::MAX_EXACT_NEURONS
                    ));
                }
                fit.mcmc.validate().map_err(|e| e.to_string())?;
            }
            Baseline::DichotomizedGaussian { model, .. } => {
                let n = model.gamma.len();
                if n == 0 || model.bins == 0 || model.lag_correlation.len() != model.bins * n * n {
                    return Err(format!(
                        "DG model has {n} neurons, {} bins, {} lag correlations (need {})",
                        model.bins,
                        model.lag_correlation.len(),
                        model.bins * n * n
                    ));
                }
                if let Some(v) = &model.valid_lag_correlation
                    && v.len() != model.lag_correlation.len()
                {
                    return Err(format!(
                        "DG model's valid lag correlations have {} values, need {}",
                        v.len(),
                        model.lag_correlation.len()
                    ));
                }
                let values = model
                    .lag_correlation
                    .iter()
                    .chain(model.valid_lag_correlation.iter().flatten());
                if !model.gamma.iter().chain(values).all(|v| v.is_finite()) {
                    return Err("DG model has non-finite parameters".into());
                }
            }
        }
        Ok(())
    }

    /// The data the model was fitted to.
    pub fn fitted_on(&self) -> &FittedOn {
        match self {
            Baseline::MaxEnt { fitted_on, .. } | Baseline::DichotomizedGaussian { fitted_on, .. } => fitted_on,
        }
    }
}

impl SpikeModel for Baseline {
    type Error = BaselineError;

    fn describe(&self) -> String {
        match self {
            Baseline::MaxEnt { fit, .. } => fit.describe(),
            Baseline::DichotomizedGaussian { model, .. } => model.describe(),
        }
    }

    fn n_neurons(&self) -> usize {
        match self {
            Baseline::MaxEnt { fit, .. } => fit.n_neurons(),
            Baseline::DichotomizedGaussian { model, .. } => model.n_neurons(),
        }
    }

    fn max_bins(&self) -> Option<usize> {
        match self {
            Baseline::MaxEnt { fit, .. } => fit.max_bins(),
            Baseline::DichotomizedGaussian { model, .. } => model.max_bins(),
        }
    }

    fn sample(&self, n_samples: usize, n_bins: usize, seed: u64) -> Result<SampleSet<'static>> {
        match self {
            Baseline::MaxEnt { fit, .. } => fit.sample(n_samples, n_bins, seed),
            Baseline::DichotomizedGaussian { model, .. } => model.sample(n_samples, n_bins, seed),
        }
    }
}
