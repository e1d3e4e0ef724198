//! Hyperparameters: [`ModelConfig`] (architecture) and [`TrainingConfig`] (a whole run).

use burn::config::Config;

use crate::error::{GanError, Result};
use crate::moments::PooledWeights;

/// Which networks: the paper's semi-convolutional Spike-GAN or its fully connected comparison.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Neurons as channels, 1-D convolutions over time (the paper's Spike-GAN).
    Conv,
    /// Fully connected critic and generator (the paper's Fig. 2 comparison).
    Mlp,
}

/// Architecture of the critic and generator. Defaults: the paper's retina configuration.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Conv or MLP.
    #[config(default = "Arch::Conv")]
    pub arch: Arch,
    /// Neurons N.
    #[config(default = 50)]
    pub neurons: usize,
    /// Bins per sample T (divisible by 4 for the conv model).
    #[config(default = 32)]
    pub bins: usize,
    /// The paper's base feature count F; the conv layers use f = F/2, 2f and 4f channels.
    #[config(default = 128)]
    pub base_features: usize,
    /// Convolution kernel width in bins.
    #[config(default = 5)]
    pub kernel: usize,
    /// Dimension of the generator's Gaussian input z.
    #[config(default = 128)]
    pub latent: usize,
    /// Hidden units of the MLP model (the paper's Fig. 2: 490).
    #[config(default = 490)]
    pub mlp_units: usize,
}

/// Number of stride-2 layers of the conv model (the paper's L = 2).
pub const CONV_LAYERS: usize = 2;

impl ModelConfig {
    /// The paper's half feature count f = F / 2.
    pub fn f(&self) -> usize {
        self.base_features / 2
    }

    /// Check the shapes; T must be divisible by 2^L for the conv model.
    pub fn validate(&self) -> Result<()> {
        let bad = |detail: String| Err(GanError::Config(detail));
        if self.neurons == 0 || self.bins == 0 || self.latent == 0 {
            return bad("neurons, bins and latent must all be at least 1".into());
        }
        if self.arch == Arch::Conv {
            let m = 1 << CONV_LAYERS;
            if !self.bins.is_multiple_of(m) {
                return bad(format!(
                    "the conv model needs T divisible by {m}, but T = {}",
                    self.bins
                ));
            }
            if self.base_features < 2 || self.kernel == 0 || self.kernel.is_multiple_of(2) {
                return bad(format!(
                    "base features must be >= 2 and the kernel odd, got F = {} and k = {}",
                    self.base_features, self.kernel
                ));
            }
        } else if self.mlp_units == 0 {
            return bad("mlp_units must be at least 1".into());
        }
        Ok(())
    }
}

/// One training run. Defaults: the paper's settings (spec section 3), i.e. the `paper` preset.
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// The networks.
    pub model: ModelConfig,
    /// Adam learning rate of the critic.
    #[config(default = 1e-4)]
    pub lr_critic: f64,
    /// Adam learning rate of the generator.
    #[config(default = 1e-4)]
    pub lr_generator: f64,
    /// Adam beta1.
    #[config(default = 0.0)]
    pub beta1: f64,
    /// Adam beta2.
    #[config(default = 0.9)]
    pub beta2: f64,
    /// Adam epsilon (TensorFlow's default, as the original).
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Samples per batch.
    #[config(default = 64)]
    pub batch: usize,
    /// Critic updates per generator update.
    #[config(default = 5)]
    pub critic_iters: usize,
    /// Gradient-penalty weight lambda.
    #[config(default = 10.0)]
    pub lambda_gp: f64,
    /// Iterations (1 generator + `critic_iters` critic updates each).
    #[config(default = 300000)]
    pub iterations: usize,
    /// Shuffle the training windows every epoch (off = the paper's sequential batches).
    #[config(default = false)]
    pub shuffle: bool,
    /// Fraction of windows held out as a dev set whose critic loss is logged (0 = none).
    #[config(default = 0.0)]
    pub dev_fraction: f64,
    /// Set the generator's output bias so that its initial spike probabilities equal the
    /// training data's per-neuron rates (off in the paper).
    #[config(default = false)]
    pub rate_init: bool,
    /// Decay of the exponential moving average of the generator's weights that is used for
    /// sampling and evaluation ([`crate::ema`]), e.g. 0.999; `None` or 0 = off (the paper).
    /// (Optional, so that configurations written before it existed still load.)
    pub ema_decay: Option<f64>,
    /// Weight of the generator's moment-matching term ([`crate::moments`]: time course, pair,
    /// lag-1 and autocorrelation moments and the spike-count distribution of the training
    /// windows), e.g. 1; `None` or 0 = off (the paper). Optional for the same reason as
    /// `ema_decay`.
    pub moment_weight: Option<f64>,
    /// Weight of the pooled autocorrelogram within the moment term ([`crate::moments`]: the
    /// neurons' average E[s(t) s(t+k)] for lags 1..=10), e.g. 1; `None` or 0 = not matched.
    /// Needs the moment term (`moment_weight` above zero).
    pub autocorrelogram_weight: Option<f64>,
    /// Weight of the pooled firing rates within the moment term ([`crate::moments`]: each
    /// neuron's spike probability averaged over the window's bins), e.g. 16; `None` or 0 = not
    /// matched apart from the time course. Needs the moment term.
    pub rate_weight: Option<f64>,
    /// Extra weight of the spike-count distribution within the moment term ([`crate::moments`]:
    /// each P(K = k) counts 1 + this times), e.g. 16; `None` or 0 = counted once. Needs the
    /// moment term.
    pub count_weight: Option<f64>,
    /// Estimate the moment term without its batch's noise ([`crate::moments`]: the product of
    /// the z-scores of the batch's two halves, unbiased for the squared misfit), so that the
    /// generator gains nothing by making its windows vary less than the data's. `None` = off
    /// (the plain squares); ignored without the moment term.
    pub moment_split: Option<bool>,
    /// Windows the generator draws per update for the moment term, e.g. 512: the term's batch
    /// moments are then that much less noisy, and the critic scores the first `batch` of them.
    /// `None` or values below `batch` = `batch`; ignored without the moment term.
    pub moment_batch: Option<usize>,
    /// Calibrate the sampling generator's output pre-activations, per neuron and bin, to the
    /// training windows' time course ([`crate::sample::calibrate_rates`]) for evaluations and in
    /// the checkpoint's `generator_sampling.bpk` and `generator_sampling_offset.json` (what
    /// `spikegan sample` uses); training itself is unchanged.
    /// `None` = off (the paper).
    pub calibrate_rates: Option<bool>,
    /// The critic scores Bernoulli draws of the generator's probabilities (binary, like the real
    /// spike trains it sees) instead of the probabilities; the generator's gradient passes
    /// straight through the draws. `None` = off (the paper scores probabilities).
    pub sampled_fakes: Option<bool>,
    /// Share of the run (of `iterations`, or of the time limit when training stops by time)
    /// spent in a final moment-only phase ([`Polish`]), e.g. 0.4; `None` or 0 = none (the
    /// paper). Ignored without the moment term.
    pub polish_fraction: Option<f64>,
    /// Windows per generator update in the moment-only phase ([`POLISH_WINDOWS`] when `None`).
    pub polish_windows: Option<usize>,
    /// The generator's learning rate in the moment-only phase ([`POLISH_LR`] when `None`).
    pub polish_lr: Option<f64>,
    /// Weight of the pooled firing rates in the moment-only phase, replacing `rate_weight`
    /// there (`None` = `rate_weight`); ignored without the phase.
    pub polish_rate_weight: Option<f64>,
    /// Whether the moment-only phase estimates its moment term from split halves, replacing
    /// `moment_split` there (`None` = `moment_split`); ignored without the phase.
    pub polish_split: Option<bool>,
    /// The moment-only phase takes each moment's misfit from a running average of its batches'
    /// moments with this decay (e.g. 0.9), not from one batch
    /// ([`crate::moments::MomentTargets::averaged_loss_and_gradient`]); `None` or 0 = one batch.
    /// Replaces the split estimate there.
    pub polish_moment_decay: Option<f64>,
    /// Random seed (initialisation, batches, noise).
    #[config(default = 0)]
    pub seed: u64,
}

/// Default windows per update of the moment-only phase.
pub const POLISH_WINDOWS: usize = 2048;

/// Default generator learning rate of the moment-only phase.
pub const POLISH_LR: f64 = 5e-4;

/// The final moment-only phase of a run (an option beyond the paper, measured in
/// docs/benchmarks.md, issue 7): the generator starts from the moving average of its weights
/// (when one is kept) and is updated on the moment-matching term alone ([`crate::moments`]),
/// without the critic, over `windows` generated windows per update, whose batch moments resolve
/// what one GAN update's 512 cannot; the critic is no longer updated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Polish {
    /// Share of the run, in (0, 1).
    pub fraction: f64,
    /// Generated windows per update.
    pub windows: usize,
    /// The generator's Adam learning rate.
    pub lr: f64,
    /// The moment term's pooled groups in the phase.
    pub pooled: PooledWeights,
    /// Whether the phase's moment term is the split-batch estimate.
    pub split: bool,
    /// Decay of the running average of batch moments the phase's misfits come from, if any.
    pub moment_decay: Option<f64>,
}

impl TrainingConfig {
    /// The paper's exact settings for a model.
    pub fn paper(model: ModelConfig) -> Self {
        TrainingConfig::new(model)
    }

    /// Faster on CPU: shuffled batches, learning rate 2e-3, generator bias from the rates
    /// (departures from the paper, measured in docs/benchmarks.md).
    pub fn fast(model: ModelConfig) -> Self {
        TrainingConfig::new(model)
            .with_shuffle(true)
            .with_lr_critic(2e-3)
            .with_lr_generator(2e-3)
            .with_rate_init(true)
    }

    /// The best time to quality found on the CPU (issue 7, docs/benchmarks.md): `fast`, plus
    /// sampling from a moving average of the generator's weights (decay 0.999), calibrated to
    /// the data's firing rate in each bin of a window, the moment-matching term (weight 1,
    /// [`crate::moments`]) over 512 generated windows per update, and the last 55% of the run in
    /// the moment-only phase ([`Polish`]) over 1024 generated windows per update, with the pooled
    /// firing rates at weight 4 there, its misfits from a running average of batch moments
    /// (decay 0.9) and learning rate 1e-3.
    pub fn moments(model: ModelConfig) -> Self {
        Self::fast(model)
            .with_ema_decay(Some(0.999))
            .with_moment_weight(Some(1.0))
            .with_moment_batch(Some(512))
            .with_calibrate_rates(Some(true))
            .with_polish_fraction(Some(0.55))
            .with_polish_windows(Some(1024))
            .with_polish_rate_weight(Some(4.0))
            .with_polish_moment_decay(Some(0.9))
            .with_polish_lr(Some(1e-3))
    }

    /// A preset by name: `paper`, `fast` or `moments`.
    pub fn preset(name: &str, model: ModelConfig) -> Result<Self> {
        match name {
            "paper" => Ok(Self::paper(model)),
            "fast" => Ok(Self::fast(model)),
            "moments" => Ok(Self::moments(model)),
            other => Err(GanError::Config(format!(
                "unknown preset '{other}' (paper, fast, moments)"
            ))),
        }
    }

    /// The moving-average decay when one is kept (`ema_decay` above zero).
    pub fn ema(&self) -> Option<f64> {
        self.ema_decay.filter(|&d| d > 0.0)
    }

    /// The moment-matching weight when the term is used (`moment_weight` above zero).
    pub fn moment_term(&self) -> Option<f64> {
        self.moment_weight.filter(|&w| w > 0.0)
    }

    /// Windows generated per generator update: `moment_batch` with the moment term, else `batch`.
    pub fn generator_windows(&self) -> usize {
        match self.moment_term() {
            Some(_) => self.moment_batch.unwrap_or(self.batch).max(self.batch),
            None => self.batch,
        }
    }

    /// The moment-only phase, when `polish_fraction` is above zero and the moment term is used.
    pub fn polish(&self) -> Option<Polish> {
        self.moment_term()?;
        let fraction = self.polish_fraction.filter(|&f| f > 0.0)?;
        Some(Polish {
            fraction,
            windows: self.polish_windows.unwrap_or(POLISH_WINDOWS),
            lr: self.polish_lr.unwrap_or(POLISH_LR),
            pooled: PooledWeights {
                rate: self
                    .polish_rate_weight
                    .map_or(self.pooled_weights().rate, |w| w.max(0.0)),
                ..self.pooled_weights()
            },
            split: self.polish_split.unwrap_or(self.splits_moments()),
            moment_decay: self.polish_moment_decay.filter(|&d| d > 0.0),
        })
    }

    /// The weights of the moment term's pooled groups (0 for a group that is off).
    pub fn pooled_weights(&self) -> PooledWeights {
        let on = |w: Option<f64>| w.filter(|&w| w > 0.0).unwrap_or(0.0);
        PooledWeights {
            autocorrelogram: on(self.autocorrelogram_weight),
            rate: on(self.rate_weight),
            count: on(self.count_weight),
        }
    }

    /// Whether the moment term is estimated from the product of two half batches.
    pub fn splits_moments(&self) -> bool {
        self.moment_split == Some(true)
    }

    /// Whether the sampling generator is calibrated to the training rates.
    pub fn calibrates_rates(&self) -> bool {
        self.calibrate_rates == Some(true)
    }

    /// Whether the critic scores binary draws of the generated probabilities.
    pub fn samples_fakes(&self) -> bool {
        self.sampled_fakes == Some(true)
    }

    /// Check every value.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        let bad = |detail: String| Err(GanError::Config(detail));
        for (name, v) in [
            ("lr_critic", self.lr_critic),
            ("lr_generator", self.lr_generator),
            ("epsilon", self.epsilon),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} must be positive, got {v}"));
            }
        }
        for (name, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return bad(format!("{name} must be in [0, 1), got {v}"));
            }
        }
        if self.batch == 0 || self.critic_iters == 0 {
            return bad("batch and critic_iters must be at least 1".into());
        }
        if !(self.lambda_gp.is_finite() && self.lambda_gp >= 0.0) {
            return bad(format!("lambda_gp must be >= 0, got {}", self.lambda_gp));
        }
        if let Some(d) = self.ema_decay
            && !(0.0..1.0).contains(&d)
        {
            return bad(format!("ema_decay must be in [0, 1), got {d}"));
        }
        for (name, w) in [
            ("moment_weight", self.moment_weight),
            ("autocorrelogram_weight", self.autocorrelogram_weight),
            ("rate_weight", self.rate_weight),
            ("count_weight", self.count_weight),
            ("polish_rate_weight", self.polish_rate_weight),
        ] {
            if let Some(w) = w
                && !(w.is_finite() && w >= 0.0)
            {
                return bad(format!("{name} must be >= 0, got {w}"));
            }
        }
        let pooled = self.pooled_weights();
        for (name, w) in [
            ("autocorrelogram_weight", pooled.autocorrelogram),
            ("rate_weight", pooled.rate),
            ("count_weight", pooled.count),
        ] {
            if w > 0.0 && self.moment_term().is_none() {
                return bad(format!("{name} is part of the moment term: it needs moment_weight > 0"));
            }
        }
        if let Some(p) = self.polish()
            && !(p.fraction < 1.0 && p.windows > 0 && p.lr.is_finite() && p.lr > 0.0)
        {
            return bad(format!(
                "the moment-only phase needs polish_fraction in (0, 1), polish_windows >= 1 and polish_lr > 0, \
                 got {}, {} and {}",
                p.fraction, p.windows, p.lr
            ));
        }
        if let Some(d) = self.polish_moment_decay
            && !(0.0..1.0).contains(&d)
        {
            return bad(format!("polish_moment_decay must be in [0, 1), got {d}"));
        }
        if let Some(f) = self.polish_fraction
            && !(f.is_finite() && f >= 0.0)
        {
            return bad(format!("polish_fraction must be in [0, 1), got {f}"));
        }
        if !(0.0..0.5).contains(&self.dev_fraction) {
            return bad(format!("dev_fraction must be in [0, 0.5), got {}", self.dev_fraction));
        }
        Ok(())
    }
}
