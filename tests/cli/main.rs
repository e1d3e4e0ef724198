//! End-to-end tests: run the `spikegan` binary on the shared real data and on generated files.
//! One module per command group; the helpers below are shared.
//!
//! The shared data folder is `$SPIKEGAN_DATA`, else `../shared/datasets` beside the checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spike_data::SpikeRaster;
use spike_data::io::{self, ReadOptions, SpikeData};

mod baselines;
mod data;
mod gan;
mod importance;
mod stats;

pub(crate) fn shared() -> PathBuf {
    let dir = std::env::var_os("SPIKEGAN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    assert!(
        dir.join("retina50").is_dir(),
        "shared data not found at {}: set SPIKEGAN_DATA",
        dir.display()
    );
    dir
}

/// A tiny conv GAN configuration for `neurons` x `bins` (features 16, latent 8, batch 16), as a
/// JSON file in `dir`.
pub(crate) fn small_gan_config(dir: &Path, neurons: usize, bins: usize) -> PathBuf {
    let path = dir.join("small.json");
    let config = serde_json::json!({
        "model": {"arch": "Conv", "neurons": neurons, "bins": bins, "base_features": 16, "kernel": 5, "latent": 8, "mlp_units": 8},
        "lr_critic": 1e-3, "lr_generator": 1e-3, "beta1": 0.0, "beta2": 0.9, "epsilon": 1e-8, "batch": 16,
        "critic_iters": 5, "lambda_gp": 10.0, "iterations": 4, "shuffle": true, "dev_fraction": 0.1,
        "rate_init": true, "seed": 3
    });
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// `spikegan simulate uniform` of `neurons` x `bins` samples (rate 0.2, groups of 2) into `out`.
pub(crate) fn simulate_uniform(out: &Path, neurons: usize, bins: usize, samples: usize, seed: u64) {
    let [n, t, k, seed] = [neurons, bins, samples, seed as usize].map(|v| v.to_string());
    ok(&[
        "simulate",
        "uniform",
        "--neurons",
        &n,
        "--bins",
        &t,
        "--samples",
        &k,
        "--rate",
        "0.2",
        "--seed",
        &seed,
        "--out",
        s(out),
    ]);
}

/// A JSON file's contents.
pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn retina() -> PathBuf {
    shared().join("retina50/original_data_num_neurons_50_1.mat")
}

/// Runs the binary. HDF5 file locking is off for it: tests run in parallel threads, and a child
/// spawned by one test inherits (without close-on-exec) the descriptors of HDF5 files another
/// test has open, with their locks.
pub(crate) fn spikegan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikegan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .output()
        .expect("spikegan runs")
}

pub(crate) fn ok(args: &[&str]) -> String {
    let out = spikegan(args);
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "spikegan {args:?} failed: {so}\n{se}");
    so.into_owned()
}

/// Runs a command that must fail with exit code 2 and a clean error (no panic); returns stderr.
pub(crate) fn fails(args: &[&str]) -> String {
    let out = spikegan(args);
    let se = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "spikegan {args:?} should fail with 2: {se}");
    assert!(!se.contains("panicked"), "spikegan {args:?} panicked: {se}");
    assert!(se.starts_with("error: "), "{se}");
    se
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn read(path: &Path) -> SpikeData {
    io::read(path, &ReadOptions::default()).unwrap().data
}

pub(crate) fn raster_of(path: &Path) -> SpikeRaster {
    match read(path) {
        SpikeData::Raster(r) => r,
        other => panic!("{} is not a raster: {other:?}", path.display()),
    }
}
