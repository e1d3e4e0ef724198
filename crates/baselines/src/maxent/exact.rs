//! Exact fits for small N: enumerate all 2^N patterns (in parallel, in a fixed chunk order so
//! results do not depend on thread timing) and minimise the convex negative log-likelihood
//! log Z(theta) - theta . mu_data + (l2 / 2) |theta|^2 with L-BFGS.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Layout, MaxEntDiagnostics, MaxEntModel, MaxEntParams, PARAM_BOUND, Problem, ResidualZ};
use crate::error::Result;
use crate::optim;

/// Exact quantities of a model small enough to enumerate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExactSummary {
    /// log Z in nats.
    pub log_partition: f64,
    /// Entropy of the single-bin pattern distribution, bits.
    pub entropy_bits: f64,
    /// Mean log-likelihood of the data's bins, nats per bin.
    pub log_likelihood_per_bin: f64,
}

/// Unnormalised log-probability of every pattern x (bit i of x = neuron i).
pub(crate) fn log_weights(model: &MaxEntModel) -> Vec<f64> {
    let n = model.n_neurons();
    let mut pairwise = vec![0.0f64; 1 << n];
    for x in 1usize..(1 << n) {
        let b = x.trailing_zeros() as usize;
        let rest = x & (x - 1);
        let mut e = pairwise[rest] + model.fields[b];
        let mut r = rest;
        while r != 0 {
            let j = r.trailing_zeros() as usize;
            e += model.couplings[b * n + j];
            r &= r - 1;
        }
        pairwise[x] = e;
    }
    pairwise
        .par_iter_mut()
        .enumerate()
        .for_each(|(x, e)| *e += model.count_potential[x.count_ones() as usize]);
    pairwise
}

/// log Z and the model's moments in `layout` order.
fn log_z_and_moments(model: &MaxEntModel, layout: Layout) -> (f64, Vec<f64>) {
    let n = layout.n;
    let lw = log_weights(model);
    let max = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    const CHUNKS: usize = 64;
    let chunk = lw.len().div_ceil(CHUNKS);
    let partial: Vec<(f64, Vec<f64>, Vec<f64>)> = lw
        .par_chunks(chunk)
        .enumerate()
        .map(|(c, part)| {
            let mut z = 0.0;
            let mut pair = vec![0.0; n * n];
            let mut counts = vec![0.0; n + 1];
            for (o, &e) in part.iter().enumerate() {
                let x = c * chunk + o;
                let w = (e - max).exp();
                z += w;
                counts[x.count_ones() as usize] += w;
                let mut r = x;
                while r != 0 {
                    let i = r.trailing_zeros() as usize;
                    r &= r - 1;
                    pair[i * n + i] += w;
                    if layout.pairs() > 0 {
                        let mut q = r;
                        while q != 0 {
                            let j = q.trailing_zeros() as usize;
                            pair[i * n + j] += w;
                            q &= q - 1;
                        }
                    }
                }
            }
            (z, pair, counts)
        })
        .collect();
    let mut z = 0.0;
    let mut pair = vec![0.0; n * n];
    let mut counts = vec![0.0; n + 1];
    for (pz, pp, pc) in partial {
        z += pz;
        pair.iter_mut().zip(pp).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(pc).for_each(|(a, b)| *a += b);
    }
    let mut mu: Vec<f64> = (0..n).map(|i| pair[i * n + i] / z).collect();
    if layout.pairs() > 0 {
        for i in 0..n {
            mu.extend((i + 1..n).map(|j| pair[i * n + j] / z));
        }
    }
    if layout.counts() > 0 {
        mu.extend(counts[1..].iter().map(|c| c / z));
    }
    (max + z.ln(), mu)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Objective, gradient (zero on fixed entries) and the model's moments.
fn evaluate(layout: Layout, theta: &[f64], target: &[f64], free: &[bool], l2: f64) -> (f64, Vec<f64>, Vec<f64>) {
    let model = MaxEntModel::from_theta(layout, theta);
    let (log_z, mu) = log_z_and_moments(&model, layout);
    let f = log_z - dot(theta, target) + 0.5 * l2 * dot(theta, theta);
    let g = (0..theta.len())
        .map(|k| {
            if free[k] {
                mu[k] - target[k] + l2 * theta[k]
            } else {
                0.0
            }
        })
        .collect();
    (f, g, mu)
}

pub(crate) fn fit(
    params: &MaxEntParams,
    problem: &Problem,
    theta: Vec<f64>,
) -> Result<(MaxEntModel, MaxEntDiagnostics)> {
    let Problem {
        layout,
        target,
        free,
        n_data,
    } = *problem;
    let residual = |mu: &[f64]| mu.iter().zip(target).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let (point, iterations) = optim::minimize(
        theta,
        params.exact_max_iterations,
        |theta| evaluate(layout, theta, target, free, params.l2),
        |theta| theta.iter_mut().for_each(|t| *t = t.clamp(-PARAM_BOUND, PARAM_BOUND)),
        |point, _| residual(&point.extra) <= params.exact_tolerance,
    );
    let (theta, mu) = (point.x, point.extra);
    let model = MaxEntModel::from_theta(layout, &theta);
    let (log_partition, _) = log_z_and_moments(&model, layout);
    let log_likelihood_per_bin = dot(&theta, target) - log_partition;
    let entropy_nats = log_partition - dot(&theta, &mu);
    let max_abs_residual = residual(&mu);
    Ok((
        model,
        MaxEntDiagnostics {
            method: "exact".into(),
            iterations,
            converged: max_abs_residual <= params.exact_tolerance,
            max_abs_residual,
            residual_z: ResidualZ::of(layout, target, &mu, n_data, None),
            exact: Some(ExactSummary {
                log_partition,
                entropy_bits: entropy_nats / std::f64::consts::LN_2,
                log_likelihood_per_bin,
            }),
            fixed_neurons: Vec::new(),
            seconds: 0.0,
        },
    ))
}

/// The independent model in closed form, for any N: each field is the logit of its rate (the
/// start `theta`, bounded for never/always-active neurons), log Z = sum_i ln(1 + e^h_i), and the
/// model's rates are sigmoid(h_i). No enumeration and no sampling, so N is not limited.
pub(crate) fn fit_independent(problem: &Problem, theta: Vec<f64>) -> (MaxEntModel, MaxEntDiagnostics) {
    let Problem {
        layout, target, n_data, ..
    } = *problem;
    let softplus = |h: f64| h.max(0.0) + (-h.abs()).exp().ln_1p();
    let mu: Vec<f64> = theta.iter().map(|&h| 1.0 / (1.0 + (-h).exp())).collect();
    let log_partition: f64 = theta.iter().map(|&h| softplus(h)).sum();
    let entropy_nats = log_partition - dot(&theta, &mu);
    let max_abs_residual = mu.iter().zip(target).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let diagnostics = MaxEntDiagnostics {
        method: "closed form".into(),
        iterations: 0,
        converged: true,
        max_abs_residual,
        residual_z: ResidualZ::of(layout, target, &mu, n_data, None),
        exact: Some(ExactSummary {
            log_partition,
            entropy_bits: entropy_nats / std::f64::consts::LN_2,
            log_likelihood_per_bin: dot(&theta, target) - log_partition,
        }),
        fixed_neurons: Vec::new(),
        seconds: 0.0,
    };
    (MaxEntModel::from_theta(layout, &theta), diagnostics)
}

/// `count` independent patterns drawn exactly (inverse CDF over all 2^N patterns), N values each.
pub(crate) fn sample_patterns(model: &MaxEntModel, count: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let n = model.n_neurons();
    let lw = log_weights(model);
    let max = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut cdf = Vec::with_capacity(lw.len());
    let mut acc = 0.0;
    for e in &lw {
        acc += (e - max).exp();
        cdf.push(acc);
    }
    let mut out = vec![0u8; count * n];
    for row in out.chunks_exact_mut(n) {
        let u = rng.random::<f64>() * acc;
        let x = cdf.partition_point(|&c| c <= u).min(cdf.len() - 1);
        for (i, v) in row.iter_mut().enumerate() {
            *v = ((x >> i) & 1) as u8;
        }
    }
    out
}
