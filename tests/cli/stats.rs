//! `spikegan stats | compare | nearest | higher-order`.

use std::path::Path;

use spike_data::SpikeRaster;
use spike_data::io::{self};

use crate::{fails, ok, retina, s, shared, simulate_uniform};

/// The paper's Fig. 3 comparison (first 8192 non-overlapping windows of the published k-pairwise
/// and DG samples against all 283010 sliding windows of the recording), against values computed
/// independently with numpy by bench/stats_numpy.py (np.cov etc. on the materialised series).
#[test]
fn compare_reproduces_the_papers_fig3_errors() {
    let d = shared().join("retina50");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("errors.json");
    let (k, dg) = (
        d.join("k_pairwise_num_neurons_50_1.mat"),
        d.join("DG_num_neurons_50_1.mat"),
    );
    let table = ok(&[
        "compare",
        "--reference",
        s(&d.join("original_data_num_neurons_50_1.mat")),
        "--reference-stride",
        "1",
        s(&k),
        s(&dg),
        "--stride",
        "32",
        "--max-samples",
        "8192",
        "--out",
        s(&out),
    ]);
    assert!(table.contains("283010 samples of 50 x 32"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let numpy = [
        (
            &k,
            [
                0.39519241897509116,
                0.153939626610596,
                0.010869712416616172,
                0.0050267253476887945,
                2.5742428427840798,
                2.468373309502369,
                4.251547446014483,
            ],
        ),
        (
            &dg,
            [
                0.40794288028967685,
                0.14850825210321594,
                0.01143972568881713,
                0.006649597767515504,
                0.17104137208579823,
                2.033903616479983,
                0.37042404982723565,
            ],
        ),
    ];
    let keys = [
        "mean",
        "covariance",
        "variance",
        "k_probabilities",
        "autocorrelogram",
        "time_course",
        "lag_covariance",
    ];
    for (path, expected) in numpy {
        let model = &json["models"][s(path)];
        for (key, want) in keys.iter().zip(expected) {
            let got = model[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} missing in {model}"));
            assert!(
                (got - want).abs() <= 1e-9 * want.abs(),
                "{}: {key} = {got}, numpy {want}",
                path.display()
            );
        }
    }
    // Different shapes are a clear error.
    let sim = dir.path().join("sim.h5");
    ok(&["simulate", "uniform", "--samples", "4", "--out", s(&sim)]);
    let e = fails(&[
        "compare",
        "--reference",
        s(&retina()),
        s(&sim),
        "--window",
        "128",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("neurons"), "{e}");
}

#[test]
fn stats_and_nearest_on_windows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stats.json");
    let summary = ok(&[
        "stats",
        s(&retina()),
        "--window",
        "32",
        "--max-samples",
        "1024",
        "--examples",
        "2",
        "--out",
        s(&out),
    ]);
    assert!(summary.contains("1024 samples x 50 neurons x 32 bins"), "{summary}");
    let st: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(st["n_samples"], 1024);
    assert_eq!(st["covariance"].as_array().unwrap().len(), 50);
    assert_eq!(st["time_course"][0].as_array().unwrap().len(), 32);
    assert_eq!(st["k_probabilities"].as_array().unwrap().len(), 51);
    assert_eq!(st["autocorrelogram"].as_array().unwrap().len(), 21);
    // The golden fixture's first value (these are the same 1024 windows).
    assert_eq!(st["mean_spike_count"][0], 1.103515625);
    let hz = st["firing_rate_hz"][0].as_f64().unwrap();
    assert!((hz - 1.103515625 / (32.0 * 0.02)).abs() < 1e-12);
    assert!(st["entropy_bits"].as_f64().unwrap() > 1.0);
    // Example samples [k][N][T]: the second is the recording's bins 32..64, neuron-major.
    let raster = crate::raster_of(&retina());
    assert_eq!(st["examples"].as_array().unwrap().len(), 2);
    for (i, t) in [(0, 0), (7, 5), (49, 31)] {
        assert_eq!(st["examples"][1][i][t], raster.get(32 + t, i), "neuron {i} bin {t}");
    }
    // Real windows against their own set, excluding themselves: distances are positive.
    let near = dir.path().join("near.json");
    ok(&[
        "nearest",
        "--train",
        s(&retina()),
        "--train-stride",
        "32",
        "--generated",
        s(&retina()),
        "--stride",
        "32",
        "-m",
        "20",
        "--out",
        s(&near),
    ]);
    let n: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&near).unwrap()).unwrap();
    assert_eq!(n["excluded_self"], true);
    let found = n["nearest"].as_array().unwrap();
    assert_eq!(found.len(), 20);
    assert!(found.iter().all(|f| f["train"] != f["generated"]));
    // Non-binary input is refused where samples are needed.
    let counts = dir.path().join("counts.npy");
    io::write_raster(&counts, &SpikeRaster::new(vec![0, 2, 1, 0, 1, 1, 0, 0], 4, 2).unwrap()).unwrap();
    let e = fails(&["stats", s(&counts), "--window", "2", "--out", s(&out)]);
    assert!(e.contains("counts.npy") && e.contains("1 value(s) are > 1"), "{e}");
}

#[test]
fn higher_order_check_of_small_simulated_sets() {
    let dir = tempfile::tempdir().unwrap();
    let sim = |name: &str, samples: &str, draw: &str| {
        let path = dir.path().join(name);
        ok(&[
            "simulate",
            "uniform",
            "--neurons",
            "2",
            "--bins",
            "12",
            "--group",
            "2",
            "--rate",
            "0.25",
            "--samples",
            samples,
            "--seed",
            "7",
            "--draw",
            draw,
            "--out",
            s(&path),
        ]);
        path
    };
    // The training set doubles as ground truth: then exactly the patterns it lacks are impossible.
    let (train, surrogate) = (sim("train.h5", "2048", "0"), sim("sur.h5", "2048", "2"));
    // "Generated" = the training set itself, plus one sample that breaks the refractory period.
    let generated = dir.path().join("gen.h5");
    let f = hdf5::File::open(&train).unwrap();
    let mut values = f.dataset("samples").unwrap().read_raw::<u8>().unwrap();
    values[..24].fill(1);
    let arr = ndarray::Array3::from_shape_vec((2048, 2, 12), values).unwrap();
    hdf5::File::create(&generated)
        .unwrap()
        .new_dataset_builder()
        .with_data(&arr)
        .create("samples")
        .unwrap();
    let out = dir.path().join("ho.json");
    let printed = ok(&[
        "higher-order",
        "--generated",
        s(&generated),
        "--ground-truth",
        s(&train),
        "--surrogate",
        s(&surrogate),
        "--train",
        s(&train),
        "--out",
        s(&out),
    ]);
    assert!(printed.contains("1 impossible (1 samples)"), "{printed}");
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(j["n_ground_truth"], 2048);
    // Every generated sample but the all-ones one is a training sample.
    let in_train = j["generated_in_training"].as_f64().unwrap();
    assert!((in_train - 2047.0 / 2048.0).abs() < 1e-12, "{in_train}");
    // Another draw of the same data set repeats some training patterns, not all.
    let sur_in_train = j["surrogate_in_training"].as_f64().unwrap();
    assert!(sur_in_train > 0.1 && sur_in_train < 0.9, "{sur_in_train}");
    let bits = |k: &str| j[k]["plug_in_bits"].as_f64().unwrap();
    assert!(
        bits("entropy_ground_truth") > 5.0 && (bits("entropy_generated") - bits("entropy_ground_truth")).abs() < 0.05
    );
    let freq = j["generated_frequency"].as_array().unwrap();
    assert_eq!(freq.len(), j["distinct_generated_patterns"].as_u64().unwrap() as usize);
    let e = fails(&[
        "higher-order",
        "--generated",
        s(&generated),
        "--ground-truth",
        s(&retina()),
        "--surrogate",
        s(&surrogate),
        "--train",
        s(&train),
        "--out",
        s(&out),
    ]);
    assert!(
        e.contains("original_data") && e.contains("samples [n, N, T] are needed"),
        "{e}"
    );
}

/// Without `--window`, sample files keep their own T and rasters are cut to match them (32 when
/// only rasters are given); an explicit window that contradicts a sample file is an error.
#[test]
fn the_window_defaults_to_the_sample_files_length() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim16.npy");
    simulate_uniform(&sim, 6, 16, 300, 2);
    let raster = dir.path().join("raster.npy");
    let values: Vec<u8> = (0..640 * 6).map(|k| u8::from(k % 7 == 0 || k % 5 == 0)).collect();
    io::write_raster(&raster, &SpikeRaster::new(values, 640, 6).unwrap()).unwrap();
    let json = |p: &Path| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let out = dir.path().join("out.json");
    ok(&["stats", s(&sim), "--out", s(&out)]);
    assert_eq!(json(&out)["time_course"][0].as_array().unwrap().len(), 16);
    ok(&["stats", s(&raster), "--out", s(&out)]);
    assert_eq!(json(&out)["n_samples"], 20, "640 bins in windows of 32");
    ok(&["compare", "--reference", s(&raster), s(&sim), "--out", s(&out)]);
    assert_eq!(json(&out)["reference"]["bins"], 16);
    assert_eq!(json(&out)["reference"]["n_samples"], 40);
    ok(&[
        "nearest",
        "--train",
        s(&raster),
        "--generated",
        s(&sim),
        "-m",
        "5",
        "--out",
        s(&out),
    ]);
    assert_eq!(json(&out)["nearest"].as_array().unwrap().len(), 5);
    let e = fails(&[
        "compare",
        "--reference",
        s(&raster),
        s(&sim),
        "--window",
        "32",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("sim16.npy") && e.contains("samples of 16 bins"), "{e}");
}
