//! An exponential moving average (Polyak average) of the generator's weights, kept when
//! [`crate::TrainingConfig::ema_decay`] is above zero and used for sampling and evaluation: it
//! averages out the oscillation of the adversarial game (the firing rates of a generator trained
//! with a large learning rate wander from update to update) without slowing the generator.
//!
//! After generator update t the average moves as `ema <- d_t ema + (1 - d_t) generator` with
//! `d_t = min(decay, (1 + t) / (10 + t))`, the warm-up of TensorFlow's `ExponentialMovingAverage`,
//! so that the first updates are not dominated by the initial weights.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::model::Generator;

/// Every float parameter of a module, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.0.push(value.reshape([n]));
    }
}

/// Moves each parameter towards the collected one of the same position.
struct Blend {
    targets: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(target) = self.targets.next() else {
            return param;
        };
        let decay = self.decay;
        param.map(|ema| {
            let dims = ema.dims();
            ema.mul_scalar(decay) + target.reshape(dims).mul_scalar(1.0 - decay)
        })
    }
}

/// The decay used after generator update `t` (1-based) for a configured `decay`.
pub fn decay_at(decay: f64, t: usize) -> f64 {
    decay.min((1.0 + t as f64) / (10.0 + t as f64))
}

/// `ema` moved towards `generator` (same architecture) with weight `1 - decay`. Both are
/// detached from any autodiff graph.
pub fn update(ema: Generator, generator: &Generator, decay: f64) -> Generator {
    let mut collect = Collect(Vec::new());
    generator.valid().visit(&mut collect);
    ema.map(&mut Blend {
        targets: collect.0.into_iter(),
        decay,
    })
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;
    use rand::SeedableRng;

    use super::*;
    use crate::ModelConfig;
    use crate::model::InitRng;

    fn first_weights(g: &Generator) -> Vec<f32> {
        let mut c = Collect(Vec::new());
        g.visit(&mut c);
        c.0[0]
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn update_blends_every_parameter() {
        let dev = Device::flex();
        let cfg = ModelConfig::new().with_neurons(3).with_bins(8).with_base_features(4);
        let a = Generator::new(&cfg, &mut InitRng::seed_from_u64(1), &dev);
        let b = Generator::new(&cfg, &mut InitRng::seed_from_u64(2), &dev);
        let (wa, wb) = (first_weights(&a), first_weights(&b));
        let blended = update(a, &b, 0.75);
        let w = first_weights(&blended);
        assert!(wa != wb);
        for ((x, y), z) in wa.iter().zip(&wb).zip(&w) {
            assert!((0.75 * x + 0.25 * y - z).abs() < 1e-7);
        }
    }

    #[test]
    fn decay_warms_up() {
        assert!((decay_at(0.999, 1) - 2.0 / 11.0).abs() < 1e-12);
        assert_eq!(decay_at(0.999, 100_000), 0.999);
        assert_eq!(decay_at(0.5, 1), 2.0 / 11.0);
    }
}
