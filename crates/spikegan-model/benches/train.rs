//! Timing harness (run by `cargo xtask bench train`): training iterations per second on the
//! retina configuration (N 50, T 32, batch 64, 1 generator + 5 critic updates with the gradient
//! penalty, the paper's settings), on the flex CPU backend, with the host kernels of the conv
//! critic (the default) and with Burn's autodiff for every step; then the default preset
//! (`moments`: the same updates plus the moment term over 512 generated windows and the weight
//! average), with the host kernels. Prints one JSON object.
//!
//! `SPIKEGAN_BENCH_ITERS` (default 60) iterations are timed after 10 warm-up iterations, for each;
//! `SPIKEGAN_BENCH_HOST_ONLY=1` skips the autodiff path (for profiling the host kernels).

use std::path::PathBuf;

// As in the `spikegan` binary: glibc's allocator returns the large per-step buffers to the kernel
// and page-faults them back in every step (about 10^5 faults per second of training).
// `cargo xtask bench train` also sets MIMALLOC_PURGE_DELAY=-1, as the binary does at start-up.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

use burn::tensor::Device;
use spike_data::io::{self, ReadOptions, SpikeData};
use spike_data::{SampleSet, WindowSpec};
use spikegan_model::train::{Trainer, TrainingData};
use spikegan_model::{ModelConfig, TrainingConfig};

fn main() {
    let dir = std::env::var_os("SPIKEGAN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    let path = dir.join("retina50/original_data_num_neurons_50_1.mat");
    let SpikeData::Raster(raster) = io::read(&path, &ReadOptions::default()).expect("retina data").data else {
        panic!("raster expected")
    };
    let set = SampleSet::windows(&raster, WindowSpec::sliding(32)).unwrap();
    let data = TrainingData::new(&set, 0.0).unwrap();
    let iters: usize = std::env::var("SPIKEGAN_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let device = Device::flex().autodiff();
    let paper = || TrainingConfig::paper(ModelConfig::new());
    let host = time_iterations(&data, &device, paper(), true, iters);
    let preset = time_iterations(&data, &device, TrainingConfig::moments(ModelConfig::new()), true, iters);
    let autodiff = if std::env::var_os("SPIKEGAN_BENCH_HOST_ONLY").is_some() {
        (f64::NAN, f64::NAN)
    } else {
        time_iterations(&data, &device, paper(), false, iters)
    };
    println!(
        "{}",
        serde_json::json!({
            "backend": "flex",
            "threads": std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into()),
            "iterations_timed": iters,
            "median_iter_s": host.0,
            "it_per_s": host.1,
            "autodiff_median_iter_s": autodiff.0,
            "autodiff_it_per_s": autodiff.1,
            "moments_preset_median_iter_s": preset.0,
            "moments_preset_it_per_s": preset.1,
        })
    );
}

/// (median seconds per iteration, iterations per second) of `iters` iterations after 10 warm-up.
fn time_iterations(
    data: &TrainingData,
    device: &Device,
    config: TrainingConfig,
    host_kernels: bool,
    iters: usize,
) -> (f64, f64) {
    let mut trainer = Trainer::new(config, data, device).unwrap();
    trainer.set_host_kernels(host_kernels);
    for _ in 0..10 {
        trainer.step(data).unwrap();
    }
    let mut times: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            trainer.step(data).unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let mean = times.iter().sum::<f64>() / iters as f64;
    times.sort_by(f64::total_cmp);
    (times[iters / 2], 1.0 / mean)
}
