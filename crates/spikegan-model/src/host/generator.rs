//! The conv generator's forward pass and parameter gradient on the host: see the parent module.
//!
//! `z [B, latent]` -> linear -> `[B, 4f, T/4]` -> LReLU -> {upsample x2, conv stride 1, LReLU}
//! twice -> sigmoid, as [`ConvGenerator::logits`]. Each upsampling + convolution is computed in
//! polyphase form ([`UpsampleConv`]): two convolutions of the input before upsampling, with
//! `k/2 + 1` taps instead of k over twice the length.

use burn::nn::conv::Conv1d;
use faer::{MatMut, MatRef};
use rayon::prelude::*;

use super::{Conv, host_values, leaky, matmul, recycle, scratch, slope, to_batch_major, to_channel_major};
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

    /// Columns of `x` (`[c_in, B, l]`) and pre-activations `[c_out, B, 2l]`.
    fn forward(&self, x: &[f32], b: usize, l: usize) -> (Vec<f32>, Vec<f32>) {
        let mut cols = scratch(self.poly.c_in * self.poly.k * b * l);
        self.poly.im2col(x, b, l, &mut cols, 0);
        let mut phases = scratch(self.poly.c_out * b * l);
        self.poly.forward(&cols, &mut phases);
        // [2, c_out, B, l] -> [c_out, B, l, 2].
        let (even, odd) = phases.split_at(self.c_out * b * l);
        let mut a = scratch(2 * even.len());
        a.par_chunks_mut(2 * l)
            .zip(even.par_chunks(l).zip(odd.par_chunks(l)))
            .for_each(|(out, (e, o))| {
                for ((pair, &e), &o) in out.chunks_mut(2).zip(e).zip(o) {
                    pair[0] = e;
                    pair[1] = o;
                }
            });
        recycle([phases]);
        (cols, a)
    }

    /// Weight, bias and (if `input`) input gradients from the gradient `delta` (`[c_out, B, 2l]`)
    /// of the pre-activations.
    fn backward(&self, delta: &[f32], cols: &[f32], b: usize, l: usize, input: bool) -> UpsampleConvGradients {
        let (c_out, c_in, k, kd) = (self.c_out, self.poly.c_in, self.k, self.poly.k);
        let half = c_out * b * l;
        let mut phases = vec![0.0; 2 * half];
        {
            let (even, odd) = phases.split_at_mut(half);
            even.par_chunks_mut(l)
                .zip(odd.par_chunks_mut(l))
                .zip(delta.par_chunks(2 * l))
                .for_each(|((e, o), d)| {
                    for ((e, o), pair) in e.iter_mut().zip(o).zip(d.chunks(2)) {
                        *e = pair[0];
                        *o = pair[1];
                    }
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
        let bias = delta.chunks(2 * b * l).map(|row| row.iter().sum()).collect();
        let input = input.then(|| {
            let mut columns = vec![0.0; cols.len()];
            self.poly.backward_columns(&phases, 0, b * l, &mut columns);
            let mut dx = vec![0.0; c_in * b * l];
            self.poly.col2im(&columns, 0, b, l, &mut dx);
            dx
        });
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

/// Activations of a forward pass.
pub struct GeneratorForward {
    z: Vec<f32>,
    /// Pre-activations of the linear layer, channel-major `[4f, B, T/4]`.
    a0: Vec<f32>,
    /// Columns of conv1's polyphase form, `[4f * k', B * T/4]`.
    cols1: Vec<f32>,
    /// Pre-activations of conv1, `[2f, B, T/2]`.
    a1: Vec<f32>,
    /// Columns of conv2's polyphase form, `[2f * k', B * T/2]`.
    cols2: Vec<f32>,
    /// Pre-activations of conv2, `[N, B, T]`.
    a2: Vec<f32>,
    /// Spike probabilities, batch-major `[B, N, T]`.
    pub probabilities: Vec<f32>,
}

impl GeneratorForward {
    /// The probabilities; the other buffers are kept for the next forward pass.
    pub fn into_probabilities(self) -> Vec<f32> {
        recycle([self.cols1, self.a1, self.cols2, self.a2]);
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
        let (c0, l0) = (self.conv1.poly.c_in, self.l0);
        let mut a0_bm: Vec<f32> = self.fc_bias.iter().copied().cycle().take(b * d).collect();
        matmul(
            MatMut::from_row_major_slice_mut(&mut a0_bm, b, d),
            true,
            MatRef::from_row_major_slice(z, b, self.latent),
            MatRef::from_row_major_slice(&self.fc_weight, self.latent, d),
        );
        let a0 = to_channel_major(&a0_bm, c0, l0);
        let h0: Vec<f32> = a0.par_iter().map(|&a| leaky(a)).collect();
        let (cols1, a1) = self.conv1.forward(&h0, b, l0);
        let mut h1 = scratch(a1.len());
        h1.par_iter_mut().zip(&a1).for_each(|(h, &a)| *h = leaky(a));
        let (cols2, a2) = self.conv2.forward(&h1, b, 2 * l0);
        recycle([h0, h1]);
        let p: Vec<f32> = a2
            .par_iter()
            .map(|&a| 1.0 / (1.0 + (-leaky(a).max(FLOOR)).exp()))
            .collect();
        GeneratorForward {
            z: z.to_vec(),
            probabilities: to_batch_major(&p, self.conv2.c_out, 4 * l0),
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
        let (c0, l0) = (self.conv1.poly.c_in, self.l0);
        // Through the sigmoid and the final LReLU.
        let p_cm = to_channel_major(&f.probabilities, self.conv2.c_out, 4 * l0);
        let mut delta2 = to_channel_major(grad, self.conv2.c_out, 4 * l0);
        delta2.par_iter_mut().zip(&p_cm).zip(&f.a2).for_each(|((d, &p), &a)| {
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
        let delta0_bm = to_batch_major(&delta0, c0, l0);
        let d = self.fc_bias.len();
        let mut fc_weight = vec![0.0; self.fc_weight.len()];
        matmul(
            MatMut::from_row_major_slice_mut(&mut fc_weight, self.latent, d),
            false,
            MatRef::from_row_major_slice(&f.z, b, self.latent).transpose(),
            MatRef::from_row_major_slice(&delta0_bm, b, d),
        );
        let mut fc_bias = vec![0.0; d];
        for row in delta0_bm.chunks(d) {
            fc_bias.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
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
