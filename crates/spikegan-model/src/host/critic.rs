//! The conv critic's update on the host: see the parent module.

use faer::{MatMut, MatRef};
use rayon::prelude::*;

use super::{Conv, host_values, leaky, matmul, recycle, scratch, slope, transpose};
use crate::model::ConvCritic;

/// Parameter gradients of one critic update, in the shapes of [`ConvCritic`]'s parameters
/// (row-major), with the loss terms.
pub struct CriticGradients {
    /// `conv1.weight`, `[2f, N, k]`.
    pub conv1_weight: Vec<f32>,
    /// `conv1.bias`, `[2f]`.
    pub conv1_bias: Vec<f32>,
    /// `conv2.weight`, `[4f, 2f, k]`.
    pub conv2_weight: Vec<f32>,
    /// `conv2.bias`, `[4f]`.
    pub conv2_bias: Vec<f32>,
    /// `fc.weight`, `[f*T, 1]`.
    pub fc_weight: Vec<f32>,
    /// `fc.bias`, `[1]`.
    pub fc_bias: f32,
    /// `penalty - wasserstein`.
    pub loss: f64,
    /// The gradient penalty.
    pub penalty: f64,
    /// `mean D(real) - mean D(fake)`.
    pub wasserstein: f64,
}

/// A snapshot of a [`ConvCritic`]'s parameters on the host.
pub struct HostConvCritic {
    neurons: usize,
    bins: usize,
    conv1: Conv,
    conv2: Conv,
    /// `[4f * T/4]`, index `c * T/4 + t`.
    fc_weight: Vec<f32>,
    fc_bias: f32,
}

/// Activations of a forward pass over `groups` groups of `nb` samples, layout `[C, G, L, B]`.
struct Forward {
    groups: usize,
    nb: usize,
    /// Columns of the input, `[N * k, G, L1, B]`.
    cols0: Vec<f32>,
    /// Pre-activations of layer 1, `[2f, G, L1, B]`.
    a1: Vec<f32>,
    /// Columns of layer 1's output, `[2f * k, G, L2, B]`.
    cols1: Vec<f32>,
    /// Pre-activations of layer 2, `[4f, G, L2, B]`.
    a2: Vec<f32>,
    /// Scores, `[G * B]` (index `g * B + b`).
    scores: Vec<f64>,
}

/// Batch-major groups `[B, N, T]` (each of `nb` samples) -> `[N, G, T, B]`.
fn to_time_major(groups: &[&[f32]], n: usize, t: usize) -> Vec<f32> {
    let nb = groups.first().map_or(0, |x| x.len() / (n * t));
    let mut out = scratch(n * groups.len() * t * nb);
    out.par_chunks_mut(groups.len() * t * nb)
        .enumerate()
        .for_each(|(i, out)| {
            for (x, out) in groups.iter().zip(out.chunks_mut(t * nb)) {
                for (b, sample) in x.chunks(n * t).enumerate() {
                    for (tt, &v) in sample[i * t..][..t].iter().enumerate() {
                        out[tt * nb + b] = v;
                    }
                }
            }
        });
    out
}

impl HostConvCritic {
    /// Copies the critic's parameters; `neurons` x `bins` is the input window.
    pub fn new(critic: &ConvCritic, neurons: usize, bins: usize) -> Self {
        HostConvCritic {
            neurons,
            bins,
            conv1: Conv::from_burn(&critic.conv1, 2),
            conv2: Conv::from_burn(&critic.conv2, 2),
            fc_weight: host_values(critic.fc.weight.val()),
            fc_bias: critic.fc.bias.as_ref().map(|b| host_values(b.val())[0]).unwrap_or(0.0),
        }
    }

    fn lengths(&self) -> (usize, usize) {
        let l1 = self.conv1.l_out(self.bins);
        (l1, self.conv2.l_out(l1))
    }

    /// Forward pass over groups of batch-major inputs `[B, N, T]`, each of the same `B`.
    fn forward(&self, inputs: &[&[f32]]) -> Forward {
        let (n, t) = (self.neurons, self.bins);
        let (l1, l2) = self.lengths();
        let groups = inputs.len();
        let nb = inputs.first().map_or(0, |x| x.len() / (n * t));
        let x0 = to_time_major(inputs, n, t);
        let mut cols0 = scratch(n * self.conv1.k * groups * l1 * nb);
        self.conv1.im2col(&x0, groups, nb, t, &mut cols0, 0);
        let mut a1 = scratch(self.conv1.c_out * groups * l1 * nb);
        self.conv1.forward(&cols0, &mut a1);
        let mut h1 = scratch(a1.len());
        h1.par_iter_mut().zip(&a1).for_each(|(h, &a)| *h = leaky(a));
        let mut cols1 = scratch(self.conv2.c_in * self.conv2.k * groups * l2 * nb);
        self.conv2.im2col(&h1, groups, nb, l1, &mut cols1, 0);
        let mut a2 = scratch(self.conv2.c_out * groups * l2 * nb);
        self.conv2.forward(&cols1, &mut a2);
        recycle([x0, h1]);
        let scores = (0..groups * nb)
            .into_par_iter()
            .map(|s| {
                let (g, b) = (s / nb, s % nb);
                let per_channel = self.fc_weight.chunks(l2).enumerate().map(|(c, w)| {
                    let rows = &a2[(c * groups + g) * l2 * nb..][..l2 * nb];
                    w.iter()
                        .enumerate()
                        .map(|(tt, &w)| leaky(rows[tt * nb + b]) * w)
                        .sum::<f32>()
                });
                f64::from(self.fc_bias) + per_channel.map(f64::from).sum::<f64>()
            })
            .collect();
        Forward {
            groups,
            nb,
            cols0,
            a1,
            cols1,
            a2,
            scores,
        }
    }

    /// Backpropagated errors `(delta1 [2f, G, L1, B], delta2 [4f, G, L2, B])` of
    /// `sum_s coef_s D(x_s)` (`coef` indexed as the scores).
    fn deltas(&self, f: &Forward, coef: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (l1, l2) = self.lengths();
        let (groups, nb) = (f.groups, f.nb);
        let mut delta2 = scratch(f.a2.len());
        delta2
            .par_chunks_mut(groups * l2 * nb)
            .zip(f.a2.par_chunks(groups * l2 * nb))
            .enumerate()
            .for_each(|(c, (d, a))| {
                let w = &self.fc_weight[c * l2..][..l2];
                for (g, (d, a)) in d.chunks_mut(l2 * nb).zip(a.chunks(l2 * nb)).enumerate() {
                    let coef = &coef[g * nb..][..nb];
                    for ((d, a), &w) in d.chunks_mut(nb).zip(a.chunks(nb)).zip(w) {
                        for ((d, &a), &cb) in d.iter_mut().zip(a).zip(coef) {
                            *d = cb * w * slope(a);
                        }
                    }
                }
            });
        let mut cols = scratch(f.cols1.len());
        self.conv2.backward_columns(&delta2, 0, groups * l2 * nb, &mut cols);
        let mut delta1 = scratch(f.a1.len());
        self.conv2.col2im(&cols, 0, groups, l1, &mut delta1);
        recycle([cols]);
        delta1.par_iter_mut().zip(&f.a1).for_each(|(d, &a)| *d *= slope(a));
        (delta1, delta2)
    }

    /// The input gradient `[B, N, T]` (batch-major) of group `g` of `delta1`.
    fn input_gradient_from(&self, delta1: &[f32], g: usize, nb: usize) -> Vec<f32> {
        let (n, t) = (self.neurons, self.bins);
        let (l1, _) = self.lengths();
        let mut cols = scratch(n * self.conv1.k * l1 * nb);
        self.conv1.backward_columns(delta1, g * l1 * nb, l1 * nb, &mut cols);
        let mut x = scratch(n * t * nb);
        self.conv1.col2im(&cols, 0, 1, t, &mut x);
        // [N, T, B] -> [B, N, T].
        let out = transpose(&x, n * t, nb);
        recycle([cols, x]);
        out
    }

    /// `coef * dD/dx` at each sample of `x` (`[B, N, T]`, batch-major), with the scores.
    pub fn input_gradient(&self, x: &[f32], coef: f32) -> (Vec<f32>, Vec<f64>) {
        let f = self.forward(&[x]);
        let (delta1, delta2) = self.deltas(&f, &vec![coef; f.nb]);
        let g = self.input_gradient_from(&delta1, 0, f.nb);
        recycle([delta1, delta2, f.cols0, f.a1, f.cols1, f.a2]);
        (g, f.scores)
    }

    /// Gradients of `penalty - (mean D(real) - mean D(fake))` for batches `[B, N, T]` and the
    /// interpolation weights `alpha` (`[B]`, `x_hat = real + alpha (fake - real)`).
    pub fn gradients(&self, real: &[f32], fake: &[f32], alpha: &[f32], lambda: f64) -> CriticGradients {
        let (n, t) = (self.neurons, self.bins);
        let (l1, l2) = self.lengths();
        let b = alpha.len();
        let x_hat: Vec<f32> = real
            .chunks(n * t)
            .zip(fake.chunks(n * t))
            .zip(alpha)
            .flat_map(|((r, f), &a)| r.iter().zip(f).map(move |(&r, &f)| r + (f - r) * a))
            .collect();
        let mut f = self.forward(&[real, fake, &x_hat]);
        let inv_b = 1.0 / b as f32;
        let coef: Vec<f32> = (0..3 * b)
            .map(|i| match i / b {
                0 => -inv_b,
                1 => inv_b,
                _ => 1.0,
            })
            .collect();
        let (delta1, delta2) = self.deltas(&f, &coef);
        let wasserstein = (f.scores[..b].iter().sum::<f64>() - f.scores[b..2 * b].iter().sum::<f64>()) / b as f64;

        // Penalty on the x_hat block: u = dP/dg.
        let g = self.input_gradient_from(&delta1, 2, b);
        let mut u = scratch(g.len());
        let mut penalty = 0.0;
        for (gs, us) in g.chunks(n * t).zip(u.chunks_mut(n * t)) {
            let norm = (gs.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() + 1e-12).sqrt();
            penalty += (norm - 1.0).powi(2);
            let c = (lambda * 2.0 * (norm - 1.0) / (norm * b as f64)) as f32;
            for (u, &g) in us.iter_mut().zip(gs) {
                *u = c * g;
            }
        }
        let penalty = lambda * penalty / b as f64;
        // u's columns into the x_hat group of cols0.
        let u_tm = to_time_major(&[&u], n, t);
        self.conv1.im2col(&u_tm, 1, b, t, &mut f.cols0, 2);
        // r1 = S1 W1 u on the x_hat group.
        let c1 = self.conv1.c_out;
        let mut r1 = scratch(c1 * l1 * b);
        {
            let total = f.cols0.len() / (n * self.conv1.k);
            let rhs = MatRef::from_row_major_slice(&f.cols0, n * self.conv1.k, total).subcols(2 * l1 * b, l1 * b);
            matmul(
                MatMut::from_row_major_slice_mut(&mut r1, c1, l1 * b),
                false,
                self.conv1.weight(),
                rhs,
            );
        }
        for (c, row) in r1.chunks_mut(l1 * b).enumerate() {
            let a = &f.a1[(c * 3 + 2) * l1 * b..][..l1 * b];
            row.iter_mut().zip(a).for_each(|(r, &a)| *r *= slope(a));
        }
        self.conv2.im2col(&r1, 1, b, l1, &mut f.cols1, 2);
        // r2 = S2 W2 r1; the fc weight's penalty gradient sums it over the batch.
        let c2 = self.conv2.c_out;
        let mut r2 = scratch(c2 * l2 * b);
        {
            let k1 = c1 * self.conv2.k;
            let total = f.cols1.len() / k1;
            let rhs = MatRef::from_row_major_slice(&f.cols1, k1, total).subcols(2 * l2 * b, l2 * b);
            matmul(
                MatMut::from_row_major_slice_mut(&mut r2, c2, l2 * b),
                false,
                self.conv2.weight(),
                rhs,
            );
        }

        let mut fc_weight = vec![0.0; self.fc_weight.len()];
        fc_weight.par_chunks_mut(l2).enumerate().for_each(|(c, w)| {
            let a = &f.a2[c * 3 * l2 * b..][..3 * l2 * b];
            let r = &r2[c * l2 * b..][..l2 * b];
            for (tt, w) in w.iter_mut().enumerate() {
                let mut sum = 0.0;
                for g in 0..2 {
                    let a = &a[(g * l2 + tt) * b..][..b];
                    sum += a
                        .iter()
                        .zip(&coef[g * b..][..b])
                        .map(|(&a, &cb)| cb * leaky(a))
                        .sum::<f32>();
                }
                let a = &a[(2 * l2 + tt) * b..][..b];
                sum += a
                    .iter()
                    .zip(&r[tt * b..][..b])
                    .map(|(&a, &r)| r * slope(a))
                    .sum::<f32>();
                *w = sum;
            }
        });
        // The real and fake groups summed apart: where every slope of a channel is equal, its
        // two sums are exact negatives and its gradient exactly 0, as in theory (a rounding
        // residue would be blown up to a full step by Adam's normalisation).
        let bias_sum = |delta: &[f32], l: usize| -> Vec<f32> {
            delta
                .chunks(3 * l * b)
                .map(|row| row[..l * b].iter().sum::<f32>() + row[l * b..2 * l * b].iter().sum::<f32>())
                .collect()
        };
        let gradients = CriticGradients {
            conv1_weight: self.conv1.weight_gradient(&delta1, &f.cols0),
            conv1_bias: bias_sum(&delta1, l1),
            conv2_weight: self.conv2.weight_gradient(&delta2, &f.cols1),
            conv2_bias: bias_sum(&delta2, l2),
            fc_weight,
            // Exactly zero: the bias cancels in mean D(real) - mean D(fake) and the penalty does
            // not see it. (A rounding residue here would be blown up by Adam's normalisation.)
            fc_bias: 0.0,
            loss: penalty - wasserstein,
            penalty,
            wasserstein,
        };
        recycle([delta1, delta2, g, u, u_tm, r1, r2, f.cols0, f.a1, f.cols1, f.a2]);
        gradients
    }
}
