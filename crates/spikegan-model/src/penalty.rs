//! The WGAN-GP gradient penalty `lambda * mean((||dD/dx(x_hat)||_2 - 1)^2)`.
//!
//! Burn has first-order autodiff only: a penalty built from `x.grad()` would be a constant and
//! give the critic's parameters no gradient. Instead the input gradient dD/dx is written out by
//! hand with ordinary tensor ops (the adjoint of each layer, with the leaky-ReLU slopes taken as
//! constants), so one backward pass of `loss + penalty` differentiates it with respect to the
//! parameters. Tested against central finite differences in `tests/penalty.rs`.

use burn::tensor::{Bool, Tensor};

use crate::model::{ConvCritic, Critic, LEAK, MlpCritic, conv1d_channel_major, conv1d_channel_major_adjoint};

/// Derivative of the leaky ReLU at `h` as a constant tensor (1 where h > 0, else 0.2).
fn slope<const D: usize>(h: &Tensor<D>) -> Tensor<D> {
    let positive: Tensor<D, Bool> = h.clone().detach().greater_elem(0.0);
    positive.float().mul_scalar(1.0 - LEAK).add_scalar(LEAK)
}

fn conv_input_grad(c: &ConvCritic, x: Tensor<3>) -> Tensor<3> {
    // Channel-major throughout ([C, B, L]), as the critic's forward.
    let [_, _, t0] = x.dims();
    let h1 = conv1d_channel_major(&c.conv1, x.swap_dims(0, 1), 2);
    let s1 = slope(&h1);
    let [_, _, t1] = h1.dims();
    let h2 = conv1d_channel_major(&c.conv2, burn::tensor::activation::leaky_relu(h1, LEAK), 2);
    let s2 = slope(&h2);
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
    let [b, n, t] = x_hat.dims();
    let g = input_gradient(critic, x_hat);
    let norm = g.powi_scalar(2).reshape([b, n * t]).sum_dim(1).add_scalar(1e-12).sqrt();
    norm.sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(lambda)
}
