//! Sampling a generator: spike probabilities, binarised by Bernoulli draws (spec section 4).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
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
    let generator = generator.valid();
    let device = device.clone().without_autodiff();
    let mut out = Vec::with_capacity(n * model.neurons * model.bins);
    let mut done = 0;
    while done < n {
        let b = batch.min(n - done);
        let z: Vec<f32> = (0..b * model.latent).map(|_| StandardNormal.sample(rng)).collect();
        let z = Tensor::from_data(TensorData::new(z, [b, model.latent]), &device);
        let p = generator.forward(z, model.neurons, model.bins);
        out.extend(
            p.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 probabilities"),
        );
        done += b;
    }
    out
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
