//! `spikegan train` and `spikegan sample`.

use std::path::Path;

use spike_data::io::SpikeData;

use crate::{fails, ok, read, read_json, retina, s, small_gan_config};

#[test]
fn train_resume_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim.h5");
    ok(&[
        "simulate",
        "uniform",
        "--neurons",
        "4",
        "--bins",
        "16",
        "--samples",
        "256",
        "--group",
        "2",
        "--seed",
        "2",
        "--out",
        s(&sim),
    ]);
    let config = small_gan_config(dir.path(), 4, 16);
    let run = dir.path().join("run");
    let train = |iters: &str, resume: bool| {
        let mut args = vec![
            "train",
            "--data",
            s(&sim),
            "--window",
            "16",
            "--config",
            s(&config),
            "--iters",
            iters,
            "--eval-every",
            "2",
            "--eval-samples",
            "64",
            "--checkpoint-every",
            "2",
            "--log-every",
            "1",
            "--out",
            s(&run),
        ];
        if resume {
            args.push("--resume");
        }
        ok(&args)
    };
    assert!(train("4", false).contains("finished: 4 iterations"));
    let state = read_json(&run.join("checkpoint/state.json"));
    assert_eq!(state["iteration"], 4);
    let lines = |p: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let log = lines(&run.join("log.jsonl"));
    assert_eq!(log.len(), 4);
    assert!(log[1]["errors"]["covariance"].as_f64().unwrap() >= 0.0);
    assert!(log[3]["dev_critic_loss"].as_f64().unwrap().is_finite());
    assert!(log[0]["generator_loss"].is_null() && log[1]["generator_loss"].is_number());
    // Resume continues the iteration count and the clock.
    assert!(train("6", true).contains("finished: 6 iterations"));
    let log = lines(&run.join("log.jsonl"));
    assert_eq!(log.len(), 6);
    assert_eq!(log[5]["iteration"], 6);
    assert!(log[5]["seconds"].as_f64() >= log[3]["seconds"].as_f64());
    // Sampling: binary samples and probabilities.
    let out = dir.path().join("samples.h5");
    assert!(
        ok(&["sample", "--run", s(&run), "-n", "10", "--seed", "1", "--out", s(&out)]).contains("10 binarised samples")
    );
    let SpikeData::Samples(set) = read(&out) else {
        panic!("samples expected")
    };
    assert_eq!((set.n_samples(), set.n_neurons(), set.n_bins()), (10, 4, 16));
    let again = dir.path().join("again.npy");
    ok(&[
        "sample",
        "--run",
        s(&run),
        "-n",
        "10",
        "--seed",
        "1",
        "--out",
        s(&again),
    ]);
    let SpikeData::Samples(set2) = read(&again) else {
        panic!("samples expected")
    };
    assert_eq!(set.to_owned_values(), set2.to_owned_values(), "same seed, same samples");
    let probs = dir.path().join("p.h5");
    ok(&[
        "sample",
        "--run",
        s(&run),
        "-n",
        "5",
        "--probabilities",
        "--out",
        s(&probs),
    ]);
    let f = hdf5::File::open(&probs).unwrap();
    let p = f.dataset("probabilities").unwrap().read_raw::<f32>().unwrap();
    assert_eq!(p.len(), 5 * 4 * 16);
    assert!(p.iter().all(|&x| x > 0.0 && x < 1.0));
    // Clear errors.
    let e = fails(&["sample", "--run", s(&dir.path().join("nope")), "--out", s(&out)]);
    assert!(e.contains("no checkpoint"), "{e}");
    let e = fails(&[
        "train",
        "--data",
        s(&sim),
        "--window",
        "16",
        "--iters",
        "1",
        "--out",
        s(&run),
        "--arch",
        "conv",
        "--preset",
        "nope",
    ]);
    assert!(e.contains("unknown preset 'nope'"), "{e}");
    let e = fails(&[
        "train",
        "--data",
        s(&retina()),
        "--window",
        "30",
        "--iters",
        "1",
        "--out",
        s(&dir.path().join("r30")),
    ]);
    assert!(e.contains("T divisible by 4"), "{e}");
}

/// `--sampled-fakes`, `--critic-iters`, `--acf-weight`, `--rate-weight`, `--moment-split`,
/// `--moment-batch` and the moment-only phase's flags reach the saved configuration (the
/// preset's unless asked for).
#[test]
fn sampled_fakes_critic_iters_and_acf_weight_are_recorded_in_the_run_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim.h5");
    ok(&[
        "simulate",
        "uniform",
        "--neurons",
        "4",
        "--bins",
        "16",
        "--samples",
        "64",
        "--seed",
        "3",
        "--out",
        s(&sim),
    ]);
    let config = small_gan_config(dir.path(), 4, 16);
    // Runs `train` through `check` (`ok` or `fails`), its settings from the configuration file
    // (or `--preset` in `flags`, which the file would replace), with `flags` added; 2 iterations
    // unless `flags` has `--iters`.
    let train = |run: &Path, flags: &[&str], check: fn(&[&str]) -> String| {
        let source = if flags.contains(&"--preset") {
            vec![]
        } else {
            vec!["--config".to_string(), s(&config).into()]
        };
        let mut args = vec![
            "train".to_string(),
            "--data".into(),
            s(&sim).into(),
            "--window".into(),
            "16".into(),
        ];
        args.extend(source);
        if !flags.contains(&"--iters") {
            args.extend(["--iters".into(), "2".into()]);
        }
        args.extend(["--eval-every".into(), "0".into(), "--out".into(), s(run).into()]);
        args.extend(flags.iter().map(|f| f.to_string()));
        check(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let asked = [
        "--sampled-fakes",
        "--critic-iters",
        "2",
        "--moment-weight",
        "1",
        "--acf-weight",
        "2.5",
        "--rate-weight",
        "16",
        "--count-weight",
        "6",
        "--moment-batch",
        "40",
        "--polish-fraction",
        "0.5",
        "--polish-windows",
        "24",
        "--polish-lr",
        "0.001",
        "--moment-split",
        "--polish-rate-weight",
        "8",
        "--polish-split=false",
        "--polish-moment-decay",
        "0.9",
    ];
    for (flags, want) in [(&asked[..], true), (&[][..], false)] {
        let run = dir.path().join(format!("run{want}"));
        train(&run, flags, ok);
        let saved = read_json(&run.join("config.json"));
        assert_eq!(saved["sampled_fakes"].as_bool().unwrap_or(false), want, "{saved}");
        let from_config = read_json(&config);
        let critic_iters = if want {
            2
        } else {
            from_config["critic_iters"].as_u64().unwrap()
        };
        assert_eq!(saved["critic_iters"], critic_iters, "{saved}");
        // The configuration file has no weight: none unless asked for.
        let acf_weight = if want { Some(2.5) } else { None };
        assert_eq!(saved["autocorrelogram_weight"].as_f64(), acf_weight, "{saved}");
        assert_eq!(saved["rate_weight"].as_f64(), want.then_some(16.0), "{saved}");
        assert_eq!(saved["count_weight"].as_f64(), want.then_some(6.0), "{saved}");
        let split = (saved["moment_split"].as_bool(), saved["polish_split"].as_bool());
        assert_eq!(
            split,
            if want { (Some(true), Some(false)) } else { (None, None) },
            "{saved}"
        );
        assert_eq!(saved["polish_rate_weight"].as_f64(), want.then_some(8.0), "{saved}");
        assert_eq!(saved["polish_moment_decay"].as_f64(), want.then_some(0.9), "{saved}");
        assert_eq!(saved["moment_batch"].as_u64(), want.then_some(40), "{saved}");
        let polish = (
            saved["polish_fraction"].as_f64(),
            saved["polish_windows"].as_u64(),
            saved["polish_lr"].as_f64(),
        );
        assert_eq!(
            polish,
            if want {
                (Some(0.5), Some(24), Some(0.001))
            } else {
                (None, None, None)
            }
        );
        // The second of the two iterations is in the moment-only phase: no critic update.
        let log: Vec<serde_json::Value> = std::fs::read_to_string(run.join("log.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let last = log.last().unwrap();
        assert_eq!(last["iteration"], 2, "{last}");
        assert_eq!(last["polishing"], want, "{last}");
        assert_eq!(last["critic_loss"].is_null(), want, "{last}");
        assert!(
            last["moment_loss"].as_f64().is_some_and(f64::is_finite) == want,
            "{last}"
        );
    }
    // By time: with --max-minutes the phase takes the last share of the minutes. (The run lasts
    // 3 s; its phase begins after 0.3 s, and an iteration of this model takes milliseconds.)
    let run = dir.path().join("by-time");
    let flags = [
        "--moment-weight",
        "1",
        "--polish-fraction",
        "0.9",
        "--iters",
        "1000000",
        "--max-minutes",
        "0.05",
    ];
    train(&run, &flags, ok);
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["polishing"], true, "{last}");
    assert!(last["iteration"].as_u64().unwrap() < 1_000_000, "{last}");
    // A phase as long as the run is refused.
    let e = train(
        &dir.path().join("bad0"),
        &["--moment-weight", "1", "--polish-fraction", "1"],
        fails,
    );
    assert!(e.contains("polish_fraction in (0, 1)"), "{e}");
    // A negative weight is refused before training starts.
    let e = train(&dir.path().join("bad"), &["--acf-weight=-1"], fails);
    assert!(e.contains("autocorrelogram_weight must be >= 0"), "{e}");
    // So is a weight without the moment term it belongs to (the configuration has none).
    for flag in ["--acf-weight", "--rate-weight", "--count-weight"] {
        let e = train(&dir.path().join("bad2"), &[flag, "1"], fails);
        assert!(e.contains("it needs moment_weight > 0"), "{e}");
    }
    let e = train(&dir.path().join("bad3"), &["--rate-weight=-2"], fails);
    assert!(e.contains("rate_weight must be >= 0"), "{e}");
    let e = train(&dir.path().join("bad4"), &["--count-weight=-1"], fails);
    assert!(e.contains("count_weight must be >= 0"), "{e}");
    // The preset's moment batch does not stand in the way of turning its moment term off.
    let run = dir.path().join("no-term");
    train(&run, &["--preset", "moments", "--moment-weight", "0"], ok);
    let saved = read_json(&run.join("config.json"));
    assert_eq!(
        (saved["moment_weight"].as_f64(), saved["moment_batch"].as_u64()),
        (Some(0.0), Some(512)),
        "{saved}"
    );
}

/// The `moments` preset (issue 7's best) on a small simulated set: after 200 iterations its
/// samples' errors are below a level set with 1.25x margin or more over the measured value, and below the paper preset's
/// after the same iterations.
#[test]
fn moments_preset_reaches_its_error_level() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim.h5");
    ok(&[
        "simulate",
        "uniform",
        "--neurons",
        "8",
        "--bins",
        "16",
        "--samples",
        "2048",
        "--corr",
        "0.3",
        "--group",
        "2",
        "--refractory",
        "2",
        "--seed",
        "5",
        "--out",
        s(&sim),
    ]);
    let errors = |preset: &str| -> serde_json::Value {
        let run = dir.path().join(preset);
        ok(&[
            "train",
            "--data",
            s(&sim),
            "--window",
            "16",
            "--preset",
            preset,
            "--iters",
            "200",
            "--seed",
            "0",
            "--eval-every",
            "200",
            "--eval-samples",
            "2048",
            "--out",
            s(&run),
        ]);
        let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
        let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
        last["errors"].clone()
    };
    let (moments, paper) = (errors("moments"), errors("paper"));
    let e = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    // Measured (seed 0, rates calibrated per neuron and bin, moment term over 512 windows, the last
    // 110 iterations moment-only over 1024 windows with pooled rates at weight 4, averaged batch
    // moments (decay 0.9) and learning rate 1e-3): covariance 0.254, lag covariance 0.207,
    // autocorrelogram 0.475, time course 0.73, k-probabilities 0.024, mean 0.139 (over 2048
    // windows, the preset before session 22: 0.194, 0.190, 0.502, 0.83, 0.030, 0.109; the last 80
    // moment-only, the preset before session 21: 0.224, 0.171, 0.466, 0.77, 0.020, 0.125; with one
    // batch's moments at learning rate 5e-4 too: 0.312, 0.187, 0.410, 0.79, 0.015, 0.117); the
    // paper preset: 0.43, 0.54, 0.55, 5.99, 0.085, 1.22. (The last 50 moment-only, one batch's
    // moments: 0.294, 0.194, 0.419, 0.78, 0.019, 0.128; without the phase: 0.244, 0.193, 0.415,
    // 0.78, 0.024, 0.146: at 120 iterations the weight average the phase starts from is still far
    // behind the generator.)
    for (key, level) in [
        ("covariance", 0.40),
        ("lag_covariance", 0.29),
        ("autocorrelogram", 0.65),
        ("time_course", 1.2),
        ("k_probabilities", 0.04),
        ("mean", 0.2),
    ] {
        assert!(e(&moments, key) < level, "{key}: {moments} (level {level})");
    }
    for (key, share) in [
        ("covariance", 0.85),
        ("lag_covariance", 0.75),
        ("time_course", 0.75),
        ("k_probabilities", 0.75),
        ("mean", 0.75),
    ] {
        assert!(
            e(&moments, key) < share * e(&paper, key),
            "{key}: {moments} vs paper {paper}"
        );
    }
    // The run holds its calibrated sampling generator; calibrating to another file's rates
    // needs the same neurons.
    let run = dir.path().join("moments");
    assert!(run.join("checkpoint/generator_sampling.bpk").exists());
    let out = dir.path().join("s.h5");
    let e = fails(&[
        "sample",
        "--run",
        s(&run),
        "-n",
        "10",
        "--calibrate-to",
        s(&retina()),
        "--out",
        s(&out),
    ]);
    assert!(
        e.contains("50 neurons, but the GAN") && e.contains("generates 8"),
        "{e}"
    );
    ok(&[
        "sample",
        "--run",
        s(&run),
        "-n",
        "10",
        "--calibrate-to",
        s(&sim),
        "--out",
        s(&out),
    ]);
    let model = dir.path().join("model.json");
    let e = fails(&[
        "sample",
        "--model",
        s(&model),
        "--calibrate-to",
        s(&sim),
        "--out",
        s(&out),
    ]);
    assert!(e.contains("--calibrate-to is for Spike-GAN runs"), "{e}");
}
