//! Maximum-entropy models of single-bin population patterns s in {0,1}^N (spec section 11):
//!
//! P(s) = exp(sum_i h_i s_i + sum_{i<j} J_ij s_i s_j + lambda_K) / Z, K = sum_i s_i,
//!
//! - [`MaxEntKind::Independent`]: only the fields h (matches firing rates);
//! - [`MaxEntKind::Pairwise`] (Ising): h and J (rates and pairwise correlations);
//! - [`MaxEntKind::KPairwise`] (Tkacik et al. 2014): h, J and the count potential lambda_K
//!   (also the distribution of the population count K), lambda_0 = 0 fixing the gauge.
//!
//! **Basis.** Parameters are stored in the {0,1} basis above. Tools built on spins
//! sigma = 2s - 1 in {-1,+1} (ConIII's Ising, many papers) use other numbers for the same model:
//! [`MaxEntModel::to_spin_basis`] and [`SpinParams::to_binary_basis`] convert exactly.
//!
//! **Fitting** maximises the likelihood of the data's bins, whose gradient is the mismatch
//! between data and model moments. The independent model has it in closed form (h_i = logit of
//! the rate), for any number of neurons. For the others, up to
//! [`MaxEntParams::exact_max_neurons`] neurons (default 20) all 2^N patterns are enumerated (in
//! parallel) and L-BFGS converges to machine precision
//! (log Z, entropy and log-likelihood are then exact). Above that, moments come from Gibbs
//! sampling on many parallel chains, with preconditioned gradient steps until the residuals
//! are within the sampling noise (see [`mcmc`]); its Newton step takes at most
//! [`mcmc::MAX_MCMC_PARAMETERS`] free parameters (a pairwise model of about 150 neurons), more are
//! refused up front rather than running out of memory.
//!
//! **Never-seen events.** A neuron that never (always) fires has no finite maximum-likelihood
//! field: it is fixed at -[`PARAM_BOUND`] (+[`PARAM_BOUND`]) and its couplings at 0, with a
//! warning. Every parameter is kept within +-[`PARAM_BOUND`], so counts K never seen in the data
//! get a large negative, finite potential. Nothing becomes NaN.
//!
//! **Sampling** a window of T bins draws T independent patterns: these models have no temporal
//! structure, which is how the paper's baseline samples were made.

mod exact;
pub mod mcmc;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use spike_data::{DataOrigin, FitSpikeModel, SampleSet, SpikeModel, SpikeRaster};

use crate::error::{BaselineError, Result};
use crate::moments::PatternMoments;
pub use exact::ExactSummary;
pub use mcmc::McmcParams;

/// Most neurons whose 2^N patterns are ever enumerated.
pub const MAX_EXACT_NEURONS: usize = 24;

/// Largest absolute value a parameter may take (a probability factor of e^20 ~ 5e8).
pub const PARAM_BOUND: f64 = 20.0;

/// Which maximum-entropy model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxEntKind {
    /// Fields only: independent neurons.
    Independent,
    /// Fields and pairwise couplings (Ising).
    Pairwise,
    /// Fields, couplings and a potential on the population count K.
    KPairwise,
}

impl MaxEntKind {
    /// Human-readable name.
    pub fn describe(self) -> &'static str {
        match self {
            MaxEntKind::Independent => "independent maximum entropy",
            MaxEntKind::Pairwise => "pairwise maximum entropy (Ising)",
            MaxEntKind::KPairwise => "k-pairwise maximum entropy",
        }
    }
}

/// Where each parameter sits in the flat vector theta the fits work on:
/// `[h_0..h_N, J_ij for i<j (row-major), lambda_1..lambda_N]`, the latter two when the kind has them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub kind: MaxEntKind,
    pub n: usize,
}

impl Layout {
    pub fn pairs(&self) -> usize {
        if self.kind == MaxEntKind::Independent {
            0
        } else {
            self.n * (self.n - 1) / 2
        }
    }
    pub fn counts(&self) -> usize {
        if self.kind == MaxEntKind::KPairwise { self.n } else { 0 }
    }
    pub fn len(&self) -> usize {
        self.n + self.pairs() + self.counts()
    }
    /// The data's moments in this layout: rates, E[s_i s_j] (i<j), P(K = k) (k >= 1).
    pub fn moments(&self, m: &PatternMoments) -> Vec<f64> {
        let n = self.n;
        let mut v = m.rates.clone();
        if self.pairs() > 0 {
            for i in 0..n {
                v.extend((i + 1..n).map(|j| m.pair_means[i * n + j]));
            }
        }
        if self.counts() > 0 {
            v.extend_from_slice(&m.count_probabilities[1..]);
        }
        v
    }
}

/// What a fit matches: the data's moments in `layout` order over `n_data` bins, and which
/// entries of theta are free (the others stay at their starting values).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Problem<'a> {
    pub layout: Layout,
    pub target: &'a [f64],
    pub free: &'a [bool],
    pub n_data: usize,
}

/// A fitted maximum-entropy model ({0,1} basis).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxEntModel {
    /// Which model.
    pub kind: MaxEntKind,
    /// Fields h_i, length N.
    pub fields: Vec<f64>,
    /// Couplings J_ij, N x N row-major, symmetric, zero diagonal (all zero for independent).
    pub couplings: Vec<f64>,
    /// Count potential lambda_K, K = 0..=N, lambda_0 = 0 (all zero unless k-pairwise).
    pub count_potential: Vec<f64>,
}

/// The same pairwise model in the spin basis sigma = 2s - 1:
/// log P = sum_i h_i sigma_i + sum_{i<j} J_ij sigma_i sigma_j + lambda_K - log Z' (K unchanged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpinParams {
    /// Spin fields, length N.
    pub fields: Vec<f64>,
    /// Spin couplings, N x N symmetric, zero diagonal.
    pub couplings: Vec<f64>,
}

impl MaxEntModel {
    /// Number of neurons.
    pub fn n_neurons(&self) -> usize {
        self.fields.len()
    }

    /// The unnormalised log-probability of pattern `s` (0/1 per neuron).
    pub fn log_weight(&self, s: &[u8]) -> f64 {
        let n = self.n_neurons();
        let mut e = 0.0;
        let mut k = 0;
        for i in (0..n).filter(|&i| s[i] != 0) {
            k += 1;
            e += self.fields[i];
            e += (i + 1..n)
                .filter(|&j| s[j] != 0)
                .map(|j| self.couplings[i * n + j])
                .sum::<f64>();
        }
        e + self.count_potential[k]
    }

    /// Parameters in the spin basis: J' = J / 4, h'_i = h_i / 2 + sum_j J_ij / 4.
    pub fn to_spin_basis(&self) -> SpinParams {
        let n = self.n_neurons();
        SpinParams {
            fields: (0..n)
                .map(|i| self.fields[i] / 2.0 + (0..n).map(|j| self.couplings[i * n + j]).sum::<f64>() / 4.0)
                .collect(),
            couplings: self.couplings.iter().map(|j| j / 4.0).collect(),
        }
    }

    /// log Z by enumerating all 2^N patterns (N <= [`MAX_EXACT_NEURONS`]).
    pub fn exact_log_partition(&self) -> Result<f64> {
        let n = self.n_neurons();
        if n > MAX_EXACT_NEURONS {
            return Err(BaselineError::Request(format!(
                "log Z of {n} neurons needs 2^{n} patterns; exact only up to {MAX_EXACT_NEURONS}"
            )));
        }
        let lw = exact::log_weights(self);
        let max = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        Ok(max + lw.iter().map(|e| (e - max).exp()).sum::<f64>().ln())
    }

    fn from_theta(layout: Layout, theta: &[f64]) -> Self {
        let n = layout.n;
        let mut couplings = vec![0.0; n * n];
        let mut idx = n;
        if layout.pairs() > 0 {
            for i in 0..n {
                for j in i + 1..n {
                    couplings[i * n + j] = theta[idx];
                    couplings[j * n + i] = theta[idx];
                    idx += 1;
                }
            }
        }
        let mut count_potential = vec![0.0; n + 1];
        if layout.counts() > 0 {
            count_potential[1..].copy_from_slice(&theta[idx..idx + n]);
        }
        MaxEntModel {
            kind: layout.kind,
            fields: theta[..n].to_vec(),
            couplings,
            count_potential,
        }
    }
}

impl SpinParams {
    /// Back to the {0,1} basis: J = 4 J', h_i = 2 h'_i - 2 sum_j J'_ij (count potential unchanged).
    pub fn to_binary_basis(&self, kind: MaxEntKind, count_potential: Vec<f64>) -> MaxEntModel {
        let n = self.fields.len();
        MaxEntModel {
            kind,
            fields: (0..n)
                .map(|i| 2.0 * self.fields[i] - 2.0 * (0..n).map(|j| self.couplings[i * n + j]).sum::<f64>())
                .collect(),
            couplings: self.couplings.iter().map(|j| 4.0 * j).collect(),
            count_potential,
        }
    }
}

/// Parameters of a maximum-entropy fit (validated by [`MaxEntParams::fit`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaxEntParams {
    /// Which model.
    pub kind: MaxEntKind,
    /// Fit by exact enumeration up to this many neurons (at most [`MAX_EXACT_NEURONS`]), by MCMC above.
    pub exact_max_neurons: usize,
    /// Exact mode: stop when every moment matches to this (absolute).
    pub exact_tolerance: f64,
    /// Exact mode: most L-BFGS iterations.
    pub exact_max_iterations: usize,
    /// L2 penalty (l2 / 2) |theta|^2 on the log-likelihood per bin; keeps never-seen counts finite.
    pub l2: f64,
    /// MCMC mode settings (also used to sample models too large to enumerate).
    pub mcmc: McmcParams,
    /// Seed of every random draw of the fit.
    pub seed: u64,
}

impl MaxEntParams {
    /// Defaults for `kind`.
    pub fn new(kind: MaxEntKind) -> Self {
        MaxEntParams {
            kind,
            exact_max_neurons: 20,
            exact_tolerance: 1e-8,
            exact_max_iterations: 5000,
            l2: 1e-9,
            mcmc: McmcParams::default(),
            seed: 0,
        }
    }

    /// With this seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(BaselineError::Params(m));
        if self.exact_max_neurons > MAX_EXACT_NEURONS {
            return bad(format!(
                "exact_max_neurons = {} enumerates 2^{0} patterns; at most {MAX_EXACT_NEURONS}",
                self.exact_max_neurons
            ));
        }
        let valid = self.exact_tolerance > 0.0 && self.l2 >= 0.0;
        if !valid {
            return bad(format!(
                "exact_tolerance ({}) must be > 0 and l2 ({}) >= 0",
                self.exact_tolerance, self.l2
            ));
        }
        self.mcmc.validate()
    }
}

/// How a fit went; saved with the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxEntDiagnostics {
    /// "closed form" (independent), "exact" (enumeration + L-BFGS) or "mcmc" (Gibbs sampling +
    /// gradient steps).
    pub method: String,
    /// Iterations of the optimiser.
    pub iterations: usize,
    /// Whether the stopping rule was met (else the iteration limit stopped it).
    pub converged: bool,
    /// Largest |model moment - data moment| over rates, pair means and P(K).
    pub max_abs_residual: f64,
    /// Residuals in units of their standard errors (data + model sampling): RMS and max |z|,
    /// for rates, pair means E[s_i s_j] and P(K).
    pub residual_z: ResidualZ,
    /// Exact mode: log Z (nats), entropy (bits per bin), log-likelihood of the data (nats per bin).
    pub exact: Option<ExactSummary>,
    /// Neurons whose field was fixed at the bound (never or always active in the data).
    pub fixed_neurons: Vec<usize>,
    /// Wall time of the fit in seconds.
    pub seconds: f64,
}

/// Residuals in standard-error units, per group of moments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResidualZ {
    /// RMS over firing rates.
    pub rates_rms: f64,
    /// Largest |z| over firing rates.
    pub rates_max: f64,
    /// RMS over E[s_i s_j], i<j.
    pub pairs_rms: f64,
    /// Largest |z| over E[s_i s_j].
    pub pairs_max: f64,
    /// RMS over P(K), K >= 1.
    pub counts_rms: f64,
    /// Largest |z| over P(K).
    pub counts_max: f64,
}

impl ResidualZ {
    /// z = (model - data) / sqrt(var/n_data + var/n_model) per moment, var = mu (1 - mu) of the
    /// indicator; `n_model` = None for exact moments (no model noise).
    pub(crate) fn of(layout: Layout, data: &[f64], model: &[f64], n_data: usize, n_model: Option<usize>) -> Self {
        let z: Vec<f64> = data
            .iter()
            .zip(model)
            .map(|(&d, &m)| {
                let var = d * (1.0 - d) / n_data as f64 + n_model.map_or(0.0, |nm| m * (1.0 - m) / nm as f64);
                if var > 0.0 {
                    (m - d) / var.sqrt()
                } else if (m - d).abs() < 1e-12 {
                    0.0
                } else {
                    // Data never shows it: one event in n_data as the scale.
                    (m - d) * n_data as f64
                }
            })
            .collect();
        let stats = |r: std::ops::Range<usize>| {
            if r.is_empty() {
                return (0.0, 0.0);
            }
            let s = &z[r];
            let rms = (s.iter().map(|x| x * x).sum::<f64>() / s.len() as f64).sqrt();
            (rms, s.iter().fold(0.0f64, |a, x| a.max(x.abs())))
        };
        let n = layout.n;
        let p = layout.pairs();
        let (rates_rms, rates_max) = stats(0..n);
        let (pairs_rms, pairs_max) = stats(n..n + p);
        let (counts_rms, counts_max) = stats(n + p..layout.len());
        ResidualZ {
            rates_rms,
            rates_max,
            pairs_rms,
            pairs_max,
            counts_rms,
            counts_max,
        }
    }

    pub(crate) fn worst_rms(&self) -> f64 {
        self.rates_rms.max(self.pairs_rms).max(self.counts_rms)
    }
}

/// A fitted model with its diagnostics and the MCMC settings used to sample it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaxEntFit {
    /// The parameters.
    pub model: MaxEntModel,
    /// How the fit went.
    pub diagnostics: MaxEntDiagnostics,
    /// Patterns are enumerated for sampling up to this many neurons; Gibbs sampling above.
    pub exact_max_neurons: usize,
    /// Gibbs settings for sampling large models.
    pub mcmc: McmcParams,
}

impl From<MaxEntModel> for MaxEntFit {
    /// A model with given parameters (no fit), sampled with the default settings.
    fn from(model: MaxEntModel) -> Self {
        let defaults = MaxEntParams::new(model.kind);
        MaxEntFit {
            model,
            diagnostics: MaxEntDiagnostics::default(),
            exact_max_neurons: defaults.exact_max_neurons,
            mcmc: defaults.mcmc,
        }
    }
}

/// Neurons never (rate 0) or always (rate 1) active: fixed, not fitted.
fn fixed_neurons(m: &PatternMoments) -> Vec<(usize, f64)> {
    m.rates
        .iter()
        .enumerate()
        .filter_map(|(i, &r)| {
            if r == 0.0 {
                Some((i, -PARAM_BOUND))
            } else if r == 1.0 {
                Some((i, PARAM_BOUND))
            } else {
                None
            }
        })
        .collect()
}

/// Which entries of theta are fitted (false: fixed at the starting value).
fn free_mask(layout: Layout, fixed: &[(usize, f64)]) -> Vec<bool> {
    let n = layout.n;
    let is_fixed = |i: usize| fixed.iter().any(|&(f, _)| f == i);
    let mut free: Vec<bool> = (0..n).map(|i| !is_fixed(i)).collect();
    if layout.pairs() > 0 {
        for i in 0..n {
            free.extend((i + 1..n).map(|j| !is_fixed(i) && !is_fixed(j)));
        }
    }
    free.extend(std::iter::repeat_n(true, layout.counts()));
    free
}

/// The independent model's theta (logit of each rate), zero couplings and count potential.
fn independent_start(layout: Layout, m: &PatternMoments, fixed: &[(usize, f64)]) -> Vec<f64> {
    let mut theta = vec![0.0; layout.len()];
    for (i, t) in theta[..layout.n].iter_mut().enumerate() {
        let p = m.rates[i];
        *t = (p / (1.0 - p)).ln().clamp(-PARAM_BOUND, PARAM_BOUND);
    }
    for &(i, v) in fixed {
        theta[i] = v;
    }
    theta
}

impl FitSpikeModel for MaxEntParams {
    type Model = MaxEntFit;
    type Error = BaselineError;

    fn fit(&self, data: &SpikeRaster) -> Result<MaxEntFit> {
        self.validate()?;
        let start = std::time::Instant::now();
        let moments = PatternMoments::of_raster(data)?;
        let layout = Layout {
            kind: self.kind,
            n: moments.n_neurons,
        };
        let fixed = fixed_neurons(&moments);
        for &(i, v) in &fixed {
            tracing::warn!(
                neuron = i,
                field = v,
                "neuron {i} is {} in every bin of {}: its field is fixed at {v} and its couplings at 0",
                if v < 0.0 { "silent" } else { "active" },
                data.origin.path.display()
            );
        }
        let target = layout.moments(&moments);
        let free = free_mask(layout, &fixed);
        let theta0 = independent_start(layout, &moments, &fixed);
        let problem = Problem {
            layout,
            target: &target,
            free: &free,
            n_data: moments.n_bins,
        };
        let (model, mut diagnostics) = if self.kind == MaxEntKind::Independent {
            exact::fit_independent(&problem, theta0)
        } else if layout.n <= self.exact_max_neurons {
            exact::fit(self, &problem, theta0)?
        } else {
            mcmc::fit(data, self, &problem, theta0)?
        };
        diagnostics.fixed_neurons = fixed.iter().map(|&(i, _)| i).collect();
        diagnostics.seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            method = diagnostics.method,
            iterations = diagnostics.iterations,
            converged = diagnostics.converged,
            max_abs_residual = diagnostics.max_abs_residual,
            seconds = diagnostics.seconds,
            "{} fitted",
            self.kind.describe()
        );
        Ok(MaxEntFit {
            model,
            diagnostics,
            exact_max_neurons: self.exact_max_neurons,
            mcmc: self.mcmc.clone(),
        })
    }
}

impl SpikeModel for MaxEntFit {
    type Error = BaselineError;

    fn describe(&self) -> String {
        self.model.kind.describe().to_string()
    }

    fn n_neurons(&self) -> usize {
        self.model.n_neurons()
    }

    fn max_bins(&self) -> Option<usize> {
        None
    }

    fn sample(&self, n_samples: usize, n_bins: usize, seed: u64) -> Result<SampleSet<'static>> {
        let n = self.n_neurons();
        if n_samples == 0 || n_bins == 0 {
            return Err(BaselineError::Request(format!(
                "asked for {n_samples} samples of {n_bins} bins; both must be > 0"
            )));
        }
        // Patterns in sample order: sample s, bin t -> row s * T + t.
        let patterns = if self.model.kind == MaxEntKind::Independent {
            // No interactions: every neuron is its own Bernoulli variable with P(1) =
            // sigmoid(h_i), drawn directly (exact, and no Gibbs chain to run).
            let p: Vec<f64> = self.model.fields.iter().map(|h| 1.0 / (1.0 + (-h).exp())).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..n_samples * n_bins * n)
                .map(|k| u8::from(rng.random::<f64>() < p[k % n]))
                .collect()
        } else if n <= self.exact_max_neurons {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            exact::sample_patterns(&self.model, n_samples * n_bins, &mut rng)
        } else {
            mcmc::sample_patterns(&self.model, &self.mcmc, n_samples * n_bins, seed)
        };
        let mut values = vec![0u8; n_samples * n * n_bins];
        for (row, pattern) in patterns.chunks_exact(n).enumerate() {
            let (s, t) = (row / n_bins, row % n_bins);
            for (i, &v) in pattern.iter().enumerate() {
                values[(s * n + i) * n_bins + t] = v;
            }
        }
        Ok(SampleSet::from_owned(
            values,
            n_samples,
            n,
            n_bins,
            DataOrigin::new(std::path::Path::new(""), self.model.kind.describe()),
        )?)
    }
}
