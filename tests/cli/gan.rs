//! `spikegan train` and `spikegan sample`.

use std::path::Path;

use spike_data::io::SpikeData;

use crate::{fails, ok, read, retina, s, small_gan_config};

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
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap()).unwrap();
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
