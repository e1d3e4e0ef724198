//! WGAN-GP training (spec section 3): [`Trainer`] holds the networks, their Adam states, the
//! batch order and the host RNG, so a run can be checkpointed and resumed exactly.
//!
//! All randomness after initialisation (batch order, z, the interpolation weights, Bernoulli
//! draws) comes from one ChaCha8 generator on the host, whose position is saved with each
//! checkpoint. Each iteration is one generator update (skipped at the very first iteration)
//! followed by `critic_iters` critic updates, each on the next real batch; in the optional final
//! moment-only phase ([`crate::config::Polish`], begun by [`Trainer::start_polish`]) it is one
//! generator update on the moment term alone.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::config::{Polish, TrainingConfig};
use crate::ema;
use crate::error::{GanError, Result};
use crate::host::{HostConvCritic, HostConvGenerator, host_values};
use crate::model::{Critic, Generator, InitRng};
use crate::moments::MomentTargets;
use crate::penalty::gradient_penalty;
use crate::sample;

mod data;

pub use data::TrainingData;

/// Losses of one iteration (the last critic update's values; in the moment-only phase, which
/// has no critic updates, the critic's values and the generator loss are NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IterationLog {
    /// Iteration number, from 1.
    pub iteration: usize,
    /// Critic loss: mean D(fake) - mean D(real) + penalty.
    pub critic_loss: f64,
    /// Generator loss: -mean D(fake) (NaN at iteration 1, which has no generator update).
    pub generator_loss: f64,
    /// The gradient penalty term.
    pub gradient_penalty: f64,
    /// Wasserstein estimate: mean D(real) - mean D(fake).
    pub wasserstein: f64,
    /// The generator's moment-matching term ([`crate::moments`]) when `moment_weight` is set
    /// (not part of `generator_loss`); `None` at iteration 1 and without it. The split-batch
    /// estimate (`moment_split`) can be negative: it is unbiased for the squared misfit. With
    /// `polish_moment_decay` the phase's value is that of the running average of batch moments.
    pub moment_loss: Option<f64>,
}

/// Where the host RNG and the batch order stand; saved with checkpoints.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainerState {
    /// Iterations done.
    pub iteration: usize,
    /// Epoch of the batch order.
    pub epoch: usize,
    /// Position in the epoch's order.
    pub cursor: usize,
    /// ChaCha8 word position of the host RNG.
    pub rng_word_pos: u128,
    /// Iterations done when the moment-only phase began ([`Trainer::start_polish`]), if it has.
    #[serde(default)]
    pub polish_from: Option<usize>,
    /// The running average of batch moments of the moment-only phase (`polish_moment_decay`),
    /// in the order of the moment term; empty until its first update. Saved as the values' bit
    /// patterns, so that a resumed run continues exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "bit_patterns")]
    pub moment_average: Vec<f64>,
}

/// Serialise f64 values as their IEEE 754 bit patterns (exact through JSON).
mod bit_patterns {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        values.iter().map(|v| v.to_bits()).collect::<Vec<u64>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?.into_iter().map(f64::from_bits).collect())
    }
}

/// A Spike-GAN being trained.
pub struct Trainer {
    /// The run's configuration.
    pub config: TrainingConfig,
    /// The generator.
    pub generator: Generator,
    /// The critic.
    pub critic: Critic,
    /// The moving average of the generator's weights, when `config.ema()` is set.
    ema: Option<Generator>,
    /// The training windows' moments, when `config.moment_term()` is set.
    moments: Option<MomentTargets>,
    /// The training windows' time course (spike probability per neuron and bin, `[N, T]`), the
    /// rate calibration's targets.
    time_course: Vec<f64>,
    opt_generator: ModuleOptimizer,
    opt_critic: ModuleOptimizer,
    device: Device,
    rng: ChaCha8Rng,
    order: Vec<usize>,
    state: TrainerState,
    host_kernels: bool,
}

fn adam(c: &TrainingConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(c.beta1 as f32)
        .with_beta_2(c.beta2 as f32)
        .with_epsilon(c.epsilon as f32)
        .init()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

/// Registers `values` (row-major, the parameter's shape) as the gradient of `param`.
fn register<const D: usize>(grads: &mut GradientsParams, param: &Param<Tensor<D>>, values: Vec<f32>, device: &Device) {
    grads.register(
        param.id,
        Tensor::<D>::from_data(TensorData::new(values, param.val().dims()), device),
    );
}

impl Trainer {
    /// Fresh networks on `device` (which must have autodiff enabled), initialised from the seed.
    pub fn new(config: TrainingConfig, data: &TrainingData, device: &Device) -> Result<Self> {
        config.validate()?;
        let m = &config.model;
        if (m.neurons, m.bins) != (data.neurons(), data.bins()) {
            return Err(GanError::Data(format!(
                "the model is for {} neurons x {} bins but the data has {} x {}",
                m.neurons,
                m.bins,
                data.neurons(),
                data.bins()
            )));
        }
        if !device.is_autodiff() {
            return Err(GanError::Config(
                "training needs a device with autodiff (device.autodiff())".into(),
            ));
        }
        // A stream of its own for the weights, so the training stream starts at word 0.
        let mut init_rng = InitRng::seed_from_u64(config.seed ^ 0x5EED_1417);
        let mut generator = Generator::new(m, &mut init_rng, device);
        if config.rate_init {
            generator = generator.set_output_rates(&data.rates(), m.bins, device);
        }
        let critic = Critic::new(m, &mut init_rng, device);
        let mut trainer = Trainer {
            opt_generator: adam(&config),
            opt_critic: adam(&config),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            device: device.clone(),
            order: Vec::new(),
            state: TrainerState {
                iteration: 0,
                epoch: 0,
                cursor: 0,
                rng_word_pos: 0,
                polish_from: None,
                moment_average: Vec::new(),
            },
            host_kernels: *device == Device::flex(),
            ema: config.ema().map(|_| generator.valid()),
            moments: config.moment_term().map(|_| MomentTargets::from_training(data)),
            time_course: data.time_course().to_vec(),
            config,
            generator,
            critic,
        };
        trainer.order = trainer.epoch_order(data, 0);
        Ok(trainer)
    }

    /// Iterations done so far.
    pub fn iteration(&self) -> usize {
        self.state.iteration
    }

    /// Whether the conv critic's updates run on the host ([`crate::host`]); on by default on the
    /// CPU (`flex`) device. Off, every step goes through Burn's autodiff: the same mathematics,
    /// different rounding, several times slower on the CPU.
    pub fn host_kernels(&self) -> bool {
        self.host_kernels
    }

    /// Turns the host kernels on or off (they only ever apply on the `flex` device).
    pub fn set_host_kernels(&mut self, on: bool) {
        self.host_kernels = on && self.device == Device::flex();
    }

    /// The conv generator's parameters on the host, when the host kernels apply.
    fn host_generator(&self) -> Option<HostConvGenerator> {
        match (&self.generator, self.host_kernels) {
            // A calibration's output offsets belong to sampling generators, never trained ones.
            (Generator::Conv(g), true) if g.output_offset.is_none() => Some(HostConvGenerator::new(g)),
            _ => None,
        }
    }

    /// The conv critic's parameters on the host, when the host kernels apply.
    fn host_critic(&self) -> Option<HostConvCritic> {
        match (&self.critic, self.host_kernels) {
            (Critic::Conv(c), true) => Some(HostConvCritic::new(
                c,
                self.config.model.neurons,
                self.config.model.bins,
            )),
            _ => None,
        }
    }

    /// The generator to sample from: the moving average of its weights when one is kept,
    /// else the generator itself.
    pub fn sampling_generator(&self) -> &Generator {
        self.ema.as_ref().unwrap_or(&self.generator)
    }

    /// The generator that samples are drawn from (evaluations, `generator_sampling.bpk`):
    /// [`Self::sampling_generator`] without autodiff, with its output pre-activations calibrated
    /// to the training windows' time course over `samples` generated samples when
    /// `config.calibrate_rates` is set (z for the calibration from a generator seeded by the seed
    /// and iteration; the training RNG does not move). Evaluations use
    /// [`sample::CALIBRATION_SAMPLES`], a finished run's checkpoint
    /// [`sample::PRECISE_CALIBRATION_SAMPLES`].
    pub fn calibrated_generator(&self, samples: usize) -> Result<Generator> {
        let generator = self.sampling_generator().valid();
        if !self.config.calibrates_rates() {
            return Ok(generator);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0xCA11_B2A7 ^ self.state.iteration as u64);
        let device = self.device.clone().without_autodiff();
        let (calibrated, _) = sample::calibrate_rates(
            &generator,
            &self.config.model,
            &self.time_course,
            samples,
            &mut rng,
            &device,
        )?;
        Ok(calibrated)
    }

    /// Whether the run is in its final moment-only phase ([`crate::config::Polish`]).
    pub fn polishing(&self) -> bool {
        self.state.polish_from.is_some() && self.config.polish().is_some()
    }

    /// Begins the moment-only phase (once; later calls change nothing): from the next
    /// iteration on, the generator is updated on the moment term alone with the phase's windows
    /// and learning rate, and the critic rests. The generator starts from the moving average of
    /// its weights when one is kept (the better generator; the average then follows the phase's
    /// updates). Errors when the configuration has no such phase.
    pub fn start_polish(&mut self) -> Result<()> {
        if self.config.polish().is_none() {
            return Err(GanError::Config(
                "this run has no moment-only phase (polish_fraction is not set)".into(),
            ));
        }
        if self.polishing() {
            return Ok(());
        }
        if let Some(ema) = &self.ema {
            self.generator = self
                .generator
                .clone()
                .try_load_record(ema.clone().into_record())
                .map_err(|e| GanError::Config(format!("the averaged generator does not fit the generator: {e}")))?;
        }
        self.state.polish_from = Some(self.state.iteration);
        Ok(())
    }

    /// The moving average of the generator's weights, if kept.
    pub fn generator_ema(&self) -> Option<&Generator> {
        self.ema.as_ref()
    }

    /// The device the networks live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Batch order of an epoch: sequential (the paper), or a permutation seeded by (seed, epoch).
    fn epoch_order(&self, data: &TrainingData, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..data.train_len()).collect();
        if self.config.shuffle {
            let mut rng =
                ChaCha8Rng::seed_from_u64(self.config.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            order.shuffle(&mut rng);
        }
        order
    }

    fn next_batch(&mut self, data: &TrainingData) -> Tensor<3> {
        let idx = self.next_indices(data);
        data.batch(&idx, &self.device)
    }

    fn next_indices(&mut self, data: &TrainingData) -> Vec<usize> {
        let b = self.config.batch;
        let mut idx = Vec::with_capacity(b);
        while idx.len() < b {
            if self.state.cursor >= self.order.len() {
                self.state.epoch += 1;
                self.state.cursor = 0;
                self.order = self.epoch_order(data, self.state.epoch);
            }
            idx.push(self.order[self.state.cursor]);
            self.state.cursor += 1;
        }
        idx
    }

    /// `[batch, latent]` standard normal values from the training RNG.
    fn noise_values(&mut self, batch: usize) -> Vec<f32> {
        (0..batch * self.config.model.latent)
            .map(|_| StandardNormal.sample(&mut self.rng))
            .collect()
    }

    fn noise(&mut self, batch: usize) -> Tensor<2> {
        let z = self.noise_values(batch);
        Tensor::from_data(TensorData::new(z, [batch, self.config.model.latent]), &self.device)
    }

    /// What the critic scores of generated probabilities `p` (`[B, N, T]`): `p` itself, or with
    /// `sampled_fakes` one Bernoulli draw per value (from the trainer's RNG, in order).
    fn critic_input(&mut self, mut p: Vec<f32>) -> Vec<f32> {
        if self.config.samples_fakes() {
            for v in &mut p {
                *v = if self.rng.random::<f32>() < *v { 1.0 } else { 0.0 };
            }
        }
        p
    }

    /// The moment-matching term of the probabilities `p` (`[B, N, T]`) and its gradient, when
    /// it is used; in the moment-only phase with the phase's pooled groups and estimate.
    fn moment_term(&mut self, p: &[f32]) -> Option<(f64, Vec<f32>)> {
        let weight = self.config.moment_term()?;
        let targets = self.moments.as_ref()?;
        match self.config.polish().filter(|_| self.polishing()) {
            Some(Polish {
                pooled,
                moment_decay: Some(decay),
                ..
            }) => Some(targets.averaged_loss_and_gradient(p, weight, pooled, &mut self.state.moment_average, decay)),
            Some(phase) => Some(targets.loss_and_gradient(p, weight, phase.pooled, phase.split)),
            None => {
                Some(targets.loss_and_gradient(p, weight, self.config.pooled_weights(), self.config.splits_moments()))
            }
        }
    }

    /// Windows per generator update and its learning rate: the moment-only phase's once it
    /// has begun, else the GAN's.
    fn generator_update(&self) -> (usize, f64) {
        match self.config.polish().filter(|_| self.polishing()) {
            Some(p) => (p.windows, p.lr),
            None => (self.config.generator_windows(), self.config.lr_generator),
        }
    }

    /// One generator update; returns (-mean D(fake), the moment term if used). In the
    /// moment-only phase the loss is the moment term alone (the critic is not consulted) and the
    /// first value NaN.
    fn generator_step(&mut self) -> (f64, Option<f64>) {
        let critic = if self.polishing() { None } else { self.host_critic() };
        if let Some(generator) = self.host_generator()
            && (critic.is_some() || self.polishing())
        {
            return self.host_generator_step(&generator, critic.as_ref());
        }
        let (n, t, b) = (self.config.model.neurons, self.config.model.bins, self.config.batch);
        let (windows, lr) = self.generator_update();
        let z = self.noise(windows);
        let fake = self.generator.forward(z, n, t);
        let (value, mut loss) = if self.polishing() {
            (f64::NAN, None)
        } else {
            // The critic scores the first `batch` windows; the moment term takes them all.
            let scored = fake.clone().slice([0..b, 0..n, 0..t]);
            let seen = if self.config.samples_fakes() {
                // Straight through: the critic sees the draws, the gradient reaches the
                // probabilities.
                let draws = self.critic_input(host_values(scored.clone()));
                let draws = Tensor::<3>::from_data(TensorData::new(draws, scored.dims()), &self.device);
                scored.clone() + (draws - scored.detach())
            } else {
                scored
            };
            let adversarial = self.critic.clone().no_grad().forward(seen).mean().neg();
            (scalar(adversarial.clone()), Some(adversarial))
        };
        let moment = self.moment_term(&host_values(fake.clone())).map(|(m, grad)| {
            // <grad, p> has the moment term's gradient with respect to the parameters.
            let grad = Tensor::<3>::from_data(TensorData::new(grad, fake.dims()), &self.device);
            let term = (fake * grad).sum();
            loss = Some(match loss.take() {
                Some(l) => l + term,
                None => term,
            });
            m
        });
        let Some(loss) = loss else {
            // The moment-only phase without the moment term (which validation rules out).
            return (value, moment);
        };
        let grads = GradientsParams::from_grads(loss.backward(), &self.generator);
        self.generator = self.opt_generator.step(lr, self.generator.clone(), grads);
        (value, moment)
    }

    /// [`Trainer::generator_step`] with the gradients from [`crate::host`]: the critic's input
    /// gradient of `-mean D(fake)` (none in the moment-only phase) plus the moment term's,
    /// backpropagated through the generator.
    fn host_generator_step(
        &mut self,
        generator: &HostConvGenerator,
        critic: Option<&HostConvCritic>,
    ) -> (f64, Option<f64>) {
        let (b, (bm, lr)) = (self.config.batch, self.generator_update());
        let z = self.noise_values(bm);
        let forward = generator.forward(&z);
        let window = self.config.model.neurons * self.config.model.bins;
        let (mut grad, value) = match critic {
            Some(critic) => {
                // With sampled fakes the critic's input gradient at the draws is passed straight
                // through to the probabilities.
                let draws = self
                    .config
                    .samples_fakes()
                    .then(|| self.critic_input(forward.probabilities[..b * window].to_vec()));
                let seen = draws.as_deref().unwrap_or(&forward.probabilities[..b * window]);
                let (grad, scores) = critic.input_gradient(seen, -1.0 / b as f32);
                (grad, -scores.iter().sum::<f64>() / b as f64)
            }
            None => (Vec::new(), f64::NAN),
        };
        grad.resize(bm * window, 0.0);
        let moment = self.moment_term(&forward.probabilities).map(|(m, g)| {
            grad.iter_mut().zip(&g).for_each(|(a, b)| *a += b);
            m
        });
        let g = generator.gradients(&forward, &grad);
        crate::host::recycle([forward.into_probabilities()]);
        let Generator::Conv(net) = &self.generator else {
            unreachable!("host kernels only run the conv generator")
        };
        let inner = self.device.clone().without_autodiff();
        let mut grads = GradientsParams::new();
        register(&mut grads, &net.fc.weight, g.fc_weight, &inner);
        register(&mut grads, &net.conv1.weight, g.conv1_weight, &inner);
        register(&mut grads, &net.conv2.weight, g.conv2_weight, &inner);
        for (bias, v) in [
            (&net.fc.bias, g.fc_bias),
            (&net.conv1.bias, g.conv1_bias),
            (&net.conv2.bias, g.conv2_bias),
        ] {
            if let Some(bias) = bias {
                register(&mut grads, bias, v, &inner);
            }
        }
        self.generator = self.opt_generator.step(lr, self.generator.clone(), grads);
        (value, moment)
    }

    /// One critic update; returns (loss, penalty, Wasserstein estimate).
    fn critic_step(&mut self, data: &TrainingData, generator: Option<&HostConvGenerator>) -> (f64, f64, f64) {
        if let (Some(generator), Some(critic)) = (generator, self.host_critic()) {
            return self.host_critic_step(data, generator, &critic);
        }
        let (n, t, b) = (self.config.model.neurons, self.config.model.bins, self.config.batch);
        let real = self.next_batch(data);
        let z = self.noise(b);
        let fake = self.generator.valid().forward(z, n, t);
        let dims = fake.dims();
        let fake = self.critic_input(host_values(fake));
        let fake = Tensor::from_data(TensorData::new(fake, dims), &self.device);
        let alpha: Vec<f32> = (0..b).map(|_| self.rng.random::<f32>()).collect();
        let alpha = Tensor::<3>::from_data(TensorData::new(alpha, [b, 1, 1]), &self.device);
        let x_hat = real.clone() + (fake.clone() - real.clone()) * alpha;
        let w = self.critic.forward(real).mean() - self.critic.forward(fake).mean();
        let gp = gradient_penalty(&self.critic, x_hat, self.config.lambda_gp);
        let loss = gp.clone() - w.clone();
        let values = (scalar(loss.clone()), scalar(gp), scalar(w));
        let grads = GradientsParams::from_grads(loss.backward(), &self.critic);
        self.critic = self.opt_critic.step(self.config.lr_critic, self.critic.clone(), grads);
        values
    }

    /// [`Trainer::critic_step`] with the conv critic's gradients from [`crate::host`]; the same
    /// draws from the RNG in the same order.
    fn host_critic_step(
        &mut self,
        data: &TrainingData,
        generator: &HostConvGenerator,
        critic: &HostConvCritic,
    ) -> (f64, f64, f64) {
        let b = self.config.batch;
        let real = data.batch_values(&self.next_indices(data));
        let z = self.noise_values(b);
        let fake = self.critic_input(generator.forward(&z).into_probabilities());
        let alpha: Vec<f32> = (0..b).map(|_| self.rng.random::<f32>()).collect();
        let g = critic.gradients(&real, &fake, &alpha, self.config.lambda_gp);
        let Critic::Conv(c) = &self.critic else {
            unreachable!("host kernels only run the conv critic")
        };
        let inner = self.device.clone().without_autodiff();
        let mut grads = GradientsParams::new();
        register(&mut grads, &c.conv1.weight, g.conv1_weight, &inner);
        register(&mut grads, &c.conv2.weight, g.conv2_weight, &inner);
        register(&mut grads, &c.fc.weight, g.fc_weight, &inner);
        for (bias, v) in [
            (&c.conv1.bias, g.conv1_bias),
            (&c.conv2.bias, g.conv2_bias),
            (&c.fc.bias, vec![g.fc_bias]),
        ] {
            if let Some(bias) = bias {
                register(&mut grads, bias, v, &inner);
            }
        }
        self.critic = self.opt_critic.step(self.config.lr_critic, self.critic.clone(), grads);
        (g.loss, g.penalty, g.wasserstein)
    }

    /// One iteration; errors when a loss becomes NaN or infinite (the networks are then not
    /// to be trusted: reload the last checkpoint).
    pub fn step(&mut self, data: &TrainingData) -> Result<IterationLog> {
        let iteration = self.state.iteration + 1;
        let (generator_loss, moment_loss) = if self.state.iteration > 0 {
            let loss = self.generator_step();
            if let (Some(ema), Some(decay)) = (self.ema.take(), self.config.ema()) {
                // Generator update number `iteration - 1` (the first iteration has none).
                let decay = ema::decay_at(decay, iteration - 1);
                self.ema = Some(ema::update(ema, &self.generator, decay));
            }
            loss
        } else {
            (f64::NAN, None)
        };
        let mut last = (f64::NAN, f64::NAN, f64::NAN);
        if !self.polishing() {
            // The critic updates share one host copy of the generator's weights.
            let generator = self.host_generator();
            for _ in 0..self.config.critic_iters {
                last = self.critic_step(data, generator.as_ref());
            }
        }
        let log = IterationLog {
            iteration,
            critic_loss: last.0,
            generator_loss,
            gradient_penalty: last.1,
            wasserstein: last.2,
            moment_loss,
        };
        for (what, v) in [
            ("the critic loss", log.critic_loss),
            ("the generator loss", log.generator_loss),
            ("the moment-matching term", log.moment_loss.unwrap_or(0.0)),
        ] {
            if v.is_infinite() || (v.is_nan() && iteration > 1 && !self.polishing()) {
                return Err(GanError::Diverged {
                    iteration,
                    what,
                    value: v,
                });
            }
        }
        self.state.iteration = iteration;
        Ok(log)
    }

    /// Critic loss (without the penalty's weight... with it, as in training) on the dev windows,
    /// in batches; `None` without a dev set. Uses fresh noise from a generator seeded by the
    /// iteration, so it does not move the training RNG.
    pub fn dev_critic_loss(&self, data: &TrainingData) -> Option<f64> {
        if data.dev.is_empty() {
            return None;
        }
        let (n, t, b) = (self.config.model.neurons, self.config.model.bins, self.config.batch);
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed.wrapping_add(self.state.iteration as u64));
        let critic = self.critic.valid();
        let generator = self.generator.valid();
        let device = self.device.clone().without_autodiff();
        let (mut total, mut count) = (0.0, 0usize);
        for chunk in data.dev.chunks(b).take(64) {
            let real = Tensor::from_data(data.batch(chunk, &self.device).into_data(), &device);
            let z: Vec<f32> = (0..chunk.len() * self.config.model.latent)
                .map(|_| StandardNormal.sample(&mut rng))
                .collect();
            let z = Tensor::from_data(TensorData::new(z, [chunk.len(), self.config.model.latent]), &device);
            let fake = generator.forward(z, n, t);
            let l = critic.forward(fake).mean() - critic.forward(real).mean();
            total += scalar(l) * chunk.len() as f64;
            count += chunk.len();
        }
        Some(total / count as f64)
    }

    /// Where the RNG and batch order stand (for checkpoints).
    pub fn state(&self) -> TrainerState {
        TrainerState {
            rng_word_pos: self.rng.get_word_pos(),
            ..self.state.clone()
        }
    }

    pub(crate) fn optimizers(&self) -> (&ModuleOptimizer, &ModuleOptimizer) {
        (&self.opt_generator, &self.opt_critic)
    }

    /// Put back networks, optimiser states and RNG position from a checkpoint.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore(
        &mut self,
        data: &TrainingData,
        generator: Generator,
        ema: Option<Generator>,
        critic: Critic,
        opt_generator: ModuleOptimizer,
        opt_critic: ModuleOptimizer,
        state: TrainerState,
    ) {
        self.generator = generator;
        self.ema = ema;
        self.critic = critic;
        self.opt_generator = opt_generator;
        self.opt_critic = opt_critic;
        self.rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        self.rng.set_word_pos(state.rng_word_pos);
        self.order = self.epoch_order(data, state.epoch);
        self.state = state;
    }

    pub(crate) fn fresh_optimizer(&self) -> ModuleOptimizer {
        adam(&self.config)
    }
}
