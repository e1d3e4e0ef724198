//! Timing harness (run by `cargo xtask bench train`): training iterations per second on the
//! retina configuration (N 50, T 32, batch 64, 1 generator + 5 critic updates with the gradient
//! penalty, the paper's settings), on the flex CPU backend. Prints one JSON object.
//!
//! `SPIKEGAN_BENCH_ITERS` (default 60) iterations are timed after 10 warm-up iterations.

use std::path::PathBuf;
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
    let mut trainer = Trainer::new(TrainingConfig::paper(ModelConfig::new()), &data, &device).unwrap();
    for _ in 0..10 {
        trainer.step(&data).unwrap();
    }
    let mut times: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            trainer.step(&data).unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let mean = times.iter().sum::<f64>() / iters as f64;
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "backend": "flex",
            "threads": std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into()),
            "iterations_timed": iters,
            "median_iter_s": times[iters / 2],
            "it_per_s": 1.0 / mean,
        })
    );
}
