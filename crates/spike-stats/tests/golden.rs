//! The paper's own numbers: `shared/fixtures/stats_golden/expected.json` holds the outputs of the
//! original `tflib/analysis.py` on 1024 retina windows and 1024 k-pairwise windows.

use std::path::PathBuf;

use serde_json::Value;
use spike_data::io::{self, ReadOptions, SpikeData};
use spike_stats::{PaperStats, paper_errors, paper_stats};

fn fixtures() -> PathBuf {
    let dir = std::env::var_os("SPIKEGAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/stats_golden"));
    assert!(
        dir.join("expected.json").exists(),
        "golden fixtures not found at {}: set SPIKEGAN_FIXTURES",
        dir.display()
    );
    dir
}

fn stats_of(file: &str) -> PaperStats {
    let loaded = io::read(&fixtures().join(file), &ReadOptions::default()).unwrap();
    let SpikeData::Samples(set) = loaded.data else {
        panic!("{file}: samples expected")
    };
    assert_eq!((set.n_samples(), set.n_neurons(), set.n_bins()), (1024, 50, 32));
    paper_stats(&set)
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("unexpected {other}"),
    }
}

fn check(name: &str, got: &[f64], expected: &Value) {
    let want = flat(expected);
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        let ok = (g - w).abs() <= 1e-12 || (g - w).abs() <= 1e-9 * w.abs();
        assert!(ok, "{name}[{k}]: got {g}, expected {w}");
    }
}

#[test]
fn statistics_and_errors_match_the_original_code() {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap();
    let real = stats_of("real_retina_windows_0_1024.npy");
    let model = stats_of("model_k_pairwise_windows_0_1024.npy");
    for (which, st) in [("real", &real), ("model", &model)] {
        let g = &golden[which];
        check(
            &format!("{which}.mean_spike_count"),
            &st.mean_spike_count,
            &g["mean_spike_count"],
        );
        check(&format!("{which}.cov_mat"), &st.covariance, &g["cov_mat"]);
        check(&format!("{which}.variances"), &st.variances(), &g["variances"]);
        check(&format!("{which}.k_probs"), &st.k_probabilities, &g["k_probs"]);
        check(
            &format!("{which}.autocorrelogram"),
            &st.autocorrelogram,
            &g["autocorrelogram"],
        );
        check(
            &format!("{which}.time_course"),
            &st.time_course,
            &g["firing_average_time_course"],
        );
        check(&format!("{which}.lag_cov_mat"), &st.lag_covariance, &g["lag_cov_mat"]);
    }
    let e = paper_errors(&model, &real).unwrap();
    let g = &golden["errors"];
    for (name, got, key) in [
        ("mean", e.mean, "mean_error"),
        ("covariance", e.covariance, "corr_error"),
        ("variance", e.variance, "variance_error"),
        ("k_probabilities", e.k_probabilities, "k_probs_error"),
        ("autocorrelogram", e.autocorrelogram, "acf_error"),
        ("time_course", e.time_course, "time_course_error"),
        ("lag_covariance", e.lag_covariance, "lag_corr_error"),
    ] {
        check(name, &[got], &g[key]);
    }
}
