//! Seeded simulators of the paper's synthetic data sets (spec section 9).
//!
//! Each data set draws its per-neuron or per-group parameters once, then every sample
//! independently, and finally reorders the neurons by one random permutation drawn once, so that
//! correlated groups are not neighbours: row `k` of every sample is the simulated neuron
//! `permutation[k]`. Everything is deterministic given the seed (ChaCha8).
//!
//! Refractory periods act on a train with `2T` extra bins prepended (drawn as
//! `Poisson(p) > 0`), which are discarded afterwards, so the start of a sample is not special:
//! - soft, `r`: repeat passes over the inter-spike intervals `d` of the current spikes, removing
//!   the later spike of each interval with probability `exp(-d / sigma^2)`, `sigma = r / 1.5`, all
//!   removals of a pass at once, until a pass removes nothing (`r = 0`: nothing is removed).
//!   The original code's first pass deletes the second spike of the padded train instead of the
//!   flagged ones (a numpy indexing slip); it almost always falls in the discarded margin and is
//!   not reproduced.
//! - hard, `g`: a spike is removed when it is `<= g` bins after the previous kept spike.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::error::{DataError, Result};
use crate::raster::DataOrigin;
use crate::samples::SampleSet;

/// Parameters of the 'uniform' data set (the paper's Fig. 2): correlated groups with refractoriness.
#[derive(Clone, Debug, PartialEq)]
pub struct UniformParams {
    /// Neurons N (a multiple of `group`).
    pub neurons: usize,
    /// Bins per sample T.
    pub bins: usize,
    /// Number of samples.
    pub samples: usize,
    /// Mean spike probability per bin p; group rates are `p * U(0.5, 1.5)`.
    pub rate: f64,
    /// Mean within-group correlation c; group values are `c * U(0.5, 1.5)`.
    pub corr: f64,
    /// Group size g.
    pub group: usize,
    /// Soft refractory period r in bins.
    pub refractory: f64,
}

/// Parameters of the 'packets' data set (Fig. 4): background activity plus sequences that sweep
/// through groups of neurons.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketParams {
    /// Neurons N (a multiple of `group`).
    pub neurons: usize,
    /// Bins per sample T (more than `group`).
    pub bins: usize,
    /// Number of samples.
    pub samples: usize,
    /// Mean background spike probability per bin; per neuron `p * U(0.5, 1.5)`.
    pub rate: f64,
    /// Probability per bin that a packet starts in a group.
    pub packet_prob: f64,
    /// Group (= packet) size g, in neurons and bins.
    pub group: usize,
    /// Soft refractory period of the background in bins.
    pub refractory: f64,
    /// Standard deviation of each packet spike's jitter in bins.
    pub noise: f64,
}

/// The result of a simulation: samples plus the ground truth that made them.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// The samples, `[n, N, T]`, neurons permuted.
    pub samples: SampleSet<'static>,
    /// Row `k` of each sample is simulated neuron `permutation[k]`.
    pub permutation: Vec<usize>,
    /// Spike probability per bin of each simulated neuron (before permutation).
    pub rates: Vec<f64>,
    /// Group of each simulated neuron (before permutation).
    pub groups: Vec<usize>,
    /// Within-group correlation parameter of each group ('uniform' only).
    pub group_corrs: Vec<f64>,
    /// Stimulus label (1 or 2) of each sample (two-mode packets only).
    pub stimulus: Option<Vec<u8>>,
    /// The packets' sequences as rows of the (permuted) samples, in firing order: one per group
    /// ('packets'), or mode 1 then mode 2 (two-mode); empty for 'uniform'.
    pub packets: Vec<Vec<usize>>,
}

/// Rows of the permuted samples that hold the simulated neurons `sequence`, in that order.
fn permuted_rows(permutation: &[usize], sequence: impl IntoIterator<Item = usize>) -> Vec<usize> {
    sequence
        .into_iter()
        .map(|orig| permutation.iter().position(|&p| p == orig).expect("a permutation"))
        .collect()
}

fn check_common(neurons: usize, bins: usize, samples: usize, rate: f64, group: usize) -> Result<()> {
    if neurons == 0 || bins == 0 || samples == 0 {
        return Err(DataError::param("--neurons/--bins/--samples", "must all be at least 1"));
    }
    if group == 0 || !neurons.is_multiple_of(group) {
        return Err(DataError::param(
            "--group",
            format!("group size {group} must divide the number of neurons {neurons}"),
        ));
    }
    if !(0.0..=1.0).contains(&rate) {
        return Err(DataError::param(
            "--rate",
            format!("{rate} is not a probability per bin"),
        ));
    }
    Ok(())
}

/// `count` probabilities `mean * U(0.5, 1.5)`, capped at 1: the per-group or per-neuron rates.
fn jittered(mean: f64, count: usize, rng: &mut impl Rng) -> Vec<f64> {
    (0..count)
        .map(|_| (mean * rng.random_range(0.5..1.5)).min(1.0))
        .collect()
}

fn bern(rng: &mut impl Rng, p: f64) -> u8 {
    u8::from(rng.random::<f64>() < p)
}

/// Prepend `2T` margin bins drawn as `Poisson(p) > 0`; returns the padded train.
fn with_margin(train: &[u8], p: f64, rng: &mut impl Rng) -> Vec<u8> {
    let q = 1.0 - (-p).exp(); // P(Poisson(p) > 0)
    let mut full: Vec<u8> = (0..2 * train.len()).map(|_| bern(rng, q)).collect();
    full.extend_from_slice(train);
    full
}

/// Soft refractory period `r` (bins) applied in place to a 0/1 train of rate `p`.
pub fn soft_refractory(train: &mut [u8], p: f64, r: f64, rng: &mut impl Rng) {
    let full = with_margin(train, p, rng);
    let mut spikes: Vec<usize> = (0..full.len()).filter(|&i| full[i] != 0).collect();
    let sigma2 = (r / 1.5).powi(2);
    if sigma2 > 0.0 {
        loop {
            let mut remove = vec![false; spikes.len()];
            let mut any = false;
            for i in 1..spikes.len() {
                let d = (spikes[i] - spikes[i - 1]) as f64;
                if rng.random::<f64>() < (-d / sigma2).exp() {
                    remove[i] = true;
                    any = true;
                }
            }
            if !any {
                break;
            }
            let mut k = 0;
            spikes.retain(|_| {
                k += 1;
                !remove[k - 1]
            });
        }
    }
    let margin = 2 * train.len();
    train.fill(0);
    for s in spikes.into_iter().filter(|&s| s >= margin) {
        train[s - margin] = 1;
    }
}

/// Hard refractory period `g` (bins) applied in place to a 0/1 train of rate `p`.
pub fn hard_refractory(train: &mut [u8], p: f64, g: usize, rng: &mut impl Rng) {
    let full = with_margin(train, p, rng);
    let margin = 2 * train.len();
    train.fill(0);
    let mut last: Option<usize> = None;
    for (i, _) in full.iter().enumerate().filter(|(_, x)| **x != 0) {
        if last.is_none_or(|l| i - l > g) {
            last = Some(i);
            if i >= margin {
                train[i - margin] = 1;
            }
        }
    }
}

/// The two random streams of a simulation: the data set's parameters (rates, correlations,
/// neuron permutation) come from `seed` alone, the samples from `seed` and `draw`, so every
/// draw is a new sample of the same data set (ground truth, surrogates, held-out sets).
fn streams(seed: u64, draw: u64) -> (ChaCha8Rng, ChaCha8Rng) {
    let mut samples = ChaCha8Rng::seed_from_u64(seed);
    samples.set_stream(draw + 1);
    (ChaCha8Rng::seed_from_u64(seed), samples)
}

fn random_permutation(neurons: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut permutation: Vec<usize> = (0..neurons).collect();
    permutation.shuffle(rng);
    permutation
}

/// Assemble permuted `[n, N, T]` samples from unpermuted ones: row `k` is neuron `permutation[k]`.
fn permuted(raw: Vec<u8>, n: usize, neurons: usize, bins: usize, permutation: &[usize]) -> Result<SampleSet<'static>> {
    let mut out = vec![0u8; raw.len()];
    for s in 0..n {
        for (k, &src) in permutation.iter().enumerate() {
            let from = (s * neurons + src) * bins;
            out[(s * neurons + k) * bins..][..bins].copy_from_slice(&raw[from..from + bins]);
        }
    }
    let set = SampleSet::from_owned(
        out,
        n,
        neurons,
        bins,
        DataOrigin {
            path: "simulated".into(),
            name: "samples".into(),
        },
    )?;
    Ok(set)
}

/// Simulate the 'uniform' data set `seed`; `draw` numbers independent sample sets of it.
pub fn simulate_uniform(p: &UniformParams, seed: u64, draw: u64) -> Result<Simulation> {
    check_common(p.neurons, p.bins, p.samples, p.rate, p.group)?;
    if !(0.0..=2.0 / 3.0).contains(&p.corr) {
        return Err(DataError::param(
            "--corr",
            format!("{} must be in [0, 2/3] so that every group's value stays <= 1", p.corr),
        ));
    }
    if p.refractory.is_nan() || p.refractory < 0.0 {
        return Err(DataError::param("--refractory", "must be >= 0"));
    }
    let (mut params_rng, mut rng) = streams(seed, draw);
    let n_groups = p.neurons / p.group;
    let group_rates = jittered(p.rate, n_groups, &mut params_rng);
    let group_corrs = jittered(p.corr, n_groups, &mut params_rng);
    let permutation = random_permutation(p.neurons, &mut params_rng);
    let (n, t) = (p.samples, p.bins);
    let mut raw = vec![0u8; n * p.neurons * t];
    let mut reference = vec![0u8; t];
    for s in 0..n {
        for k in 0..n_groups {
            let (rate, q) = (group_rates[k], group_corrs[k].sqrt());
            reference.iter_mut().for_each(|x| *x = bern(&mut rng, rate));
            soft_refractory(&mut reference, rate, p.refractory, &mut rng);
            for m in 0..p.group {
                let row = &mut raw[(s * p.neurons + k * p.group + m) * t..][..t];
                for (b, x) in row.iter_mut().enumerate() {
                    *x = bern(&mut rng, rate);
                    if rng.random::<f64>() < q {
                        *x = reference[b];
                    }
                }
                soft_refractory(row, rate, p.refractory, &mut rng);
            }
        }
    }
    let samples = permuted(raw, n, p.neurons, t, &permutation)?;
    Ok(Simulation {
        samples,
        permutation,
        rates: (0..p.neurons).map(|i| group_rates[i / p.group]).collect(),
        groups: (0..p.neurons).map(|i| i / p.group).collect(),
        group_corrs,
        stimulus: None,
        packets: vec![],
    })
}

fn check_packets(p: &PacketParams, groups_tile: bool) -> Result<()> {
    check_common(
        p.neurons,
        p.bins,
        p.samples,
        p.rate,
        if groups_tile { p.group } else { 1 },
    )?;
    if p.group == 0 || p.group > p.neurons {
        return Err(DataError::param(
            "--group",
            format!("group size {} must be in 1..={}", p.group, p.neurons),
        ));
    }
    if p.bins <= p.group {
        return Err(DataError::param(
            "--bins",
            format!("{} bins leave no room for packets of {} bins", p.bins, p.group),
        ));
    }
    if !(0.0..=1.0).contains(&p.packet_prob) {
        return Err(DataError::param(
            "--packet-prob",
            format!("{} is not a probability", p.packet_prob),
        ));
    }
    let non_negative = |x: f64| x.is_finite() && x >= 0.0;
    if !non_negative(p.noise) || !non_negative(p.refractory) {
        return Err(DataError::param("--noise/--refractory", "must be finite and >= 0"));
    }
    Ok(())
}

/// Background trains: rate `rates[i]` per neuron with the soft refractory period.
fn background(raw: &mut [u8], rates: &[f64], t: usize, r: f64, rng: &mut impl Rng) {
    for (row, &rate) in raw.chunks_exact_mut(t).zip(rates.iter().cycle()) {
        row.iter_mut().for_each(|x| *x = bern(rng, rate));
        soft_refractory(row, rate, r, rng);
    }
}

/// Spikes of one packet starting at `onset` on `neurons` (in sweep order): neuron `m` fires at
/// `onset + clip(m + round(N(0, noise)), 0, g - 1)`.
fn add_packet(sample: &mut [u8], t: usize, neurons: &[usize], onset: usize, noise: f64, rng: &mut impl Rng) {
    let g = neurons.len() as i64;
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    for (m, &n) in neurons.iter().enumerate() {
        let jitter = if noise > 0.0 {
            (normal.sample(rng) * noise).round() as i64
        } else {
            0
        };
        let dt = (m as i64 + jitter).clamp(0, g - 1) as usize;
        sample[n * t + onset + dt] = 1;
    }
}

/// Simulate the 'packets' data set `seed`; `draw` numbers independent sample sets of it.
pub fn simulate_packets(p: &PacketParams, seed: u64, draw: u64) -> Result<Simulation> {
    check_packets(p, true)?;
    let (mut params_rng, mut rng) = streams(seed, draw);
    let rates = jittered(p.rate, p.neurons, &mut params_rng);
    let permutation = random_permutation(p.neurons, &mut params_rng);
    let (n, t, g) = (p.samples, p.bins, p.group);
    let mut raw = vec![0u8; n * p.neurons * t];
    let mut onsets = vec![0u8; t];
    for sample in raw.chunks_exact_mut(p.neurons * t) {
        background(sample, &rates, t, p.refractory, &mut rng);
        for k in 0..p.neurons / g {
            onsets.iter_mut().for_each(|x| *x = bern(&mut rng, p.packet_prob));
            onsets[t - g..].fill(0);
            hard_refractory(&mut onsets, p.packet_prob, g, &mut rng);
            let members: Vec<usize> = (k * g..(k + 1) * g).collect();
            for onset in (0..t).filter(|&b| onsets[b] != 0) {
                add_packet(sample, t, &members, onset, p.noise, &mut rng);
            }
        }
    }
    let samples = permuted(raw, n, p.neurons, t, &permutation)?;
    Ok(Simulation {
        samples,
        packets: (0..p.neurons / g)
            .map(|k| permuted_rows(&permutation, k * g..(k + 1) * g))
            .collect(),
        permutation,
        rates,
        groups: (0..p.neurons).map(|i| i / g).collect(),
        group_corrs: vec![],
        stimulus: None,
    })
}

/// Simulate two-mode packets: one packet per sample at a uniform onset in `[0, T - g)`, mode 1
/// (stimulus 1) on the first `g` neurons in order, else mode 2 on the last `g` neurons in reverse
/// order, each with probability 1/2. `packet_prob` is not used. `draw` as for [`simulate_packets`].
pub fn simulate_two_mode_packets(p: &PacketParams, seed: u64, draw: u64) -> Result<Simulation> {
    check_packets(p, false)?;
    let (mut params_rng, mut rng) = streams(seed, draw);
    let rates = jittered(p.rate, p.neurons, &mut params_rng);
    let permutation = random_permutation(p.neurons, &mut params_rng);
    let (n, t, g) = (p.samples, p.bins, p.group);
    let mut raw = vec![0u8; n * p.neurons * t];
    let mut stimulus = Vec::with_capacity(n);
    let mode1: Vec<usize> = (0..g).collect();
    let mode2: Vec<usize> = (p.neurons - g..p.neurons).rev().collect();
    for sample in raw.chunks_exact_mut(p.neurons * t) {
        background(sample, &rates, t, p.refractory, &mut rng);
        let onset = rng.random_range(0..t - g);
        let second = rng.random::<f64>() < 0.5;
        add_packet(
            sample,
            t,
            if second { &mode2 } else { &mode1 },
            onset,
            p.noise,
            &mut rng,
        );
        stimulus.push(if second { 2 } else { 1 });
    }
    let samples = permuted(raw, n, p.neurons, t, &permutation)?;
    Ok(Simulation {
        samples,
        packets: vec![
            permuted_rows(&permutation, mode1.iter().copied()),
            permuted_rows(&permutation, mode2.iter().copied()),
        ],
        permutation,
        rates,
        groups: (0..p.neurons).map(|i| usize::from(i >= p.neurons - g)).collect(),
        group_corrs: vec![],
        stimulus: Some(stimulus),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(refractory: f64) -> UniformParams {
        UniformParams {
            neurons: 16,
            bins: 128,
            samples: 512,
            rate: 0.25,
            corr: 0.3,
            group: 2,
            refractory,
        }
    }

    /// Pearson correlation of two neurons' concatenated series.
    fn corr(set: &SampleSet<'_>, i: usize, j: usize) -> f64 {
        let (mut si, mut sj, mut sij, mut n) = (0.0, 0.0, 0.0, 0.0);
        for s in 0..set.n_samples() {
            for t in 0..set.n_bins() {
                let (a, b) = (f64::from(set.get(s, i, t)), f64::from(set.get(s, j, t)));
                si += a;
                sj += b;
                sij += a * b;
                n += 1.0;
            }
        }
        let (mi, mj) = (si / n, sj / n);
        (sij / n - mi * mj) / ((mi - mi * mi) * (mj - mj * mj)).sqrt()
    }

    #[test]
    fn uniform_groups_are_correlated_and_deterministic() {
        let sim = simulate_uniform(&uniform(2.0), 1, 0).unwrap();
        assert_eq!(
            sim.samples.to_owned_values(),
            simulate_uniform(&uniform(2.0), 1, 0).unwrap().samples.to_owned_values()
        );
        assert_ne!(
            sim.samples.to_owned_values(),
            simulate_uniform(&uniform(2.0), 2, 0).unwrap().samples.to_owned_values()
        );
        // Another draw: new samples of the same data set (same rates, correlations, permutation).
        let other = simulate_uniform(&uniform(2.0), 1, 1).unwrap();
        assert_ne!(sim.samples.to_owned_values(), other.samples.to_owned_values());
        assert_eq!(
            (&sim.permutation, &sim.rates, &sim.group_corrs),
            (&other.permutation, &other.rates, &other.group_corrs)
        );
        let more = UniformParams {
            samples: 1024,
            ..uniform(2.0)
        };
        assert_eq!(simulate_uniform(&more, 1, 0).unwrap().permutation, sim.permutation);
        let pos: Vec<usize> = (0..16)
            .map(|orig| sim.permutation.iter().position(|&p| p == orig).unwrap())
            .collect();
        let mut within = vec![];
        let mut between = vec![];
        for a in 0..16 {
            for b in a + 1..16 {
                let c = corr(&sim.samples, pos[a], pos[b]);
                if a / 2 == b / 2 {
                    within.push(c)
                } else {
                    between.push(c)
                }
            }
        }
        let min_within = within.iter().cloned().fold(f64::INFINITY, f64::min);
        let max_between = between.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert!(min_within > 0.05, "within-group correlations {within:?}");
        assert!(
            min_within > max_between + 0.03,
            "within {min_within} vs between {max_between}"
        );
        // The refractory period thins the trains below the nominal rate but keeps them active.
        let mean: f64 =
            sim.samples.to_owned_values().iter().map(|&x| f64::from(x)).sum::<f64>() / (512.0 * 16.0 * 128.0);
        assert!(mean > 0.05 && mean < 0.25, "mean rate {mean}");
    }

    #[test]
    fn soft_refractory_suppresses_short_intervals() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut short_before, mut short_after) = (0, 0);
        for _ in 0..200 {
            let mut train: Vec<u8> = (0..128).map(|_| bern(&mut rng, 0.4)).collect();
            short_before += train.windows(2).filter(|w| w[0] == 1 && w[1] == 1).count();
            soft_refractory(&mut train, 0.4, 2.0, &mut rng);
            short_after += train.windows(2).filter(|w| w[0] == 1 && w[1] == 1).count();
        }
        assert!(
            short_after * 20 < short_before,
            "adjacent spikes {short_before} -> {short_after}"
        );
    }

    #[test]
    fn hard_refractory_leaves_no_close_spikes() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for g in [1, 3, 8] {
            let mut train: Vec<u8> = (0..200).map(|_| bern(&mut rng, 0.5)).collect();
            hard_refractory(&mut train, 0.5, g, &mut rng);
            let spikes: Vec<usize> = (0..200).filter(|&i| train[i] == 1).collect();
            assert!(spikes.len() > 5);
            assert!(spikes.windows(2).all(|w| w[1] - w[0] > g), "g = {g}: {spikes:?}");
        }
    }

    #[test]
    fn packets_sweep_their_group_in_order() {
        let p = PacketParams {
            neurons: 16,
            bins: 64,
            samples: 64,
            rate: 0.0,
            packet_prob: 0.1,
            group: 8,
            refractory: 2.0,
            noise: 0.0,
        };
        let sim = simulate_packets(&p, 5, 0).unwrap();
        let pos: Vec<usize> = (0..16)
            .map(|o| sim.permutation.iter().position(|&q| q == o).unwrap())
            .collect();
        assert_eq!(sim.packets, vec![pos[..8].to_vec(), pos[8..].to_vec()]);
        let mut packets = 0;
        for s in 0..64 {
            for k in 0..2 {
                // With no background and no jitter, member m of group k spikes exactly m bins after each onset.
                let first = &(0..64)
                    .filter(|&t| sim.samples.get(s, pos[k * 8], t) == 1)
                    .collect::<Vec<_>>();
                for m in 0..8 {
                    let row: Vec<usize> = (0..64)
                        .filter(|&t| sim.samples.get(s, pos[k * 8 + m], t) == 1)
                        .collect();
                    let shifted: Vec<usize> = first.iter().map(|t| t + m).collect();
                    assert_eq!(row, shifted, "sample {s} group {k} member {m}");
                }
                assert!(first.windows(2).all(|w| w[1] - w[0] > 8));
                packets += first.len();
            }
        }
        assert!(packets > 20, "{packets} packets");
    }

    #[test]
    fn two_mode_packets_label_their_mode() {
        let p = PacketParams {
            neurons: 32,
            bins: 32,
            samples: 200,
            rate: 0.0,
            packet_prob: 1.0,
            group: 18,
            refractory: 2.0,
            noise: 0.0,
        };
        let sim = simulate_two_mode_packets(&p, 9, 0).unwrap();
        let stim = sim.stimulus.clone().unwrap();
        assert!(stim.iter().filter(|&&s| s == 1).count() > 60 && stim.iter().filter(|&&s| s == 2).count() > 60);
        let pos: Vec<usize> = (0..32)
            .map(|o| sim.permutation.iter().position(|&q| q == o).unwrap())
            .collect();
        assert_eq!(sim.packets[0], pos[..18].to_vec());
        assert_eq!(sim.packets[1], pos[14..].iter().rev().copied().collect::<Vec<_>>());
        for (s, &label) in stim.iter().enumerate() {
            let lead = if label == 1 { 0 } else { 31 };
            let next = if label == 1 { 1 } else { 30 };
            let t0 = (0..32)
                .find(|&t| sim.samples.get(s, pos[lead], t) == 1)
                .expect("packet start");
            assert_eq!(sim.samples.get(s, pos[next], t0 + 1), 1);
            let spikes: usize = (0..32)
                .map(|n| (0..32).map(|t| usize::from(sim.samples.get(s, n, t))).sum::<usize>())
                .sum();
            assert_eq!(spikes, 18);
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let mut p = uniform(2.0);
        p.group = 3;
        assert!(simulate_uniform(&p, 0, 0).unwrap_err().to_string().contains("--group"));
        let mut p = uniform(2.0);
        p.rate = 1.5;
        assert!(simulate_uniform(&p, 0, 0).is_err());
        let q = PacketParams {
            neurons: 8,
            bins: 8,
            samples: 1,
            rate: 0.1,
            packet_prob: 0.1,
            group: 8,
            refractory: 2.0,
            noise: 0.0,
        };
        assert!(simulate_packets(&q, 0, 0).unwrap_err().to_string().contains("--bins"));
    }
}
