//! The dichotomized Gaussian (spec section 11): `s = 1[x > 0]`, `x ~ N(gamma, Lambda)` with unit
//! variances.
//!
//! - Spatial (Macke et al. 2009): one latent variable per neuron. gamma_i = Phi^-1(p_i); each
//!   latent correlation Lambda_ij solves Phi_2(gamma_i, gamma_j; Lambda_ij) = E[s_i s_j]
//!   (bisection on the bivariate normal orthant probability of `owens-t`, accurate to ~1e-15).
//!   Windows of T bins are T independent patterns.
//! - Spatio-temporal (Lyamzin et al. 2010): one latent variable per neuron and bin of a window
//!   of T bins, index `i * T + t` (neuron-major, the samples' order), with stationary
//!   (block-Toeplitz) correlations: Lambda[(i,t),(j,t+tau)] solves the same equation for
//!   E[s_i(t) s_j(t+tau)], tau = 0..T-1, measured over every bin of the data.
//!
//! A target pair mean at an end of what any correlation can give (max(0, p_i + p_j - 1) or
//! min(p_i, p_j); typically two rare neurons never active together, exact solution rho = -1) is
//! moved half an event (0.5 / bins) inside the range before solving, and counted.
//!
//! **Making the latent matrix valid.** The solved correlations are often those of no Gaussian.
//! - Lag 0 (both models): when the N x N matrix is not positive definite it is replaced by the
//!   nearest correlation matrix with eigenvalues >= `min_eigenvalue` ([`crate::correlation`]),
//!   how far it moved logged and saved, and that matrix is refined by fitting the pair means
//!   directly (`latent_fit`, `moment_fit_iterations`, `pair_weighting`: by default each misfit in
//!   units of sqrt(its sampling error x the RMS one), so that busy pairs, which covariance errors
//!   are made of, count more than under chi2; chi2 per pair before and after saved),
//!   because the projection moves every entry alike although the busy neurons' pairs matter most
//!   for what the model does.
//! - Lags 1..T-1 (spatio-temporal): refractoriness (a lag-1 pair mean near 0, latent
//!   correlation near -1) next to slow positive correlations at longer lags is impossible for a
//!   stationary Gaussian process. The lags are made valid one at a time by the multivariate
//!   Levinson recursion ([`crate::lag_extension`]): lag-0 shrunk by `lag0_floor`, lags
//!   1..=`fitted_lags` kept where valid and otherwise replaced by the closest valid lag (partial
//!   correlation's singular values at most `max_partial_correlation`) in a norm weighted by how
//!   much each latent correlation moves the binary pair means, `(phi(gamma_i) phi(gamma_j))^2`,
//!   then refined by fitting that lag's binary pair means themselves (pseudo-Huber misfit at the
//!   scale of their RMS sampling error, so large misfits count about linearly, as in the L1
//!   errors of the paper); longer lags are those of the fitted autoregressive process.
//!   Lag 0, and with it every single-bin statistic, is the spatial model's. (Projecting the
//!   whole (N T) x (N T) matrix instead, as before, spoiled the rates and covariances and took 16
//!   minutes on the retina; this takes seconds: docs/benchmarks.md.)
//!
//! **Rates of 0 or 1.** Phi^-1 is infinite there. Such a neuron gets gamma = -[`GAMMA_BOUND`]
//! (+[`GAMMA_BOUND`]) — P(spike) = Phi(-10) ~ 8e-24 — and latent correlation 0 with every other
//! variable, with a warning: it stays silent (active), as in the data.
//!
//! The saved model holds gamma, the solved lag correlations and, when they were changed, the valid
//! ones sampled from; the Cholesky factor is recomputed when a model is loaded and sampled.

use std::sync::OnceLock;

use faer::{Mat, Side};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use spike_data::{DataOrigin, FitSpikeModel, SampleSet, SpikeModel, SpikeRaster};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::correlation::{Projection, nearest_correlation};
use crate::error::{BaselineError, Result};
use crate::lag_extension::{BinaryLagTargets, LagExtension, valid_extension};
pub use crate::latent_fit::PairWeighting;
use crate::latent_fit::{MomentFit, PairTargets, fit_to_pair_means, sampling_variance};
use crate::moments::lagged_pair_means;

/// |gamma| of neurons that never or always fire.
pub const GAMMA_BOUND: f64 = 10.0;

/// Which dichotomized Gaussian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DgKind {
    /// One latent per neuron; bins independent.
    Spatial,
    /// One latent per neuron and bin of a window, stationary lagged correlations.
    Temporal,
}

/// Parameters of a dichotomized Gaussian fit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DgParams {
    /// Which model.
    pub kind: DgKind,
    /// Window length T in bins (spatio-temporal only; spatial models ignore it).
    pub window: usize,
    /// Smallest eigenvalue allowed in the latent correlation matrix.
    pub min_eigenvalue: f64,
    /// Relative change at which the nearest-correlation iteration stops.
    pub projection_tolerance: f64,
    /// Most nearest-correlation iterations.
    pub projection_max_iterations: usize,
    /// When the solved lag-0 matrix is not positive definite: most L-BFGS iterations of the
    /// moment fit that refines the projected matrix ([`crate::latent_fit`]); 0 keeps the projection.
    #[serde(default = "default_moment_fit_iterations")]
    pub moment_fit_iterations: usize,
    /// How the moment fit weighs the pair means' misfits (model files from before this setting
    /// were fitted with [`PairWeighting::StandardError`]).
    #[serde(default = "legacy_pair_weighting")]
    pub pair_weighting: PairWeighting,
    /// Spatio-temporal: the largest singular value allowed in a lag's partial correlation
    /// ([`crate::lag_extension`]), in (0, 1); closer to 1 keeps more of impossible lagged
    /// targets at the price of a nearly singular latent process.
    #[serde(default = "default_max_partial_correlation")]
    pub max_partial_correlation: f64,
    /// Spatio-temporal: lags 1..=`fitted_lags` follow the data where a stationary process can;
    /// longer lags are those the fitted lags imply (the maximum-entropy extension, an
    /// autoregressive process of this order).
    #[serde(default = "default_fitted_lags")]
    pub fitted_lags: usize,
    /// Spatio-temporal: the lag-0 latent matrix is shrunk to `(1 - f) R(0) + f I` before the
    /// lags are fitted, in [0, 1): directions in which the projected R(0) is nearly singular admit
    /// almost no lagged correlation, and the data's lagged targets never respect them.
    #[serde(default = "default_lag0_floor")]
    pub lag0_floor: f64,
}

fn default_fitted_lags() -> usize {
    5
}

fn default_lag0_floor() -> f64 {
    0.01
}

fn default_max_partial_correlation() -> f64 {
    0.95
}

fn legacy_pair_weighting() -> PairWeighting {
    PairWeighting::StandardError
}

fn default_moment_fit_iterations() -> usize {
    300
}

impl DgParams {
    /// Defaults for `kind` with windows of `window` bins.
    pub fn new(kind: DgKind, window: usize) -> Self {
        DgParams {
            kind,
            window,
            min_eigenvalue: 1e-6,
            projection_tolerance: 1e-6,
            projection_max_iterations: 200,
            moment_fit_iterations: default_moment_fit_iterations(),
            pair_weighting: PairWeighting::default(),
            max_partial_correlation: default_max_partial_correlation(),
            fitted_lags: default_fitted_lags(),
            lag0_floor: default_lag0_floor(),
        }
    }

    fn validate(&self, bins: usize, neurons: usize) -> Result<()> {
        if self.kind == DgKind::Temporal && (self.window == 0 || self.window > bins) {
            return Err(BaselineError::Params(format!(
                "the spatio-temporal DG needs a window of 1..={bins} bins (the data's length), not {}",
                self.window
            )));
        }
        let variables = neurons * if self.kind == DgKind::Temporal { self.window } else { 1 };
        if variables > MAX_LATENT_VARIABLES {
            return Err(BaselineError::Params(format!(
                "{neurons} neurons x {} bins are {variables} latent Gaussian variables, whose correlation matrix \
                 and Cholesky factor are dense ({:.0} GB each): at most {MAX_LATENT_VARIABLES} are supported; use a \
                 shorter window or fewer neurons",
                variables / neurons,
                (variables as f64).powi(2) * 8e-9
            )));
        }
        let valid = self.min_eigenvalue > 0.0
            && self.min_eigenvalue < 1.0
            && self.projection_tolerance > 0.0
            && self.max_partial_correlation > 0.0
            && self.max_partial_correlation < 1.0
            && (0.0..1.0).contains(&self.lag0_floor);
        if !valid {
            return Err(BaselineError::Params(format!(
                "min_eigenvalue and max_partial_correlation must be in (0, 1), lag0_floor in [0, 1) and \
                 projection_tolerance > 0, got {}, {}, {} and {}",
                self.min_eigenvalue, self.max_partial_correlation, self.lag0_floor, self.projection_tolerance
            )));
        }
        Ok(())
    }
}

/// Most latent variables (neurons x window bins) a DG takes: its correlation matrix and Cholesky
/// factor are dense matrices of their number squared (12000: 1.15 GB each).
pub const MAX_LATENT_VARIABLES: usize = 12_000;

/// How a fit went; saved with the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DgDiagnostics {
    /// Pair means at an end of what a Gaussian can give (typically rare neurons never active
    /// together, whose exact solution is rho = -1): solved for half an event inside the range.
    pub clamped_correlations: usize,
    /// Neurons never or always active (gamma at the bound).
    pub fixed_neurons: Vec<usize>,
    /// What the positive-definite projection did.
    pub projection: Projection,
    /// What the moment fit after the projection did (absent when the solved matrix was valid
    /// or the fit was switched off).
    #[serde(default)]
    pub moment_fit: Option<MomentFit>,
    /// What making the lagged correlations valid did (spatio-temporal models).
    #[serde(default)]
    pub lag_extension: Option<LagExtension>,
    /// Wall time of the fit in seconds.
    pub seconds: f64,
}

/// A fitted dichotomized Gaussian.
#[derive(Debug, Serialize, Deserialize)]
pub struct DgModel {
    /// Which model.
    pub kind: DgKind,
    /// Latent means, length N.
    pub gamma: Vec<f64>,
    /// Bins per latent block: 1 (spatial) or T (spatio-temporal).
    pub bins: usize,
    /// Solved latent correlations before projection, `[tau][i][j]` for tau = 0..bins-1:
    /// corr(x_i(t), x_j(t + tau)); block 0 has a unit diagonal.
    pub lag_correlation: Vec<f64>,
    /// The valid (stationary, positive definite) correlations sampled from instead of the solved
    /// ones, same layout as `lag_correlation`: always for spatio-temporal models (lag 0 from the
    /// projection and moment fit when needed, later lags from [`crate::lag_extension`]), for
    /// spatial ones when the solved matrix was not positive definite.
    pub valid_lag_correlation: Option<Vec<f64>>,
    /// How the fit went.
    pub diagnostics: DgDiagnostics,
    #[serde(skip)]
    factor: OnceLock<Mat<f64>>,
}

/// The latent correlation rho with Phi_2(g_i, g_j; rho) = target, and whether the target was at
/// an end of the attainable range (then moved half an event inside it, `half_event` = 0.5 / bins).
fn solve_correlation(g_i: f64, g_j: f64, target: f64, half_event: f64) -> (f64, bool) {
    let p_i = 1.0 - normal().cdf(-g_i);
    let p_j = 1.0 - normal().cdf(-g_j);
    let lo = (p_i + p_j - 1.0).max(0.0);
    let hi = p_i.min(p_j);
    let mut at_end = false;
    let mut target = target;
    if target <= lo + 1e-15 {
        target = lo + half_event;
        at_end = true;
    } else if target >= hi - 1e-15 {
        target = hi - half_event;
        at_end = true;
    }
    if target <= lo || target >= hi {
        return (if target <= lo { -1.0 } else { 1.0 }, true);
    }
    let (mut a, mut b) = (-1.0f64, 1.0f64);
    for _ in 0..100 {
        let m = 0.5 * (a + b);
        if owens_t::biv_norm(-g_i, -g_j, m) < target {
            a = m;
        } else {
            b = m;
        }
        if b - a < 1e-14 {
            break;
        }
    }
    (0.5 * (a + b), at_end)
}

/// RMS sampling error sqrt(m (1 - m) / bins) of pair means `means` over `bins` bins (m at least
/// half an event).
fn lag_standard_error(means: &[f64], bins: usize) -> f64 {
    let bins = bins.max(1) as f64;
    let sum: f64 = means.iter().map(|&m| sampling_variance(m, bins)).sum();
    (sum / means.len().max(1) as f64).sqrt().max(f64::MIN_POSITIVE)
}

fn normal() -> Normal {
    Normal::standard()
}

impl FitSpikeModel for DgParams {
    type Model = DgModel;
    type Error = BaselineError;

    fn fit(&self, data: &SpikeRaster) -> Result<DgModel> {
        self.validate(data.n_bins(), data.n_neurons())?;
        let start = std::time::Instant::now();
        let n = data.n_neurons();
        let bins = if self.kind == DgKind::Spatial { 1 } else { self.window };
        let means = lagged_pair_means(data, bins - 1)?;
        let mut diagnostics = DgDiagnostics::default();
        let gamma: Vec<f64> = (0..n)
            .map(|i| {
                let p = means[i * n + i];
                if p <= 0.0 || p >= 1.0 {
                    diagnostics.fixed_neurons.push(i);
                    tracing::warn!(
                        neuron = i,
                        "neuron {i} is {} in every bin of {}: gamma fixed at {}{GAMMA_BOUND}, latent correlations 0",
                        if p <= 0.0 { "silent" } else { "active" },
                        data.origin.path.display(),
                        if p <= 0.0 { "-" } else { "+" }
                    );
                    if p <= 0.0 { -GAMMA_BOUND } else { GAMMA_BOUND }
                } else {
                    normal().inverse_cdf(p)
                }
            })
            .collect();
        let fixed = |i: usize| diagnostics.fixed_neurons.contains(&i);
        let solved: Vec<(f64, bool)> = (0..bins * n * n)
            .into_par_iter()
            .map(|k| {
                let (tau, i, j) = (k / (n * n), (k / n) % n, k % n);
                if fixed(i) || fixed(j) {
                    (if tau == 0 && i == j { 1.0 } else { 0.0 }, false)
                } else if tau == 0 && i == j {
                    (1.0, false)
                } else {
                    solve_correlation(gamma[i], gamma[j], means[k], 0.5 / (data.n_bins() - tau) as f64)
                }
            })
            .collect();
        diagnostics.clamped_correlations = solved.iter().filter(|s| s.1).count();
        if diagnostics.clamped_correlations > 0 {
            tracing::warn!(
                count = diagnostics.clamped_correlations,
                "pair means at an end of the range a Gaussian can give (e.g. never co-active): solved for half an event inside it"
            );
        }
        let mut model = DgModel {
            kind: self.kind,
            gamma,
            bins,
            lag_correlation: solved.into_iter().map(|s| s.0).collect(),
            valid_lag_correlation: None,
            diagnostics,
            factor: OnceLock::new(),
        };
        // Lag 0: the spatial construction.
        let lag0 = self.valid_lag0(&mut model, &means[..n * n], data.n_bins())?;
        // The spatio-temporal model always samples its extension (shrunk lag 0, lags beyond
        // `fitted_lags` from the fitted process), even where no lag needed clipping.
        let changed = bins > 1 || !model.diagnostics.projection.was_positive_definite;
        // Lags 1..T-1: kept where a stationary process can have them, given the lags before.
        let lags = if bins == 1 {
            vec![lag0]
        } else {
            // R(tau)[j][i] = corr(x_i(t), x_j(t + tau)), the solved block tau transposed.
            let f = self.lag0_floor;
            let lag0 = Mat::from_fn(n, n, |i, j| (1.0 - f) * lag0[(i, j)] + if i == j { f } else { 0.0 });
            let fitted = bins.min(self.fitted_lags + 1);
            let targets: Vec<Mat<f64>> = std::iter::once(lag0)
                .chain(
                    (1..fitted)
                        .map(|tau| Mat::from_fn(n, n, |j, i| (1.0 - f) * model.lag_correlation[(tau * n + i) * n + j])),
                )
                .collect();
            // Weights: how much a latent correlation moves the binary pair means (the normal
            // densities at the thresholds), squared.
            let density: Vec<f64> = model.gamma.iter().map(|g| (-0.5 * g * g).exp()).collect();
            let weight = Mat::from_fn(n, n, |a, b| (density[a] * density[b]).powi(2));
            // The binary pair means the fitted lags should give, to refine clipped lags with.
            let binary = BinaryLagTargets {
                gamma: &model.gamma,
                means: (0..fitted)
                    .map(|tau| Mat::from_fn(n, n, |j, i| means[(tau * n + i) * n + j]))
                    .collect(),
                scale: lag_standard_error(&means[n * n..fitted * n * n], data.n_bins() - 1),
            };
            let (lags, extension) = valid_extension(
                &targets,
                bins,
                self.max_partial_correlation,
                Some(&weight),
                Some(&binary),
            )?;
            if extension.clipped_lags > 0 {
                tracing::warn!(
                    clipped_lags = extension.clipped_lags,
                    max_abs_change = extension.max_abs_change,
                    "lagged latent correlations no stationary Gaussian has: partial correlations clipped at {}",
                    self.max_partial_correlation
                );
            }
            model.diagnostics.lag_extension = Some(extension);
            lags
        };
        if changed {
            // Valid in exact arithmetic; a floor on the eigenvalues of the whole latent matrix,
            // (1 - e) R + e I, keeps its Cholesky factor defined in floating point.
            let e = if bins == 1 { 0.0 } else { self.min_eigenvalue };
            model.valid_lag_correlation = Some(
                lags.iter()
                    .enumerate()
                    .flat_map(|(tau, r)| {
                        (0..n).flat_map(move |i| {
                            (0..n).map(move |j| (1.0 - e) * r[(j, i)] + if tau == 0 && i == j { e } else { 0.0 })
                        })
                    })
                    .collect(),
            );
        }
        let factor = cholesky(&model.sampling_correlation())?;
        model.diagnostics.seconds = start.elapsed().as_secs_f64();
        let _ = model.factor.set(factor);
        Ok(model)
    }
}

impl DgParams {
    /// The valid lag-0 latent correlation matrix (N x N): the solved one, or when that is not
    /// positive definite its nearest correlation matrix refined by the moment fit. Records what
    /// was done in the model's diagnostics.
    fn valid_lag0(&self, model: &mut DgModel, means: &[f64], n_bins: usize) -> Result<Mat<f64>> {
        let n = model.n_neurons();
        let solved = Mat::from_fn(n, n, |i, j| model.lag_correlation[i * n + j]);
        let (valid, projection) = nearest_correlation(
            &solved,
            self.min_eigenvalue,
            self.projection_tolerance,
            self.projection_max_iterations,
        )?;
        let was_valid = projection.was_positive_definite;
        if !was_valid {
            tracing::warn!(
                min_eigenvalue = projection.min_eigenvalue_before,
                frobenius_change = projection.frobenius_change,
                max_abs_change = projection.max_abs_change,
                iterations = projection.iterations,
                "latent correlation matrix not positive definite: replaced by the nearest valid one"
            );
        }
        model.diagnostics.projection = projection;
        if was_valid || self.moment_fit_iterations == 0 {
            return Ok(valid);
        }
        let skip: Vec<bool> = (0..n).map(|i| model.diagnostics.fixed_neurons.contains(&i)).collect();
        let targets = PairTargets {
            gamma: &model.gamma,
            mean: &Mat::from_fn(n, n, |i, j| means[i * n + j]),
            bins: &Mat::from_fn(n, n, |_, _| n_bins as f64),
            skip: &skip,
        };
        let (fitted, report) = fit_to_pair_means(&targets, self.pair_weighting, &valid, self.moment_fit_iterations);
        tracing::info!(
            misfit_per_pair_before = report.misfit_per_pair.0,
            misfit_per_pair_after = report.misfit_per_pair.1,
            chi2_per_pair_before = report.chi2_per_pair_before,
            chi2_per_pair_after = report.chi2_per_pair_after,
            iterations = report.iterations,
            seconds = report.seconds,
            "latent correlations fitted to the pair means"
        );
        model.diagnostics.moment_fit = Some(report);
        // A floor on the eigenvalues keeps the Cholesky factor defined.
        let floor = self.min_eigenvalue;
        Ok(Mat::from_fn(n, n, |a, b| {
            (1.0 - floor) * fitted[(a, b)] + if a == b { floor } else { 0.0 }
        }))
    }
}

impl DgModel {
    /// Number of neurons.
    pub fn n_neurons(&self) -> usize {
        self.gamma.len()
    }

    /// The full latent correlation matrix (dimension N * bins, index i * bins + t), before any
    /// projection.
    pub fn latent_correlation(&self) -> Mat<f64> {
        block_toeplitz(&self.lag_correlation, self.n_neurons(), self.bins)
    }

    /// The matrix samples are drawn with: built from the valid lag correlations when the fit
    /// needed them, else the solved ones.
    pub fn sampling_correlation(&self) -> Mat<f64> {
        block_toeplitz(
            self.valid_lag_correlation.as_deref().unwrap_or(&self.lag_correlation),
            self.n_neurons(),
            self.bins,
        )
    }

    fn factor(&self) -> Result<&Mat<f64>> {
        if let Some(f) = self.factor.get() {
            return Ok(f);
        }
        let f = cholesky(&self.sampling_correlation())?;
        Ok(self.factor.get_or_init(|| f))
    }
}

/// The stationary (block-Toeplitz) matrix over N * T variables (index i * T + t) of per-lag
/// values `values[tau][i][j]` for (i, t), (j, t + tau).
fn block_toeplitz(values: &[f64], n: usize, t: usize) -> Mat<f64> {
    Mat::from_fn(n * t, n * t, |a, b| {
        let (i, ti, j, tj) = (a / t, a % t, b / t, b % t);
        if tj >= ti {
            values[(tj - ti) * n * n + i * n + j]
        } else {
            values[(ti - tj) * n * n + j * n + i]
        }
    })
}

fn cholesky(m: &Mat<f64>) -> Result<Mat<f64>> {
    Ok(m.llt(Side::Lower)
        .map_err(|e| {
            BaselineError::Numerical(format!(
                "Cholesky of the latent correlation failed ({e:?}); refit the model"
            ))
        })?
        .L()
        .to_owned())
}

impl SpikeModel for DgModel {
    type Error = BaselineError;

    fn describe(&self) -> String {
        match self.kind {
            DgKind::Spatial => "dichotomized Gaussian (spatial)".into(),
            DgKind::Temporal => format!("dichotomized Gaussian (spatio-temporal, T = {})", self.bins),
        }
    }

    fn n_neurons(&self) -> usize {
        self.gamma.len()
    }

    fn max_bins(&self) -> Option<usize> {
        (self.kind == DgKind::Temporal).then_some(self.bins)
    }

    fn sample(&self, n_samples: usize, n_bins: usize, seed: u64) -> Result<SampleSet<'static>> {
        let n = self.n_neurons();
        if n_samples == 0 || n_bins == 0 {
            return Err(BaselineError::Request(format!(
                "asked for {n_samples} samples of {n_bins} bins; both must be > 0"
            )));
        }
        if let Some(max) = self.max_bins()
            && n_bins > max
        {
            return Err(BaselineError::Request(format!(
                "this spatio-temporal DG was fitted on windows of {max} bins; it cannot sample {n_bins}"
            )));
        }
        // Latent block: the leading n_bins of every neuron's T (a principal submatrix).
        let t_fit = self.bins;
        let rows: Vec<usize> = (0..n)
            .flat_map(|i| (0..n_bins.min(t_fit)).map(move |t| i * t_fit + t))
            .collect();
        let (draws, dim) = if self.kind == DgKind::Spatial {
            (n_samples * n_bins, n)
        } else {
            (n_samples, rows.len())
        };
        // A shorter temporal window: the principal submatrix of its bins (valid as well).
        let sub;
        let l = if self.kind == DgKind::Temporal && n_bins < t_fit {
            let full = self.sampling_correlation();
            sub = cholesky(&Mat::from_fn(dim, dim, |a, b| full[(rows[a], rows[b])]))?;
            &sub
        } else {
            self.factor()?
        };
        let threshold: Vec<f64> = (0..dim)
            .map(|v| -self.gamma[if self.kind == DgKind::Spatial { v } else { v / n_bins }])
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut values = vec![0u8; n_samples * n * n_bins];
        const CHUNK: usize = 4096;
        let mut done = 0;
        while done < draws {
            let m = CHUNK.min(draws - done);
            let z = Mat::<f64>::from_fn(dim, m, |_, _| StandardNormal.sample(&mut rng));
            let x = l * &z;
            for c in 0..m {
                let d = done + c;
                for (v, th) in threshold.iter().enumerate() {
                    let on = u8::from(x[(v, c)] > *th);
                    let idx = if self.kind == DgKind::Spatial {
                        let (s, t) = (d / n_bins, d % n_bins);
                        (s * n + v) * n_bins + t
                    } else {
                        d * dim + v
                    };
                    values[idx] = on;
                }
            }
            done += m;
        }
        Ok(SampleSet::from_owned(
            values,
            n_samples,
            n,
            n_bins,
            DataOrigin::new(std::path::Path::new(""), &self.describe()),
        )?)
    }
}
