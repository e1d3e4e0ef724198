//! Tests of the moment term against its definitions.

use super::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spike_data::{DataOrigin, SampleSet};

fn random_data(n: usize, t: usize, windows: usize, seed: u64) -> (Vec<u8>, TrainingData) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<u8> = (0..windows * n * t)
        .map(|_| u8::from(rng.random::<f64>() < 0.3))
        .collect();
    let set = SampleSet::from_owned(values.clone(), windows, n, t, DataOrigin::default()).unwrap();
    (values, TrainingData::new(&set, 0.0).unwrap())
}

/// `count` windows (of `window` values each) drawn with replacement from the 0/1 values `v`, as
/// probabilities.
fn draw_windows(rng: &mut ChaCha8Rng, v: &[u8], window: usize, count: usize) -> Vec<f32> {
    let windows = v.len() / window;
    (0..count)
        .flat_map(|_| {
            let k = rng.random_range(0..windows);
            v[k * window..][..window].iter().map(|&x| f32::from(x))
        })
        .collect()
}

/// The targets against the definitions computed directly from the 0/1 values, for T = 70
/// (two words per row, so the shifts cross a word boundary).
#[test]
fn targets_match_the_definitions() {
    let (n, t, w) = (4, 70, 9);
    let (v, data) = random_data(n, t, w, 3);
    let m = MomentTargets::from_training(&data);
    let s = |k: usize, i: usize, b: usize| f64::from(v[(k * n + i) * t + b]);
    for i in 0..n {
        for j in 0..n {
            let pair: f64 = (0..w)
                .map(|k| (0..t).map(|b| s(k, i, b) * s(k, j, b)).sum::<f64>())
                .sum();
            if i != j {
                assert!((m.pair[i * n + j] - pair / (w * t) as f64).abs() < 1e-12);
            }
            let lag: f64 = (0..w)
                .map(|k| (0..t - 1).map(|b| s(k, i, b) * s(k, j, b + 1)).sum::<f64>())
                .sum();
            assert!((m.lag[i * n + j] - lag / (w * (t - 1)) as f64).abs() < 1e-12);
        }
        for b in 0..t {
            let tc = (0..w).map(|k| s(k, i, b)).sum::<f64>() / w as f64;
            assert!((m.time_course[i * t + b] - tc).abs() < 1e-12);
        }
        for k in 2..=MAX_AUTO_LAG {
            let a: f64 = (0..w)
                .map(|q| (0..t - k).map(|b| s(q, i, b) * s(q, i, b + k)).sum::<f64>())
                .sum();
            assert!((m.auto[i * (MAX_AUTO_LAG - 1) + k - 2] - a / (w * (t - k)) as f64).abs() < 1e-12);
        }
    }
    for k in 0..=n {
        let bins = (0..w)
            .flat_map(|q| (0..t).map(move |b| (q, b)))
            .filter(|&(q, b)| (0..n).map(|i| s(q, i, b)).sum::<f64>() == k as f64)
            .count();
        assert!((m.count[k] - bins as f64 / (w * t) as f64).abs() < 1e-12);
    }
    assert_eq!(
        m.len(),
        n * t + n * (n - 1) / 2 + n * n + n * (MAX_AUTO_LAG - 1) + n + 1
    );
}

/// The data's own values as probabilities score z = 0 on every moment, hence loss 0 and a
/// zero gradient.
#[test]
fn the_data_itself_has_zero_loss() {
    let (n, t, w) = (5, 12, 16);
    let (v, data) = random_data(n, t, w, 4);
    let m = MomentTargets::from_training(&data);
    let p: Vec<f32> = v.iter().map(|&x| f32::from(x)).collect();
    for (autocorrelogram, rate, count) in [(0.0, 0.0, 0.0), (3.0, 0.0, 0.0), (0.0, 4.0, 0.0), (0.0, 0.0, 5.0)] {
        let pooled = PooledWeights {
            autocorrelogram,
            rate,
            count,
        };
        let (loss, grad) = m.loss_and_gradient(&p, 1.0, pooled, false);
        assert!(loss.abs() < 1e-9, "loss {loss}");
        assert!(grad.iter().all(|g| g.abs() < 1e-4));
    }
}

/// The largest relative difference between `grad` and central finite differences of `loss` at
/// `p`, over every `stride`-th value (differences relative to at least 1e-2).
fn worst_difference_from_finite_differences(
    loss: impl Fn(&[f32]) -> f64,
    p: &[f32],
    grad: &[f32],
    stride: usize,
) -> f64 {
    let h = 1e-3f32;
    let mut worst = 0f64;
    for k in (0..p.len()).step_by(stride) {
        let (mut up, mut down) = (p.to_vec(), p.to_vec());
        up[k] += h;
        down[k] -= h;
        let fd = (loss(&up) - loss(&down)) / (2.0 * f64::from(h));
        let g = f64::from(grad[k]);
        worst = worst.max((fd - g).abs() / (fd.abs().max(g.abs()).max(1e-2)));
    }
    worst
}

/// The gradient against central finite differences of the loss (T = 12 > K + 1, so every
/// autocorrelation lag is used).
#[test]
fn gradient_matches_finite_differences() {
    let (n, t) = (4, 12);
    let (_, data) = random_data(n, t, 20, 5);
    let m = MomentTargets::from_training(&data);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let p: Vec<f32> = (0..3 * n * t).map(|_| rng.random::<f32>() * 0.6 + 0.2).collect();
    let weights = [
        (0.0, 0.0, 0.0),
        (5.0, 0.0, 0.0),
        (0.0, 7.0, 0.0),
        (0.0, 0.0, 6.0),
        (5.0, 7.0, 6.0),
    ];
    for split in [false, true] {
        for pooled in weights.map(|(autocorrelogram, rate, count)| PooledWeights {
            autocorrelogram,
            rate,
            count,
        }) {
            let loss = |p: &[f32]| m.loss_and_gradient(p, 2.0, pooled, split).0;
            let (_, grad) = m.loss_and_gradient(&p, 2.0, pooled, split);
            let worst = worst_difference_from_finite_differences(loss, &p, &grad, 7);
            assert!(
                worst < 1e-2,
                "{pooled:?}, split {split}: worst relative difference {worst}"
            );
        }
    }
}

/// Batches drawn from the training windows themselves (a generator that is the data): the
/// split estimate averages to about zero, as the squared misfit is zero, while the plain
/// square averages to about one per moment, the batch's own noise.
#[test]
fn the_split_estimate_has_no_noise_floor() {
    let (n, t, w) = (4, 12, 400);
    let (v, data) = random_data(n, t, w, 9);
    let m = MomentTargets::from_training(&data);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let pooled = PooledWeights {
        autocorrelogram: 2.0,
        rate: 3.0,
        count: 4.0,
    };
    let rounds = 300;
    let (mut split, mut square) = (Vec::new(), 0.0);
    for _ in 0..rounds {
        let p = draw_windows(&mut rng, &v, n * t, 40);
        split.push(m.loss_and_gradient(&p, 1.0, pooled, true).0);
        square += m.loss_and_gradient(&p, 1.0, pooled, false).0 / f64::from(rounds);
    }
    let mean = split.iter().sum::<f64>() / f64::from(rounds);
    let sd = (split.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(rounds - 1)).sqrt();
    let se = sd / f64::from(rounds).sqrt();
    assert!(square > 0.5, "the plain square's noise floor: {square}");
    assert!(
        mean.abs() < 4.0 * se && mean.abs() < 0.1 * square,
        "split mean {mean} (se {se}), square {square}"
    );
}

/// The pooled rate term against its definition: the data's own values as probabilities,
/// but neuron 1's pulled towards 0.5 by `delta` (which moves its rate), score the term's
/// `r * weight / len * Σ_n d_n² / v_n`, with d_n the change of neuron n's rate and v_n its
/// noise variance over all of the batch's (window, bin) terms.
#[test]
fn pooled_rates_score_a_shifted_neuron() {
    let (n, t, w) = (4, 10, 30);
    let (v, data) = random_data(n, t, w, 8);
    let m = MomentTargets::from_training(&data);
    let delta = 0.05f32;
    let p: Vec<f32> = v
        .iter()
        .enumerate()
        .map(|(k, &x)| match (k / t) % n {
            1 => f32::from(x) * (1.0 - 2.0 * delta) + delta,
            _ => f32::from(x),
        })
        .collect();
    let base = m.loss_and_gradient(&p, 1.5, PooledWeights::default(), false).0;
    let with = m
        .loss_and_gradient(
            &p,
            1.5,
            PooledWeights {
                rate: 2.0,
                ..PooledWeights::default()
            },
            false,
        )
        .0;
    let rates: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let (got, want) = (0..w * t).fold((0.0, 0.0), |(a, b), q| {
                let k = ((q / t) * n + i) * t + q % t;
                (a + f64::from(p[k]), b + f64::from(v[k]))
            });
            (got / (w * t) as f64, want / (w * t) as f64)
        })
        .collect();
    let expected: f64 = rates
        .iter()
        .map(|&(got, want)| (got - want).powi(2) / noise_variance(want, (w * t) as f64))
        .sum::<f64>()
        * 2.0
        * 1.5
        / m.len() as f64;
    assert!(
        expected > 1e-3,
        "the shifted probabilities must move the rates: {expected}"
    );
    assert!(
        ((with - base) - expected).abs() < 1e-9 * expected.max(1.0),
        "rate term {} against {expected}",
        with - base
    );
}

/// The count weight against its definition: the data's own 0/1 values with a spike added in
/// every third bin of neuron 0 (still 0/1, so each bin's count is exact) score the extra term
/// `c * weight / len * Σ_k d_k² / v_k`, with d_k the change of P(K = k) and v_k its noise
/// variance over all of the batch's (window, bin) terms.
#[test]
fn the_count_weight_scores_a_shifted_count_distribution() {
    let (n, t, w) = (4, 10, 30);
    let (v, data) = random_data(n, t, w, 15);
    let m = MomentTargets::from_training(&data);
    let p: Vec<f32> = v
        .iter()
        .enumerate()
        .map(|(k, &x)| match ((k / t) % n, k % t % 3) {
            (0, 0) => 1.0,
            _ => f32::from(x),
        })
        .collect();
    let score = |count: f64| {
        let pooled = PooledWeights {
            count,
            ..PooledWeights::default()
        };
        m.loss_and_gradient(&p, 1.5, pooled, false).0
    };
    let histogram = |x: &dyn Fn(usize) -> f64| {
        let mut h = vec![0.0; n + 1];
        for q in 0..w * t {
            let k: f64 = (0..n).map(|i| x(((q / t) * n + i) * t + q % t)).sum();
            h[k as usize] += 1.0 / (w * t) as f64;
        }
        h
    };
    let got = histogram(&|k| f64::from(p[k]));
    let want = histogram(&|k| f64::from(v[k]));
    let expected: f64 = got
        .iter()
        .zip(&want)
        .map(|(g, r)| (g - r).powi(2) / noise_variance(*r, (w * t) as f64))
        .sum::<f64>()
        * 3.0
        * 1.5
        / m.len() as f64;
    assert!(expected > 1e-3, "the added spikes must move the counts: {expected}");
    let extra = score(3.0) - score(0.0);
    assert!(
        (extra - expected).abs() < 1e-9 * expected.max(1.0),
        "count term {extra} against {expected}"
    );
}

/// The running average's first update is the batch itself (so loss and gradient are the plain
/// ones), and later gradients are those of the loss of `decay * average + (1 - decay) * batch`
/// with the previous average held fixed, divided by `1 - decay` (central finite differences).
#[test]
fn the_averaged_term_is_the_plain_one_at_its_start_and_differentiates_the_average() {
    let (n, t) = (4, 12);
    let (_, data) = random_data(n, t, 20, 11);
    let m = MomentTargets::from_training(&data);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut batch = || -> Vec<f32> { (0..3 * n * t).map(|_| rng.random::<f32>() * 0.6 + 0.2).collect() };
    let pooled = PooledWeights {
        autocorrelogram: 2.0,
        rate: 3.0,
        count: 4.0,
    };
    let (decay, first, second) = (0.75, batch(), batch());
    let mut average = Vec::new();
    assert_eq!(
        m.averaged_loss_and_gradient(&first, 2.0, pooled, &mut average, decay),
        m.loss_and_gradient(&first, 2.0, pooled, false)
    );
    assert_eq!(average.len(), m.len());
    let previous = average.clone();
    let (loss, grad) = m.averaged_loss_and_gradient(&second, 2.0, pooled, &mut average, decay);
    assert_ne!(loss, m.loss_and_gradient(&second, 2.0, pooled, false).0);
    let averaged_loss = |p: &[f32]| {
        m.averaged_loss_and_gradient(p, 2.0, pooled, &mut previous.clone(), decay)
            .0
    };
    assert_eq!(averaged_loss(&second), loss);
    let scaled = |p: &[f32]| averaged_loss(p) / (1.0 - decay);
    let worst = worst_difference_from_finite_differences(scaled, &second, &grad, 5);
    assert!(worst < 1e-2, "worst relative difference {worst}");
}

/// Batches drawn from the training windows themselves: with the running average (decay d) the
/// loss carries about (1 - d) / (1 + d) of the plain square's noise floor.
#[test]
fn the_running_average_lowers_the_noise_floor() {
    let (n, t, w) = (4, 12, 400);
    let (v, data) = random_data(n, t, w, 13);
    let m = MomentTargets::from_training(&data);
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let (decay, rounds, warm_up) = (0.8, 600, 50);
    let mut average = Vec::new();
    let (mut averaged, mut square) = (0.0, 0.0);
    for round in 0..rounds {
        let p = draw_windows(&mut rng, &v, n * t, 40);
        let (a, _) = m.averaged_loss_and_gradient(&p, 1.0, PooledWeights::default(), &mut average, decay);
        if round >= warm_up {
            averaged += a;
            square += m.loss_and_gradient(&p, 1.0, PooledWeights::default(), false).0;
        }
    }
    let ratio = averaged / square;
    let expected = (1.0 - decay) / (1.0 + decay);
    assert!(
        square > 0.5 * f64::from(rounds - warm_up),
        "the plain square's noise floor: {square}"
    );
    assert!(
        (ratio - expected).abs() < 0.3 * expected,
        "averaged / plain {ratio}, expected about {expected}"
    );
}
