//! Timing harness (run by `cargo xtask bench stats`): the paper's statistics over every sliding
//! window of the retina recording, single-bin pattern entropy, and nearest-sample search of 1000
//! samples against the full training set. Prints one JSON object.
//!
//! Data: `$SPIKEGAN_DATA/retina50/original_data_num_neurons_50_1.mat` (default `../shared/datasets`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use spike_data::io::{self, ReadOptions, SpikeData};
use spike_data::{SampleSet, WindowSpec};

/// The system allocator, counting live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only adds counters.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn median_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn main() {
    let dir = std::env::var_os("SPIKEGAN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    let path = dir.join("retina50/original_data_num_neurons_50_1.mat");
    let start = Instant::now();
    let loaded = io::read(&path, &ReadOptions::default()).expect("retina data (set SPIKEGAN_DATA)");
    let load_s = start.elapsed().as_secs_f64();
    let SpikeData::Raster(raster) = loaded.data else {
        panic!("raster expected")
    };
    let sliding = SampleSet::windows(&raster, WindowSpec::sliding(32)).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    std::hint::black_box(spike_stats::paper_stats(&sliding));
    let stats_extra_bytes = PEAK.load(Ordering::Relaxed) - before;
    let stats_s = median_seconds(5, || {
        std::hint::black_box(spike_stats::paper_stats(&sliding));
    });
    let entropy_s = median_seconds(3, || {
        let c = spike_stats::patterns::bin_pattern_counts(&sliding).unwrap();
        std::hint::black_box(spike_stats::patterns::entropy(c.values()));
    });
    let generated = SampleSet::windows(&raster, WindowSpec::non_overlapping(32)).unwrap();
    let nearest_s = median_seconds(1, || {
        std::hint::black_box(spike_stats::nearest::nearest_samples(&generated, &sliding, 1000, false).unwrap());
    });
    println!(
        "{}",
        serde_json::json!({
            "windows": sliding.n_samples(),
            "threads": rayon::current_num_threads(),
            "mat_v5_load_s": load_s,
            "paper_stats_sliding_s": stats_s,
            "raster_bytes": raster.counts().len(),
            "paper_stats_peak_extra_heap_bytes": stats_extra_bytes,
            "bin_pattern_entropy_sliding_s": entropy_s,
            "nearest_1000_vs_sliding_s": nearest_s,
        })
    );
}
