//! Fit a valid latent correlation matrix of a dichotomized Gaussian to the data's pair means
//! directly, for when the pairwise solutions do not form a positive definite matrix.
//!
//! The nearest correlation matrix (Higham) is nearest in the latent space, where every entry
//! counts the same; but a latent correlation between two rare neurons barely changes what they
//! do, while one between two busy neurons changes their coincidences a lot. Projecting moves both
//! alike, so the busy pairs — which set the spike-count distribution — end up wrong. This fit
//! instead minimises the pair means' misfit,
//!
//! f(Lambda) = sum over pairs a < b of ((Phi_2(gamma_a, gamma_b; Lambda_ab) - m_ab) / w_ab)^2,
//!
//! with w_ab per [`PairWeighting`]: se_ab, each pair's sampling error (chi2: rare pairs count
//! most); one scale s for all (the absolute misfit of the pair means, which with the rates
//! matched exactly is that of the covariances the paper's errors add up; rare pairs then drift);
//! or, by default, their geometric mean sqrt(se_ab s). On the retina's spatial DG the samples'
//! covariance error at 65536 samples is 0.110 with chi2, 0.080 balanced and 0.074 absolute
//! (docs/benchmarks.md). The chi2 per pair is reported whatever the weighting.
//!
//! The minimum is taken over valid matrices Lambda = U U^T whose factor U has unit rows (U = rows
//! of B normalised; any B gives a valid correlation matrix), with L-BFGS on B from the Cholesky
//! factor of the projected matrix. se_ab = sqrt(m (1 - m) / n) for a pair mean m over n bins (m
//! at least half an event). The gradient: d f / d Lambda_ab = 2 r_ab / w_ab * phi_2(gamma_a,
//! gamma_b; Lambda_ab) (r_ab the weighted residual, phi_2 the bivariate normal density), carried
//! through Lambda = U U^T and the row normalisation.

use faer::Mat;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::optim;

/// What the moment fit did; saved with the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MomentFit {
    /// chi2 per pair of the projected (starting) matrix: about 1 means within sampling error.
    pub chi2_per_pair_before: f64,
    /// chi2 per pair after the fit.
    pub chi2_per_pair_after: f64,
    /// The weighting the fit minimised (files from before this field: chi2).
    #[serde(default = "chi2_weighting")]
    pub weighting: PairWeighting,
    /// The minimised misfit per pair, sum of (misfit / w_ab)^2 over pairs divided by their number,
    /// before and after (equal to chi2 per pair for [`PairWeighting::StandardError`]).
    #[serde(default)]
    pub misfit_per_pair: (f64, f64),
    /// L-BFGS iterations.
    pub iterations: usize,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// How the moment fit weighs each pair mean's misfit: it divides it by w_ab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairWeighting {
    /// w_ab = sqrt(se_ab * s), s the pairs' RMS sampling error: between the two below. Busy pairs
    /// (which the covariance errors are made of) count more than under chi2, and rare pairs keep
    /// enough weight not to drift far.
    #[default]
    Balanced,
    /// w_ab = s for every pair: the absolute misfit, what covariance errors measure; pairs of
    /// rare neurons are then nearly free and can move by many standard errors.
    Absolute,
    /// w_ab = se_ab (chi2): each pair in units of its own sampling error; rare pairs count most.
    StandardError,
}

/// A [`PairWeighting`] made concrete for one set of targets.
#[derive(Clone, Copy)]
enum Weights {
    PerPair,
    Uniform(f64),
    Geometric(f64),
}

impl Weights {
    /// w_ab for a pair whose sampling error is `se`.
    fn of(self, se: f64) -> f64 {
        match self {
            Weights::PerPair => se,
            Weights::Uniform(s) => s,
            Weights::Geometric(s) => (s * se).sqrt(),
        }
    }
}

fn chi2_weighting() -> PairWeighting {
    PairWeighting::StandardError
}

/// The pair means to fit, over `d` latent variables.
pub(crate) struct PairTargets<'a> {
    /// Latent mean of each variable, length d.
    pub gamma: &'a [f64],
    /// Target E[s_a s_b] (d x d, symmetric; the diagonal is ignored).
    pub mean: &'a Mat<f64>,
    /// Bins each target was averaged over (d x d).
    pub bins: &'a Mat<f64>,
    /// Variables whose pairs are not fitted (neurons never or always active).
    pub skip: &'a [bool],
}

impl PairTargets<'_> {
    /// Sampling error of the pair mean (a, b): sqrt(m (1 - m) / n), m at least half an event.
    fn standard_error(&self, a: usize, b: usize) -> f64 {
        sampling_variance(self.mean[(a, b)], self.bins[(a, b)]).sqrt()
    }

    /// The divisors of the pairs' misfits under `weighting`.
    fn weights(&self, weighting: PairWeighting) -> Weights {
        let rms = || {
            let d = self.gamma.len();
            let (mut sum, mut count) = (0.0, 0usize);
            for a in (0..d).filter(|&a| !self.skip[a]) {
                for b in (a + 1..d).filter(|&b| !self.skip[b]) {
                    sum += self.standard_error(a, b).powi(2);
                    count += 1;
                }
            }
            (sum / count.max(1) as f64).sqrt().max(f64::MIN_POSITIVE)
        };
        match weighting {
            PairWeighting::StandardError => Weights::PerPair,
            PairWeighting::Absolute => Weights::Uniform(rms()),
            PairWeighting::Balanced => Weights::Geometric(rms()),
        }
    }
}

/// Sampling variance m (1 - m) / bins of a pair mean m over `bins` bins, m at least half an event.
pub(crate) fn sampling_variance(m: f64, bins: f64) -> f64 {
    m.max(0.5 / bins) * (1.0 - m) / bins
}

/// The pair mean P(x_a > -gamma_a, x_b > -gamma_b) of standard normals with correlation `r`
/// (kept inside (-1, 1)), and its derivative with respect to `r`: the bivariate normal density
/// at the thresholds.
pub(crate) fn pair_mean_and_slope(gamma_a: f64, gamma_b: f64, r: f64) -> (f64, f64) {
    let r = r.clamp(-1.0 + 1e-12, 1.0 - 1e-12);
    let (h, k) = (-gamma_a, -gamma_b);
    let one_minus = 1.0 - r * r;
    let density = (-(h * h - 2.0 * r * h * k + k * k) / (2.0 * one_minus)).exp()
        / (2.0 * std::f64::consts::PI * one_minus.sqrt());
    (owens_t::biv_norm(h, k, r), density)
}

/// f / 2 and its gradient with respect to Lambda (symmetric, zero diagonal); each pair's misfit
/// divided by its weight (f = chi2 for [`Weights::PerPair`]).
fn misfit(t: &PairTargets, lambda: &Mat<f64>, weights: Weights) -> (f64, Mat<f64>) {
    let d = t.gamma.len();
    // Row a holds the pairs (a, b > a).
    let rows: Vec<(f64, Vec<f64>)> = (0..d)
        .into_par_iter()
        .map(|a| {
            let mut f = 0.0;
            let mut grad = vec![0.0; d - a - 1];
            if t.skip[a] {
                return (f, grad);
            }
            for (g, b) in grad.iter_mut().zip(a + 1..d) {
                if t.skip[b] {
                    continue;
                }
                let (mean, density) = pair_mean_and_slope(t.gamma[a], t.gamma[b], lambda[(a, b)]);
                let se = weights.of(t.standard_error(a, b));
                let residual = (mean - t.mean[(a, b)]) / se;
                f += 0.5 * residual * residual;
                *g = residual / se * density;
            }
            (f, grad)
        })
        .collect();
    let f = rows.iter().map(|r| r.0).sum();
    let g = Mat::from_fn(d, d, |a, b| match a.cmp(&b) {
        std::cmp::Ordering::Less => rows[a].1[b - a - 1],
        std::cmp::Ordering::Greater => rows[b].1[a - b - 1],
        std::cmp::Ordering::Equal => 0.0,
    });
    (f, g)
}

/// Unit-row factor U of B (row-major, d x d) and the row norms.
fn unit_rows(b: &[f64], d: usize) -> (Mat<f64>, Vec<f64>) {
    let norms: Vec<f64> = b
        .chunks(d)
        .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let u = Mat::from_fn(d, d, |a, j| b[a * d + j] / norms[a].max(f64::MIN_POSITIVE));
    (u, norms)
}

/// f / 2 of the matrix B (row-major, d x d) stands for, and its gradient with respect to B.
fn value_and_gradient(targets: &PairTargets, weights: Weights, b: &[f64], d: usize) -> (f64, Vec<f64>) {
    let (u, norms) = unit_rows(b, d);
    let lambda = &u * u.transpose();
    let (f, g_lambda) = misfit(targets, &lambda, weights);
    // d f / d U = G U; through the row normalisation: (I - u u^T) dU / |b|.
    let du = &g_lambda * &u;
    let mut grad = vec![0.0; d * d];
    for a in 0..d {
        let along: f64 = (0..d).map(|j| u[(a, j)] * du[(a, j)]).sum();
        for j in 0..d {
            grad[a * d + j] = (du[(a, j)] - u[(a, j)] * along) / norms[a].max(f64::MIN_POSITIVE);
        }
    }
    (f, grad)
}

/// Fit from `start` (a valid correlation matrix) for at most `max_iterations`; returns the
/// fitted correlation matrix (unit diagonal, positive semi-definite by construction).
pub(crate) fn fit_to_pair_means(
    targets: &PairTargets,
    weighting: PairWeighting,
    start: &Mat<f64>,
    max_iterations: usize,
) -> (Mat<f64>, MomentFit) {
    let clock = std::time::Instant::now();
    let d = start.nrows();
    let pairs = {
        let active = targets.skip.iter().filter(|s| !**s).count();
        (active * active.saturating_sub(1) / 2).max(1) as f64
    };
    // Start: the lower Cholesky factor of the (positive definite) projected matrix.
    let factor = start
        .llt(faer::Side::Lower)
        .map(|c| c.L().to_owned())
        .unwrap_or_else(|_| Mat::identity(d, d));
    let b0: Vec<f64> = (0..d * d).map(|k| factor[(k / d, k % d)]).collect();
    let weights = targets.weights(weighting);
    let evaluate = |b: &[f64]| {
        let (f, g) = value_and_gradient(targets, weights, b, d);
        (f, g, ())
    };
    let chi2 = |b: &[f64]| 2.0 * value_and_gradient(targets, Weights::PerPair, b, d).0 / pairs;
    let chi2_before = chi2(&b0);
    let misfit_before = 2.0 * evaluate(&b0).0 / pairs;
    let done = |p: &optim::Point<()>, iteration: usize| {
        if iteration.is_multiple_of(25) {
            tracing::info!(
                iteration,
                misfit_per_pair = 2.0 * p.f / pairs,
                "fitting latent correlations to the pair means"
            );
        }
        2.0 * p.f / pairs < 1e-3
    };
    let (point, iterations) = optim::minimize(b0, max_iterations, evaluate, |_| {}, done);
    let (u, _) = unit_rows(&point.x, d);
    let mut lambda = &u * u.transpose();
    for a in 0..d {
        lambda[(a, a)] = 1.0;
    }
    (
        lambda,
        MomentFit {
            chi2_per_pair_before: chi2_before,
            chi2_per_pair_after: chi2(&point.x),
            weighting,
            misfit_per_pair: (misfit_before, 2.0 * point.f / pairs),
            iterations,
            seconds: clock.elapsed().as_secs_f64(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient agrees with central differences of the objective.
    #[test]
    fn the_gradient_matches_finite_differences() {
        let gamma = [-1.0, -0.5, -1.5, -0.8];
        let m = Mat::from_fn(4, 4, |a, b| if a == b { 0.0 } else { 0.05 + 0.01 * (a + b) as f64 });
        let bins = Mat::from_fn(4, 4, |_, _| 1000.0);
        let skip = [false; 4];
        let t = PairTargets {
            gamma: &gamma,
            mean: &m,
            bins: &bins,
            skip: &skip,
        };
        let b: Vec<f64> = (0..16)
            .map(|k| ((k * 7 % 5) as f64 - 2.0) * 0.3 + if k % 5 == 0 { 1.0 } else { 0.0 })
            .collect();
        for weighting in [
            PairWeighting::StandardError,
            PairWeighting::Absolute,
            PairWeighting::Balanced,
        ] {
            let scale = t.weights(weighting);
            let (_, analytic) = value_and_gradient(&t, scale, &b, 4);
            for k in [0, 3, 6, 9, 13] {
                let h = 1e-6;
                let (mut plus, mut minus) = (b.clone(), b.clone());
                plus[k] += h;
                minus[k] -= h;
                let f = |x: &[f64]| value_and_gradient(&t, scale, x, 4).0;
                let numeric = (f(&plus) - f(&minus)) / (2.0 * h);
                assert!(numeric.abs() > 1e-3, "{k}: a zero gradient would pass trivially");
                assert!(
                    (analytic[k] - numeric).abs() < 1e-5 * numeric.abs().max(1.0),
                    "{k}: {} vs {numeric}",
                    analytic[k]
                );
            }
        }
    }
}
