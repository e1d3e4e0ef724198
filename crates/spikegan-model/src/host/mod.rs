//! The conv critic's training arithmetic written out on the host, for CPU backends.
//!
//! On the CPU, Burn's autodiff spends most of a critic update in per-element copies (the shifted
//! views of each convolution, the scatter of its adjoint, masks), not in arithmetic. Here the whole
//! update of the semi-convolutional critic is a handful of large matrix products (faer) over
//! buffers in the time-major layout `[C, G, L, B]` (channel, group of samples, time bin, sample:
//! the real, fake and interpolated batches are three groups of one pass), in which every kernel
//! tap of a convolution at one output position reads one contiguous block of `B` values:
//!
//! - the forward pass of the real, fake and interpolated batches together (`3B` samples);
//! - the gradient of `-(mean D(real) - mean D(fake))`, by ordinary backpropagation;
//! - the gradient penalty `lambda * mean_b (||dD/dx(x_hat_b)|| - 1)^2` and its parameter gradient.
//!   With the leaky-ReLU slopes constant (they are, almost everywhere), the input gradient
//!   `g = W1^T S1 W2^T S2 w_fc` is linear in each weight, so its parameter gradient is one more
//!   forward pass of `u = dP/dg` through the slopes (`r1 = S1 W1 u`, `r2 = S2 W2 r1`), paired with
//!   the backpropagated errors: `dW1 = delta1 u^T`, `dW2 = delta2 r1^T`, `dw_fc = sum_b r2`; the
//!   biases get no penalty gradient.
//!
//! The weight gradients of both terms come from one product per layer, the penalty's columns
//! sitting in the interpolated batch's group. The gradients go back to Burn's Adam, so optimiser
//! state, checkpoints and the CUDA path are unchanged. Checked against Burn's autodiff (itself
//! checked against finite differences) in `tests/penalty.rs`.

use std::cell::RefCell;

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::model::LEAK;

mod critic;
mod generator;

pub use critic::{CriticGradients, HostConvCritic};
pub use generator::{GeneratorGradients, HostConvGenerator};

/// A tensor's values as row-major f32.
pub(crate) fn host_values<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f32> {
    let data = t.into_data();
    // A plain copy for f32; `iter` converts from any other element type.
    match data.as_slice::<f32>() {
        Ok(values) => values.to_vec(),
        Err(_) => data.iter::<f32>().collect(),
    }
}

thread_local! {
    /// Buffers of earlier steps, for [`scratch`].
    static SPARE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// Most buffers kept for reuse (an iteration uses about 40); the oldest go first.
const MAX_SPARE: usize = 64;

/// A buffer of `len` values for an output that is then overwritten in full: a spare one of that
/// length from [`recycle`] (its contents left from an earlier step), else zeros. Every training
/// step needs the same multi-megabyte buffers; allocating them afresh cost a zero-fill each
/// (about 6% of a step, docs/benchmarks.md).
pub(crate) fn scratch(len: usize) -> Vec<f32> {
    SPARE
        .with(|spare| {
            let mut spare = spare.borrow_mut();
            let i = spare.iter().rposition(|b| b.len() == len)?;
            Some(spare.remove(i))
        })
        .unwrap_or_else(|| vec![0.0; len])
}

/// Keeps buffers for [`scratch`].
pub(crate) fn recycle(buffers: impl IntoIterator<Item = Vec<f32>>) {
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        for b in buffers.into_iter().filter(|b| !b.is_empty()) {
            if spare.len() == MAX_SPARE {
                spare.remove(0);
            }
            spare.push(b);
        }
    });
}

/// The leaky ReLU's derivative, 1 at 0 as in Burn's `leaky_relu` (which scales only `a < 0`):
/// binary inputs give pre-activations of exactly 0 while the biases are 0.
pub(crate) fn slope(a: f32) -> f32 {
    if a < 0.0 { LEAK as f32 } else { 1.0 }
}

pub(crate) fn leaky(a: f32) -> f32 {
    a * slope(a)
}

/// `dst = [dst +] lhs * rhs`, in parallel over the rayon pool: the columns of `dst` are split
/// between the pool's threads and each part is one sequential faer product. (faer's own parallel
/// mode runs a second, spinning thread pool, which on a 2-core machine starves the rayon work
/// between products: measured 3-10x slower element-wise passes.)
pub(crate) fn matmul(dst: MatMut<'_, f32>, accumulate: bool, lhs: MatRef<'_, f32>, rhs: MatRef<'_, f32>) {
    split_matmul(dst, accumulate, lhs, rhs, rayon::current_num_threads());
}

fn split_matmul(dst: MatMut<'_, f32>, accumulate: bool, lhs: MatRef<'_, f32>, rhs: MatRef<'_, f32>, parts: usize) {
    // Parts of at least 64 columns (or rows, for a product with few columns), boundaries on
    // multiples of 16.
    if parts >= 2 && dst.ncols() < 128 && dst.nrows() >= 128 {
        let m = dst.nrows();
        let left_parts = parts / 2;
        let mid = (m * left_parts / parts).div_ceil(16) * 16;
        let (top, bottom) = dst.split_at_row_mut(mid);
        let (lhs_top, lhs_bottom) = lhs.split_at_row(mid);
        rayon::join(
            || split_matmul(top, accumulate, lhs_top, rhs, left_parts),
            || split_matmul(bottom, accumulate, lhs_bottom, rhs, parts - left_parts),
        );
        return;
    }
    if parts < 2 || dst.ncols() < 128 {
        let accum = if accumulate { Accum::Add } else { Accum::Replace };
        faer::linalg::matmul::matmul(dst, accum, lhs, rhs, 1.0, Par::Seq);
        clear_upper_vector_state();
        return;
    }
    let n = dst.ncols();
    let left_parts = parts / 2;
    let mid = (n * left_parts / parts).div_ceil(16) * 16;
    let (left, right) = dst.split_at_col_mut(mid);
    let (rhs_left, rhs_right) = rhs.split_at_col(mid);
    rayon::join(
        || split_matmul(left, accumulate, lhs, rhs_left, left_parts),
        || split_matmul(right, accumulate, lhs, rhs_right, parts - left_parts),
    );
}

/// A strided convolution with symmetric zero padding `k/2` (as [`crate::model::conv1d_channel_major`]).
pub(crate) struct Conv {
    pub(crate) c_in: usize,
    pub(crate) c_out: usize,
    pub(crate) k: usize,
    pub(crate) stride: usize,
    /// `[c_out, c_in * k]`, row `o`, column `c * k + j`.
    pub(crate) weight: Vec<f32>,
    /// `[c_out]`.
    pub(crate) bias: Vec<f32>,
}

impl Conv {
    pub(crate) fn from_burn(conv: &burn::nn::conv::Conv1d, stride: usize) -> Self {
        let [c_out, c_in, k] = conv.weight.val().dims();
        Conv {
            c_in,
            c_out,
            k,
            stride,
            weight: host_values(conv.weight.val()),
            bias: conv
                .bias
                .as_ref()
                .map(|b| host_values(b.val()))
                .unwrap_or_else(|| vec![0.0; c_out]),
        }
    }

    /// Output length for an input of length `l`.
    pub(crate) fn l_out(&self, l: usize) -> usize {
        (l + 2 * (self.k / 2) - self.k) / self.stride + 1
    }

    pub(crate) fn weight(&self) -> MatRef<'_, f32> {
        MatRef::from_row_major_slice(&self.weight, self.c_out, self.c_in * self.k)
    }

    /// For output position `o` and kernel tap `j`: the input position read, if inside `0..l`.
    fn input_position(&self, o: usize, j: usize, l: usize) -> Option<usize> {
        (o * self.stride + j).checked_sub(self.k / 2).filter(|&i| i < l)
    }

    /// Columns of the convolution of `src` (`[c_in, groups, l, nb]`) into groups `g0..g0 + groups`
    /// of `dst` (`[c_in * k, total_groups, l_out, nb]`): row `c * k + j` at `(g, o, b)` holds
    /// `src[c, g, o * stride + j - k/2, b]` (zero outside). In this layout each (tap, output
    /// position) is one contiguous block of `nb` values.
    pub(crate) fn im2col(&self, src: &[f32], groups: usize, nb: usize, l: usize, dst: &mut [f32], g0: usize) {
        let (k, l_out) = (self.k, self.l_out(l));
        let row_len = dst.len() / (self.c_in * k);
        dst.par_chunks_mut(row_len).enumerate().for_each(|(row, out)| {
            let (c, j) = (row / k, row % k);
            for g in 0..groups {
                let x = &src[(c * groups + g) * l * nb..][..l * nb];
                let out = &mut out[(g0 + g) * l_out * nb..][..l_out * nb];
                for (o, block) in out.chunks_exact_mut(nb).enumerate() {
                    match self.input_position(o, j, l) {
                        Some(i) => block.copy_from_slice(&x[i * nb..][..nb]),
                        None => block.fill(0.0),
                    }
                }
            }
        });
    }

    /// The adjoint of [`Conv::im2col`]: groups `g0..g0 + groups` of the columns `src`
    /// (`[c_in * k, total_groups, l_out, nb]`) scatter-added into `dst` (`[c_in, groups, l, nb]`,
    /// overwritten).
    pub(crate) fn col2im(&self, src: &[f32], g0: usize, groups: usize, l: usize, dst: &mut [f32]) {
        let (k, l_out) = (self.k, self.l_out(l));
        let nb = dst.len() / (self.c_in * groups * l);
        let row_len = src.len() / (self.c_in * k);
        dst.par_chunks_mut(groups * l * nb).enumerate().for_each(|(c, out)| {
            out.fill(0.0);
            for j in 0..k {
                let row = &src[(c * k + j) * row_len..][..row_len];
                for g in 0..groups {
                    let cols = &row[(g0 + g) * l_out * nb..][..l_out * nb];
                    let x = &mut out[g * l * nb..][..l * nb];
                    for (o, block) in cols.chunks_exact(nb).enumerate() {
                        if let Some(i) = self.input_position(o, j, l) {
                            x[i * nb..][..nb].iter_mut().zip(block).for_each(|(x, &v)| *x += v);
                        }
                    }
                }
            }
        });
    }

    /// Pre-activations `[c_out, columns]` of the columns, with the bias.
    pub(crate) fn forward(&self, cols: &[f32], out: &mut [f32]) {
        let n = cols.len() / (self.c_in * self.k);
        for (row, &b) in out.chunks_mut(n).zip(&self.bias) {
            row.fill(b);
        }
        let rhs = MatRef::from_row_major_slice(cols, self.c_in * self.k, n);
        matmul(
            MatMut::from_row_major_slice_mut(out, self.c_out, n),
            true,
            self.weight(),
            rhs,
        );
    }

    /// `W^T delta` for the column range `[c0, c0 + n)` of `delta` (`[c_out, columns]`), into `out`
    /// (`[c_in * k, n]`).
    pub(crate) fn backward_columns(&self, delta: &[f32], c0: usize, n: usize, out: &mut [f32]) {
        let total = delta.len() / self.c_out;
        let rhs = MatRef::from_row_major_slice(delta, self.c_out, total).subcols(c0, n);
        let dst = MatMut::from_row_major_slice_mut(out, self.c_in * self.k, n);
        matmul(dst, false, self.weight().transpose(), rhs);
    }

    /// Weight gradient `delta cols^T`, `[c_out, c_in * k]`.
    pub(crate) fn weight_gradient(&self, delta: &[f32], cols: &[f32]) -> Vec<f32> {
        let n = cols.len() / (self.c_in * self.k);
        let mut out = vec![0.0; self.weight.len()];
        let lhs = MatRef::from_row_major_slice(delta, self.c_out, n);
        let rhs = MatRef::from_row_major_slice(cols, self.c_in * self.k, n).transpose();
        matmul(
            MatMut::from_row_major_slice_mut(&mut out, self.c_out, self.c_in * self.k),
            false,
            lhs,
            rhs,
        );
        out
    }
}

/// `[nb, c, l]` (batch-major) -> `[c, nb, l]` (channel-major).
pub(crate) fn to_channel_major(x: &[f32], c: usize, l: usize) -> Vec<f32> {
    let nb = x.len() / (c * l);
    let mut out = vec![0.0; x.len()];
    for (b, sample) in x.chunks(c * l).enumerate() {
        for (i, row) in sample.chunks(l).enumerate() {
            out[(i * nb + b) * l..][..l].copy_from_slice(row);
        }
    }
    out
}

/// `[c, nb, l]` (channel-major) -> `[nb, c, l]` (batch-major).
pub(crate) fn to_batch_major(x: &[f32], c: usize, l: usize) -> Vec<f32> {
    let nb = x.len() / (c * l);
    let mut out = vec![0.0; x.len()];
    for (i, rows) in x.chunks(nb * l).enumerate() {
        for (b, row) in rows.chunks(l).enumerate() {
            out[(b * c + i) * l..][..l].copy_from_slice(row);
        }
    }
    out
}

/// `[rows, cols]` -> `[cols, rows]` (row-major both).
pub(crate) fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    out.par_chunks_mut(rows).enumerate().for_each(|(c, out)| {
        for (r, v) in out.iter_mut().enumerate() {
            *v = x[r * cols + c];
        }
    });
    out
}

/// Clears the upper halves of the vector registers (`vzeroupper`) after faer's AVX-512 kernels,
/// which leave them dirty: every SSE instruction that follows (this workspace is compiled for
/// x86-64-v2, so all of its own code) then pays a merge penalty; measured 25-50x slower
/// element-wise loops after a product.
#[allow(unsafe_code)]
fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX (checked just above), which is all `vzeroupper` needs.
        unsafe { std::arch::x86_64::_mm256_zeroupper() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(c_in: usize, k: usize, stride: usize) -> Conv {
        Conv {
            c_in,
            c_out: 1,
            k,
            stride,
            weight: vec![0.0; c_in * k],
            bias: vec![0.0],
        }
    }

    /// Pseudo-random values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Direct definition: row `c * k + j`, group `g0 + g`, position `o`, sample `b` holds
    /// `x[c, g, o * stride + j - k/2, b]`, zero outside; groups other than `g0..g0 + groups` untouched.
    #[test]
    fn im2col_matches_its_definition_and_col2im_is_its_adjoint() {
        for (c_in, k, stride, l, nb) in [(3, 5, 2, 8, 4), (2, 3, 1, 5, 3), (2, 7, 2, 6, 2), (1, 4, 2, 9, 1)] {
            let cv = conv(c_in, k, stride);
            let (l_out, total, g0, groups) = (cv.l_out(l), 3, 1, 2);
            let x = values(c_in * groups * l * nb, 1);
            let mut cols = vec![f32::NAN; c_in * k * total * l_out * nb];
            cv.im2col(&x, groups, nb, l, &mut cols, g0);
            for c in 0..c_in {
                for j in 0..k {
                    for g in 0..total {
                        for o in 0..l_out {
                            for b in 0..nb {
                                let got = cols[(c * k + j) * total * l_out * nb + (g * l_out + o) * nb + b];
                                if g < g0 || g >= g0 + groups {
                                    assert!(got.is_nan(), "group {g} outside the slot was written");
                                    continue;
                                }
                                let i = (o * stride + j) as isize - (k / 2) as isize;
                                let want = if (0..l as isize).contains(&i) {
                                    x[((c * groups + g - g0) * l + i as usize) * nb + b]
                                } else {
                                    0.0
                                };
                                assert_eq!(got, want, "c {c} j {j} g {g} o {o} b {b}");
                            }
                        }
                    }
                }
            }
            // <im2col(x), y> = <x, col2im(y)> over the slot.
            let y = values(cols.len(), 2);
            let mut back = vec![f32::NAN; x.len()];
            cv.col2im(&y, g0, groups, l, &mut back);
            let row = total * l_out * nb;
            let lhs: f64 = cols
                .chunks(row)
                .zip(y.chunks(row))
                .flat_map(|(c, y)| c[g0 * l_out * nb..].iter().zip(&y[g0 * l_out * nb..]))
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let rhs: f64 = x.iter().zip(&back).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            assert!((lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
        }
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
        assert_eq!(transpose(&x, 2, 3), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }
}
