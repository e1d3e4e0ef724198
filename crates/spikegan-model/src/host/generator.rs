//! The conv generator's forward pass and parameter gradient on the host: see the parent module.
//!
//! `z [B, latent]` -> linear -> `[B, 4f, T/4]` -> LReLU -> {upsample x2, conv stride 1, LReLU}
//! twice -> sigmoid, as [`ConvGenerator::logits`]. Each upsampling + convolution is computed in
//! polyphase form ([`UpsampleConv`]): two convolutions of the input before upsampling, with
//! `k/2 + 1` taps instead of k over twice the length.

use burn::nn::conv::Conv1d;
use faer::{MatMut, MatRef};
use rayon::prelude::*;

use super::{Conv, host_values, leaky, matmul, recycle, scratch, slope, transpose};
use crate::model::{ConvGenerator, LOGIT_FLOOR};

/// [`LOGIT_FLOOR`] in f32.
const FLOOR: f32 = LOGIT_FLOOR as f32;

/// Nearest-neighbour upsampling x2 followed by a stride-1 convolution with symmetric padding
/// `pad = k/2`. Output `2m + phase` reads the upsampled input at `2m + phase + j - pad`, i.e. the
/// input at `m + floor((phase + j - pad) / 2)`: per phase, a convolution of the input whose taps
/// are sums of the original taps. Both phases are one [`Conv`] with `2 * c_out` output rows
/// (`phase * c_out + o`).
struct UpsampleConv {
    c_out: usize,
    k: usize,
    poly: Conv,
}

impl UpsampleConv {
    /// Input offset of original tap `j` in phase `phase`, relative to the polyphase kernel's first tap.
    fn tap(&self, phase: usize, j: usize) -> usize {
        let d = (phase + j) as isize - (self.k / 2) as isize;
        (d.div_euclid(2) + (self.poly.k / 2) as isize) as usize
    }

    fn from_burn(conv: &Conv1d) -> Self {
        let [c_out, c_in, k] = conv.weight.val().dims();
        let kd = 2 * (k / 2).div_ceil(2) + 1;
        let mut up = UpsampleConv {
            c_out,
            k,
            poly: Conv {
                c_in,
                c_out: 2 * c_out,
                k: kd,
                stride: 1,
                weight: vec![0.0; 2 * c_out * c_in * kd],
                bias: Vec::new(),
            },
        };
        let w = host_values(conv.weight.val());
        let bias = conv
            .bias
            .as_ref()
            .map(|b| host_values(b.val()))
            .unwrap_or_else(|| vec![0.0; c_out]);
        for phase in 0..2 {
            for j in 0..k {
                let t = up.tap(phase, j);
                for o in 0..c_out {
                    for c in 0..c_in {
                        up.poly.weight[((phase * c_out + o) * c_in + c) * kd + t] += w[(o * c_in + c) * k + j];
                    }
                }
            }
            up.poly.bias.extend_from_slice(&bias);
        }
        up
    }

    /// Columns of `x` (`[c_in, l, B]`) and pre-activations `[c_out, 2l, B]`.
    fn forward(&self, x: &[f32], b: usize, l: usize) -> (Vec<f32>, Vec<f32>) {
        let mut cols = scratch(self.poly.c_in * self.poly.k * l * b);
        self.poly.im2col(x, 1, b, l, &mut cols, 0);
        let mut phases = scratch(self.poly.c_out * l * b);
        self.poly.forward(&cols, &mut phases);
        // [2, c_out, l, B] -> [c_out, l, 2, B].
        let (even, odd) = phases.split_at(self.c_out * l * b);
        let mut a = scratch(2 * even.len());
        a.par_chunks_mut(2 * b)
            .zip(even.par_chunks(b).zip(odd.par_chunks(b)))
            .for_each(|(out, (e, o))| {
                let (out_e, out_o) = out.split_at_mut(b);
                out_e.copy_from_slice(e);
                out_o.copy_from_slice(o);
            });
        recycle([phases]);
        (cols, a)
    }

    /// Weight, bias and (if `input`) input gradients from the gradient `delta` (`[c_out, 2l, B]`)
    /// of the pre-activations.
    fn backward(&self, delta: &[f32], cols: &[f32], b: usize, l: usize, input: bool) -> UpsampleConvGradients {
        let (c_out, c_in, k, kd) = (self.c_out, self.poly.c_in, self.k, self.poly.k);
        let half = c_out * l * b;
        let mut phases = scratch(2 * half);
        {
            let (even, odd) = phases.split_at_mut(half);
            even.par_chunks_mut(b)
                .zip(odd.par_chunks_mut(b))
                .zip(delta.par_chunks(2 * b))
                .for_each(|((e, o), d)| {
                    let (d_e, d_o) = d.split_at(b);
                    e.copy_from_slice(d_e);
                    o.copy_from_slice(d_o);
                });
        }
        let poly = self.poly.weight_gradient(&phases, cols);
        let mut weight = vec![0.0; c_out * c_in * k];
        for phase in 0..2 {
            for j in 0..k {
                let t = self.tap(phase, j);
                for o in 0..c_out {
                    for c in 0..c_in {
                        weight[(o * c_in + c) * k + j] += poly[((phase * c_out + o) * c_in + c) * kd + t];
                    }
                }
            }
        }
        let bias = delta.chunks(2 * l * b).map(|row| row.iter().sum()).collect();
        let input = input.then(|| {
            let mut columns = scratch(cols.len());
            self.poly.backward_columns(&phases, 0, l * b, &mut columns);
            let mut dx = scratch(c_in * l * b);
            self.poly.col2im(&columns, 0, 1, l, &mut dx);
            recycle([columns]);
            dx
        });
        recycle([phases]);
        UpsampleConvGradients { weight, bias, input }
    }
}

struct UpsampleConvGradients {
    weight: Vec<f32>,
    bias: Vec<f32>,
    input: Option<Vec<f32>>,
}

/// Parameter gradients of the generator, in the shapes of [`ConvGenerator`]'s parameters
/// (row-major).
pub struct GeneratorGradients {
    /// `fc.weight`, `[latent, f*T]`.
    pub fc_weight: Vec<f32>,
    /// `fc.bias`, `[f*T]`.
    pub fc_bias: Vec<f32>,
    /// `conv1.weight`, `[2f, 4f, k]`.
    pub conv1_weight: Vec<f32>,
    /// `conv1.bias`, `[2f]`.
    pub conv1_bias: Vec<f32>,
    /// `conv2.weight`, `[N, 2f, k]`.
    pub conv2_weight: Vec<f32>,
    /// `conv2.bias`, `[N]`.
    pub conv2_bias: Vec<f32>,
}

/// A snapshot of a [`ConvGenerator`]'s parameters on the host.
pub struct HostConvGenerator {
    latent: usize,
    /// `[latent, 4f * T/4]`.
    fc_weight: Vec<f32>,
    fc_bias: Vec<f32>,
    conv1: UpsampleConv,
    conv2: UpsampleConv,
    /// T/4.
    l0: usize,
}

/// Activations of a forward pass, time-major (`[C, L, B]`) but for `probabilities`.
pub struct GeneratorForward {
    z: Vec<f32>,
    /// Pre-activations of the linear layer, `[4f, T/4, B]`.
    a0: Vec<f32>,
    /// Columns of conv1's polyphase form, `[4f * k', T/4 * B]`.
    cols1: Vec<f32>,
    /// Pre-activations of conv1, `[2f, T/2, B]`.
    a1: Vec<f32>,
    /// Columns of conv2's polyphase form, `[2f * k', T/2 * B]`.
    cols2: Vec<f32>,
    /// Pre-activations of conv2, `[N, T, B]`.
    a2: Vec<f32>,
    /// The probabilities, `[N, T, B]`.
    p: Vec<f32>,
    /// Spike probabilities, batch-major `[B, N, T]`.
    pub probabilities: Vec<f32>,
}

impl GeneratorForward {
    /// The output layer's pre-activations (before the final LReLU), `[N, T, B]`; the other
    /// buffers are kept for the next forward pass.
    pub fn into_pre_activations(self) -> Vec<f32> {
        recycle([self.a0, self.cols1, self.a1, self.cols2, self.p, self.probabilities]);
        self.a2
    }

    /// The probabilities; the other buffers are kept for the next forward pass.
    pub fn into_probabilities(self) -> Vec<f32> {
        recycle([self.a0, self.cols1, self.a1, self.cols2, self.a2, self.p]);
        self.probabilities
    }
}

impl HostConvGenerator {
    /// Copies the generator's parameters.
    pub fn new(generator: &ConvGenerator) -> Self {
        let [latent, d] = generator.fc.weight.val().dims();
        let conv1 = UpsampleConv::from_burn(&generator.conv1);
        HostConvGenerator {
            latent,
            fc_weight: host_values(generator.fc.weight.val()),
            fc_bias: generator
                .fc
                .bias
                .as_ref()
                .map(|b| host_values(b.val()))
                .unwrap_or_else(|| vec![0.0; d]),
            l0: d / conv1.poly.c_in,
            conv1,
            conv2: UpsampleConv::from_burn(&generator.conv2),
        }
    }

    /// Forward pass of `z` (`[B, latent]`).
    pub fn forward(&self, z: &[f32]) -> GeneratorForward {
        let b = z.len() / self.latent;
        let d = self.fc_bias.len();
        let mut a0 = scratch(d * b);
        for (row, &bias) in a0.chunks_mut(b).zip(&self.fc_bias) {
            row.fill(bias);
        }
        // a0 = W^T z^T + bias, `[d, B]` = `[4f, T/4, B]`.
        matmul(
            MatMut::from_row_major_slice_mut(&mut a0, d, b),
            true,
            MatRef::from_row_major_slice(&self.fc_weight, self.latent, d).transpose(),
            MatRef::from_row_major_slice(z, b, self.latent).transpose(),
        );
        let mut h0 = scratch(a0.len());
        h0.par_iter_mut().zip(&a0).for_each(|(h, &a)| *h = leaky(a));
        let (cols1, a1) = self.conv1.forward(&h0, b, self.l0);
        let mut h1 = scratch(a1.len());
        h1.par_iter_mut().zip(&a1).for_each(|(h, &a)| *h = leaky(a));
        let (cols2, a2) = self.conv2.forward(&h1, b, 2 * self.l0);
        recycle([h0, h1]);
        let mut p = scratch(a2.len());
        p.par_iter_mut()
            .zip(&a2)
            .for_each(|(p, &a)| *p = 1.0 / (1.0 + (-leaky(a).max(FLOOR)).exp()));
        GeneratorForward {
            z: z.to_vec(),
            probabilities: transpose(&p, self.conv2.c_out * 4 * self.l0, b),
            p,
            a0,
            cols1,
            a1,
            cols2,
            a2,
        }
    }

    /// Parameter gradients of `<grad, probabilities>` for `grad` `[B, N, T]` (batch-major), the
    /// gradient of a loss with respect to the forward pass's probabilities.
    pub fn gradients(&self, f: &GeneratorForward, grad: &[f32]) -> GeneratorGradients {
        let b = f.z.len() / self.latent;
        let l0 = self.l0;
        // Through the sigmoid and the final LReLU.
        let mut delta2 = transpose(grad, b, self.conv2.c_out * 4 * l0);
        delta2.par_iter_mut().zip(&f.p).zip(&f.a2).for_each(|((d, &p), &a)| {
            *d *= if leaky(a) > FLOOR {
                p * (1.0 - p) * slope(a)
            } else {
                0.0
            }
        });
        let g2 = self.conv2.backward(&delta2, &f.cols2, b, 2 * l0, true);
        let mut delta1 = g2.input.unwrap_or_default();
        delta1.par_iter_mut().zip(&f.a1).for_each(|(d, &a)| *d *= slope(a));
        let g1 = self.conv1.backward(&delta1, &f.cols1, b, l0, true);
        let mut delta0 = g1.input.unwrap_or_default();
        delta0.par_iter_mut().zip(&f.a0).for_each(|(d, &a)| *d *= slope(a));
        // delta0 is `[d, B]`: fc.weight's gradient is z^T delta0^T, fc.bias's its row sums.
        let d = self.fc_bias.len();
        let mut fc_weight = vec![0.0; self.fc_weight.len()];
        matmul(
            MatMut::from_row_major_slice_mut(&mut fc_weight, self.latent, d),
            false,
            MatRef::from_row_major_slice(&f.z, b, self.latent).transpose(),
            MatRef::from_row_major_slice(&delta0, d, b).transpose(),
        );
        let fc_bias = delta0.chunks(b).map(|row| row.iter().sum()).collect();
        recycle([delta2, delta1, delta0]);
        GeneratorGradients {
            fc_weight,
            fc_bias,
            conv1_weight: g1.weight,
            conv1_bias: g1.bias,
            conv2_weight: g2.weight,
            conv2_bias: g2.bias,
        }
    }
}
