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

/// Number of generated samples on which [`calibrate_rates`] first solves for its shifts, and
/// its sample count for evaluations during training.
pub const CALIBRATION_SAMPLES: usize = 8192;

/// Sample count of the calibration a finished training run saves for sampling. The calibrated
/// rates carry the z-noise of the samples they were matched on: on the retina, with 8192
/// samples that noise alone was about as large as the mean-rate error of 8192 real windows
/// (docs/benchmarks.md).
pub const PRECISE_CALIBRATION_SAMPLES: usize = 65536;

/// Mean spike probability over the output pre-activations `a` (before the conv generator's
/// final LReLU when `conv`) shifted by `d`, and its derivative in `d`.
fn shifted_mean(a: &[f32], d: f64, conv: bool) -> (f64, f64) {
    let (mut p, mut dp) = (0.0, 0.0);
    for &x in a {
        let y = f64::from(x) + d;
        let (l, slope) = if conv && y < 0.0 {
            (y * crate::model::LEAK, crate::model::LEAK)
        } else {
            (y, 1.0)
        };
        if l > crate::model::LOGIT_FLOOR {
            let q = 1.0 / (1.0 + (-l).exp());
            p += q;
            dp += q * (1.0 - q) * slope;
        }
    }
    (p / a.len() as f64, dp / a.len() as f64)
}

/// The output layer's pre-activations (before the conv generator's final LReLU, its output
/// offset included) of `b` samples, z from `rng` as in [`sample_probabilities`]; `[N * T, b]`,
/// each neuron and bin's values contiguous. The conv generator runs on the host kernels, 1024
/// samples at a time (their buffers grow with the batch: about 50 MB at 1024 on the retina).
fn pre_activations(
    generator: &Generator,
    model: &ModelConfig,
    b: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Vec<f32> {
    let window = model.neurons * model.bins;
    let Generator::Conv(g) = generator else {
        return crate::host::transpose(&generate(generator, model, b, 1024, rng, device, true), b, window);
    };
    let host = crate::host::HostConvGenerator::new(g);
    let mut out = vec![0f32; window * b];
    for start in (0..b).step_by(1024) {
        let c = 1024.min(b - start);
        let z: Vec<f32> = (0..c * model.latent).map(|_| StandardNormal.sample(rng)).collect();
        let a = host.forward(&z).into_pre_activations();
        for (k, (dst, src)) in out.chunks_mut(b).zip(a.chunks(c)).enumerate() {
            let offset = g.output_offset.as_ref().map_or(0.0, |o| o[k]);
            dst[start..start + c]
                .iter_mut()
                .zip(src)
                .for_each(|(d, &v)| *d = v + offset);
        }
        crate::host::recycle([a]);
    }
    out
}

/// The generator with its output pre-activations shifted, per neuron and bin, so that its mean
/// spike probability of neuron i in bin t over `samples` generated samples (z from a generator
/// seeded by a draw of `rng`) equals `targets[i * T + t]` (probability; `[N, T]` row-major, e.g. the training windows'
/// time course), and the shifts. Each shift solves a monotone equation in one unknown on the
/// first [`CALIBRATION_SAMPLES`] (safeguarded Newton; a probability the network cannot reach, 0
/// or 1, stops at a bounded shift); with more `samples`, Newton passes over all of them follow,
/// generated chunk by chunk again in each pass (memory stays at one chunk). Corrects a generator
/// whose rates are biased as a whole, e.g. the moving average of the weights ([`crate::ema`]),
/// whose averaged logits give lower rates than the averaged probabilities would, and the conv
/// generator's rates in the bins at the window's edges, which its zero padding biases.
pub fn calibrate_rates(
    generator: &Generator,
    model: &ModelConfig,
    targets: &[f64],
    samples: usize,
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
    let conv = matches!(generator, Generator::Conv(_));
    let seed: u64 = rng.random();
    let first = samples.clamp(1, CALIBRATION_SAMPLES);
    let a = pre_activations(generator, model, first, &mut ChaCha8Rng::seed_from_u64(seed), device);
    let mut shifts: Vec<f64> = a
        .par_chunks(first)
        .zip(targets)
        .map(|(a, &target)| {
            let (mut lo, mut hi, mut d) = (-SHIFT_BOUND, SHIFT_BOUND, 0.0);
            for _ in 0..200 {
                let (p, dp) = shifted_mean(a, d, conv);
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
    drop(a);
    if samples > first {
        for _ in 0..REFINE_PASSES {
            // The same samples in every pass: the first ones again, then fresh ones.
            let mut chunk_rng = ChaCha8Rng::seed_from_u64(seed);
            let mut sums = vec![(0.0, 0.0); n * t];
            let mut done = 0;
            while done < samples {
                let b = CALIBRATION_SAMPLES.min(samples - done);
                let a = pre_activations(generator, model, b, &mut chunk_rng, device);
                sums.par_iter_mut()
                    .zip(a.par_chunks(b))
                    .zip(&shifts)
                    .for_each(|((sum, a), &d)| {
                        let (p, dp) = shifted_mean(a, d, conv);
                        sum.0 += p * b as f64;
                        sum.1 += dp * b as f64;
                    });
                done += b;
            }
            let mut converged = true;
            for ((d, &(p, dp)), &target) in shifts.iter_mut().zip(&sums).zip(targets) {
                let (p, dp) = (p / samples as f64, dp / samples as f64);
                if (p - target).abs() > 1e-4 * target.max(1e-6) && dp > 0.0 {
                    converged = false;
                    let step = ((p - target) / dp).clamp(-MAX_REFINE_STEP, MAX_REFINE_STEP);
                    *d = (*d - step).clamp(-SHIFT_BOUND, SHIFT_BOUND);
                }
            }
            if converged {
                break;
            }
        }
    }
    Ok((generator.clone().shift_output_bias(&shifts, device), shifts))
}

/// Largest calibration shift of a pre-activation.
const SHIFT_BOUND: f64 = 1000.0;

/// Largest change of a shift by one refinement step (pre-activation units): a bin whose mean
/// probability is flat in the shift (a rate far in the sigmoid's tail) must not be thrown far.
const MAX_REFINE_STEP: f64 = 2.0;

/// Most Newton passes over all the samples (they stop when every bin is within a relative 1e-4
/// of its target).
const REFINE_PASSES: usize = 4;

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
