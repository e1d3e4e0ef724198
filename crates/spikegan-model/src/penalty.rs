//! The WGAN-GP gradient penalty `lambda * mean((||dD/dx(x_hat)||_2 - 1)^2)`.
//!
//! Burn has first-order autodiff only: a penalty built from `x.grad()` would be a constant and
//! give the critic's parameters no gradient. Instead the input gradient dD/dx is written out by
//! hand with ordinary tensor ops (the adjoint of each layer, with the leaky-ReLU slopes taken as
//! constants), so one backward pass of `loss + penalty` differentiates it with respect to the
//! parameters. Tested against central finite differences in `tests/penalty.rs`.

use burn::tensor::{Bool, Tensor, s};

use crate::model::{ConvCritic, Critic, LEAK, MlpCritic, conv1d_channel_major_adjoint};

/// Derivative of the leaky ReLU at `h` as a constant tensor (1 where h > 0, else 0.2).
fn slope<const D: usize>(h: &Tensor<D>) -> Tensor<D> {
    let positive: Tensor<D, Bool> = h.clone().detach().greater_elem(0.0);
    positive.float().mul_scalar(1.0 - LEAK).add_scalar(LEAK)
}

fn conv_input_grad(c: &ConvCritic, x: Tensor<3>) -> Tensor<3> {
    let [_, _, t0] = x.dims();
    let (_, h1, h2) = c.forward_parts(x);
    conv_input_grad_from(c, &h1, &h2, t0)
}

/// dD/dx from the critic's pre-activations `h1`, `h2` at x (channel-major, as
/// [`ConvCritic::forward_parts`] returns them), `[B, N, t0]`.
fn conv_input_grad_from(c: &ConvCritic, h1: &Tensor<3>, h2: &Tensor<3>, t0: usize) -> Tensor<3> {
    let (s1, s2) = (slope(h1), slope(h2));
    let [_, _, t1] = h1.dims();
    let [ch2, _, t2] = h2.dims();
    // fc.weight is [f*T, 1]; the forward flattens each sample's [4f, T/4] row-major.
    let g = s2 * c.fc.weight.val().reshape([ch2, 1, t2]);
    let g = conv1d_channel_major_adjoint(&c.conv2, g, 2, t1) * s1;
    conv1d_channel_major_adjoint(&c.conv1, g, 2, t0).swap_dims(0, 1)
}

fn mlp_input_grad(c: &MlpCritic, x: Tensor<3>) -> Tensor<3> {
    let [b, n, t] = x.dims();
    let mut slopes = Vec::with_capacity(c.hidden.len());
    let mut h = x.reshape([b, n * t]);
    for l in &c.hidden {
        let pre = l.forward(h);
        slopes.push(slope(&pre));
        h = burn::tensor::activation::leaky_relu(pre, LEAK);
    }
    // out.weight is [u, 1]: d score / d h_last = its transpose, per sample.
    let mut g = slopes.pop().expect("at least one hidden layer") * c.out.weight.val().transpose();
    for (l, s) in c.hidden.iter().skip(1).rev().zip(slopes.into_iter().rev()) {
        g = g.matmul(l.weight.val().transpose()) * s;
    }
    g.matmul(c.hidden[0].weight.val().transpose()).reshape([b, n, t])
}

/// dD/dx at `x` (`[B, N, T]`, treated as a constant), differentiable with respect to the critic's
/// parameters.
pub fn input_gradient(critic: &Critic, x: Tensor<3>) -> Tensor<3> {
    let x = x.detach();
    match critic {
        Critic::Conv(c) => conv_input_grad(c, x),
        Critic::Mlp(c) => mlp_input_grad(c, x),
    }
}

/// `lambda * mean over the batch of (||dD/dx||_2 - 1)^2` at `x_hat`.
pub fn gradient_penalty(critic: &Critic, x_hat: Tensor<3>, lambda: f64) -> Tensor<1> {
    penalty_of(input_gradient(critic, x_hat), lambda)
}

fn penalty_of(g: Tensor<3>, lambda: f64) -> Tensor<1> {
    let [b, n, t] = g.dims();
    let norm = g.powi_scalar(2).reshape([b, n * t]).sum_dim(1).add_scalar(1e-12).sqrt();
    norm.sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(lambda)
}

/// The critic's terms of one WGAN-GP step: the Wasserstein estimate `mean D(real) - mean D(fake)`
/// and the gradient penalty at `x_hat` (all `[B, N, T]`). For the conv critic the three batches
/// go through one forward pass (larger matrix products, one graph) and the penalty reuses its
/// activations at `x_hat`; the result equals the separate computation (tested).
pub fn wasserstein_and_penalty(
    critic: &Critic,
    real: Tensor<3>,
    fake: Tensor<3>,
    x_hat: Tensor<3>,
    lambda: f64,
) -> (Tensor<1>, Tensor<1>) {
    match critic {
        Critic::Conv(c) => {
            let [b, _, t0] = real.dims();
            let all = Tensor::cat(vec![real, fake, x_hat.detach()], 0);
            let (scores, h1, h2) = c.forward_parts(all);
            let w = scores.clone().slice(s![0..b, ..]).mean() - scores.slice(s![b..2 * b, ..]).mean();
            let (h1, h2) = (h1.slice(s![.., 2 * b..3 * b, ..]), h2.slice(s![.., 2 * b..3 * b, ..]));
            (w, penalty_of(conv_input_grad_from(c, &h1, &h2, t0), lambda))
        }
        Critic::Mlp(_) => {
            let w = critic.forward(real).mean() - critic.forward(fake).mean();
            (w, gradient_penalty(critic, x_hat, lambda))
        }
    }
}
