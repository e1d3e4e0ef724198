//! `spikegan importance` and `spikegan packets` on simulated two-mode packet data. What the maps
//! mean is tested in spikegan-model with hand-made critics; here the commands, files and errors.

use std::path::Path;

use crate::{fails, ok, s, small_gan_config};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn importance_maps_and_packets_of_a_trained_critic() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("two_mode.h5");
    ok(&[
        "simulate",
        "two-mode",
        "--neurons",
        "8",
        "--bins",
        "16",
        "--group",
        "4",
        "--rate",
        "0.05",
        "--samples",
        "64",
        "--seed",
        "4",
        "--out",
        s(&sim),
    ]);
    let config = small_gan_config(dir.path(), 8, 16);
    let run = dir.path().join("run");
    ok(&[
        "train",
        "--data",
        s(&sim),
        "--window",
        "16",
        "--config",
        s(&config),
        "--eval-every",
        "0",
        "--out",
        s(&run),
    ]);
    let maps = dir.path().join("maps.h5");
    let importance = |out: &Path| {
        ok(&[
            "importance",
            "--run",
            s(&run),
            "--data",
            s(&sim),
            "--max-samples",
            "24",
            "--seed",
            "2",
            "--out",
            s(out),
        ])
    };
    assert!(importance(&maps).contains("importance maps of 24 samples"));
    let f = hdf5::File::open(&maps).unwrap();
    let values = f.dataset("maps").unwrap().read_raw::<f32>().unwrap();
    let samples = f.dataset("samples").unwrap().read_raw::<u8>().unwrap();
    assert_eq!(f.dataset("maps").unwrap().shape(), vec![24, 8, 16]);
    assert_eq!(values.len(), samples.len());
    for (v, x) in values.iter().zip(&samples) {
        assert!(v.is_finite() && *v >= 0.0);
        if *x == 0 {
            assert_eq!(*v, 0.0, "no importance where there is no spike");
        }
    }
    assert!(values.iter().any(|&v| v > 0.0));
    let window_width: f64 = f
        .dataset("maps")
        .unwrap()
        .attr("window_width")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert_eq!(window_width, 8.0);
    drop(f);
    // Same seed, same maps.
    let again = dir.path().join("again.h5");
    importance(&again);
    let g = hdf5::File::open(&again).unwrap();
    assert_eq!(g.dataset("maps").unwrap().read_raw::<f32>().unwrap(), values);

    let truth = dir.path().join("two_mode.truth.json");
    let packets = dir.path().join("packets.json");
    let printed = ok(&[
        "packets",
        "--maps",
        s(&maps),
        "--truth",
        s(&truth),
        "--out",
        s(&packets),
    ]);
    assert!(printed.contains("stimulus AUC"), "{printed}");
    let p = json(&packets);
    assert_eq!(p["samples"], 24);
    assert_eq!(p["map_settings"]["seed"], 2, "the settings recorded with the maps");
    assert_eq!(p["packet"].as_array().unwrap().len(), 8);
    assert_eq!(p["packet"][0].as_array().unwrap().len(), 16);
    assert_eq!(p["recovery"].as_array().unwrap().len(), 2);
    let auc = p["stimulus"]["auc_spike_counts"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc));
    let tpr = p["stimulus"]["roc_maps"]["true_positive_rate"].as_array().unwrap();
    assert_eq!((tpr[0].as_f64(), tpr.last().unwrap().as_f64()), (Some(0.0), Some(1.0)));

    // Errors name the file and what is wrong.
    let e = fails(&["packets", "--maps", s(&sim), "--out", s(&packets)]);
    assert!(e.contains("two_mode.h5") && e.contains("/maps"), "{e}");
    let e = fails(&[
        "packets",
        "--maps",
        s(&maps),
        "--percentile",
        "120",
        "--out",
        s(&packets),
    ]);
    assert!(e.contains("--percentile"), "{e}");
    // A maps file whose recorded settings are corrupt is refused, naming the file and attribute.
    let good = spike_data::io::read_sample_maps(&maps).unwrap();
    let corrupt = dir.path().join("corrupt_maps.h5");
    spike_data::io::write_sample_maps(&corrupt, &good.samples, &good.values, &[("step", -2.0)]).unwrap();
    let e = fails(&["packets", "--maps", s(&corrupt), "--out", s(&packets)]);
    assert!(e.contains("corrupt_maps.h5") && e.contains("'step'"), "{e}");
    let other = dir.path().join("other.h5");
    ok(&[
        "simulate",
        "uniform",
        "--neurons",
        "4",
        "--bins",
        "16",
        "--samples",
        "8",
        "--out",
        s(&other),
    ]);
    let e = fails(&["importance", "--run", s(&run), "--data", s(&other), "--out", s(&maps)]);
    assert!(e.contains("other.h5") && e.contains("4 neurons"), "{e}");
    let e = fails(&[
        "packets",
        "--maps",
        s(&maps),
        "--truth",
        s(&dir.path().join("other.truth.json")),
        "--out",
        s(&packets),
    ]);
    assert!(e.contains("packets"), "{e}");
}
