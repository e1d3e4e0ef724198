//! Fits and samples for populations too large to enumerate: Gibbs sampling on many independent
//! chains (in parallel; each chain has its own seeded stream, so results do not depend on
//! thread timing), and Newton steps on the moment mismatch,
//!
//! theta += rate * Cov_data(f)^-1 (mu_data - mu_model),
//!
//! preconditioned by the data's feature covariance (the Hessian of log Z at the optimum, up to
//! the unmatched higher moments; exact, so free of sampling noise), ridged, each component of a
//! step limited to +-1, and the step shortened until the log-likelihood gain, estimated by
//! importance sampling from the same samples, is positive. The number of samples per iteration
//! doubles whenever the residuals are within twice the tolerance or stop improving; at the
//! largest sample size the step fraction then decays as rate / (1 + k / 10) after k iterations
//! there (Robbins-Monro: with full steps the parameters kept jumping about the optimum by the
//! noise of each moment estimate, the retina's residuals swinging between 0.7 and 3.4 standard
//! errors). The fit stops when the RMS residual of every group (rates, pair means, P(K)) is
//! within `tolerance_z` standard errors (default 0.5); at the iteration limit it returns the
//! best iterate of the largest sample size.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use spike_data::SpikeRaster;

use super::{Layout, MaxEntDiagnostics, MaxEntModel, MaxEntParams, PARAM_BOUND, Problem, ResidualZ};
use crate::error::{BaselineError, Result};

/// Gibbs sampling settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McmcParams {
    /// Independent chains (run in parallel).
    pub chains: usize,
    /// Sweeps (one update of every neuron) before a chain's first sample.
    pub burn_in_sweeps: usize,
    /// Sweeps between recorded samples while fitting.
    pub fit_thin_sweeps: usize,
    /// Sweeps between recorded samples when sampling a fitted model (consecutive patterns of a
    /// window must be independent: these models have no temporal structure).
    pub sample_thin_sweeps: usize,
    /// Samples per chain per fitting iteration at the start.
    pub samples_per_chain_start: usize,
    /// Largest samples per chain per fitting iteration.
    pub samples_per_chain_max: usize,
    /// Fraction of the Newton step taken.
    pub learning_rate: f64,
    /// Most fitting iterations.
    pub max_iterations: usize,
    /// Stop when every group's RMS residual is at most this many standard errors.
    pub tolerance_z: f64,
}

impl Default for McmcParams {
    fn default() -> Self {
        McmcParams {
            chains: 64,
            burn_in_sweeps: 200,
            fit_thin_sweeps: 1,
            sample_thin_sweeps: 50,
            samples_per_chain_start: 1000,
            samples_per_chain_max: 16000,
            learning_rate: 0.7,
            max_iterations: 200,
            tolerance_z: 0.5,
        }
    }
}

impl McmcParams {
    /// Ok when the settings can run (positive counts, rates and tolerance).
    pub fn validate(&self) -> Result<()> {
        let ok = self.chains > 0
            && self.fit_thin_sweeps > 0
            && self.sample_thin_sweeps > 0
            && self.samples_per_chain_start > 0
            && self.samples_per_chain_max >= self.samples_per_chain_start
            && self.learning_rate > 0.0
            && self.learning_rate.is_finite()
            && self.tolerance_z > 0.0;
        if ok {
            Ok(())
        } else {
            Err(BaselineError::Params(format!(
                "MCMC settings must have chains, thinning and samples per chain > 0, \
                 samples_per_chain_max >= samples_per_chain_start, learning_rate and tolerance_z > 0: {self:?}"
            )))
        }
    }
}

/// One Gibbs chain: the state, each neuron's local field h_i + sum_j J_ij s_j, and K.
struct Chain {
    state: Vec<u8>,
    field: Vec<f64>,
    count: usize,
    rng: ChaCha8Rng,
}

impl Chain {
    fn new(model: &MaxEntModel, seed: u64, chain: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(chain as u64);
        // Start from the fields alone (independent neurons).
        let state: Vec<u8> = model
            .fields
            .iter()
            .map(|&h| u8::from(rng.random::<f64>() < 1.0 / (1.0 + (-h).exp())))
            .collect();
        let mut c = Chain {
            count: state.iter().map(|&v| v as usize).sum(),
            field: Vec::new(),
            state,
            rng,
        };
        c.refresh(model);
        c
    }

    fn refresh(&mut self, model: &MaxEntModel) {
        let n = self.state.len();
        self.field = (0..n)
            .map(|i| {
                model.fields[i]
                    + (0..n)
                        .filter(|&j| self.state[j] != 0)
                        .map(|j| model.couplings[i * n + j])
                        .sum::<f64>()
            })
            .collect();
    }

    fn sweep(&mut self, model: &MaxEntModel) {
        let n = self.state.len();
        for i in 0..n {
            let old = self.state[i];
            let others = self.count - old as usize;
            let de = self.field[i] + model.count_potential[others + 1] - model.count_potential[others];
            let new = u8::from(self.rng.random::<f64>() * (1.0 + (-de).exp()) < 1.0);
            if new != old {
                self.state[i] = new;
                self.count = others + new as usize;
                let sign = if new == 1 { 1.0 } else { -1.0 };
                let row = &model.couplings[i * n..(i + 1) * n];
                self.field.iter_mut().zip(row).for_each(|(f, j)| *f += sign * j);
            }
        }
    }
}

/// The active features of recorded samples, flattened: indices in the layout's order
/// (neuron i; pair i<j; count K >= 1), one run per sample delimited by `ends`.
#[derive(Default)]
struct FeatureRuns {
    features: Vec<u32>,
    ends: Vec<u32>,
}

impl FeatureRuns {
    fn record(&mut self, layout: Layout, state: &[u8], active: &mut Vec<usize>) {
        let n = layout.n;
        active.clear();
        active.extend((0..n).filter(|&i| state[i] != 0));
        self.features.extend(active.iter().map(|&i| i as u32));
        if layout.pairs() > 0 {
            for (a, &i) in active.iter().enumerate() {
                let row = n + i * n - i * (i + 1) / 2;
                self.features
                    .extend(active[a + 1..].iter().map(|&j| (row + j - i - 1) as u32));
            }
        }
        if layout.counts() > 0 && !active.is_empty() {
            self.features.push((n + layout.pairs() + active.len() - 1) as u32);
        }
        self.ends.push(self.features.len() as u32);
    }

    fn runs(&self) -> impl Iterator<Item = &[u32]> {
        let mut start = 0usize;
        self.ends.iter().map(move |&e| {
            let r = &self.features[start..e as usize];
            start = e as usize;
            r
        })
    }
}

/// Mean of every feature over the recorded samples, and the number of samples.
fn moments(layout: Layout, runs: &[FeatureRuns]) -> (Vec<f64>, usize) {
    let mut counts = vec![0u64; layout.len()];
    let mut samples = 0usize;
    for run in runs.iter().flat_map(|r| r.runs()) {
        samples += 1;
        run.iter().for_each(|&f| counts[f as usize] += 1);
    }
    (counts.iter().map(|&c| c as f64 / samples as f64).collect(), samples)
}

/// Mean of every feature and, over the free ones, their covariance (the Hessian of log Z).
fn moments_and_covariance(
    layout: Layout,
    runs: &[FeatureRuns],
    free_index: &[Option<usize>],
    n_free: usize,
) -> (Vec<f64>, Mat<f64>, usize) {
    let (mu, samples) = moments(layout, runs);
    let mut second = vec![0u64; n_free * n_free];
    let mut free_active = Vec::new();
    for run in runs.iter().flat_map(|r| r.runs()) {
        free_active.clear();
        free_active.extend(run.iter().filter_map(|&f| free_index[f as usize]));
        for (a, &i) in free_active.iter().enumerate() {
            for &j in &free_active[a..] {
                second[i.min(j) * n_free + i.max(j)] += 1;
            }
        }
    }
    let s = samples as f64;
    let mut free_mu = vec![0.0; n_free];
    for (f, k) in free_index.iter().enumerate() {
        if let Some(k) = k {
            free_mu[*k] = mu[f];
        }
    }
    let cov = Mat::from_fn(n_free, n_free, |i, j| {
        second[i.min(j) * n_free + i.max(j)] as f64 / s - free_mu[i] * free_mu[j]
    });
    (mu, cov, samples)
}

/// The largest fraction a (1, 1/2, 1/4, ...) of `step` whose log-likelihood gain per bin,
/// estimated by importance sampling from the current samples,
/// a * step . mu_data - log mean_s exp(a * step . f(s)),
/// is positive while the importance weights keep an effective sample size of at least 10%.
fn line_search(runs: &[FeatureRuns], step: &[f64], target: &[f64]) -> f64 {
    let gain_per_unit: f64 = step.iter().zip(target).map(|(d, t)| d * t).sum();
    let exponents: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.runs())
        .map(|run| run.iter().map(|&f| step[f as usize]).sum())
        .collect();
    let mut a = 1.0;
    for _ in 0..30 {
        let max = exponents.iter().fold(f64::NEG_INFINITY, |m, &e| m.max(a * e));
        let (sum, sum_sq) = exponents.iter().fold((0.0, 0.0), |(s, q), &e| {
            let w = (a * e - max).exp();
            (s + w, q + w * w)
        });
        let log_mean = max + (sum / exponents.len() as f64).ln();
        let ess = sum * sum / sum_sq;
        if a * gain_per_unit - log_mean > 0.0 && ess >= 0.1 * exponents.len() as f64 {
            return a;
        }
        a *= 0.5;
    }
    0.0
}

/// Most free parameters an MCMC fit takes: its Newton preconditioner is a dense matrix of their
/// number squared (12000: 1.15 GB, a Cholesky factorisation of about a minute on 2 cores).
pub const MAX_MCMC_PARAMETERS: usize = 12_000;

/// g -> H^-1 g on the free parameters, H ridged (relative 1e-3, absolute 1e-6) so that
/// redundant features (k-pairwise's count potential overlaps the fields and couplings) and
/// never-seen ones stay solvable.
fn newton_solver(mut h: Mat<f64>) -> Result<impl Fn(&[f64]) -> Vec<f64>> {
    let n = h.nrows();
    for i in 0..n {
        h[(i, i)] += 1e-3 * h[(i, i)] + 1e-6;
    }
    let llt = h
        .llt(Side::Lower)
        .map_err(|e| BaselineError::Numerical(format!("feature covariance not positive definite: {e:?}")))?;
    Ok(move |g: &[f64]| {
        let x = llt.solve(Mat::from_fn(n, 1, |i, _| g[i]));
        (0..n).map(|i| x[(i, 0)]).collect()
    })
}

pub(crate) fn fit(
    data: &SpikeRaster,
    params: &MaxEntParams,
    problem: &Problem,
    mut theta: Vec<f64>,
) -> Result<(MaxEntModel, MaxEntDiagnostics)> {
    let Problem {
        layout,
        target,
        free,
        n_data,
    } = *problem;
    let p = &params.mcmc;
    let n_free = free.iter().filter(|&&f| f).count();
    if n_free > MAX_MCMC_PARAMETERS {
        return Err(BaselineError::Params(format!(
            "a {} of {} neurons has {n_free} free parameters; the MCMC fit's Newton step factorises a dense \
             {n_free} x {n_free} matrix ({:.0} GB), so at most {MAX_MCMC_PARAMETERS} are supported (a pairwise \
             model of about 150 neurons): fit a subset of the neurons",
            layout.kind.describe(),
            layout.n,
            (n_free as f64).powi(2) * 8e-9
        )));
    }
    let mut model = MaxEntModel::from_theta(layout, &theta);
    let mut chains: Vec<Chain> = (0..p.chains).map(|c| Chain::new(&model, params.seed, c)).collect();
    chains.par_iter_mut().for_each(|c| {
        for _ in 0..p.burn_in_sweeps {
            c.sweep(&model);
        }
    });
    let free_index: Vec<Option<usize>> = free
        .iter()
        .scan(0usize, |next, &f| {
            Some(f.then(|| {
                *next += 1;
                *next - 1
            }))
        })
        .collect();
    // Preconditioner: the data's feature covariance (exact, no sampling noise; equal to the
    // model's at the optimum for the matched moments), factorised once.
    let mut data_runs = FeatureRuns::default();
    let mut active = Vec::new();
    for row in data.counts().chunks_exact(layout.n) {
        data_runs.record(layout, row, &mut active);
    }
    let (_, data_cov, _) = moments_and_covariance(layout, std::slice::from_ref(&data_runs), &free_index, n_free);
    drop(data_runs);
    let newton = newton_solver(data_cov)?;
    let mut per_chain = p.samples_per_chain_start;
    let mut iterations = 0;
    let mut previous_worst = f64::INFINITY;
    // Iterations done with the most samples per chain, and the best of them (worst RMS z, theta).
    let mut at_max = 0usize;
    let mut best: Option<(f64, Vec<f64>, Vec<f64>, ResidualZ)> = None;
    let (mu, z, converged) = loop {
        iterations += 1;
        let runs: Vec<FeatureRuns> = chains
            .par_iter_mut()
            .map(|c| {
                c.refresh(&model);
                let mut runs = FeatureRuns::default();
                let mut active = Vec::new();
                for _ in 0..per_chain {
                    for _ in 0..p.fit_thin_sweeps {
                        c.sweep(&model);
                    }
                    runs.record(layout, &c.state, &mut active);
                }
                runs
            })
            .collect();
        let (mu, samples) = moments(layout, &runs);
        let z = ResidualZ::of(layout, target, &mu, n_data, Some(samples));
        tracing::info!(
            iteration = iterations,
            samples,
            rates_rms_z = z.rates_rms,
            pairs_rms_z = z.pairs_rms,
            counts_rms_z = z.counts_rms,
            "maxent MCMC fit"
        );
        let worst = z.worst_rms();
        if per_chain == p.samples_per_chain_max {
            if worst <= p.tolerance_z {
                break (mu, z, true);
            }
            at_max += 1;
            if best.as_ref().is_none_or(|b| worst < b.0) {
                best = Some((worst, theta.clone(), mu.clone(), z.clone()));
            }
        }
        if iterations >= p.max_iterations {
            tracing::warn!(
                iterations,
                worst_rms_z = worst,
                best_worst_rms_z = best.as_ref().map(|b| b.0),
                "maxent MCMC fit stopped at its iteration limit before the residuals were within noise: \
                 keeping its best iterate"
            );
            match best.take() {
                Some((_, best_theta, best_mu, best_z)) => {
                    theta = best_theta;
                    model = MaxEntModel::from_theta(layout, &theta);
                    break (best_mu, best_z, false);
                }
                None => break (mu, z, false),
            }
        }
        // More samples once the residuals are near the tolerance or stop improving (the
        // moment estimates' noise then dominates the steps).
        if (worst <= 2.0 * p.tolerance_z || worst > 0.9 * previous_worst) && per_chain < p.samples_per_chain_max {
            per_chain = (per_chain * 2).min(p.samples_per_chain_max);
        }
        previous_worst = worst;
        let g: Vec<f64> = (0..theta.len())
            .filter(|&k| free[k])
            .map(|k| target[k] - mu[k])
            .collect();
        // With the most samples, the moment estimates' noise sets the residuals: steps shrink
        // (Robbins-Monro, 1 / (1 + k / 10)) so that the parameters settle instead of jumping
        // about the optimum by the noise of each estimate.
        let rate = p.learning_rate / (1.0 + at_max as f64 / 10.0);
        let mut step = vec![0.0; theta.len()];
        for (k, d) in (0..theta.len()).filter(|&k| free[k]).zip(newton(&g)) {
            step[k] = (rate * d).clamp(-1.0, 1.0);
        }
        let scale = line_search(&runs, &step, target);
        for k in 0..theta.len() {
            theta[k] = (theta[k] + scale * step[k]).clamp(-PARAM_BOUND, PARAM_BOUND);
        }
        model = MaxEntModel::from_theta(layout, &theta);
    };
    // The reported residuals are those of the returned parameters' last moment estimate.
    let max_abs_residual = mu.iter().zip(target).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    Ok((
        model,
        MaxEntDiagnostics {
            method: "mcmc".into(),
            iterations,
            converged,
            max_abs_residual,
            residual_z: z,
            exact: None,
            fixed_neurons: Vec::new(),
            seconds: 0.0,
        },
    ))
}

/// `count` patterns (N values each) from Gibbs chains: `chains` chains burn in, then each
/// records every `sample_thin_sweeps`-th state for its consecutive share of the rows.
pub(crate) fn sample_patterns(model: &MaxEntModel, p: &McmcParams, count: usize, seed: u64) -> Vec<u8> {
    let n = model.n_neurons();
    let per = count.div_ceil(p.chains);
    let parts: Vec<Vec<u8>> = (0..p.chains)
        .into_par_iter()
        .map(|c| {
            let rows = per.min(count.saturating_sub(c * per));
            let mut chain = Chain::new(model, seed, c);
            for _ in 0..p.burn_in_sweeps {
                chain.sweep(model);
            }
            let mut out = Vec::with_capacity(rows * n);
            for _ in 0..rows {
                for _ in 0..p.sample_thin_sweeps {
                    chain.sweep(model);
                }
                out.extend_from_slice(&chain.state);
            }
            out
        })
        .collect();
    parts.concat()
}
