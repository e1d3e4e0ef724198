//! Importance maps and packet inference, checked with hand-made scorers (independent of training)
//! and with a real critic.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spike_data::{DataOrigin, SampleSet};
use spikegan_model::importance::{CriticScorer, ImportanceParams, SampleScorer, importance_maps, infer_packet};
use spikegan_model::{Critic, InitRng, ModelConfig};

const NEURONS: usize = 24;
const BINS: usize = 32;
/// The packet: these neurons spike in this order, one bin apart.
const MEMBERS: [usize; 4] = [17, 3, 11, 6];

/// Packet data: every non-member neuron fires at random (rate 0.3); the members fire only in one
/// packet per sample, member m at `onset + m`, with a random onset. Returns the samples and onsets.
fn packet_samples(n: usize, seed: u64) -> (SampleSet<'static>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = vec![0u8; n * NEURONS * BINS];
    let mut onsets = Vec::new();
    for s in values.chunks_exact_mut(NEURONS * BINS) {
        for i in (0..NEURONS).filter(|i| !MEMBERS.contains(i)) {
            for t in 0..BINS {
                s[i * BINS + t] = u8::from(rng.random::<f64>() < 0.3);
            }
        }
        let onset = rng.random_range(0..BINS - MEMBERS.len());
        for (m, &i) in MEMBERS.iter().enumerate() {
            s[i * BINS + onset + m] = 1;
        }
        onsets.push(onset);
    }
    let origin = DataOrigin {
        path: "test".into(),
        name: "packets".into(),
    };
    (SampleSet::from_owned(values, n, NEURONS, BINS, origin).unwrap(), onsets)
}

/// A critic that only looks at the packet: the number of complete packet sequences in a sample.
fn sequence_detector(x: &[f32], _neurons: usize, bins: usize) -> f32 {
    (0..=bins - MEMBERS.len())
        .filter(|&t| MEMBERS.iter().enumerate().all(|(m, &i)| x[i * bins + t + m] > 0.0))
        .count() as f32
}

#[test]
fn maps_of_a_packet_detector_are_zero_off_the_packet() {
    let (samples, onsets) = packet_samples(60, 1);
    let maps = importance_maps(&sequence_detector, &samples, ImportanceParams::default(), &|_| {}).unwrap();
    assert_eq!((maps.n_samples, maps.neurons, maps.bins), (60, NEURONS, BINS));
    let mut background_spikes = 0;
    for (s, &onset) in onsets.iter().enumerate() {
        let map = maps.map(s);
        for i in 0..NEURONS {
            for t in 0..BINS {
                let v = map[i * BINS + t];
                let packet_bin = MEMBERS.iter().position(|&m| m == i).map(|m| onset + m) == Some(t);
                if packet_bin {
                    // Moving a packet spike breaks the sequence: 1 -> 0 for most shuffles.
                    assert!(
                        v > 0.3 && v <= 1.0,
                        "sample {s}: packet spike ({i}, {t}) has importance {v}"
                    );
                } else {
                    background_spikes += usize::from(samples.get(s, i, t) == 1);
                    assert_eq!(v, 0.0, "sample {s}: bin ({i}, {t}) off the packet has importance {v}");
                }
            }
        }
    }
    assert!(background_spikes > 60 * 100, "the test needs background spikes");
}

#[test]
fn packet_inference_recovers_the_sequence() {
    let (samples, _) = packet_samples(80, 2);
    let maps = importance_maps(&sequence_detector, &samples, ImportanceParams::default(), &|_| {}).unwrap();
    let estimate = infer_packet(&maps, &samples, 95.0).unwrap();
    assert_eq!(estimate.samples_with_packet, 80);
    for i in 0..NEURONS {
        for t in 0..BINS {
            let v = estimate.packet[i][t];
            match MEMBERS.iter().position(|&m| m == i) {
                Some(m) if t == m => assert!(v > 0.3, "member {m} (neuron {i}) at its bin {t}: {v}"),
                _ => assert_eq!(v, 0.0, "neuron {i} bin {t} is not in the packet but has {v}"),
            }
        }
    }
}

/// A scorer that adds up a fixed weight per bin: shuffling a window changes the score by the
/// weights of the bins its spikes leave and enter, which the test computes by hand.
#[test]
fn one_window_map_is_the_mean_score_change() {
    // One neuron, 8 bins, one window covering everything: every spike's map value is the mean
    // |score change| over the shuffles, and non-spike bins are 0.
    let weights: Vec<f32> = (0..8).map(|t| t as f32).collect();
    let linear = |x: &[f32], _: usize, _: usize| x.iter().zip(&weights).map(|(a, w)| a * w).sum::<f32>();
    let origin = DataOrigin {
        path: "test".into(),
        name: "one".into(),
    };
    let x = vec![1u8, 0, 0, 1, 0, 0, 0, 0];
    let samples = SampleSet::from_owned(x.clone(), 1, 1, 8, origin).unwrap();
    let params = ImportanceParams {
        shuffles: 400,
        ..Default::default()
    };
    let maps = importance_maps(&linear, &samples, params, &|_| {}).unwrap();
    let map = maps.map(0);
    for t in [1, 2, 4, 5, 6, 7] {
        assert_eq!(map[t], 0.0);
    }
    assert_eq!(map[0], map[3], "both spikes see the same windows");
    // Two spikes at uniformly random distinct bins: E|a + b - 3| over the 28 pairs = 118 / 28.
    let expected = 118.0 / 28.0;
    assert!(
        (map[0] - expected).abs() < 0.25,
        "map {} vs expected {expected}",
        map[0]
    );
}

#[test]
fn maps_do_not_depend_on_the_thread_count() {
    let (samples, _) = packet_samples(12, 3);
    let params = ImportanceParams {
        seed: 9,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let one = pool.install(|| importance_maps(&sequence_detector, &samples, params, &|_| {}).unwrap());
    let many = importance_maps(&sequence_detector, &samples, params, &|_| {}).unwrap();
    assert_eq!(one.values, many.values);
    let other_seed = importance_maps(
        &sequence_detector,
        &samples,
        ImportanceParams { seed: 10, ..params },
        &|_| {},
    );
    assert_ne!(one.values, other_seed.unwrap().values);
}

#[test]
fn critic_scorer_scores_like_the_critic() {
    let device = Device::flex();
    let cfg = ModelConfig::new().with_neurons(NEURONS).with_bins(BINS);
    let critic = Critic::new(&cfg, &mut InitRng::seed_from_u64(5), &device);
    let (samples, _) = packet_samples(3, 4);
    let x: Vec<f32> = samples.to_owned_values().iter().map(|&v| f32::from(v)).collect();
    let direct: Vec<f32> = critic
        .forward(Tensor::from_data(
            TensorData::new(x.clone(), [3, NEURONS, BINS]),
            &device,
        ))
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    let scorer = CriticScorer::new(critic, cfg, &device);
    let scored = scorer.score(&x, NEURONS, BINS);
    assert_eq!(scored.len(), 3);
    for (a, b) in direct.iter().zip(&scored) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let maps = importance_maps(&scorer, &samples, ImportanceParams::default(), &|_| {}).unwrap();
    assert!(maps.values.iter().all(|v| v.is_finite() && *v >= 0.0));
    assert!(
        maps.values.iter().any(|&v| v > 0.0),
        "a random critic still reacts to shuffles"
    );
}

#[test]
fn bad_settings_are_errors() {
    let (samples, _) = packet_samples(2, 5);
    let wide = ImportanceParams {
        window_width: BINS + 1,
        ..Default::default()
    };
    let err = importance_maps(&sequence_detector, &samples, wide, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("--window-width"), "{err}");
    let maps = importance_maps(&sequence_detector, &samples, ImportanceParams::default(), &|_| {}).unwrap();
    assert!(infer_packet(&maps, &samples, 101.0).is_err());
    let (other, _) = packet_samples(3, 5);
    assert!(infer_packet(&maps, &other, 95.0).is_err());
}
