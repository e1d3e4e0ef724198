//! The conv generator's forward pass and parameter gradient on the host: see the parent module.
//!
//! `z [B, latent]` -> linear -> `[B, 4f, T/4]` -> LReLU -> {upsample x2, conv stride 1, LReLU}
//! twice -> sigmoid, as [`ConvGenerator::logits`]; the upsampling is folded into the columns of the
//! convolution that follows it.

use faer::{MatMut, MatRef};
use rayon::prelude::*;

use super::{Conv, host_values, leaky, matmul, slope, to_batch_major, to_channel_major};
use crate::model::ConvGenerator;

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
    conv1: Conv,
    conv2: Conv,
    /// T/4.
    l0: usize,
}

/// Activations of a forward pass.
pub struct GeneratorForward {
    z: Vec<f32>,
    /// Pre-activations of the linear layer, channel-major `[4f, B, T/4]`.
    a0: Vec<f32>,
    /// Columns of conv1 (over the upsampled input), `[4f * k, B * T/2]`.
    cols1: Vec<f32>,
    /// Pre-activations of conv1, `[2f, B, T/2]`.
    a1: Vec<f32>,
    /// Columns of conv2, `[2f * k, B * T]`.
    cols2: Vec<f32>,
    /// Pre-activations of conv2, `[N, B, T]`.
    a2: Vec<f32>,
    /// Spike probabilities, batch-major `[B, N, T]`.
    pub probabilities: Vec<f32>,
}

impl HostConvGenerator {
    /// Copies the generator's parameters.
    pub fn new(generator: &ConvGenerator) -> Self {
        let [latent, d] = generator.fc.weight.val().dims();
        let conv1 = Conv::from_burn(&generator.conv1, 1, 2);
        HostConvGenerator {
            latent,
            fc_weight: host_values(generator.fc.weight.val()),
            fc_bias: generator
                .fc
                .bias
                .as_ref()
                .map(|b| host_values(b.val()))
                .unwrap_or_else(|| vec![0.0; d]),
            l0: d / conv1.c_in,
            conv1,
            conv2: Conv::from_burn(&generator.conv2, 1, 2),
        }
    }

    /// Forward pass of `z` (`[B, latent]`).
    pub fn forward(&self, z: &[f32]) -> GeneratorForward {
        let b = z.len() / self.latent;
        let d = self.fc_bias.len();
        let (c0, l0) = (self.conv1.c_in, self.l0);
        let mut a0_bm: Vec<f32> = self.fc_bias.iter().copied().cycle().take(b * d).collect();
        matmul(
            MatMut::from_row_major_slice_mut(&mut a0_bm, b, d),
            true,
            MatRef::from_row_major_slice(z, b, self.latent),
            MatRef::from_row_major_slice(&self.fc_weight, self.latent, d),
        );
        let a0 = to_channel_major(&a0_bm, c0, l0);
        let h0: Vec<f32> = a0.par_iter().map(|&a| leaky(a)).collect();
        let l1 = self.conv1.l_out(l0);
        let mut cols1 = vec![0.0; c0 * self.conv1.k * b * l1];
        self.conv1.im2col(&h0, b, l0, &mut cols1, 0);
        let mut a1 = vec![0.0; self.conv1.c_out * b * l1];
        self.conv1.forward(&cols1, &mut a1);
        let h1: Vec<f32> = a1.par_iter().map(|&a| leaky(a)).collect();
        let l2 = self.conv2.l_out(l1);
        let mut cols2 = vec![0.0; self.conv2.c_in * self.conv2.k * b * l2];
        self.conv2.im2col(&h1, b, l1, &mut cols2, 0);
        let mut a2 = vec![0.0; self.conv2.c_out * b * l2];
        self.conv2.forward(&cols2, &mut a2);
        let p: Vec<f32> = a2.par_iter().map(|&a| 1.0 / (1.0 + (-leaky(a)).exp())).collect();
        GeneratorForward {
            z: z.to_vec(),
            probabilities: to_batch_major(&p, self.conv2.c_out, l2),
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
        let (c0, l0) = (self.conv1.c_in, self.l0);
        let (l1, l2) = (self.conv1.l_out(l0), self.conv2.l_out(self.conv1.l_out(l0)));
        let bias_sums = |delta: &[f32], c: usize| -> Vec<f32> {
            delta.chunks(delta.len() / c).map(|row| row.iter().sum()).collect()
        };
        // Through the sigmoid and the final LReLU.
        let p_cm = to_channel_major(&f.probabilities, self.conv2.c_out, l2);
        let mut delta2 = to_channel_major(grad, self.conv2.c_out, l2);
        delta2
            .par_iter_mut()
            .zip(&p_cm)
            .zip(&f.a2)
            .for_each(|((d, &p), &a)| *d *= p * (1.0 - p) * slope(a));
        let mut cols = vec![0.0; f.cols2.len()];
        self.conv2.backward_columns(&delta2, 0, b * l2, &mut cols);
        let mut delta1 = vec![0.0; f.a1.len()];
        self.conv2.col2im(&cols, 0, b, l1, &mut delta1);
        delta1.par_iter_mut().zip(&f.a1).for_each(|(d, &a)| *d *= slope(a));
        let mut cols = vec![0.0; f.cols1.len()];
        self.conv1.backward_columns(&delta1, 0, b * l1, &mut cols);
        let mut delta0 = vec![0.0; f.a0.len()];
        self.conv1.col2im(&cols, 0, b, l0, &mut delta0);
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
            conv1_weight: self.conv1.weight_gradient(&delta1, &f.cols1),
            conv1_bias: bias_sums(&delta1, self.conv1.c_out),
            conv2_weight: self.conv2.weight_gradient(&delta2, &f.cols2),
            conv2_bias: bias_sums(&delta2, self.conv2.c_out),
        }
    }
}
