//! Checkpoints: a folder `<run>/checkpoint/` with `config.json` (the whole [`TrainingConfig`]),
//! `generator.bpk`, `critic.bpk` (Burn records, full f32 precision), `optim_generator.bpk`,
//! `optim_critic.bpk` (Adam states) and `state.json` (iteration, batch order, RNG position);
//! `generator_ema.bpk` when the run averages the generator's weights and
//! `generator_sampling.bpk` (the generator to sample, calibrated to the data's rates) when it
//! calibrates them.
//!
//! Writing is atomic: everything goes to `checkpoint.tmp/`, the previous checkpoint is renamed to
//! `checkpoint.old/`, the new one into place, and the old one removed; a crash at any point leaves
//! a complete `checkpoint/` or `checkpoint.old/`, and loading falls back to the latter.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};

use crate::config::TrainingConfig;
use crate::error::{GanError, Result};
use crate::model::{Critic, Generator, InitRng};
use crate::train::{Trainer, TrainerState, TrainingData};
use rand::SeedableRng;

fn err(path: &Path, detail: impl Into<String>) -> GanError {
    GanError::Checkpoint {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| GanError::Io {
        path: path.into(),
        source,
    })
}

/// Maps an IO error on `path` into a [`GanError`].
fn io(path: &Path) -> impl Fn(std::io::Error) -> GanError + '_ {
    move |source| GanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))
}

/// The checkpoint folder of a run: `checkpoint/`, else the `checkpoint.old/` a crash left.
pub fn checkpoint_dir(run: &Path) -> Result<PathBuf> {
    for name in ["checkpoint", "checkpoint.old"] {
        let p = run.join(name);
        if p.join("state.json").exists() {
            return Ok(p);
        }
    }
    Err(err(
        run,
        "no checkpoint in this run folder (expected checkpoint/state.json)",
    ))
}

/// The conv sampling generator's per-bin output offsets (JSON array, `[N * T]`), which its
/// weights' record does not hold; absent in checkpoints written before the per-bin calibration
/// (their `generator_sampling.bpk` has a per-neuron calibration in its biases).
const SAMPLING_OFFSET: &str = "generator_sampling_offset.json";

/// Save the trainer's complete state under `run/checkpoint/`, atomically; a run that calibrates
/// its rates saves its sampling generator calibrated over `calibration_samples` generated
/// samples ([`crate::sample::calibrate_rates`]).
pub fn save(run: &Path, trainer: &Trainer, calibration_samples: usize) -> Result<()> {
    std::fs::create_dir_all(run).map_err(io(run))?;
    let tmp = run.join("checkpoint.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let config = serde_json::to_vec_pretty(&trainer.config).map_err(|e| err(&tmp, e.to_string()))?;
    write(&tmp.join("config.json"), &config)?;
    let record = |m: ModuleRecord, name: &str| -> Result<()> {
        let bytes = m.into_bytes().map_err(|e| err(&tmp.join(name), e.to_string()))?;
        write(&tmp.join(name), &bytes)
    };
    record(trainer.generator.clone().into_record(), "generator.bpk")?;
    if let Some(ema) = trainer.generator_ema() {
        record(ema.clone().into_record(), "generator_ema.bpk")?;
    }
    if trainer.config.calibrates_rates() {
        let calibrated = trainer.calibrated_generator(calibration_samples)?;
        if let Some(offset) = calibrated.output_offset() {
            let json = serde_json::to_vec(offset).map_err(|e| err(&tmp, e.to_string()))?;
            write(&tmp.join(SAMPLING_OFFSET), &json)?;
        }
        record(calibrated.valid().into_record(), "generator_sampling.bpk")?;
    }
    record(trainer.critic.clone().into_record(), "critic.bpk")?;
    let (og, oc) = trainer.optimizers();
    for (o, name) in [(og, "optim_generator.bpk"), (oc, "optim_critic.bpk")] {
        let bytes = o.into_bytes().map_err(|e| err(&tmp.join(name), e.to_string()))?;
        write(&tmp.join(name), &bytes)?;
    }
    let state = serde_json::to_vec_pretty(&trainer.state()).map_err(|e| err(&tmp, e.to_string()))?;
    write(&tmp.join("state.json"), &state)?;
    let (current, old) = (run.join("checkpoint"), run.join("checkpoint.old"));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if current.exists() {
        std::fs::rename(&current, &old).map_err(io(&current))?;
    }
    std::fs::rename(&tmp, &current).map_err(io(&tmp))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// The configuration saved with a run's checkpoint.
pub fn load_config(run: &Path) -> Result<TrainingConfig> {
    let dir = checkpoint_dir(run)?;
    let path = dir.join("config.json");
    let config: TrainingConfig =
        serde_json::from_slice(&read(&path)?).map_err(|e| err(&path, format!("not a training configuration: {e}")))?;
    config.validate()?;
    Ok(config)
}

fn load_module<M: Module>(path: &Path, module: M) -> Result<M> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(read(path)?))
        .map_err(|e| err(path, format!("corrupt record: {e}")))?;
    module
        .try_load_record(record)
        .map_err(|e| err(path, format!("does not fit the configured architecture: {e}")))
}

/// The generator of a run's checkpoint, on `device`.
pub fn load_generator(run: &Path, device: &Device) -> Result<(TrainingConfig, Generator)> {
    let config = load_config(run)?;
    let dir = checkpoint_dir(run)?;
    // The calibrated generator when the run calibrates its rates, else the moving average of
    // the weights when the run kept one: that is the generator to sample.
    let name = if config.calibrates_rates() {
        "generator_sampling.bpk"
    } else if config.ema().is_some() {
        "generator_ema.bpk"
    } else {
        "generator.bpk"
    };
    let generator = load_module(
        &dir.join(name),
        Generator::new(&config.model, &mut InitRng::seed_from_u64(0), device),
    )?;
    let path = dir.join(SAMPLING_OFFSET);
    if !config.calibrates_rates() || !path.exists() {
        return Ok((config, generator));
    }
    let offset: Vec<f32> =
        serde_json::from_slice(&read(&path)?).map_err(|e| err(&path, format!("not a list of offsets: {e}")))?;
    let expected = config.model.neurons * config.model.bins;
    if offset.len() != expected {
        return Err(err(
            &path,
            format!("expected {expected} offsets (neurons x bins), got {}", offset.len()),
        ));
    }
    if let Some(k) = offset.iter().position(|v| !v.is_finite()) {
        return Err(err(&path, format!("offset {k} is not finite: {}", offset[k])));
    }
    Ok((config, generator.with_output_offset(Some(offset))))
}

/// The critic of a run's checkpoint, on `device`.
pub fn load_critic(run: &Path, device: &Device) -> Result<(TrainingConfig, Critic)> {
    let config = load_config(run)?;
    let dir = checkpoint_dir(run)?;
    let critic = load_module(
        &dir.join("critic.bpk"),
        Critic::new(&config.model, &mut InitRng::seed_from_u64(0), device),
    )?;
    Ok((config, critic))
}

/// A trainer restored from a run's checkpoint, to continue training on `data`.
pub fn resume(run: &Path, data: &TrainingData, device: &Device) -> Result<Trainer> {
    let config = load_config(run)?;
    let dir = checkpoint_dir(run)?;
    let mut trainer = Trainer::new(config, data, device)?;
    let generator = load_module(&dir.join("generator.bpk"), trainer.generator.clone())?;
    let critic: Critic = load_module(&dir.join("critic.bpk"), trainer.critic.clone())?;
    let ema = match trainer.generator_ema() {
        Some(ema) => Some(load_module(&dir.join("generator_ema.bpk"), ema.clone())?),
        None => None,
    };
    let optim = |name: &str| {
        let path = dir.join(name);
        trainer
            .fresh_optimizer()
            .from_bytes(Bytes::from_bytes_vec(read(&path)?))
            .map_err(|e| err(&path, format!("corrupt optimiser state: {e}")))
    };
    let (og, oc) = (optim("optim_generator.bpk")?, optim("optim_critic.bpk")?);
    let path = dir.join("state.json");
    let state: TrainerState = serde_json::from_slice(&read(&path)?).map_err(|e| err(&path, e.to_string()))?;
    trainer.restore(data, generator, ema, critic, og, oc, state);
    Ok(trainer)
}
