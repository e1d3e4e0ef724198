//! `spikegan fit` and `spikegan sample --model`: the baselines end to end.

use super::{fails, ok};
use spike_data::SpikeRaster;
use spike_data::io::{self, ReadOptions, SpikeData};

/// 4000 bins x 6 neurons with shared input (pairs fire together) and a slow common drive.
fn raster_file(dir: &std::path::Path) -> std::path::PathBuf {
    let (bins, n) = (4000, 6);
    let mut counts = vec![0u8; bins * n];
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut drive = 0.0;
    for t in 0..bins {
        drive = 0.9 * drive + 0.1 * next();
        let shared = next() < 0.1 + drive * 0.2;
        for i in 0..n {
            counts[t * n + i] = u8::from(next() < 0.05 || (shared && i % 2 == 0 && next() < 0.7));
        }
    }
    let path = dir.join("raster.npy");
    io::write_raster(&path, &SpikeRaster::new(counts, bins, n).unwrap()).unwrap();
    path
}

fn read_samples(path: &std::path::Path) -> spike_data::SampleSet<'static> {
    match io::read(path, &ReadOptions::default()).unwrap().data {
        SpikeData::Samples(s) => s,
        other => panic!("expected samples, got {other:?}"),
    }
}

#[test]
fn every_baseline_fits_and_samples_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = raster_file(dir.path());
    let d = data.to_str().unwrap();
    for model in ["independent", "pairwise", "kpairwise", "dg", "dg-temporal"] {
        let out = dir.path().join(format!("{model}.json"));
        let o = out.to_str().unwrap();
        let report = ok(&["fit", model, "--data", d, "--window", "8", "--out", o]);
        assert!(report.contains(o), "{report}");
        let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(saved["fitted_on"]["neurons"], 6);
        assert_eq!(saved["fitted_on"]["sha256"].as_str().unwrap().len(), 64);
        let samples = dir.path().join(format!("{model}.h5"));
        let s = samples.to_str().unwrap();
        ok(&[
            "sample", "--model", o, "-n", "300", "--window", "8", "--seed", "1", "--out", s,
        ]);
        let set = read_samples(&samples);
        assert_eq!((set.n_samples(), set.n_neurons(), set.n_bins()), (300, 6, 8));
        // Neurons 0, 2, 4 share input: every model but the independent one reproduces it.
        let together = (0..300)
            .flat_map(|k| (0..8).map(move |b| (k, b)))
            .filter(|&(k, b)| set.get(k, 0, b) == 1 && set.get(k, 2, b) == 1)
            .count() as f64
            / 2400.0;
        let rate = |i| {
            (0..300)
                .flat_map(|k| (0..8).map(move |b| (k, b)))
                .filter(|&(k, b)| set.get(k, i, b) == 1)
                .count() as f64
                / 2400.0
        };
        let excess = together - rate(0) * rate(2);
        if model == "independent" {
            assert!(excess.abs() < 0.02, "{model}: {excess}");
        } else {
            assert!(
                excess > 0.02,
                "{model}: co-firing {together} vs independent {}",
                rate(0) * rate(2)
            );
        }
        // Deterministic given --seed.
        let again = dir.path().join("again.h5");
        ok(&[
            "sample",
            "--model",
            o,
            "-n",
            "300",
            "--window",
            "8",
            "--seed",
            "1",
            "--out",
            again.to_str().unwrap(),
        ]);
        assert_eq!(read_samples(&again).to_owned_values(), set.to_owned_values(), "{model}");
    }
    // The exact maxent fit reports log Z and the entropy.
    let report = ok(&[
        "fit",
        "kpairwise",
        "--data",
        d,
        "--out",
        dir.path().join("k.json").to_str().unwrap(),
    ]);
    assert!(
        report.contains("fitted by exact") && report.contains("bits per bin"),
        "{report}"
    );
    // The same fit by MCMC.
    let report = ok(&[
        "fit",
        "pairwise",
        "--data",
        d,
        "--exact-max-neurons",
        "0",
        "--out",
        dir.path().join("m.json").to_str().unwrap(),
    ]);
    assert!(report.contains("fitted by mcmc"), "{report}");
}

#[test]
fn the_dg_moment_fit_can_be_set_from_the_command_line() {
    // Pair means no Gaussian gives: neuron 0 fires with 1 and with 2, which never fire together.
    let dir = tempfile::tempdir().unwrap();
    let bins = 3000;
    let counts: Vec<u8> = (0..bins)
        .flat_map(|t| match t % 5 {
            0 => [1, 1, 0],
            1 => [1, 0, 1],
            _ => [0, 0, 0],
        })
        .collect();
    let data = dir.path().join("impossible.npy");
    io::write_raster(&data, &SpikeRaster::new(counts, bins, 3).unwrap()).unwrap();
    let diagnostics = |extra: &[&str]| {
        let out = dir.path().join("dg.json");
        let args = [
            &[
                "fit",
                "dg",
                "--data",
                data.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            extra,
        ]
        .concat();
        let report = ok(&args);
        let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        (report, saved["model"]["diagnostics"].clone())
    };
    let (report, d) = diagnostics(&[]);
    assert!(report.contains("then fitted to the pair means"), "{report}");
    let fit = &d["moment_fit"];
    assert!(fit["chi2_per_pair_after"].as_f64().unwrap() < fit["chi2_per_pair_before"].as_f64().unwrap());
    assert_eq!(fit["weighting"], "Balanced");
    assert!(report.contains("balanced misfit per pair"), "{report}");
    let (report, d) = diagnostics(&["--pair-weighting", "standard-error"]);
    assert_eq!(d["moment_fit"]["weighting"], "StandardError");
    assert!(
        !report.contains("misfit per pair") && report.contains("chi2 per pair"),
        "{report}"
    );
    let (report, d) = diagnostics(&["--moment-fit-iterations", "0"]);
    assert!(
        !report.contains("then fitted") && report.contains("projected"),
        "{report}"
    );
    assert!(d["moment_fit"].is_null(), "{d}");
}

#[test]
fn baseline_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = raster_file(dir.path());
    let d = data.to_str().unwrap();
    let model = dir.path().join("t.json");
    let m = model.to_str().unwrap();
    ok(&["fit", "dg-temporal", "--data", d, "--window", "4", "--out", m]);
    let e = fails(&[
        "sample",
        "--model",
        m,
        "-n",
        "10",
        "--window",
        "5",
        "--out",
        dir.path().join("x.h5").to_str().unwrap(),
    ]);
    assert!(e.contains("windows of 4 bins"), "{e}");
    let e = fails(&["fit", "dg-temporal", "--data", d, "--window", "5000", "--out", m]);
    assert!(e.contains("window"), "{e}");
    let e = fails(&[
        "fit",
        "dg-temporal",
        "--data",
        d,
        "--window",
        "4",
        "--max-partial-correlation",
        "1",
        "--out",
        m,
    ]);
    assert!(e.contains("max_partial_correlation") && e.contains("got"), "{e}");
    std::fs::write(&model, "not json").unwrap();
    let e = fails(&[
        "sample",
        "--model",
        m,
        "-n",
        "10",
        "--window",
        "4",
        "--out",
        dir.path().join("x.h5").to_str().unwrap(),
    ]);
    assert!(e.contains("t.json") && e.contains("not a JSON model file"), "{e}");
    let e = fails(&[
        "sample",
        "--model",
        dir.path().join("missing.json").to_str().unwrap(),
        "--window",
        "4",
        "--out",
        "x.h5",
    ]);
    assert!(e.contains("missing.json"), "{e}");
    // Maxent models sample any window length, but one must be given.
    let k = dir.path().join("k.json");
    ok(&["fit", "independent", "--data", d, "--out", k.to_str().unwrap()]);
    let e = fails(&[
        "sample",
        "--model",
        k.to_str().unwrap(),
        "--out",
        dir.path().join("y.h5").to_str().unwrap(),
    ]);
    assert!(e.contains("--window"), "{e}");
}

#[test]
fn fit_takes_a_subset_of_neurons() {
    let dir = tempfile::tempdir().unwrap();
    let data = raster_file(dir.path());
    let d = data.to_str().unwrap();
    let out = dir.path().join("sub.json");
    let o = out.to_str().unwrap();
    ok(&["fit", "independent", "--data", d, "--neurons", "4,0-1", "--out", o]);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved["fitted_on"]["neurons"], 3);
    assert_eq!(saved["fitted_on"]["neuron_selection"], serde_json::json!([4, 0, 1]));
    // Neuron 4 (first of the subset) shares input and fires more than neuron 1 (last).
    let fields = saved["fit"]["model"]["fields"].as_array().unwrap();
    assert!(
        fields[0].as_f64().unwrap() > fields[2].as_f64().unwrap() + 0.5,
        "{fields:?}"
    );
    for (list, what) in [("6", "neuron 6"), ("3-1", "backwards"), ("x", "not a neuron index")] {
        let e = fails(&["fit", "independent", "--data", d, "--neurons", list, "--out", o]);
        assert!(e.contains(what), "{list}: {e}");
    }
}
