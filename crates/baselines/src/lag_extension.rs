//! A valid stationary latent process from lagged target correlations: the multivariate Levinson
//! recursion (Whittle 1963) with its partial correlations clipped.
//!
//! A sequence of lag matrices `R(tau) = E[x(t + tau) x(t)^T]`, tau = 0..=L (N x N each), is the
//! autocovariance of a stationary process exactly when every normalised partial correlation
//! `K_m = Lv^-1 Delta_m Lu^-T` of the recursion has singular values below 1, where `Delta_m` is
//! the part of `R(m)` that the lags before it do not predict and `Lv`, `Lu` are Cholesky factors
//! of the forward and backward prediction-error covariances of order m - 1. Lag by lag, the target
//! `R(m)` is kept where it is valid; otherwise it is replaced by the valid lag closest to it in a
//! weighted Frobenius norm (when weights are given; the singular values of `K_m` are then at most
//! `max_partial`, found by accelerated projected gradient from the clipped `K_m`), or by `K_m`
//! with its singular values above `max_partial` set to `max_partial`; given the dichotomized
//! Gaussian's binary targets, that lag is then refined to fit the binary pair means it gives.
//! `R(0)` is kept exactly, so a model built this way has the same single-bin statistics as its
//! `R(0)`; and each order's prediction-error covariance stays at least `1 - max_partial^2` times
//! the previous one, so the block-Toeplitz matrix of any window is positive definite.

use faer::{Mat, Side};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::correlation::min_eigenvalue;
use crate::error::{BaselineError, Result};
use crate::latent_fit::pair_mean_and_slope;

/// What the recursion changed; saved with the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LagExtension {
    /// Per fitted lag: the largest singular value of the target's partial correlation (above 1:
    /// no stationary Gaussian has that lag given the lags before it).
    pub largest_partial_correlation: Vec<f64>,
    /// Lags whose partial correlation was clipped.
    pub clipped_lags: usize,
    /// Largest |change| of a lagged correlation.
    pub max_abs_change: f64,
    /// Lags fitted to their targets (fewer than asked when the process became nearly
    /// predictable, see [`MIN_ERROR_VARIANCE`]).
    #[serde(default)]
    pub fitted_lags: usize,
    /// Per lag refined to its binary pair means: the sum of |pair mean - target| over its N x N
    /// entries before and after the refinement.
    #[serde(default)]
    pub pair_mean_misfit: Vec<(f64, f64)>,
}

/// Lags stop being fitted once a prediction-error covariance has an eigenvalue below this: a
/// nearly predictable process amplifies rounding errors of later lags beyond validity.
pub const MIN_ERROR_VARIANCE: f64 = 1e-6;

fn llt(m: &Mat<f64>, what: &str) -> Result<faer::linalg::solvers::Llt<f64>> {
    m.llt(Side::Lower).map_err(|e| {
        BaselineError::Numerical(format!(
            "the {what} of the latent process is not positive definite ({e:?})"
        ))
    })
}

/// `a^-1 b` for a lower-triangular `a`.
fn lower_solve(a: faer::MatRef<'_, f64>, b: &Mat<f64>) -> Mat<f64> {
    let mut x = b.clone();
    a.solve_lower_triangular_in_place(x.as_mut());
    x
}

/// The valid lag sequence closest to `targets` in the sense above: `targets[0]` (positive
/// definite, kept) and `targets[1..]` (lag matrices `R(tau)`, replaced where invalid), extended
/// to `lag_count` lags; `weight` (N x N, >= 0) weighs the entries of a lag's misfit.
pub(crate) fn valid_extension(
    targets: &[Mat<f64>],
    lag_count: usize,
    max_partial: f64,
    weight: Option<&Mat<f64>>,
    binary: Option<&BinaryLagTargets>,
) -> Result<(Vec<Mat<f64>>, LagExtension)> {
    let Some(r0) = targets.first() else {
        return Ok((Vec::new(), LagExtension::default()));
    };
    let n = r0.nrows();
    let mut lags = vec![r0.clone()];
    let mut report = LagExtension::default();
    // Forward and backward predictor coefficients of the current order, and their error
    // covariances.
    let (mut forward, mut backward): (Vec<Mat<f64>>, Vec<Mat<f64>>) = (Vec::new(), Vec::new());
    let (mut v, mut u) = (r0.clone(), r0.clone());
    for m in 1..lag_count {
        let mut predicted = Mat::<f64>::zeros(n, n);
        for (i, a) in forward.iter().enumerate() {
            predicted += a * &lags[m - 1 - i];
        }
        let predictable = min_eigenvalue(&v)?.min(min_eigenvalue(&u)?) < MIN_ERROR_VARIANCE;
        let target = match targets.get(m) {
            Some(t) if !predictable && report.fitted_lags + 1 == m => {
                report.fitted_lags = m;
                t
            }
            _ => &predicted,
        };
        let delta_target = target - &predicted;
        let (llt_v, llt_u) = (
            llt(&v, "forward prediction error")?,
            llt(&u, "backward prediction error")?,
        );
        // K = Lv^-1 Delta Lu^-T.
        let x = lower_solve(llt_v.L(), &delta_target);
        let k = lower_solve(llt_u.L(), &x.transpose().to_owned()).transpose().to_owned();
        let (largest, clipped) = clip_singular_values(&k, max_partial)?;
        if report.fitted_lags == m {
            report.largest_partial_correlation.push(largest);
        }
        let (lv, lu) = (llt_v.L(), llt_u.L());
        let k = if largest > max_partial {
            report.clipped_lags += 1;
            let projected = match weight {
                Some(w) => weighted_projection(clipped, &delta_target, lv, lu, w, max_partial)?,
                None => clipped,
            };
            match binary.and_then(|b| Some((b, b.means.get(m)?))) {
                Some((b, means)) if report.fitted_lags == m => {
                    let (refined, before, after) =
                        binary_refinement(projected, &predicted, lv, lu, b, means, max_partial)?;
                    report.pair_mean_misfit.push((before, after));
                    refined
                }
                _ => projected,
            }
        } else {
            k
        };
        let lag = &predicted + lv * &k * lu.transpose();
        report.max_abs_change = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| (lag[(i, j)] - target[(i, j)]).abs())
            .fold(report.max_abs_change, f64::max);
        lags.push(lag);
        // Order update, in factored form (the error covariances stay symmetric positive definite
        // in floating point): new last coefficients Delta U^-1 = Lv K Lu^-1 and
        // Delta^T V^-1 = Lu K^T Lv^-1; V' = Lv (I - K K^T) Lv^T, U' = Lu (I - K^T K) Lu^T.
        let identity = Mat::<f64>::identity(n, n);
        let lu_inv = lower_solve(lu, &identity);
        let lv_inv = lower_solve(lv, &identity);
        let a_last = lv * &k * &lu_inv;
        let b_last = lu * k.transpose() * &lv_inv;
        let order = forward.len();
        let new_forward: Vec<Mat<f64>> = (0..order)
            .map(|i| &forward[i] - &a_last * &backward[order - 1 - i])
            .chain(std::iter::once(a_last.clone()))
            .collect();
        let new_backward: Vec<Mat<f64>> = (0..order)
            .map(|i| &backward[i] - &b_last * &forward[order - 1 - i])
            .chain(std::iter::once(b_last.clone()))
            .collect();
        let v_next = lv * (&identity - &k * k.transpose()) * lv.transpose();
        let u_next = lu * (&identity - k.transpose() * &k) * lu.transpose();
        (forward, backward, v, u) = (new_forward, new_backward, symmetric(v_next), symmetric(u_next));
    }
    Ok((lags, report))
}

/// The largest singular value of `k`, and `k` with its singular values above `max` set to `max`.
fn clip_singular_values(k: &Mat<f64>, max: f64) -> Result<(f64, Mat<f64>)> {
    let n = k.nrows();
    let svd = k
        .svd()
        .map_err(|e| BaselineError::Numerical(format!("SVD of a partial correlation failed ({e:?})")))?;
    let s = svd.S().column_vector();
    let largest = (0..n).map(|i| s[i]).fold(0.0, f64::max);
    let clipped = Mat::from_fn(n, n, |i, j| if i == j { s[i].min(max) } else { 0.0 });
    Ok((largest, svd.U() * &clipped * svd.V().transpose()))
}

/// Iterations of the weighted projection.
const PROJECTION_ITERATIONS: usize = 300;

/// The partial correlation `K` (singular values <= `max`) whose lag `Lv K Lu^T` is closest to
/// `delta_target` in the weighted norm `sum w_ab (.)_ab^2`, by accelerated projected gradient
/// (FISTA) from the clipped `start`.
fn weighted_projection(
    start: Mat<f64>,
    delta_target: &Mat<f64>,
    lv: faer::MatRef<'_, f64>,
    lu: faer::MatRef<'_, f64>,
    weight: &Mat<f64>,
    max: f64,
) -> Result<Mat<f64>> {
    let n = start.nrows();
    let largest_eigenvalue = |l: faer::MatRef<'_, f64>| -> Result<f64> {
        let m = l * l.transpose();
        let ev = m
            .self_adjoint_eigenvalues(Side::Lower)
            .map_err(|e| BaselineError::Numerical(format!("eigenvalues failed: {e:?}")))?;
        Ok(ev.last().copied().unwrap_or(0.0))
    };
    let w_max = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| weight[(i, j)])
        .fold(0.0, f64::max);
    let lipschitz = w_max * largest_eigenvalue(lv)? * largest_eigenvalue(lu)?;
    if lipschitz <= 0.0 {
        return Ok(start);
    }
    let (mut k, mut y, mut t) = (start.clone(), start, 1.0f64);
    for _ in 0..PROJECTION_ITERATIONS {
        let residual = lv * &y * lu.transpose() - delta_target;
        let weighted = Mat::from_fn(n, n, |i, j| weight[(i, j)] * residual[(i, j)]);
        let gradient = lv.transpose() * &weighted * lu;
        let (_, next) = clip_singular_values(&(&y - gradient * (1.0 / lipschitz)), max)?;
        let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
        y = &next + (&next - &k) * ((t - 1.0) / t_next);
        (k, t) = (next, t_next);
    }
    Ok(k)
}

/// What a dichotomized Gaussian's lags should give in binary: the pair means
/// E[s_a(t + tau) s_b(t)] of each fitted lag, oriented as `R(tau)`, with s_a = [x_a > -gamma_a]
/// (x standard normal, gamma_a the latent mean).
pub(crate) struct BinaryLagTargets<'a> {
    /// Latent means, length N.
    pub gamma: &'a [f64],
    /// Per lag tau (index tau; index 0, lag 0, is not used): target pair means, N x N.
    pub means: Vec<Mat<f64>>,
    /// Pseudo-Huber scale of the misfits: those below it count quadratically, larger ones about
    /// linearly, as in the L1 sums of the paper's errors (e.g. the pair means' RMS sampling error).
    pub scale: f64,
}

/// Iterations of the binary refinement.
const BINARY_ITERATIONS: usize = 300;

/// Pseudo-Huber misfit of the binary pair means that lag `predicted + Lv K Lu^T` gives against
/// `means`, the sum of their absolute misfits, and the first's gradient with respect to `K`.
fn binary_misfit(
    k: &Mat<f64>,
    predicted: &Mat<f64>,
    lv: faer::MatRef<'_, f64>,
    lu: faer::MatRef<'_, f64>,
    targets: &BinaryLagTargets,
    means: &Mat<f64>,
) -> (f64, f64, Mat<f64>) {
    let n = k.nrows();
    let lag = predicted + lv * k * lu.transpose();
    let rows: Vec<(f64, f64, Vec<f64>)> = (0..n)
        .into_par_iter()
        .map(|a| {
            let (mut f, mut l1) = (0.0, 0.0);
            let row = (0..n)
                .map(|b| {
                    let (mean, density) = pair_mean_and_slope(targets.gamma[a], targets.gamma[b], lag[(a, b)]);
                    let misfit = mean - means[(a, b)];
                    l1 += misfit.abs();
                    let e = misfit / targets.scale;
                    let root = (1.0 + e * e).sqrt();
                    f += root - 1.0;
                    e / root / targets.scale * density
                })
                .collect();
            (f, l1, row)
        })
        .collect();
    let f = rows.iter().map(|r| r.0).sum();
    let l1 = rows.iter().map(|r| r.1).sum();
    let d_lag = Mat::from_fn(n, n, |a, b| rows[a].2[b]);
    (f, l1, lv.transpose() * d_lag * lu)
}

/// The partial correlation `K` (singular values <= `max`) whose lag gives binary pair means
/// closest to `means` in the pseudo-Huber misfit of [`BinaryLagTargets`], by projected gradient
/// with backtracking from `start`; also the sums of absolute misfits before and after. The
/// latent-space projection weighs each entry by its effect on
/// the pair means near zero correlation; this fits the pair means themselves, which matters for
/// the entries driven to the ends of their range (refractory autocorrelations).
fn binary_refinement(
    start: Mat<f64>,
    predicted: &Mat<f64>,
    lv: faer::MatRef<'_, f64>,
    lu: faer::MatRef<'_, f64>,
    targets: &BinaryLagTargets,
    means: &Mat<f64>,
    max: f64,
) -> Result<(Mat<f64>, f64, f64)> {
    let (mut f, before, mut gradient) = binary_misfit(&start, predicted, lv, lu, targets, means);
    let (mut k, mut after) = (start, before);
    // First trial step: moves the largest entry of K by 0.1.
    let mut step = 0.1 / gradient.norm_max().max(f64::MIN_POSITIVE);
    for _ in 0..BINARY_ITERATIONS {
        loop {
            let (_, next) = clip_singular_values(&(&k - &gradient * step), max)?;
            let (f_next, l1, g_next) = binary_misfit(&next, predicted, lv, lu, targets, means);
            if f_next < f {
                (k, f, after, gradient) = (next, f_next, l1, g_next);
                step *= 1.5;
                break;
            }
            step *= 0.5;
            if step * gradient.norm_max() < 1e-12 {
                return Ok((k, before, after));
            }
        }
    }
    Ok((k, before, after))
}

fn symmetric(m: Mat<f64>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| 0.5 * (m[(i, j)] + m[(j, i)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block-Toeplitz matrix of lags `R(tau) = E[x(t + tau) x(t)^T]`, index t * N + i.
    fn toeplitz(lags: &[Mat<f64>]) -> Mat<f64> {
        let (n, t) = (lags[0].nrows(), lags.len());
        Mat::from_fn(n * t, n * t, |a, b| {
            let (ta, i, tb, j) = (a / n, a % n, b / n, b % n);
            if ta >= tb {
                lags[ta - tb][(i, j)]
            } else {
                lags[tb - ta][(j, i)]
            }
        })
    }

    /// Lags of a VAR(1) process x(t+1) = A x(t) + e with stationary covariance R(0).
    fn var1_lags(n: usize, count: usize) -> Vec<Mat<f64>> {
        let a = Mat::from_fn(n, n, |i, j| {
            if i == j {
                0.5
            } else if j == (i + 1) % n {
                -0.3
            } else {
                0.0
            }
        });
        // R(0) = sum_k A^k Q A^kT with Q = I.
        let mut r0 = Mat::<f64>::identity(n, n);
        let mut p = a.clone();
        for _ in 0..200 {
            r0 += &p * p.transpose();
            p = &p * &a;
        }
        let mut lags = vec![r0];
        for m in 1..count {
            let next = &a * &lags[m - 1];
            lags.push(next);
        }
        lags
    }

    #[test]
    fn valid_sequences_are_kept_and_the_recursion_predicts_a_var1_exactly() {
        let lags = var1_lags(3, 6);
        assert!(min_eigenvalue(&toeplitz(&lags)).unwrap() > 0.0);
        let (kept, report) = valid_extension(&lags, lags.len(), 0.999, None, None).unwrap();
        assert_eq!(report.clipped_lags, 0);
        assert!(report.max_abs_change < 1e-10, "{report:?}");
        // A VAR(1) has zero partial correlation beyond lag 1.
        assert!(
            report.largest_partial_correlation[1..].iter().all(|&k| k < 1e-10),
            "{report:?}"
        );
        for (a, b) in kept.iter().zip(&lags) {
            assert!((a - b).norm_max() < 1e-10);
        }
    }

    #[test]
    fn invalid_lags_become_a_positive_definite_block_toeplitz_matrix() {
        // Lag-1 autocorrelations -0.55 (valid given lag 0), lag 2 at -0.7: impossible for a
        // stationary process (a scalar one needs lag 2 >= 2 * 0.55^2 - 1 = -0.395).
        let n = 2;
        let r0 = Mat::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.3 });
        let r1 = Mat::from_fn(n, n, |i, j| if i == j { -0.55 } else { 0.05 });
        let r2 = Mat::from_fn(n, n, |i, j| if i == j { -0.7 } else { 0.0 });
        let targets = vec![r0.clone(), r1.clone(), r2, Mat::zeros(n, n)];
        assert!(min_eigenvalue(&toeplitz(&targets)).unwrap() < 0.0);
        let (lags, report) = valid_extension(&targets, targets.len(), 0.95, None, None).unwrap();
        assert!(report.clipped_lags >= 1 && report.max_abs_change > 0.1, "{report:?}");
        assert!(
            report.largest_partial_correlation.iter().any(|&k| k > 1.0),
            "{report:?}"
        );
        assert!(min_eigenvalue(&toeplitz(&lags)).unwrap() > 0.0);
        // Lag 0 is kept exactly; lag 1, valid given lag 0, too.
        assert_eq!(lags[0], r0);
        assert!((&lags[1] - &r1).norm_max() < 1e-12);
    }

    #[test]
    fn the_weighted_projection_keeps_the_heavily_weighted_entries_closer() {
        let n = 2;
        let r0 = Mat::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.3 });
        let r1 = Mat::from_fn(n, n, |i, j| if i == j { -0.55 } else { 0.05 });
        let r2 = Mat::from_fn(n, n, |i, j| if i == j { -0.7 } else { 0.2 });
        let targets = vec![r0, r1, r2];
        // Neuron 0's entries matter 100 times more than the others.
        let weight = Mat::from_fn(n, n, |i, j| if i == 0 && j == 0 { 100.0 } else { 1.0 });
        let misfit = |lags: &[Mat<f64>]| {
            let d = &lags[2] - &targets[2];
            (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| weight[(i, j)] * d[(i, j)] * d[(i, j)])
                .sum::<f64>()
        };
        let (clipped, _) = valid_extension(&targets, 3, 0.95, None, None).unwrap();
        let (weighted, report) = valid_extension(&targets, 3, 0.95, Some(&weight), None).unwrap();
        assert_eq!(report.clipped_lags, 1);
        assert!(min_eigenvalue(&toeplitz(&weighted)).unwrap() > 0.0);
        let (c, w) = (misfit(&clipped), misfit(&weighted));
        assert!(w < 0.8 * c, "weighted misfit {w} vs clipped {c}");
        let d0 = |lags: &[Mat<f64>]| (lags[2][(0, 0)] - targets[2][(0, 0)]).abs();
        assert!(d0(&weighted) < d0(&clipped), "{} vs {}", d0(&weighted), d0(&clipped));
    }

    #[test]
    fn the_binary_refinement_fits_the_pair_means_of_a_clipped_lag_closer() {
        // Four neurons from rare to busy, coupled at lag 0; lag 1 refractory on the diagonal and
        // strongly coupled across: invalid given lag 0.
        let gamma = [-2.2, -1.5, -1.0, -0.4];
        let n = gamma.len();
        let r0 = Mat::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.3 });
        let r1 = Mat::from_fn(n, n, |i, j| if i == j { -0.9 } else { 0.45 });
        let targets = vec![r0, r1];
        // The binary pair means the latent targets would give.
        let means: Vec<Mat<f64>> = targets
            .iter()
            .map(|r| Mat::from_fn(n, n, |a, b| owens_t::biv_norm(-gamma[a], -gamma[b], r[(a, b)])))
            .collect();
        let binary = BinaryLagTargets {
            gamma: &gamma,
            means: means.clone(),
            scale: 1e-4,
        };
        let misfit = |lags: &[Mat<f64>]| {
            (0..n)
                .flat_map(|a| (0..n).map(move |b| (a, b)))
                .map(|(a, b)| (owens_t::biv_norm(-gamma[a], -gamma[b], lags[1][(a, b)]) - means[1][(a, b)]).abs())
                .sum::<f64>()
        };
        let weight = Mat::from_fn(n, n, |a, b| {
            (-0.5 * (gamma[a].powi(2) + gamma[b].powi(2))).exp().powi(2)
        });
        let (latent, _) = valid_extension(&targets, 3, 0.95, Some(&weight), None).unwrap();
        let (refined, report) = valid_extension(&targets, 3, 0.95, Some(&weight), Some(&binary)).unwrap();
        assert_eq!(report.clipped_lags, 1, "{report:?}");
        assert!(min_eigenvalue(&toeplitz(&refined)).unwrap() > 0.0);
        let (l, r) = (misfit(&latent), misfit(&refined));
        assert!(
            r < 0.8 * l,
            "binary misfit at lag 1: refined {r} vs latent projection {l}"
        );
        assert_eq!(refined[0], targets[0]);
        // The report's misfits are those of the two models' lag 1.
        let (before, after) = report.pair_mean_misfit[0];
        assert!((before - l).abs() < 1e-9 && (after - r).abs() < 1e-9, "{report:?}");
    }
}
