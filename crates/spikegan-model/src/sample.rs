//! Sampling a generator: spike probabilities, binarised by Bernoulli draws (spec section 4).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use spike_data::{DataOrigin, SampleSet, SpikeModel};

use crate::config::ModelConfig;
use crate::error::{GanError, Result};
use crate::model::Generator;

/// Spike probabilities of `n` generated samples, C order `[n, N, T]`, computed in batches of
/// `batch` on `device`. z is drawn from `rng` on the host, so the result depends only on the seed.
pub fn sample_probabilities(
    generator: &Generator,
    model: &ModelConfig,
    n: usize,
    batch: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Vec<f32> {
    generate(generator, model, n, batch, rng, device, false)
}

/// Probabilities, or with `logits` the pre-sigmoid activations (not floored), `[n, N, T]`.
fn generate(
    generator: &Generator,
    model: &ModelConfig,
    n: usize,
    batch: usize,
    rng: &mut impl Rng,
    device: &Device,
    logits: bool,
) -> Vec<f32> {
    let generator = generator.valid();
    let device = device.clone().without_autodiff();
    let mut out = Vec::with_capacity(n * model.neurons * model.bins);
    let mut done = 0;
    while done < n {
        let b = batch.min(n - done);
        let z: Vec<f32> = (0..b * model.latent).map(|_| StandardNormal.sample(rng)).collect();
        let z = Tensor::from_data(TensorData::new(z, [b, model.latent]), &device);
        let p = if logits {
            generator.logits(z, model.neurons, model.bins)
        } else {
            generator.forward(z, model.neurons, model.bins)
        };
        // `iter` converts from any element type, so this cannot fail.
        out.extend(p.into_data().iter::<f32>());
        done += b;
    }
    out
}

/// Number of generated samples whose probabilities [`calibrate_rates`] averages.
pub const CALIBRATION_SAMPLES: usize = 8192;

/// The generator with its output pre-activations shifted, per neuron and bin, so that the
/// mean spike probability of neuron i in bin t over [`CALIBRATION_SAMPLES`] samples (z from
/// `rng`) equals `targets[i * T + t]` (probability; `[N, T]` row-major, e.g. the training
/// windows' time course), and the shifts. Each shift solves a monotone equation in one unknown
/// (safeguarded Newton); a probability the network cannot reach (0 or 1) stops at a bounded
/// shift. Corrects a generator whose rates are biased as a whole, e.g. the moving average of the
/// weights ([`crate::ema`]), whose averaged logits give lower rates than the averaged
/// probabilities would, and the conv generator's rates in the bins at the window's edges, which
/// its zero padding biases.
pub fn calibrate_rates(
    generator: &Generator,
    model: &ModelConfig,
    targets: &[f64],
    rng: &mut impl Rng,
    device: &Device,
) -> Result<(Generator, Vec<f64>)> {
    let (n, t) = (model.neurons, model.bins);
    if targets.len() != n * t || targets.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return Err(GanError::Data(format!(
            "rate calibration needs {n} x {t} probabilities (neurons x bins) in [0, 1], got {} values",
            targets.len()
        )));
    }
    let logits = generate(generator, model, CALIBRATION_SAMPLES, 1024, rng, device, true);
    let conv = matches!(generator, Generator::Conv(_));
    let leak = crate::model::LEAK;
    let floor = crate::model::LOGIT_FLOOR;
    let shifts: Vec<f64> = (0..n * t)
        .into_par_iter()
        .map(|k| {
            let (i, b) = (k / t, k % t);
            let target = targets[k];
            // The output layer's pre-activations (before the conv generator's final LReLU).
            let a: Vec<f64> = (0..CALIBRATION_SAMPLES)
                .map(|s| {
                    let l = f64::from(logits[(s * n + i) * t + b]);
                    if conv && l < 0.0 { l / leak } else { l }
                })
                .collect();
            // Mean probability and its derivative for a shift d.
            let mean = |d: f64| {
                let (mut p, mut dp) = (0.0, 0.0);
                for &x in &a {
                    let y = x + d;
                    let (l, slope) = if conv && y < 0.0 { (y * leak, leak) } else { (y, 1.0) };
                    if l > floor {
                        let q = 1.0 / (1.0 + (-l).exp());
                        p += q;
                        dp += q * (1.0 - q) * slope;
                    }
                }
                (p / a.len() as f64, dp / a.len() as f64)
            };
            let (mut lo, mut hi, mut d) = (-1000.0, 1000.0, 0.0);
            for _ in 0..200 {
                let (p, dp) = mean(d);
                let f = p - target;
                if f.abs() <= 1e-10 * target.max(1e-6) || hi - lo < 1e-12 {
                    break;
                }
                if f > 0.0 {
                    hi = d;
                } else {
                    lo = d;
                }
                let newton = d - f / dp;
                d = if dp > 0.0 && newton > lo && newton < hi {
                    newton
                } else {
                    0.5 * (lo + hi)
                };
            }
            d
        })
        .collect();
    Ok((generator.clone().shift_output_bias(&shifts, device), shifts))
}

/// Bernoulli draws: spike where `p > u`, `u ~ U(0, 1)` per bin.
pub fn binarize(probabilities: &[f32], rng: &mut impl Rng) -> Vec<u8> {
    probabilities
        .iter()
        .map(|&p| u8::from(p > rng.random::<f32>()))
        .collect()
}

/// `n` binarised samples as a [`SampleSet`].
pub fn sample_binary(
    generator: &Generator,
    model: &ModelConfig,
    n: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<SampleSet<'static>> {
    let p = sample_probabilities(generator, model, n, 1024, rng, device);
    let values = binarize(&p, rng);
    let origin = DataOrigin {
        path: "generated".into(),
        name: "samples".into(),
    };
    SampleSet::from_owned(values, n, model.neurons, model.bins, origin).map_err(|e| GanError::Data(e.to_string()))
}

/// A trained generator on a device, as a [`SpikeModel`] like every baseline: samples are the
/// Bernoulli-binarised outputs for z drawn from a ChaCha8 stream seeded with `seed` (the same
/// draws as `spikegan sample --seed`).
pub struct GanSampler {
    /// The generator.
    pub generator: Generator,
    /// Its architecture (N, T, latent size).
    pub model: ModelConfig,
    /// Where it runs.
    pub device: Device,
}

impl SpikeModel for GanSampler {
    type Error = GanError;

    fn describe(&self) -> String {
        format!("Spike-GAN ({:?})", self.model.arch)
    }

    fn n_neurons(&self) -> usize {
        self.model.neurons
    }

    fn max_bins(&self) -> Option<usize> {
        Some(self.model.bins)
    }

    fn sample(&self, n_samples: usize, n_bins: usize, seed: u64) -> Result<SampleSet<'static>> {
        if n_bins != self.model.bins || n_samples == 0 {
            return Err(GanError::Data(format!(
                "this generator makes windows of {} bins; asked for {n_samples} samples of {n_bins}",
                self.model.bins
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        sample_binary(&self.generator, &self.model, n_samples, &mut rng, &self.device)
    }
}
