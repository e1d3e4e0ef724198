//! The conv critic's update on the host: see the parent module.

use faer::{MatMut, MatRef};
use rayon::prelude::*;

use super::{Conv, host_values, leaky, matmul, recycle, scratch, slope};
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

/// Activations of a forward pass over `nb` samples.
struct Forward {
    nb: usize,
    /// Columns of the input, `[N * k, nb * L1]`.
    cols0: Vec<f32>,
    /// Pre-activations of layer 1, `[2f, nb, L1]`.
    a1: Vec<f32>,
    /// Columns of layer 1's output, `[2f * k, nb * L2]`.
    cols1: Vec<f32>,
    /// Pre-activations of layer 2, `[4f, nb, L2]`.
    a2: Vec<f32>,
    /// Scores, `[nb]`.
    scores: Vec<f64>,
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

    /// Forward pass over batch-major inputs `[B, N, T]`, concatenated in order.
    fn forward(&self, inputs: &[&[f32]]) -> Forward {
        let (n, t) = (self.neurons, self.bins);
        let (l1, l2) = self.lengths();
        let nb = inputs.iter().map(|x| x.len() / (n * t)).sum::<usize>();
        // Channel-major input [N, nb, T].
        let mut x0 = scratch(n * nb * t);
        let mut b = 0;
        for x in inputs {
            for sample in x.chunks(n * t) {
                for (i, row) in sample.chunks(t).enumerate() {
                    x0[(i * nb + b) * t..][..t].copy_from_slice(row);
                }
                b += 1;
            }
        }
        let mut cols0 = scratch(n * self.conv1.k * nb * l1);
        self.conv1.im2col(&x0, nb, t, &mut cols0, 0);
        let mut a1 = scratch(self.conv1.c_out * nb * l1);
        self.conv1.forward(&cols0, &mut a1);
        let mut h1 = scratch(a1.len());
        h1.par_iter_mut().zip(&a1).for_each(|(h, &a)| *h = leaky(a));
        let mut cols1 = scratch(self.conv2.c_in * self.conv2.k * nb * l2);
        self.conv2.im2col(&h1, nb, l1, &mut cols1, 0);
        let mut a2 = scratch(self.conv2.c_out * nb * l2);
        self.conv2.forward(&cols1, &mut a2);
        recycle([x0, h1]);
        let scores = (0..nb)
            .into_par_iter()
            .map(|b| {
                let per_channel = self.fc_weight.chunks(l2).enumerate().map(|(c, w)| {
                    let row = &a2[(c * nb + b) * l2..][..l2];
                    row.iter().zip(w).map(|(&a, &w)| leaky(a) * w).sum::<f32>()
                });
                f64::from(self.fc_bias) + per_channel.map(f64::from).sum::<f64>()
            })
            .collect();
        Forward {
            nb,
            cols0,
            a1,
            cols1,
            a2,
            scores,
        }
    }

    /// Backpropagated errors `(delta1 [2f, nb, L1], delta2 [4f, nb, L2])` of `sum_b coef_b D(x_b)`.
    fn deltas(&self, f: &Forward, coef: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (l1, l2) = self.lengths();
        let nb = f.nb;
        let mut delta2 = scratch(f.a2.len());
        delta2
            .par_chunks_mut(nb * l2)
            .zip(f.a2.par_chunks(nb * l2))
            .enumerate()
            .for_each(|(c, (d, a))| {
                let w = &self.fc_weight[c * l2..][..l2];
                for ((d, a), &cb) in d.chunks_mut(l2).zip(a.chunks(l2)).zip(coef) {
                    for ((d, &a), &w) in d.iter_mut().zip(a).zip(w) {
                        *d = cb * w * slope(a);
                    }
                }
            });
        let mut cols = scratch(f.cols1.len());
        self.conv2.backward_columns(&delta2, 0, nb * l2, &mut cols);
        let mut delta1 = scratch(f.a1.len());
        self.conv2.col2im(&cols, 0, nb, l1, &mut delta1);
        recycle([cols]);
        delta1.par_iter_mut().zip(&f.a1).for_each(|(d, &a)| *d *= slope(a));
        (delta1, delta2)
    }

    /// The input gradient `[nb, N, T]` (batch-major) of samples `b0..b0 + nb` from `delta1`.
    fn input_gradient_from(&self, delta1: &[f32], b0: usize, nb: usize) -> Vec<f32> {
        let (n, t) = (self.neurons, self.bins);
        let (l1, _) = self.lengths();
        let mut cols = scratch(n * self.conv1.k * nb * l1);
        self.conv1.backward_columns(delta1, b0 * l1, nb * l1, &mut cols);
        let mut g = scratch(n * nb * t);
        self.conv1.col2im(&cols, 0, nb, t, &mut g);
        // [N, nb, T] -> [nb, N, T].
        let mut out = vec![0.0; g.len()];
        for (i, rows) in g.chunks(nb * t).enumerate() {
            for (b, row) in rows.chunks(t).enumerate() {
                out[(b * n + i) * t..][..t].copy_from_slice(row);
            }
        }
        recycle([cols, g]);
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
        let g = self.input_gradient_from(&delta1, 2 * b, b);
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
        // u to channel-major [N, B, T], its columns into the x_hat slot of cols0.
        let mut u_cm = scratch(u.len());
        for (bi, sample) in u.chunks(n * t).enumerate() {
            for (i, row) in sample.chunks(t).enumerate() {
                u_cm[(i * b + bi) * t..][..t].copy_from_slice(row);
            }
        }
        self.conv1.im2col(&u_cm, b, t, &mut f.cols0, 2 * b);
        // r1 = S1 W1 u on the x_hat block.
        let c1 = self.conv1.c_out;
        let mut r1 = scratch(c1 * b * l1);
        {
            let total = f.cols0.len() / (n * self.conv1.k);
            let rhs = MatRef::from_row_major_slice(&f.cols0, n * self.conv1.k, total).subcols(2 * b * l1, b * l1);
            matmul(
                MatMut::from_row_major_slice_mut(&mut r1, c1, b * l1),
                false,
                self.conv1.weight(),
                rhs,
            );
        }
        for (c, row) in r1.chunks_mut(b * l1).enumerate() {
            let a = &f.a1[(c * 3 * b + 2 * b) * l1..][..b * l1];
            row.iter_mut().zip(a).for_each(|(r, &a)| *r *= slope(a));
        }
        self.conv2.im2col(&r1, b, l1, &mut f.cols1, 2 * b);
        // r2 = S2 W2 r1; the fc weight's penalty gradient sums it over the batch.
        let c2 = self.conv2.c_out;
        let mut r2 = scratch(c2 * b * l2);
        {
            let k1 = c1 * self.conv2.k;
            let total = f.cols1.len() / k1;
            let rhs = MatRef::from_row_major_slice(&f.cols1, k1, total).subcols(2 * b * l2, b * l2);
            matmul(
                MatMut::from_row_major_slice_mut(&mut r2, c2, b * l2),
                false,
                self.conv2.weight(),
                rhs,
            );
        }

        let mut fc_weight = vec![0.0; self.fc_weight.len()];
        for (c, w) in fc_weight.chunks_mut(l2).enumerate() {
            let a = &f.a2[c * 3 * b * l2..][..3 * b * l2];
            for (bi, rows) in a.chunks(l2).enumerate() {
                let r = &r2[(c * b) * l2..][..b * l2];
                for (tt, w) in w.iter_mut().enumerate() {
                    *w += if bi < 2 * b {
                        coef[bi] * leaky(rows[tt])
                    } else {
                        let j = (bi - 2 * b) * l2 + tt;
                        r[j] * slope(rows[tt])
                    };
                }
            }
        }
        let bias_sum = |delta: &[f32], l: usize| -> Vec<f32> {
            delta
                .chunks(3 * b * l)
                .map(|row| row[..2 * b * l].iter().sum())
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
        recycle([delta1, delta2, g, u, u_cm, r1, r2, f.cols0, f.a1, f.cols1, f.a2]);
        gradients
    }
}
