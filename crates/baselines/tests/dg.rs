//! Dichotomized Gaussian fits: moments of samples against targets, temporal structure, degenerate
//! rates, saving and loading.

use baselines::dg::{DgKind, DgParams, GAMMA_BOUND, PairWeighting};
use baselines::moments::{PatternMoments, lagged_pair_means};
use baselines::{Baseline, FittedOn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use spike_data::{FitSpikeModel, SampleSet, SpikeModel, SpikeRaster};

/// A raster with shared input (correlations) and slow drive (temporal correlations): a latent
/// AR(1) process common to groups of neurons, thresholded.
fn correlated_raster(bins: usize, n: usize, seed: u64) -> SpikeRaster {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut drive = [0.0f64; 2];
    let mut counts = vec![0u8; bins * n];
    for t in 0..bins {
        for d in &mut drive {
            let e: f64 = StandardNormal.sample(&mut rng);
            *d = 0.8 * *d + 0.6 * e;
        }
        for i in 0..n {
            let own: f64 = StandardNormal.sample(&mut rng);
            let x = 0.6 * drive[i % 2] + 0.8 * own;
            counts[t * n + i] = u8::from(x > 1.0 + 0.1 * i as f64);
        }
    }
    SpikeRaster::new(counts, bins, n).unwrap()
}

/// Largest |a - b| / standard error of a mean of indicators with mean b over `count` draws.
fn worst_z(a: &[f64], b: &[f64], count: f64) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (y * (1.0 - y) / count).sqrt().max(1.0 / count))
        .fold(0.0, f64::max)
}

#[test]
fn spatial_dg_samples_match_rates_and_pair_means() {
    let data = correlated_raster(50_000, 6, 1);
    let target = PatternMoments::of_raster(&data).unwrap();
    let model = DgParams::new(DgKind::Spatial, 1).fit(&data).unwrap();
    assert!(model.diagnostics.projection.was_positive_definite);
    let samples = model.sample(20_000, 5, 3).unwrap();
    let got = PatternMoments::of_raster(&samples.concatenated()).unwrap();
    // Model draws are independent; the data's own noise is included through 50k bins.
    let z = worst_z(&got.pair_means, &target.pair_means, 100_000.0 / 2.0);
    assert!(z < 5.0, "pair means off by {z} standard errors");
    // No temporal structure: lag-1 products equal products of rates within noise.
    let lag = lagged_pair_means(&samples.concatenated(), 1).unwrap();
    let n = 6;
    let indep: Vec<f64> = (0..n * n).map(|k| got.rates[k / n] * got.rates[k % n]).collect();
    assert!(worst_z(&lag[n * n..], &indep, 100_000.0) < 5.0);
    // Same seed, same samples; another seed, others.
    assert_eq!(
        model.sample(100, 5, 3).unwrap().to_owned_values(),
        model.sample(100, 5, 3).unwrap().to_owned_values()
    );
    assert_ne!(
        model.sample(100, 5, 3).unwrap().to_owned_values(),
        model.sample(100, 5, 4).unwrap().to_owned_values()
    );
}

#[test]
fn a_dg_fitted_to_thresholded_gaussian_data_reproduces_its_spike_count_distribution() {
    // `correlated_raster` is itself a dichotomized Gaussian (shared and own normal inputs,
    // thresholded), so the fit, which sees only rates and pair means, must also give its P(K):
    // the check behind docs/benchmarks.md's finding that the published retina "DG" samples, whose
    // P(K) no DG of their own rates and pair means reproduces, were not made this way.
    let n = 12;
    let data = correlated_raster(60_000, n, 6);
    let target = PatternMoments::of_raster(&data).unwrap();
    let model = DgParams::new(DgKind::Spatial, 1).fit(&data).unwrap();
    let samples = model.sample(30_000, 4, 7).unwrap();
    let got = PatternMoments::of_raster(&samples.concatenated()).unwrap();
    // Data bins are autocorrelated (the drive's AR(1)), so their effective count is smaller:
    // allow 5 standard errors of 30k bins (measured: 1.1).
    let z = worst_z(&got.count_probabilities, &target.count_probabilities, 30_000.0);
    assert!(z < 5.0, "P(K) off by {z} standard errors");
    // An independent model with the same rates gets P(K) clearly wrong, so the check has teeth.
    let independent: Vec<f64> = {
        let mut q = vec![0.0; n + 1];
        q[0] = 1.0;
        for &p in &target.rates {
            for k in (1..=n).rev() {
                q[k] = q[k] * (1.0 - p) + q[k - 1] * p;
            }
            q[0] *= 1.0 - p;
        }
        q
    };
    assert!(worst_z(&independent, &target.count_probabilities, 30_000.0) > 20.0); // measured: 41
}

#[test]
fn spatio_temporal_dg_reproduces_lagged_correlations_the_spatial_one_misses() {
    let (n, t) = (4, 6);
    let data = correlated_raster(60_000, n, 2);
    let target = lagged_pair_means(&data, t - 1).unwrap();
    let temporal = DgParams::new(DgKind::Temporal, t).fit(&data).unwrap();
    assert_eq!(temporal.max_bins(), Some(t));
    // It samples its valid extension, whether or not a lag needed clipping.
    let extension = temporal.diagnostics.lag_extension.as_ref().unwrap();
    assert_eq!(extension.fitted_lags, t - 1, "{extension:?}");
    assert!(temporal.valid_lag_correlation.is_some());
    let samples = temporal.sample(20_000, t, 5).unwrap();
    // Within each window, E[s_i(b) s_j(b + lag)] for lag 0..2, averaged over positions b.
    let mut err_t = 0.0f64;
    let spatial = DgParams::new(DgKind::Spatial, t)
        .fit(&data)
        .unwrap()
        .sample(20_000, t, 5)
        .unwrap();
    let mut err_s = 0.0f64;
    for lag in 1..3 {
        for i in 0..n {
            for j in 0..n {
                let mean = |s: &SampleSet<'_>| {
                    let mut c = 0u64;
                    for k in 0..s.n_samples() {
                        for b in 0..t - lag {
                            c += u64::from(s.get(k, i, b) & s.get(k, j, b + lag));
                        }
                    }
                    c as f64 / (s.n_samples() * (t - lag)) as f64
                };
                let want = target[lag * n * n + i * n + j];
                let se = (want * (1.0 - want) / 40_000.0).sqrt();
                err_t = err_t.max((mean(&samples) - want).abs() / se);
                err_s = err_s.max((mean(&spatial) - want).abs() / se);
            }
        }
    }
    assert!(
        err_t < 6.0,
        "temporal DG lagged pair means off by {err_t} standard errors"
    );
    assert!(
        err_s > 10.0,
        "the spatial DG should miss the lagged correlations ({err_s})"
    );
    // Shorter windows come from the leading block; longer ones are refused.
    assert_eq!(temporal.sample(10, 3, 0).unwrap().n_bins(), 3);
    let e = temporal.sample(10, t + 1, 0).unwrap_err().to_string();
    assert!(e.contains("windows of 6 bins"), "{e}");
}

#[test]
fn impossible_correlations_are_projected_and_rates_of_0_or_1_stay_finite() {
    // Neurons 0, 1 always together, 1 and 2 never together, 0 and 2 always together: no Gaussian
    // does that. Neuron 3 never fires, neuron 4 always.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let bins = 4000;
    let mut counts = vec![0u8; bins * 5];
    for t in 0..bins {
        let a = u8::from(rng.random::<f64>() < 0.3);
        let b = u8::from(rng.random::<f64>() < 0.3);
        counts[t * 5..t * 5 + 5].copy_from_slice(&[a | b, a, b & !a & 1, 0, 1]);
    }
    let data = SpikeRaster::new(counts, bins, 5).unwrap();
    let model = DgParams::new(DgKind::Spatial, 1).fit(&data).unwrap();
    assert_eq!(model.diagnostics.fixed_neurons, vec![3, 4]);
    assert_eq!((model.gamma[3], model.gamma[4]), (-GAMMA_BOUND, GAMMA_BOUND));
    assert!(model.gamma.iter().chain(&model.lag_correlation).all(|v| v.is_finite()));
    let s = model.sample(2000, 2, 0).unwrap();
    for k in 0..2000 {
        assert_eq!((s.get(k, 3, 0), s.get(k, 4, 1)), (0, 1));
    }
}

#[test]
fn the_moment_fit_matches_the_pair_means_better_than_the_projection_alone() {
    // Three busy neurons whose pair means no Gaussian gives exactly (0 with 1 and with 2 often,
    // 1 and 2 never together), plus two rare ones.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (bins, n) = (20_000, 5);
    let mut counts = vec![0u8; bins * n];
    for t in 0..bins {
        let u = rng.random::<f64>();
        let (a, b) = (u8::from(u < 0.2), u8::from((0.2..0.4).contains(&u)));
        let rare = [
            u8::from(rng.random::<f64>() < 0.02),
            u8::from(rng.random::<f64>() < 0.03),
        ];
        counts[t * n..t * n + n].copy_from_slice(&[a | b, a, b, rare[0], rare[1] | a]);
    }
    let data = SpikeRaster::new(counts, bins, n).unwrap();
    let target = lagged_pair_means(&data, 0).unwrap();
    let projected = DgParams {
        moment_fit_iterations: 0,
        ..DgParams::new(DgKind::Spatial, 1)
    }
    .fit(&data)
    .unwrap();
    assert!(projected.diagnostics.moment_fit.is_none());
    // Squared misfit of the samples' pair means, weighted as each PairWeighting weighs it.
    let misfit = |model: &baselines::dg::DgModel, weighting: PairWeighting| {
        let s = model.sample(200_000, 1, 4).unwrap();
        let m = PatternMoments::of_raster(&s.concatenated()).unwrap();
        let mut sum = 0.0;
        for i in 0..n {
            for j in i + 1..n {
                let (got, want) = (m.pair_means[i * n + j], target[i * n + j]);
                let variance = want.max(1e-4) * (1.0 - want) / bins as f64;
                sum += (got - want).powi(2)
                    / match weighting {
                        PairWeighting::StandardError => variance,
                        PairWeighting::Absolute => 1.0,
                        PairWeighting::Balanced => variance.sqrt(),
                    };
            }
        }
        sum
    };
    let weightings = [
        PairWeighting::Absolute,
        PairWeighting::StandardError,
        PairWeighting::Balanced,
    ];
    let mut fitted_models = Vec::new();
    for weighting in weightings {
        let fitted = DgParams {
            pair_weighting: weighting,
            ..DgParams::new(DgKind::Spatial, 1)
        }
        .fit(&data)
        .unwrap();
        let report = fitted
            .diagnostics
            .moment_fit
            .clone()
            .expect("the solved matrix was not valid");
        assert!(!fitted.diagnostics.projection.was_positive_definite);
        assert_eq!(report.weighting, weighting);
        assert!(report.misfit_per_pair.1 < 0.9 * report.misfit_per_pair.0, "{report:?}");
        // The samples say the same, in the fit's own measure.
        let (before, after) = (misfit(&projected, weighting), misfit(&fitted, weighting));
        assert!(
            after < before,
            "{weighting:?} misfit of samples: projected {before}, fitted {after}"
        );
        fitted_models.push(fitted);
    }
    // Absolute and chi2 each win in their own measure over the other two; chi2 halves its own.
    let (absolute, chi2, balanced) = (&fitted_models[0], &fitted_models[1], &fitted_models[2]);
    for other in [chi2, balanced] {
        assert!(misfit(absolute, PairWeighting::Absolute) < misfit(other, PairWeighting::Absolute));
    }
    for other in [absolute, balanced] {
        assert!(misfit(chi2, PairWeighting::StandardError) < misfit(other, PairWeighting::StandardError));
    }
    assert!(misfit(chi2, PairWeighting::StandardError) < 0.5 * misfit(&projected, PairWeighting::StandardError));
    let fitted = balanced;
    let valid = fitted.sampling_correlation();
    for a in 0..n {
        assert!((valid[(a, a)] - 1.0).abs() < 1e-12);
    }
    assert!(baselines::correlation::min_eigenvalue(&valid).unwrap() > 0.0);
}

#[test]
fn models_save_load_and_sample_identically() {
    let data = correlated_raster(5000, 4, 4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dg.json");
    let model = DgParams::new(DgKind::Temporal, 4).fit(&data).unwrap();
    let before = model.sample(50, 4, 9).unwrap().to_owned_values();
    let baseline = Baseline::DichotomizedGaussian {
        fitted_on: FittedOn {
            file: "x.mat".into(),
            neurons: 4,
            bins: 5000,
            ..Default::default()
        },
        model,
    };
    baseline.save(&path).unwrap();
    let loaded = Baseline::load(&path).unwrap();
    assert_eq!(loaded.fitted_on().file, "x.mat");
    assert_eq!(loaded.sample(50, 4, 9).unwrap().to_owned_values(), before);
    // Corrupt and foreign files are clear errors naming the file.
    std::fs::write(&path, "{\"format\": \"something else\"}").unwrap();
    let e = Baseline::load(&path).unwrap_err().to_string();
    assert!(e.contains("dg.json") && e.contains("not a baseline model file"), "{e}");
    std::fs::write(
        &path,
        "{\"format\": \"spikegan-rs baseline model v1\", \"family\": \"maxent\"",
    )
    .unwrap();
    assert!(
        Baseline::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a JSON model file")
    );
}

#[test]
fn refractory_data_get_a_valid_temporal_model_with_the_spatial_models_lag_0() {
    // Neurons that never fire in two bins in a row (a lag-1 pair mean of 0, solved as a latent
    // correlation near -1), with a slow shared drive (positive correlations at longer lags): no
    // stationary Gaussian has these lags, so the fit must clip them and still sample.
    let (bins, n, t) = (60_000, 4, 8);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut counts = vec![0u8; bins * n];
    let mut drive = 0.0f64;
    for b in 0..bins {
        let e: f64 = StandardNormal.sample(&mut rng);
        drive = 0.9 * drive + 0.44 * e;
        for i in 0..n {
            let p = 0.15 * (1.0 + drive).clamp(0.0, 3.0) + 0.02 * i as f64;
            let refractory = b > 0 && counts[(b - 1) * n + i] == 1;
            counts[b * n + i] = u8::from(!refractory && rng.random::<f64>() < p);
        }
    }
    let data = SpikeRaster::new(counts, bins, n).unwrap();
    let params = DgParams::new(DgKind::Temporal, t);
    let temporal = params.fit(&data).unwrap();
    let extension = temporal.diagnostics.lag_extension.clone().unwrap();
    assert!(extension.clipped_lags >= 1, "{extension:?}");
    assert!(
        extension.largest_partial_correlation.iter().any(|&k| k > 1.0),
        "{extension:?}"
    );
    // Each clipped lag is refitted to its binary pair means, never ending worse than it started.
    assert_eq!(
        extension.pair_mean_misfit.len(),
        extension.clipped_lags,
        "{extension:?}"
    );
    assert!(
        extension
            .pair_mean_misfit
            .iter()
            .all(|&(before, after)| after <= before),
        "{extension:?}"
    );
    let valid = temporal.sampling_correlation();
    assert!(baselines::correlation::min_eigenvalue(&valid).unwrap() > 0.0);
    // Lag 0 is the spatial model's matrix, shrunk by the floor.
    let spatial = DgParams::new(DgKind::Spatial, 1).fit(&data).unwrap();
    let (f, lag0) = (params.lag0_floor, spatial.sampling_correlation());
    for i in 0..n {
        for j in 0..n {
            let want = (1.0 - f) * lag0[(i, j)] + if i == j { f } else { 0.0 };
            assert!((valid[(i * t, j * t)] - want).abs() < 1e-5, "({i}, {j})");
        }
    }
    // The samples keep the rates and show the refractory dip (pair mean at lag 1 far below the
    // product of rates); the spatial model's do not.
    let rates = PatternMoments::of_raster(&data).unwrap().rates;
    let lag1 = |s: &SampleSet<'_>, i: usize| {
        let (mut both, mut one) = (0u64, 0u64);
        for k in 0..s.n_samples() {
            for b in 0..t {
                one += u64::from(s.get(k, i, b));
                if b + 1 < t {
                    both += u64::from(s.get(k, i, b) & s.get(k, i, b + 1));
                }
            }
        }
        (
            one as f64 / (s.n_samples() * t) as f64,
            both as f64 / (s.n_samples() * (t - 1)) as f64,
        )
    };
    let (ts, ss) = (
        temporal.sample(20_000, t, 1).unwrap(),
        spatial.sample(20_000, t, 1).unwrap(),
    );
    for (i, &p) in rates.iter().enumerate() {
        let (rate, dip) = lag1(&ts, i);
        assert!((rate - p).abs() < 0.1 * p, "neuron {i}: rate {rate} vs {p}");
        assert!(
            dip < 0.1 * p * p,
            "neuron {i}: lag-1 pair mean {dip} vs rate^2 {}",
            p * p
        );
        let (_, flat) = lag1(&ss, i);
        assert!(flat > 0.8 * p * p, "spatial neuron {i}: {flat} vs {}", p * p);
    }
}

/// 500 neurons x 32 bins would need 2 GB dense matrices: refused before any pair is solved.
#[test]
fn a_spatio_temporal_dg_too_large_for_dense_matrices_is_refused_up_front() {
    let (n, bins) = (500, 64);
    let values: Vec<u8> = (0..bins * n).map(|k| u8::from(k % 5 == 0 || k % 13 == 0)).collect();
    let data = SpikeRaster::new(values, bins, n).unwrap();
    let e = DgParams::new(DgKind::Temporal, 32).fit(&data).unwrap_err().to_string();
    assert!(
        e.contains("16000 latent Gaussian variables") && e.contains("at most 12000"),
        "{e}"
    );
}
