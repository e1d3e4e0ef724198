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
//!   E[s_i(t) s_j(t+tau)], tau = 0..T-1, measured over every bin of the data. It reproduces the
//!   auto- and cross-covariances at every lag within the window.
//!
//! A target pair mean at an end of what any correlation can give (max(0, p_i + p_j - 1) or
//! min(p_i, p_j); typically two rare neurons never active together, exact solution rho = -1,
//! which makes the matrix far from positive definite) is moved half an event (0.5 / bins)
//! inside the range before solving, and counted. When the latent matrix is not positive definite
//! it is replaced by the nearest correlation matrix with eigenvalues >= `min_eigenvalue`
//! ([`crate::correlation`]), and how far it moved is logged and saved; that matrix is then refined
//! by fitting the pair means directly in units of their sampling errors (`latent_fit`,
//! `moment_fit_iterations`; chi2 per pair before and after saved), because the projection moves
//! every latent entry alike although the busy neurons' pairs matter most for what the model does.
//!
//! **Rates of 0 or 1.** Phi^-1 is infinite there. Such a neuron gets gamma = -[`GAMMA_BOUND`]
//! (+[`GAMMA_BOUND`]) — P(spike) = Phi(-10) ~ 8e-24 — and latent correlation 0 with every other
//! variable, with a warning: it stays silent (active), as in the data.
//!
//! The saved model holds gamma, the solved correlations and, when projected, the valid matrix
//! sampled from; the Cholesky factor is recomputed when a model is loaded and sampled.

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
use crate::latent_fit::{MomentFit, PairTargets, fit_to_pair_means};
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
    /// When the solved matrix is not positive definite: most L-BFGS iterations of the moment
    /// fit that refines the projected matrix ([`crate::latent_fit`]); 0 keeps the projection.
    #[serde(default = "default_moment_fit_iterations")]
    pub moment_fit_iterations: usize,
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
            // The spatio-temporal fit has (N T)^2 pairs (1.3 million on the retina): about 4 s per
            // iteration on 2 cores, and its chi2 flattens after a few dozen (docs/benchmarks.md).
            moment_fit_iterations: match kind {
                DgKind::Spatial => default_moment_fit_iterations(),
                DgKind::Temporal => 60,
            },
        }
    }

    fn validate(&self, bins: usize) -> Result<()> {
        if self.kind == DgKind::Temporal && (self.window == 0 || self.window > bins) {
            return Err(BaselineError::Params(format!(
                "the spatio-temporal DG needs a window of 1..={bins} bins (the data's length), not {}",
                self.window
            )));
        }
        let valid = self.min_eigenvalue > 0.0 && self.min_eigenvalue < 1.0 && self.projection_tolerance > 0.0;
        if !valid {
            return Err(BaselineError::Params(format!(
                "min_eigenvalue must be in (0, 1) and projection_tolerance > 0, got {} and {}",
                self.min_eigenvalue, self.projection_tolerance
            )));
        }
        Ok(())
    }
}

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
    /// When the solved matrix was not positive definite: the valid matrix sampled from
    /// instead (the nearest correlation matrix), upper triangle row-major with the diagonal.
    pub projected_correlation: Option<Vec<f64>>,
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

fn normal() -> Normal {
    Normal::standard()
}

impl FitSpikeModel for DgParams {
    type Model = DgModel;
    type Error = BaselineError;

    fn fit(&self, data: &SpikeRaster) -> Result<DgModel> {
        self.validate(data.n_bins())?;
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
            projected_correlation: None,
            diagnostics,
            factor: OnceLock::new(),
        };
        let (valid, projection) = nearest_correlation(
            &model.latent_correlation(),
            self.min_eigenvalue,
            self.projection_tolerance,
            self.projection_max_iterations,
        )?;
        if !projection.was_positive_definite {
            tracing::warn!(
                min_eigenvalue = projection.min_eigenvalue_before,
                frobenius_change = projection.frobenius_change,
                max_abs_change = projection.max_abs_change,
                iterations = projection.iterations,
                "latent correlation matrix not positive definite: replaced by the nearest valid one"
            );
        }
        let valid = if !projection.was_positive_definite && self.moment_fit_iterations > 0 {
            let d = valid.nrows();
            let skip: Vec<bool> = (0..d)
                .map(|a| model.diagnostics.fixed_neurons.contains(&(a / bins)))
                .collect();
            let n_bins = data.n_bins() as f64;
            let lag_bins: Vec<f64> = (0..bins).flat_map(|tau| vec![n_bins - tau as f64; n * n]).collect();
            let targets = PairTargets {
                gamma: &(0..d).map(|a| model.gamma[a / bins]).collect::<Vec<_>>(),
                mean: &block_toeplitz(&means, n, bins),
                bins: &block_toeplitz(&lag_bins, n, bins),
                skip: &skip,
            };
            let (fitted, report) = fit_to_pair_means(&targets, &valid, self.moment_fit_iterations);
            tracing::info!(
                chi2_per_pair_before = report.chi2_per_pair_before,
                chi2_per_pair_after = report.chi2_per_pair_after,
                iterations = report.iterations,
                seconds = report.seconds,
                "latent correlations fitted to the pair means"
            );
            model.diagnostics.moment_fit = Some(report);
            // A floor on the eigenvalues keeps the Cholesky factor defined.
            let floor = self.min_eigenvalue;
            Mat::from_fn(d, d, |a, b| {
                (1.0 - floor) * fitted[(a, b)] + if a == b { floor } else { 0.0 }
            })
        } else {
            valid
        };
        let factor = cholesky(&valid)?;
        if !projection.was_positive_definite {
            let d = valid.nrows();
            model.projected_correlation = Some(
                (0..d)
                    .flat_map(|i| (i..d).map(move |j| (i, j)))
                    .map(|(i, j)| valid[(i, j)])
                    .collect(),
            );
        }
        model.diagnostics.projection = projection;
        model.diagnostics.seconds = start.elapsed().as_secs_f64();
        let _ = model.factor.set(factor);
        Ok(model)
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

    /// The matrix samples are drawn with: the projected one when the fit needed it.
    pub fn sampling_correlation(&self) -> Mat<f64> {
        match &self.projected_correlation {
            None => self.latent_correlation(),
            Some(upper) => {
                let d = self.n_neurons() * self.bins;
                let mut m = Mat::zeros(d, d);
                let mut k = 0;
                for i in 0..d {
                    for j in i..d {
                        m[(i, j)] = upper[k];
                        m[(j, i)] = upper[k];
                        k += 1;
                    }
                }
                m
            }
        }
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
