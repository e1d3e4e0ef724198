//! The host kernels of the conv critic ([`spikegan_model::host`]) against Burn's autodiff of the
//! same losses (whose penalty gradient `tests/penalty.rs` checks against finite differences); a
//! trainer with them against one without is in `tests/training.rs`.

mod common;

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::SeedableRng;
use spikegan_model::host::{HostConvCritic, HostConvGenerator};
use spikegan_model::model::{ConvCritic, Critic, Generator, LOGIT_FLOOR};
use spikegan_model::penalty::gradient_penalty;
use spikegan_model::{InitRng, ModelConfig};

use common::{f64_device, values};

const N: usize = 4;
const T: usize = 16;
const B: usize = 5;

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Largest difference relative to the largest magnitude of `reference`.
fn rel_diff(host: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(host.len(), reference.len());
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1e-6, "a reference gradient is zero");
    host.iter()
        .zip(reference)
        .map(|(&h, r)| (f64::from(h) - r).abs())
        .fold(0.0, f64::max)
        / scale
}

fn critic(dev: &Device, kernel: usize) -> ConvCritic {
    let cfg = ModelConfig::new()
        .with_neurons(N)
        .with_bins(T)
        .with_base_features(16)
        .with_kernel(kernel);
    let Critic::Conv(mut c) = Critic::new(&cfg, &mut InitRng::seed_from_u64(5), dev) else {
        unreachable!()
    };
    // Non-zero biases, so that they matter.
    let bias = |p: &Option<Param<Tensor<1>>>, seed: u64| {
        let n = p.as_ref().unwrap().val().dims()[0];
        dev.seed(seed);
        Some(Param::from_tensor(Tensor::random(
            [n],
            Distribution::Uniform(-0.05, 0.05),
            dev,
        )))
    };
    c.conv1.bias = bias(&c.conv1.bias, 1);
    c.conv2.bias = bias(&c.conv2.bias, 2);
    c.fc.bias = bias(&c.fc.bias, 3);
    c
}

#[test]
fn critic_gradients_match_autodiff() {
    for kernel in [3, 5, 7] {
        check_critic(kernel);
    }
}

fn check_critic(kernel: usize) {
    let dev = f64_device();
    let c = critic(&dev, kernel);
    dev.seed(7);
    let real = Tensor::<3>::random([B, N, T], Distribution::Bernoulli(0.3), &dev);
    let fake = Tensor::<3>::random([B, N, T], Distribution::Uniform(0.0, 1.0), &dev);
    let alpha: Vec<f64> = (0..B).map(|i| (i as f64 + 0.5) / B as f64).collect();
    let a = Tensor::<3>::from_data(TensorData::new(alpha.clone(), [B, 1, 1]), &dev);
    let x_hat = real.clone() + (fake.clone() - real.clone()) * a;

    let critic = Critic::Conv(c.clone());
    let w = critic.forward(real.clone()).mean() - critic.forward(fake.clone()).mean();
    let gp = gradient_penalty(&critic, x_hat, 10.0);
    let loss = gp.clone() - w.clone();
    let (loss_value, gp_value, w_value) = (values(loss.clone())[0], values(gp)[0], values(w)[0]);
    let grads = loss.backward();
    let grad = |p: &Param<Tensor<3>>| values(p.val().grad(&grads).unwrap());

    let host = HostConvCritic::new(&c, N, T);
    let g = host.gradients(&f32s(&values(real)), &f32s(&values(fake)), &f32s(&alpha), 10.0);
    assert!(
        (g.loss - loss_value).abs() < 1e-4 * loss_value.abs().max(1.0),
        "loss {} vs {loss_value}",
        g.loss
    );
    assert!((g.penalty - gp_value).abs() < 1e-4 * gp_value.abs().max(1.0));
    assert!((g.wasserstein - w_value).abs() < 1e-5);
    let checks: [(&str, &[f32], Vec<f64>); 5] = [
        ("conv1.weight", &g.conv1_weight, grad(&c.conv1.weight)),
        ("conv2.weight", &g.conv2_weight, grad(&c.conv2.weight)),
        (
            "fc.weight",
            &g.fc_weight,
            values(c.fc.weight.val().grad(&grads).unwrap()),
        ),
        (
            "conv1.bias",
            &g.conv1_bias,
            values(c.conv1.bias.as_ref().unwrap().val().grad(&grads).unwrap()),
        ),
        (
            "conv2.bias",
            &g.conv2_bias,
            values(c.conv2.bias.as_ref().unwrap().val().grad(&grads).unwrap()),
        ),
    ];
    for (name, host, reference) in checks {
        let d = rel_diff(host, &reference);
        assert!(
            d < 1e-4,
            "{name}: host gradient differs from autodiff by {d} (relative)"
        );
    }
    let fc_bias = values(c.fc.bias.as_ref().unwrap().val().grad(&grads).unwrap())[0];
    assert!((f64::from(g.fc_bias) - fc_bias).abs() < 1e-6);
}

#[test]
fn input_gradient_matches_autodiff() {
    let dev = f64_device();
    let c = critic(&dev, 5);
    dev.seed(8);
    let x = Tensor::<3>::random([B, N, T], Distribution::Uniform(0.0, 1.0), &dev).require_grad();
    let critic = Critic::Conv(c.clone());
    let scores = critic.forward(x.clone());
    let reference = values(x.grad(&scores.clone().sum().mul_scalar(-0.5).backward()).unwrap());
    let host = HostConvCritic::new(&c, N, T);
    let (g, host_scores) = host.input_gradient(&f32s(&values(x)), -0.5);
    let d = rel_diff(&g, &reference);
    assert!(d < 1e-4, "input gradient differs from autodiff by {d} (relative)");
    for (h, r) in host_scores.iter().zip(values(scores)) {
        assert!((h - r).abs() < 1e-5, "score {h} vs {r}");
    }
}

/// Kernels 3, 5 and 7: the polyphase form of upsampling + convolution has 3, 3 and 5 taps.
#[test]
fn generator_forward_and_gradients_match_autodiff() {
    for kernel in [3, 5, 7] {
        check_generator(kernel);
    }
}

fn check_generator(kernel: usize) {
    let dev = f64_device();
    let cfg = ModelConfig::new()
        .with_neurons(N)
        .with_bins(T)
        .with_base_features(16)
        .with_latent(7)
        .with_kernel(kernel);
    let Generator::Conv(g) =
        Generator::new(&cfg, &mut InitRng::seed_from_u64(6), &dev).set_output_rates(&[0.1, 0.3, 0.02, 0.5], T, &dev)
    else {
        unreachable!()
    };
    dev.seed(9);
    let z = Tensor::<2>::random([B, 7], Distribution::Normal(0.0, 1.0), &dev);
    let weight = Tensor::<3>::random([B, N, T], Distribution::Normal(0.0, 1.0), &dev);
    let p = Generator::Conv(g.clone()).forward(z.clone(), N, T);
    let reference_p = values(p.clone());
    let grads = (p * weight.clone()).sum().backward();

    let host = HostConvGenerator::new(&g);
    let forward = host.forward(&f32s(&values(z)));
    let d = rel_diff(&forward.probabilities, &reference_p);
    assert!(d < 1e-5, "kernel {kernel}: probabilities differ by {d} (relative)");
    let h = host.gradients(&forward, &f32s(&values(weight)));
    let grad3 = |p: &Param<Tensor<3>>| values(p.val().grad(&grads).unwrap());
    let grad1 = |p: &Option<Param<Tensor<1>>>| values(p.as_ref().unwrap().val().grad(&grads).unwrap());
    let checks: [(&str, &[f32], Vec<f64>); 6] = [
        (
            "fc.weight",
            &h.fc_weight,
            values(g.fc.weight.val().grad(&grads).unwrap()),
        ),
        ("fc.bias", &h.fc_bias, grad1(&g.fc.bias)),
        ("conv1.weight", &h.conv1_weight, grad3(&g.conv1.weight)),
        ("conv1.bias", &h.conv1_bias, grad1(&g.conv1.bias)),
        ("conv2.weight", &h.conv2_weight, grad3(&g.conv2.weight)),
        ("conv2.bias", &h.conv2_bias, grad1(&g.conv2.bias)),
    ];
    for (name, host, reference) in checks {
        let d = rel_diff(host, &reference);
        assert!(
            d < 1e-4,
            "{name}: host gradient differs from autodiff by {d} (relative)"
        );
    }
}

/// Probabilities stop at sigmoid(LOGIT_FLOOR) (no subnormal floats), with zero gradient below it,
/// on both paths.
#[test]
fn probabilities_are_floored_on_both_paths() {
    let dev = f64_device();
    let cfg = ModelConfig::new()
        .with_neurons(N)
        .with_bins(T)
        .with_base_features(8)
        .with_latent(5);
    let Generator::Conv(mut g) = Generator::new(&cfg, &mut InitRng::seed_from_u64(3), &dev) else {
        unreachable!()
    };
    // Neuron 1 far below the floor (the final LReLU divides by 5: logit about -1000).
    let bias = Tensor::<1>::from_data(TensorData::new(vec![0.0, -5000.0, 0.0, 0.0], [N]), &dev);
    g.conv2.bias = Some(Param::from_tensor(bias));
    dev.seed(4);
    let z = Tensor::<2>::random([B, 5], Distribution::Normal(0.0, 1.0), &dev);
    let p = Generator::Conv(g.clone()).forward(z.clone(), N, T);
    let grads = p.clone().sum().backward();
    let floor = 1.0 / (1.0 + (-LOGIT_FLOOR).exp());
    let burn_p = values(p);
    let host = HostConvGenerator::new(&g);
    let forward = host.forward(&f32s(&values(z)));
    let host_grads = host.gradients(&forward, &vec![1.0; B * N * T]);
    for (i, (&h, &b)) in forward.probabilities.iter().zip(&burn_p).enumerate() {
        if (i / T) % N == 1 {
            assert!(
                (b - floor).abs() < 1e-12 * floor,
                "autodiff: {b} instead of the floor {floor}"
            );
            assert!(
                (f64::from(h) - floor).abs() < 1e-5 * floor,
                "host: {h} instead of the floor {floor}"
            );
        } else {
            assert!(f64::from(h) > floor);
        }
    }
    let burn_bias = values(g.conv2.bias.as_ref().unwrap().val().grad(&grads).unwrap());
    assert_eq!((burn_bias[1], host_grads.conv2_bias[1]), (0.0, 0.0));
    assert!(burn_bias[0] != 0.0 && host_grads.conv2_bias[0] != 0.0);
}
