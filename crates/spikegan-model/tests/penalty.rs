//! The gradient penalty's parameter gradient against central finite differences (f64).
//!
//! A penalty that Burn silently treated as a constant would give zero parameter gradients here;
//! a wrong hand-written adjoint would give different ones. The finite differences evaluate the
//! penalty through Burn's own first-order autodiff of dD/dx, independent of the hand-written code.

mod common;

use burn::module::Param;
use burn::tensor::Gradients;
use burn::tensor::{Distribution, Tensor, TensorData};
use rand::SeedableRng;
use spikegan_model::model::Critic;
use spikegan_model::penalty::{gradient_penalty, input_gradient};
use spikegan_model::{Arch, InitRng, ModelConfig};

use common::{f64_device as device, values as to_vec};

/// Penalty value with dD/dx from autodiff (not the hand-written adjoint).
fn penalty_by_autodiff(critic: &Critic, x: &Tensor<3>) -> f64 {
    let x = x.clone().detach().require_grad();
    let grads = critic.forward(x.clone()).sum().backward();
    let g = x.grad(&grads).expect("input gradient");
    let [b, n, t] = g.dims();
    let norm = g.powi_scalar(2).reshape([b, n * t]).sum_dim(1).add_scalar(1e-12).sqrt();
    to_vec(norm.sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(10.0))[0]
}

/// A weight tensor to perturb: its name, its gradient, its values, and how to replace them.
struct Access {
    name: &'static str,
    grad: fn(&Critic, &Gradients) -> Option<Vec<f64>>,
    values: fn(&Critic) -> Vec<f64>,
    set: fn(&mut Critic, Vec<f64>),
}

macro_rules! access {
    ($name:expr, $variant:ident, $($field:tt)+) => {
        Access {
            name: $name,
            grad: |c, g| match c {
                Critic::$variant(c) => c.$($field)+.val().grad(g).map(to_vec),
                _ => unreachable!(),
            },
            values: |c| match c {
                Critic::$variant(c) => to_vec(c.$($field)+.val()),
                _ => unreachable!(),
            },
            set: |c, v| {
                if let Critic::$variant(c) = c {
                    let w = c.$($field)+.val();
                    c.$($field)+ = Param::from_tensor(Tensor::from_data(TensorData::new(v, w.dims()), &w.device()));
                }
            },
        }
    };
}

fn check(arch: Arch, accesses: &[Access]) {
    let dev = device();
    let cfg = ModelConfig::new()
        .with_arch(arch)
        .with_neurons(4)
        .with_bins(16)
        .with_base_features(16)
        .with_mlp_units(12);
    dev.seed(3);
    let critic = Critic::new(&cfg, &mut InitRng::seed_from_u64(3), &dev);
    let x = Tensor::<3>::random([6, 4, 16], Distribution::Uniform(0.0, 1.0), &dev);

    // The hand-written input gradient equals autodiff's.
    let manual = to_vec(input_gradient(&critic, x.clone()));
    let xr = x.clone().detach().require_grad();
    let auto = to_vec(xr.grad(&critic.forward(xr.clone()).sum().backward()).unwrap());
    let max_diff = manual.iter().zip(&auto).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(max_diff < 1e-12, "input gradient differs by {max_diff}");

    let gp = gradient_penalty(&critic, x.clone(), 10.0);
    assert!((to_vec(gp.clone())[0] - penalty_by_autodiff(&critic, &x)).abs() < 1e-12);
    let grads = gp.backward();
    let mut checked = 0;
    for access in accesses {
        let name = access.name;
        let analytic = (access.grad)(&critic, &grads).unwrap_or_else(|| panic!("{name}: no gradient from the penalty"));
        assert!(
            analytic.iter().any(|g| g.abs() > 1e-8),
            "{name}: the penalty's gradient is zero"
        );
        let values = (access.values)(&critic);
        let eps = 1e-6;
        for k in [0, values.len() / 3, values.len() / 2, values.len() - 1] {
            let at = |delta: f64| {
                let mut v = values.clone();
                v[k] += delta;
                let mut c = critic.clone();
                (access.set)(&mut c, v);
                penalty_by_autodiff(&c, &x)
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            let err = (fd - analytic[k]).abs() / fd.abs().max(1e-6);
            assert!(
                err < 1e-5,
                "{name}[{k}]: analytic {} vs finite difference {fd} (rel. err {err})",
                analytic[k]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, accesses.len() * 4);
}

#[test]
fn conv_penalty_gradient_matches_finite_differences() {
    check(
        Arch::Conv,
        &[
            access!("conv1.weight", Conv, conv1.weight),
            access!("conv2.weight", Conv, conv2.weight),
            access!("fc.weight", Conv, fc.weight),
        ],
    );
}

#[test]
fn mlp_penalty_gradient_matches_finite_differences() {
    check(
        Arch::Mlp,
        &[
            access!("hidden[0].weight", Mlp, hidden[0].weight),
            access!("hidden[2].weight", Mlp, hidden[2].weight),
            access!("out.weight", Mlp, out.weight),
        ],
    );
}
