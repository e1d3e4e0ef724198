//! `spikegan train` and `spikegan sample`: Spike-GAN from the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use baselines::Baseline;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use spike_data::SpikeModel;
use spike_data::io::{self, SpikeData};
use spike_stats::{paper_errors, paper_stats};
use spikegan_model::sample::{
    CALIBRATION_SAMPLES, PRECISE_CALIBRATION_SAMPLES, binarize, calibrate_rates, sample_probabilities,
};
use spikegan_model::train::{Trainer, TrainingData};
use spikegan_model::{Arch, ModelConfig, TrainingConfig, checkpoint};

use super::load;
use super::stats::{samples_of, window_for};
use crate::Outcome;
use crate::backend::{Backend, device};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data: a raster (cut into windows) or samples [n, N, T].
    #[arg(long)]
    pub data: PathBuf,
    /// MAT variable / HDF5 dataset.
    #[arg(long, visible_alias = "dataset")]
    pub key: Option<String>,
    /// Window length T in bins for raster input (default 32; samples keep their own T).
    #[arg(long)]
    pub window: Option<usize>,
    /// Bins between training windows (default 1: every sliding window, as the paper).
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Hyperparameter preset: `moments` (the best found on a CPU: `fast` + moving average +
    /// moment matching over 512 windows, the last 55% of the run moment-only over 1024 with pooled
    /// rates and averaged batch moments, + rate calibration), `fast`, or `paper` (the paper's exact
    /// settings); see docs/benchmarks.md.
    #[arg(long, default_value = "moments")]
    pub preset: String,
    /// A TOML or JSON file with a whole training configuration (replaces the preset).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Architecture: conv (Spike-GAN) or mlp (the paper's fully connected comparison).
    #[arg(long, value_parser = ["conv", "mlp"])]
    pub arch: Option<String>,
    /// Number of iterations (1 generator update + --critic-iters critic updates each).
    #[arg(long)]
    pub iters: Option<usize>,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Learning rate of both networks.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Batch size.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Critic updates per generator update (the paper: 5).
    #[arg(long)]
    pub critic_iters: Option<usize>,
    /// Shuffle batches every epoch (the paper takes them in order).
    #[arg(long)]
    pub shuffle: bool,
    /// Hold out this fraction of windows as a dev set and log its critic loss.
    #[arg(long)]
    pub dev_fraction: Option<f64>,
    /// Sample from an exponential moving average of the generator's weights with this decay
    /// (e.g. 0.999; 0 = off, the paper).
    #[arg(long)]
    pub ema_decay: Option<f64>,
    /// Add this weight times the generator's moment-matching term to its loss (time course,
    /// pair, lag-1 and autocorrelation moments and the spike-count distribution of the training
    /// windows; 0 = off, the paper).
    #[arg(long)]
    pub moment_weight: Option<f64>,
    /// Within the moment term, also match the pooled autocorrelogram (the neurons' average
    /// E[s(t) s(t+k)], lags 1-10) with this weight (0 = off; needs the moment term).
    #[arg(long)]
    pub acf_weight: Option<f64>,
    /// Within the moment term, also match each neuron's firing rate pooled over the window's
    /// bins with this weight (0 = off; needs the moment term)
    #[arg(long)]
    pub rate_weight: Option<f64>,
    /// Within the moment term, count each value of the spike-count distribution P(K = k) this
    /// many times more (0 = once; needs the moment term)
    #[arg(long)]
    pub count_weight: Option<f64>,
    /// Estimate the moment term as the product of its batch's two halves' z-scores (unbiased for
    /// the squared misfit; the plain squares add the batch's noise, which rewards windows that
    /// vary less than the data's)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub moment_split: Option<bool>,
    /// Windows the generator draws per update for the moment term (the critic scores the first
    /// --batch of them; default: the batch size; needs the moment term).
    #[arg(long)]
    pub moment_batch: Option<usize>,
    /// Spend this share of the run (of --iters, or of --max-minutes when given) in a final
    /// moment-only phase: the generator, from its weight average, trained on the moment term
    /// alone over --polish-windows windows per update, the critic resting (the preset `moments`:
    /// 0.55; 0 = none; ignored without the moment term).
    #[arg(long)]
    pub polish_fraction: Option<f64>,
    /// Windows per update of the moment-only phase (default 2048; the preset `moments`: 1024).
    #[arg(long)]
    pub polish_windows: Option<usize>,
    /// The generator's learning rate in the moment-only phase (default 5e-4; the preset
    /// `moments`: 1e-3).
    #[arg(long)]
    pub polish_lr: Option<f64>,
    /// The pooled-rate weight of the moment-only phase (default: the preset's, 4 in `moments`,
    /// else --rate-weight; ignored without the phase).
    #[arg(long)]
    pub polish_rate_weight: Option<f64>,
    /// Whether the moment-only phase uses the split-batch estimate (default: --moment-split;
    /// ignored without the phase).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub polish_split: Option<bool>,
    /// The moment-only phase takes each moment's misfit from a running average of its batches'
    /// moments with this decay in [0, 1) instead of from one batch (the preset `moments`: 0.9;
    /// 0 = one batch; replaces the split estimate there; ignored without the phase).
    #[arg(long)]
    pub polish_moment_decay: Option<f64>,
    /// The critic scores Bernoulli draws of the generator's probabilities (binary, like the
    /// data) instead of the probabilities, with the gradient passed straight through the draws.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub sampled_fakes: Option<bool>,
    /// Evaluate every this many iterations (0 = never): sample, binarise, log the seven errors.
    #[arg(long, default_value_t = 1000)]
    pub eval_every: usize,
    /// Samples per evaluation.
    #[arg(long, default_value_t = 8192)]
    pub eval_samples: usize,
    /// Write a checkpoint every this many iterations (and always at the end).
    #[arg(long, default_value_t = 1000)]
    pub checkpoint_every: usize,
    /// Write a log line every this many iterations.
    #[arg(long, default_value_t = 10)]
    pub log_every: usize,
    /// Stop cleanly (with a checkpoint) after this many minutes.
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Continue from the run folder's last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Compute backend.
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    /// Run folder: checkpoint/, config.json, log.jsonl.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "model"])))]
pub struct SampleArgs {
    /// Run folder written by `spikegan train`.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Baseline model file written by `spikegan fit`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Window length T in bins (baselines; a GAN samples the T it was trained on).
    #[arg(long)]
    pub window: Option<usize>,
    /// Number of samples.
    #[arg(short = 'n', long, default_value_t = 8192)]
    pub samples: usize,
    /// Write spike probabilities (f32) instead of binarised samples.
    #[arg(long)]
    pub probabilities: bool,
    /// Shift the GAN's output pre-activations, per neuron and bin, so that its firing rates
    /// equal those of this binary raster or sample file (same neurons, in order) before sampling.
    #[arg(long)]
    pub calibrate_to: Option<PathBuf>,
    /// Random seed for z and the Bernoulli draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute backend.
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    /// Output (.h5, .npy; .mat for binary samples).
    #[arg(long)]
    pub out: PathBuf,
}

fn config_from(a: &TrainArgs, neurons: usize, bins: usize) -> anyhow::Result<TrainingConfig> {
    let mut model = ModelConfig::new().with_neurons(neurons).with_bins(bins);
    if let Some(arch) = &a.arch {
        model = model.with_arch(if arch == "mlp" { Arch::Mlp } else { Arch::Conv });
    }
    let mut c = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let value: serde_json::Value = if path.extension().is_some_and(|e| e == "toml") {
                toml::from_str(&text).with_context(|| format!("{}: not valid TOML", path.display()))?
            } else {
                serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?
            };
            serde_json::from_value(value)
                .with_context(|| format!("{}: not a training configuration", path.display()))?
        }
        None => TrainingConfig::preset(&a.preset, model)?,
    };
    if let Some(v) = a.iters {
        c.iterations = v;
    }
    if let Some(v) = a.seed {
        c.seed = v;
    }
    if let Some(v) = a.lr {
        (c.lr_critic, c.lr_generator) = (v, v);
    }
    if let Some(v) = a.batch {
        c.batch = v;
    }
    if let Some(v) = a.critic_iters {
        c.critic_iters = v;
    }
    if a.shuffle {
        c.shuffle = true;
    }
    if let Some(v) = a.dev_fraction {
        c.dev_fraction = v;
    }
    if let Some(v) = a.ema_decay {
        c.ema_decay = Some(v);
    }
    if let Some(v) = a.moment_weight {
        c.moment_weight = Some(v);
    }
    if let Some(v) = a.acf_weight {
        c.autocorrelogram_weight = Some(v);
    }
    if let Some(v) = a.rate_weight {
        c.rate_weight = Some(v);
    }
    if let Some(v) = a.count_weight {
        c.count_weight = Some(v);
    }
    if let Some(v) = a.moment_split {
        c.moment_split = Some(v);
    }
    if let Some(v) = a.polish_rate_weight {
        c.polish_rate_weight = Some(v);
    }
    if let Some(v) = a.polish_split {
        c.polish_split = Some(v);
    }
    if let Some(v) = a.polish_moment_decay {
        c.polish_moment_decay = Some(v);
    }
    if let Some(v) = a.moment_batch {
        c.moment_batch = Some(v);
    }
    if let Some(v) = a.sampled_fakes {
        c.sampled_fakes = Some(v);
    }
    if let Some(v) = a.polish_fraction {
        c.polish_fraction = Some(v);
    }
    if let Some(v) = a.polish_windows {
        c.polish_windows = Some(v);
    }
    if let Some(v) = a.polish_lr {
        c.polish_lr = Some(v);
    }
    if (c.model.neurons, c.model.bins) != (neurons, bins) {
        bail!(
            "the configuration is for {} neurons x {} bins but the data has {neurons} x {bins}",
            c.model.neurons,
            c.model.bins
        );
    }
    c.validate()?;
    Ok(c)
}

/// Seconds of training already logged in a run's log (to continue the clock on resume).
fn logged_seconds(log: &Path) -> f64 {
    std::fs::read_to_string(log)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["seconds"].as_f64())
        })
        .unwrap_or(0.0)
}

pub fn train(a: &TrainArgs) -> anyhow::Result<Outcome> {
    let loaded = load(&a.data, a.key.as_deref())?;
    let set = samples_of(&loaded, &a.data, window_for(a.window, &[&loaded]), Some(a.stride), None)?;
    let base = device(a.backend)?;
    let dev = base.clone().autodiff();
    let resuming = a.resume && checkpoint::checkpoint_dir(&a.out).is_ok();
    let config = if resuming {
        checkpoint::load_config(&a.out)?
    } else {
        config_from(a, set.n_neurons(), set.n_bins())?
    };
    let data = TrainingData::new(&set, config.dev_fraction)?;
    let mut trainer = if resuming {
        let t = checkpoint::resume(&a.out, &data, &dev)?;
        tracing::info!(iteration = t.iteration(), "resumed from {}", a.out.display());
        t
    } else {
        if a.resume {
            tracing::info!("no checkpoint in {} yet: starting a new run", a.out.display());
        }
        Trainer::new(config, &data, &dev)?
    };
    let total = a.iters.unwrap_or(trainer.config.iterations);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    super::write_json(&a.out.join("config.json"), &serde_json::to_value(&trainer.config)?)?;
    let reference = paper_stats(&set);
    let log_path = a.out.join("log.jsonl");
    let offset = if resuming { logged_seconds(&log_path) } else { 0.0 };
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(resuming)
        .write(true)
        .truncate(!resuming)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("installing the Ctrl-C handler")?;
    }
    tracing::info!(
        windows = data.train_len(),
        neurons = set.n_neurons(),
        bins = set.n_bins(),
        "training {:?} Spike-GAN on {}",
        trainer.config.model.arch,
        a.data.display()
    );
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} it  {per_sec}  eta {eta}  {msg}").expect("static template"),
    );
    bar.set_position(trainer.iteration() as u64);
    let start = Instant::now();
    let deadline = a.max_minutes.map(|m| m * 60.0);
    let mut rng = ChaCha8Rng::seed_from_u64(trainer.config.seed ^ 0xE7A1);
    let mut stop_reason = "finished";
    let mut eval_seconds = 0.0;
    while trainer.iteration() < total {
        if let Some(p) = trainer.config.polish()
            && !trainer.polishing()
            && (trainer.iteration() as f64 >= (1.0 - p.fraction) * total as f64
                || deadline.is_some_and(|d| start.elapsed().as_secs_f64() >= (1.0 - p.fraction) * d))
        {
            trainer.start_polish()?;
            tracing::info!(iteration = trainer.iteration(), "the moment-only phase begins");
        }
        let it = match trainer.step(&data) {
            Ok(it) => it,
            Err(e) => {
                bar.abandon();
                return Err(e).context(format!(
                    "the last good checkpoint is in {}",
                    a.out.join("checkpoint").display()
                ));
            }
        };
        let seconds = offset + start.elapsed().as_secs_f64();
        bar.inc(1);
        let out_of_time = deadline.is_some_and(|d| start.elapsed().as_secs_f64() >= d);
        let stop = interrupted.load(Ordering::SeqCst) || out_of_time;
        let mut line = None;
        // The last iteration is logged too when the run stops early (by time or Ctrl-C).
        if it.iteration % a.log_every.max(1) == 0 || it.iteration == total || stop {
            bar.set_message(if trainer.polishing() {
                format!("moment term {:.3}", it.moment_loss.unwrap_or(f64::NAN))
            } else {
                format!("W {:.3}  critic {:.3}", it.wasserstein, it.critic_loss)
            });
            line = Some(json!({
                "iteration": it.iteration, "seconds": seconds, "critic_loss": it.critic_loss,
                "generator_loss": if it.generator_loss.is_nan() { None } else { Some(it.generator_loss) },
                "gradient_penalty": it.gradient_penalty, "wasserstein": it.wasserstein,
                "moment_loss": it.moment_loss, "polishing": trainer.polishing(),
            }));
        }
        if a.eval_every > 0 && (it.iteration % a.eval_every == 0 || it.iteration == total) {
            let t0 = Instant::now();
            let m = &trainer.config.model;
            let p = sample_probabilities(
                &trainer.calibrated_generator(CALIBRATION_SAMPLES)?,
                m,
                a.eval_samples,
                1024,
                &mut rng,
                trainer.device(),
            );
            let values = binarize(&p, &mut rng);
            let samples =
                spike_data::SampleSet::from_owned(values, a.eval_samples, m.neurons, m.bins, Default::default())?;
            let errors = paper_errors(&paper_stats(&samples), &reference)?;
            let dev_loss = trainer.dev_critic_loss(&data);
            eval_seconds += t0.elapsed().as_secs_f64();
            let mut l = line
                .take()
                .unwrap_or_else(|| json!({"iteration": it.iteration, "seconds": seconds}));
            l["errors"] = errors
                .named()
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            l["dev_critic_loss"] = json!(dev_loss);
            l["eval_seconds_total"] = json!(eval_seconds);
            bar.println(format!(
                "iteration {}: covariance error {:.3}, k-probabilities {:.4}, mean {:.3}",
                it.iteration, errors.covariance, errors.k_probabilities, errors.mean
            ));
            line = Some(l);
        }
        if let Some(l) = line {
            writeln!(log, "{l}").with_context(|| format!("writing {}", log_path.display()))?;
        }
        // The last checkpoint (after the loop) calibrates its sampling generator precisely.
        if !stop && it.iteration % a.checkpoint_every.max(1) == 0 && it.iteration != total {
            checkpoint::save(&a.out, &trainer, CALIBRATION_SAMPLES)?;
        }
        if stop {
            stop_reason = if out_of_time {
                "--max-minutes reached"
            } else {
                "interrupted (Ctrl-C)"
            };
            break;
        }
    }
    checkpoint::save(&a.out, &trainer, PRECISE_CALIBRATION_SAMPLES)?;
    bar.finish_and_clear();
    println!(
        "{stop_reason}: {} iterations in {:.1} s ({:.2} it/s); checkpoint in {}",
        trainer.iteration(),
        start.elapsed().as_secs_f64(),
        trainer.iteration() as f64 / (offset + start.elapsed().as_secs_f64()).max(1e-9),
        a.out.join("checkpoint").display()
    );
    Ok(Outcome::Success)
}

/// Targets of the rate calibration, `[N, T]`: the time course of a sample file's windows, or a
/// raster's firing rate per bin in every bin (its sliding windows' time course, up to the
/// recording's first and last T - 1 bins).
fn calibration_targets(path: &Path, bins: usize) -> anyhow::Result<(usize, Vec<f64>)> {
    let loaded = load(path, None)?;
    match &loaded.data {
        SpikeData::Raster(r) => {
            r.ensure_binary().with_context(|| format!("{}", path.display()))?;
            let rates = r.spikes_per_neuron();
            let targets = rates
                .iter()
                .flat_map(|&c| std::iter::repeat_n(c as f64 / r.n_bins() as f64, bins))
                .collect();
            Ok((r.n_neurons(), targets))
        }
        SpikeData::Samples(set) if set.n_bins() == bins => {
            Ok((set.n_neurons(), TrainingData::new(set, 0.0)?.time_course().to_vec()))
        }
        SpikeData::Samples(set) => bail!(
            "{}: windows of {} bins, but the GAN makes windows of {bins}",
            path.display(),
            set.n_bins()
        ),
        other => bail!(
            "{}: rates need a binary raster or samples, not {}",
            path.display(),
            super::kind(other)
        ),
    }
}

pub fn sample(a: &SampleArgs) -> anyhow::Result<Outcome> {
    let run = match (&a.run, &a.model) {
        (Some(run), None) => run,
        (None, Some(model)) => return sample_baseline(a, model),
        _ => bail!("give either --run (a Spike-GAN run) or --model (a baseline model file)"),
    };
    let dev = device(a.backend)?;
    let (config, generator) = checkpoint::load_generator(run, &dev)?;
    if let Some(w) = a.window
        && w != config.model.bins
    {
        bail!(
            "{}: this GAN was trained on windows of {} bins; --window {w} is not possible",
            run.display(),
            config.model.bins
        );
    }
    let m = &config.model;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let generator = match &a.calibrate_to {
        Some(path) => {
            let (neurons, targets) = calibration_targets(path, m.bins)?;
            if neurons != m.neurons {
                bail!(
                    "{}: {neurons} neurons, but the GAN of {} generates {}",
                    path.display(),
                    run.display(),
                    m.neurons
                );
            }
            let mut calibration_rng = ChaCha8Rng::seed_from_u64(a.seed ^ 0xCA11_B2A7);
            // The run's own per-bin offsets are dropped first, so they are not calibrated twice.
            calibrate_rates(
                &generator.with_output_offset(None),
                m,
                &targets,
                PRECISE_CALIBRATION_SAMPLES,
                &mut calibration_rng,
                &dev,
            )?
            .0
        }
        None => generator,
    };
    let p = sample_probabilities(&generator, m, a.samples, 1024, &mut rng, &dev);
    let dims = [a.samples, m.neurons, m.bins];
    if a.probabilities {
        io::write_probabilities(&a.out, dims, &p).with_context(|| format!("writing {}", a.out.display()))?;
    } else {
        let values = binarize(&p, &mut rng);
        let set = spike_data::SampleSet::from_owned(values, a.samples, m.neurons, m.bins, Default::default())?;
        io::write_samples(&a.out, &set).with_context(|| format!("writing {}", a.out.display()))?;
    }
    println!(
        "{}: {} {} samples of {} neurons x {} bins from {}",
        a.out.display(),
        a.samples,
        if a.probabilities { "probability" } else { "binarised" },
        m.neurons,
        m.bins,
        run.display()
    );
    Ok(Outcome::Success)
}

fn sample_baseline(a: &SampleArgs, path: &Path) -> anyhow::Result<Outcome> {
    if a.probabilities {
        bail!("--probabilities is for Spike-GAN runs; baseline models give binary samples only");
    }
    if a.calibrate_to.is_some() {
        bail!("--calibrate-to is for Spike-GAN runs; baseline models match the rates they were fitted to");
    }
    let model = Baseline::load(path)?;
    let bins = a
        .window
        .or(model.max_bins())
        .context("--window is needed: this model samples windows of any length")?;
    let set = model
        .sample(a.samples, bins, a.seed)
        .with_context(|| format!("sampling {}", path.display()))?;
    io::write_samples(&a.out, &set).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: {} binary samples of {} neurons x {bins} bins from {} ({})",
        a.out.display(),
        a.samples,
        model.n_neurons(),
        path.display(),
        model.describe()
    );
    Ok(Outcome::Success)
}
