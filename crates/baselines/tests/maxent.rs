//! Maximum-entropy fits: recovery of known parameters, exact moment matching, the MCMC path
//! against exact enumeration, basis conversion and degenerate data.

use baselines::maxent::{MaxEntFit, MaxEntKind, MaxEntModel, MaxEntParams};
use baselines::moments::PatternMoments;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spike_data::{FitSpikeModel, SpikeModel, SpikeRaster};

/// A pairwise (or k-pairwise) model with random parameters in a realistic range.
fn random_model(n: usize, kind: MaxEntKind, seed: u64) -> MaxEntModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut couplings = vec![0.0; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let v = rng.random_range(-0.6..0.6);
            couplings[i * n + j] = v;
            couplings[j * n + i] = v;
        }
    }
    let mut count_potential = vec![0.0; n + 1];
    if kind == MaxEntKind::KPairwise {
        for (k, c) in count_potential.iter_mut().enumerate().skip(1) {
            *c = -0.05 * (k * k) as f64 + rng.random_range(-0.2..0.2);
        }
    }
    MaxEntModel {
        kind,
        fields: (0..n).map(|_| rng.random_range(-2.0..-0.5)).collect(),
        couplings,
        count_potential,
    }
}

/// Exact E[s_i], E[s_i s_j] and P(K) of a model by brute force over 2^N patterns.
fn brute_moments(m: &MaxEntModel) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = m.n_neurons();
    let mut z = 0.0;
    let (mut r, mut p, mut k) = (vec![0.0; n], vec![0.0; n * n], vec![0.0; n + 1]);
    for x in 0..1usize << n {
        let s: Vec<u8> = (0..n).map(|i| ((x >> i) & 1) as u8).collect();
        let w = m.log_weight(&s).exp();
        z += w;
        k[x.count_ones() as usize] += w;
        for i in 0..n {
            for j in 0..n {
                if s[i] == 1 && s[j] == 1 {
                    p[i * n + j] += w;
                }
            }
            r[i] += w * s[i] as f64;
        }
    }
    let norm = |v: Vec<f64>| v.into_iter().map(|x| x / z).collect::<Vec<_>>();
    (norm(r), norm(p), norm(k))
}

fn log_likelihood(m: &MaxEntModel, data: &SpikeRaster) -> f64 {
    let n = data.n_neurons();
    let lz = m.exact_log_partition().unwrap();
    data.counts().chunks_exact(n).map(|s| m.log_weight(s) - lz).sum::<f64>() / data.n_bins() as f64
}

#[test]
fn exact_pairwise_fit_recovers_known_parameters_from_its_own_samples() {
    let truth = random_model(10, MaxEntKind::Pairwise, 1);
    let samples = MaxEntFit::from(truth.clone()).sample(100_000, 1, 7).unwrap();
    let data = samples.concatenated();
    let fit = MaxEntParams::new(MaxEntKind::Pairwise).fit(&data).unwrap();
    let d = &fit.diagnostics;
    assert!(
        d.converged && d.method == "exact" && d.max_abs_residual <= 1e-8,
        "{d:?}"
    );
    // Maximum likelihood: the fit explains the data at least as well as the truth, and by no more
    // than sampling allows (2 n (LL_fit - LL_true) ~ chi^2 with 55 degrees of freedom: mean
    // 2.75e-4 per bin here, 1e-3 is beyond its 99.99th percentile).
    let (ll_fit, ll_true) = (log_likelihood(&fit.model, &data), log_likelihood(&truth, &data));
    assert!(
        ll_fit >= ll_true - 1e-12 && ll_fit - ll_true < 1e-3,
        "{ll_fit} vs {ll_true}"
    );
    let exact = d.exact.as_ref().unwrap();
    assert!((exact.log_likelihood_per_bin - ll_fit).abs() < 1e-9);
    // And the parameters themselves, within sampling error (standard errors here are 0.02-0.08).
    let max_dj = fit
        .model
        .couplings
        .iter()
        .zip(&truth.couplings)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let max_dh = fit
        .model
        .fields
        .iter()
        .zip(&truth.fields)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max_dj < 0.3 && max_dh < 0.2, "max |dJ| {max_dj}, max |dh| {max_dh}");
}

#[test]
fn exact_k_pairwise_fit_matches_every_moment_to_1e_6() {
    let truth = random_model(10, MaxEntKind::KPairwise, 2);
    let data = MaxEntFit::from(truth).sample(20_000, 3, 3).unwrap().concatenated();
    let target = PatternMoments::of_raster(&data).unwrap();
    let fit = MaxEntParams::new(MaxEntKind::KPairwise).fit(&data).unwrap();
    let (r, p, k) = brute_moments(&fit.model);
    let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(diff(&r, &target.rates) < 1e-6);
    assert!(diff(&p, &target.pair_means) < 1e-6);
    assert!(
        diff(&k, &target.count_probabilities) < 1e-6,
        "{k:?} vs {:?}",
        target.count_probabilities
    );
    // Entropy reported = -sum p log2 p of the fitted distribution.
    let n = 10;
    let lz = fit.model.exact_log_partition().unwrap();
    let h: f64 = (0..1usize << n)
        .map(|x| {
            let s: Vec<u8> = (0..n).map(|i| ((x >> i) & 1) as u8).collect();
            let lp = fit.model.log_weight(&s) - lz;
            -lp.exp() * lp / std::f64::consts::LN_2
        })
        .sum();
    assert!((fit.diagnostics.exact.as_ref().unwrap().entropy_bits - h).abs() < 1e-9);
}

/// An MCMC fit (exact enumeration off) on 16 chains of at most `samples_per_chain_max` samples.
fn forced_mcmc(kind: MaxEntKind, seed: u64, samples_per_chain_max: usize) -> MaxEntParams {
    let mut params = MaxEntParams::new(kind).with_seed(seed);
    params.exact_max_neurons = 0;
    params.mcmc.chains = 16;
    params.mcmc.samples_per_chain_max = samples_per_chain_max;
    params
}

#[test]
fn mcmc_fit_agrees_with_the_data_within_sampling_noise() {
    let truth = random_model(12, MaxEntKind::KPairwise, 4);
    let data = MaxEntFit::from(truth).sample(20_000, 2, 5).unwrap().concatenated();
    let target = PatternMoments::of_raster(&data).unwrap();
    let params = forced_mcmc(MaxEntKind::KPairwise, 9, 4000);
    let fit = params.fit(&data).unwrap();
    assert_eq!(fit.diagnostics.method, "mcmc");
    assert!(fit.diagnostics.converged, "{:?}", fit.diagnostics);
    // The fitted model's exact moments are within a few standard errors of the data's.
    let (r, p, _) = brute_moments(&fit.model);
    let nb = data.n_bins() as f64;
    let worst_z = (0..12)
        .flat_map(|i| (i..12).map(move |j| (i, j)))
        .map(|(i, j)| {
            let (m, d) = (p[i * 12 + j], target.pair_means[i * 12 + j]);
            (m - d).abs() / (d * (1.0 - d) / nb).sqrt().max(1.0 / nb)
        })
        .fold(0.0, f64::max);
    assert!(worst_z < 6.0, "worst pair-mean residual {worst_z} standard errors");
    let rate_err = r
        .iter()
        .zip(&target.rates)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(rate_err < 0.01, "{rate_err}");
    // Same seed, same fit.
    let again = params.fit(&data).unwrap();
    assert_eq!(again.model, fit.model);
}

/// Run past convergence (a tolerance of 1e-6 is never met): the step decay lets the parameters settle
/// and the best iterate is returned, so the model's exact moments end close to the data's
/// instead of wherever the last noisy step left them.
#[test]
fn an_mcmc_fit_at_its_iteration_limit_returns_settled_parameters() {
    let truth = random_model(12, MaxEntKind::Pairwise, 7);
    let data = MaxEntFit::from(truth).sample(20_000, 2, 5).unwrap().concatenated();
    let target = PatternMoments::of_raster(&data).unwrap();
    let mut params = forced_mcmc(MaxEntKind::Pairwise, 3, 2000);
    params.mcmc.tolerance_z = 1e-6;
    params.mcmc.max_iterations = 80;
    let fit = params.fit(&data).unwrap();
    assert!(!fit.diagnostics.converged);
    let (_, p, _) = brute_moments(&fit.model);
    let nb = data.n_bins() as f64;
    let z2: Vec<f64> = (0..12)
        .flat_map(|i| (i + 1..12).map(move |j| (i, j)))
        .map(|(i, j)| {
            let (m, d) = (p[i * 12 + j], target.pair_means[i * 12 + j]);
            ((m - d) / (d * (1.0 - d) / nb).sqrt().max(1.0 / nb)).powi(2)
        })
        .collect();
    let rms_z = (z2.iter().sum::<f64>() / z2.len() as f64).sqrt();
    // Measured: 0.33; with full steps to the end (the fit before the decay) 0.65.
    assert!(rms_z < 0.45, "exact pair-mean residuals: RMS {rms_z} standard errors");
}

#[test]
fn spin_basis_describes_the_same_distribution() {
    let m = random_model(6, MaxEntKind::KPairwise, 11);
    let spin = m.to_spin_basis();
    let n = 6;
    let offsets: Vec<f64> = (0..1usize << n)
        .map(|x| {
            let s: Vec<u8> = (0..n).map(|i| ((x >> i) & 1) as u8).collect();
            let sigma: Vec<f64> = s.iter().map(|&v| 2.0 * v as f64 - 1.0).collect();
            let mut e = m.count_potential[x.count_ones() as usize];
            for i in 0..n {
                e += spin.fields[i] * sigma[i];
                for j in i + 1..n {
                    e += spin.couplings[i * n + j] * sigma[i] * sigma[j];
                }
            }
            m.log_weight(&s) - e
        })
        .collect();
    // The two log-weights differ by a constant (absorbed by Z): same probabilities.
    assert!(offsets.iter().all(|o| (o - offsets[0]).abs() < 1e-12));
    let back = spin.to_binary_basis(m.kind, m.count_potential.clone());
    for (a, b) in back
        .fields
        .iter()
        .chain(&back.couplings)
        .zip(m.fields.iter().chain(&m.couplings))
    {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn silent_and_always_active_neurons_get_bounded_fields_and_never_nan() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (bins, n) = (5000, 5);
    let mut counts = vec![0u8; bins * n];
    for t in 0..bins {
        for i in 0..3 {
            counts[t * n + i] = u8::from(rng.random::<f64>() < 0.2);
        }
        counts[t * n + 4] = 1; // always active; neuron 3 never fires
    }
    let data = SpikeRaster::new(counts, bins, n).unwrap();
    for exact_max in [20, 0] {
        for kind in [MaxEntKind::Pairwise, MaxEntKind::KPairwise] {
            let mut p = MaxEntParams::new(kind);
            p.exact_max_neurons = exact_max;
            p.mcmc.chains = 8;
            p.mcmc.samples_per_chain_max = 2000;
            let fit = p.fit(&data).unwrap();
            let m = &fit.model;
            assert!(
                m.fields
                    .iter()
                    .chain(&m.couplings)
                    .chain(&m.count_potential)
                    .all(|v| v.is_finite()),
                "{m:?}"
            );
            assert_eq!(fit.diagnostics.fixed_neurons, vec![3, 4]);
            assert!(m.fields[3] <= -19.0 && m.fields[4] >= 19.0);
            let s = fit.sample(500, 4, 1).unwrap();
            for k in 0..500 {
                for b in 0..4 {
                    assert_eq!((s.get(k, 3, b), s.get(k, 4, b)), (0, 1));
                }
            }
        }
    }
}

#[test]
fn independent_samples_are_drawn_directly_with_the_fitted_rates() {
    // 40 neurons: above the exact limit, where the other kinds run Gibbs chains.
    let (n, bins) = (40, 4000);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let rates: Vec<f64> = (0..n).map(|i| 0.02 + 0.01 * i as f64).collect();
    let values: Vec<u8> = (0..bins * n)
        .map(|k| u8::from(rng.random::<f64>() < rates[k % n]))
        .collect();
    let data = SpikeRaster::new(values, bins, n).unwrap();
    let fit = MaxEntParams::new(MaxEntKind::Independent).fit(&data).unwrap();
    let samples = fit.sample(500, 32, 3).unwrap();
    let values = samples.to_owned_values();
    assert_eq!(
        values,
        fit.sample(500, 32, 3).unwrap().to_owned_values(),
        "same seed, same samples"
    );
    let draws = (500 * 32) as f64;
    for (i, spikes) in data.spikes_per_neuron().into_iter().enumerate() {
        let fitted = spikes as f64 / bins as f64;
        let ones: f64 = (0..500)
            .flat_map(|s| (0..32).map(move |t| (s, t)))
            .map(|(s, t)| f64::from(samples.get(s, i, t)))
            .sum();
        let se = (fitted * (1.0 - fitted) / draws).sqrt();
        assert!(
            (ones / draws - fitted).abs() < 5.0 * se,
            "neuron {i}: {} vs {fitted}",
            ones / draws
        );
    }
}

/// The independent model needs neither enumeration nor Gibbs chains: 300 neurons (one silent)
/// fit in closed form, and its likelihood and entropy equal the Bernoulli ones computed here.
#[test]
fn independent_fits_any_number_of_neurons_in_closed_form() {
    let (n, bins) = (300, 2000);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let values: Vec<u8> = (0..bins * n)
        .map(|k| u8::from(k % n != 7 && rng.random::<f64>() < 0.01 + 0.2 * (k % n) as f64 / n as f64))
        .collect();
    let data = SpikeRaster::new(values.clone(), bins, n).unwrap();
    let start = std::time::Instant::now();
    let fit = MaxEntParams::new(MaxEntKind::Independent).fit(&data).unwrap();
    let d = &fit.diagnostics;
    assert_eq!(
        (d.method.as_str(), d.converged, d.fixed_neurons.clone()),
        ("closed form", true, vec![7])
    );
    assert!(d.max_abs_residual < 1e-8, "{d:?}");
    assert!(
        start.elapsed().as_secs_f64() < 10.0,
        "no sampling: {:?}",
        start.elapsed()
    );
    let rates: Vec<f64> = (0..n)
        .map(|i| (0..bins).map(|b| f64::from(values[b * n + i])).sum::<f64>() / bins as f64)
        .collect();
    let ln = |p: f64| if p > 0.0 { p.ln() } else { 0.0 };
    let log_likelihood: f64 = (0..bins)
        .map(|b| {
            (0..n)
                .map(|i| {
                    if values[b * n + i] == 1 {
                        ln(rates[i])
                    } else {
                        ln(1.0 - rates[i])
                    }
                })
                .sum::<f64>()
        })
        .sum::<f64>()
        / bins as f64;
    let entropy_bits: f64 = rates
        .iter()
        .map(|&p| -(p * ln(p) + (1.0 - p) * ln(1.0 - p)))
        .sum::<f64>()
        / 2f64.ln();
    let exact = d.exact.as_ref().unwrap();
    assert!(
        (exact.log_likelihood_per_bin - log_likelihood).abs() < 1e-6,
        "{exact:?} vs {log_likelihood}"
    );
    assert!(
        (exact.entropy_bits - entropy_bits).abs() < 1e-6,
        "{exact:?} vs {entropy_bits}"
    );
}

/// A pairwise model of 200 neurons (20100 parameters) would need a 3 GB dense Newton matrix: a
/// clear error before any sampling, instead of running out of memory.
#[test]
fn too_many_parameters_for_the_mcmc_fit_are_refused_up_front() {
    let (n, bins) = (200, 50);
    let values: Vec<u8> = (0..bins * n).map(|k| u8::from(k % 7 == 0 || k % 11 == 0)).collect();
    let data = SpikeRaster::new(values, bins, n).unwrap();
    let start = std::time::Instant::now();
    let e = MaxEntParams::new(MaxEntKind::Pairwise)
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("20100 free parameters") && e.contains("at most 12000"),
        "{e}"
    );
    assert!(
        start.elapsed().as_secs_f64() < 5.0,
        "refused before sampling: {:?}",
        start.elapsed()
    );
    assert!(MaxEntParams::new(MaxEntKind::Independent).fit(&data).is_ok());
}

#[test]
fn invalid_parameters_and_data_are_clear_errors() {
    let mut p = MaxEntParams::new(MaxEntKind::Pairwise);
    p.exact_max_neurons = 30;
    let data = SpikeRaster::new(vec![0, 1, 1, 0], 2, 2).unwrap();
    assert!(p.fit(&data).unwrap_err().to_string().contains("at most 24"));
    let counts = SpikeRaster::new(vec![0, 2, 1, 0], 2, 2).unwrap();
    let e = MaxEntParams::new(MaxEntKind::Pairwise)
        .fit(&counts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("binary"), "{e}");
    let fit = MaxEntParams::new(MaxEntKind::Independent).fit(&data).unwrap();
    assert!(fit.sample(0, 4, 0).is_err());
}

#[test]
fn a_hand_edited_model_file_with_impossible_sampling_settings_is_refused() {
    let data = SpikeRaster::new(vec![0, 1, 1, 0, 1, 1], 3, 2).unwrap();
    let fit = MaxEntParams::new(MaxEntKind::Pairwise).fit(&data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    baselines::Baseline::MaxEnt {
        fitted_on: Default::default(),
        fit,
    }
    .save(&path)
    .unwrap();
    assert!(baselines::Baseline::load(&path).is_ok());
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to, says) in [
        ("\"chains\":64", "\"chains\":0", "chains"),
        ("\"exact_max_neurons\":20", "\"exact_max_neurons\":70", "at most 24"),
    ] {
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let e = baselines::Baseline::load(&path).unwrap_err().to_string();
        assert!(e.contains("m.json") && e.contains(says), "{e}");
    }
}
