//! Timing harness (run by `cargo xtask bench data`): MAT v5 load of the retina recording, NWB
//! read + binning of the file named by `SPIKEGAN_BENCH_NWB` (skipped when unset), and windowing
//! the full retina recording. Prints one JSON object.

use std::path::PathBuf;
use std::time::Instant;

use spike_data::binning::{BinParams, bin_trains};
use spike_data::io::{self, ReadOptions, SpikeData};
use spike_data::{SampleSet, WindowSpec};

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
    let retina = dir.join("retina50/original_data_num_neurons_50_1.mat");
    let mat_s = median_seconds(5, || {
        std::hint::black_box(io::read(&retina, &ReadOptions::default()).expect("retina data (set SPIKEGAN_DATA)"));
    });
    let SpikeData::Raster(raster) = io::read(&retina, &ReadOptions::default()).unwrap().data else {
        panic!()
    };
    let windows_s = median_seconds(5, || {
        let set = SampleSet::windows(&raster, WindowSpec::sliding(32)).unwrap();
        std::hint::black_box(set.packed());
    });
    let copy_s = median_seconds(3, || {
        let set = SampleSet::windows(&raster, WindowSpec::sliding(32)).unwrap();
        std::hint::black_box(set.to_owned_values());
    });
    let mut out = serde_json::json!({
        "mat_v5_load_retina_s": mat_s,
        "sliding_windows_view_and_pack_s": windows_s,
        "sliding_windows_copy_s": copy_s,
    });
    if let Some(nwb) = std::env::var_os("SPIKEGAN_BENCH_NWB") {
        let nwb = PathBuf::from(nwb);
        let params = BinParams {
            bin_width_ms: 20.0,
            t_start_s: None,
            t_stop_s: None,
            binary: false,
        };
        let mut spikes = 0;
        let read_s = median_seconds(5, || {
            std::hint::black_box(io::read(&nwb, &ReadOptions::default()).unwrap());
        });
        let total_s = median_seconds(5, || {
            let SpikeData::Trains(t) = io::read(&nwb, &ReadOptions::default()).unwrap().data else {
                panic!()
            };
            spikes = t.total_spikes();
            std::hint::black_box(bin_trains(&t, &params).unwrap());
        });
        let SpikeData::Trains(t) = io::read(&nwb, &ReadOptions::default()).unwrap().data else {
            panic!()
        };
        let bin_s = median_seconds(5, || {
            std::hint::black_box(bin_trains(&t, &params).unwrap());
        });
        out["nwb_bin_only_s"] = bin_s.into();
        out["nwb_spikes"] = spikes.into();
        out["nwb_read_s"] = read_s.into();
        out["nwb_read_and_bin_20ms_s"] = total_s.into();
    }
    println!("{out}");
}
