//! The statistics the paper judges models by (spec section 5), and the seven L1 errors.

use rayon::prelude::*;
use spike_data::{PackedSamples, SampleSet};

use crate::error::{Result, StatsError};

/// Largest lag of the autocorrelogram, in bins (the paper's 10: 21 values, lags -10..=10).
pub const ACF_MAX_LAG: usize = 10;

/// The paper's statistics of one set of binary samples (n samples of N neurons x T bins).
///
/// `S` is the samples joined in time: N x L with L = n*T (sample 0's bins, then sample 1's, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct PaperStats {
    /// Number of samples n.
    pub n_samples: usize,
    /// Neurons N.
    pub neurons: usize,
    /// Bins per sample T.
    pub bins: usize,
    /// Mean over samples of each neuron's spike count in a sample (= rate per bin x T), length N.
    pub mean_spike_count: Vec<f64>,
    /// Covariance of S across its L columns, unbiased (divide by L - 1) like `np.cov`, N x N row-major.
    pub covariance: Vec<f64>,
    /// Population spike count distribution per bin: `k_probabilities[k]` = fraction of the L bins
    /// in which exactly k neurons spike, length N + 1.
    pub k_probabilities: Vec<f64>,
    /// Pooled autocorrelogram for lags -10..=10 (length 21): sum over samples and neurons of
    /// x(t) x(t+k) within a sample and neuron, divided by its maximum, lag 0 then set to 0.
    /// All zeros when there is no spike (the original divides 0 by 0).
    pub autocorrelogram: Vec<f64>,
    /// Mean over samples of each bin, N x T row-major (neuron-major).
    pub time_course: Vec<f64>,
    /// Lag-1 covariance, N x N row-major: entry (i, j) is the unbiased covariance (divide by
    /// L - 2, like `np.cov` of the two shifted series) of S[i, 0..L-1] and S[j, 1..L] (neuron j
    /// one bin later). The series crosses sample boundaries, as in the original.
    pub lag_covariance: Vec<f64>,
}

impl PaperStats {
    /// Diagonal of the covariance: each neuron's variance, length N.
    pub fn variances(&self) -> Vec<f64> {
        (0..self.neurons)
            .map(|i| self.covariance[i * self.neurons + i])
            .collect()
    }

    /// Firing rate of each neuron in Hz, for bins of `bin_width_ms`: mean count / (T * width).
    pub fn firing_rate_hz(&self, bin_width_ms: f64) -> Vec<f64> {
        let seconds = self.bins as f64 * bin_width_ms / 1000.0;
        self.mean_spike_count.iter().map(|c| c / seconds).collect()
    }
}

/// Integer sums from which every statistic follows.
#[derive(Clone)]
struct Sums {
    /// [N] spikes per neuron in S.
    count: Vec<u64>,
    /// [N*N] upper triangle incl. diagonal: bins of S where i and j both spike.
    pair: Vec<u64>,
    /// [N*N] pairs x_i(t) x_j(t+1) of S, within samples and across their boundaries.
    lag: Vec<u64>,
    /// [N+1] bins of S with k spiking neurons.
    k_hist: Vec<u64>,
    /// [ACF_MAX_LAG + 1] within-sample pairs at lags 0..=10.
    acf: Vec<u64>,
    /// [N*T] spikes per neuron and bin of a sample.
    time: Vec<u64>,
}

impl Sums {
    fn new(n: usize, t: usize) -> Self {
        Sums {
            count: vec![0; n],
            pair: vec![0; n * n],
            lag: vec![0; n * n],
            k_hist: vec![0; n + 1],
            acf: vec![0; ACF_MAX_LAG + 1],
            time: vec![0; n * t],
        }
    }

    fn merge(mut self, o: Sums) -> Sums {
        for (a, b) in [
            (&mut self.count, &o.count),
            (&mut self.pair, &o.pair),
            (&mut self.lag, &o.lag),
            (&mut self.k_hist, &o.k_hist),
            (&mut self.acf, &o.acf),
            (&mut self.time, &o.time),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }
}

/// For every bin of the packed source series, the set of neurons spiking in it:
/// `masks[b * words + i / 64]` has bit `i % 64` set when neuron i spikes in bin b.
pub(crate) struct BinMasks {
    pub masks: Vec<u64>,
    pub words: usize,
}

impl BinMasks {
    pub(crate) fn new(p: &PackedSamples) -> Self {
        let words = p.n_neurons.div_ceil(64);
        let mut masks = vec![0u64; p.series_len() * words];
        for i in 0..p.n_neurons {
            for (k, &word) in p.series_row(i).iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let b = k * 64 + bits.trailing_zeros() as usize;
                    masks[b * words + i / 64] |= 1 << (i % 64);
                    bits &= bits - 1;
                }
            }
        }
        BinMasks { masks, words }
    }

    /// Neurons spiking in bin `b`, ascending, into `out` (empty past the end of the series).
    #[inline]
    pub(crate) fn active(&self, b: usize, out: &mut Vec<usize>) {
        out.clear();
        for w in 0..self.words {
            let Some(&word) = self.masks.get(b * self.words + w) else {
                return;
            };
            let mut bits = word;
            while bits != 0 {
                out.push(w * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
    }
}

/// Sums over the bins `range` of the source series. Sample windows overlap (sliding windows) or
/// not; a bin covered by m windows appears m times in S, so each term is weighted by the number of
/// windows that contain all the bins it involves. Exact integer arithmetic throughout.
fn accumulate_bins(p: &PackedSamples, masks: &BinMasks, range: std::ops::Range<usize>) -> Sums {
    let (n, t) = (p.n_neurons, p.n_bins);
    let ti = t as i64;
    let mut sums = Sums::new(n, t);
    let (mut act, mut next) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for b in range {
        let bi = b as i64;
        // Windows containing bin b, then b..=b+k: those starting in b+k-T+1 ..= b.
        let covering = p.samples_starting_in(bi - ti + 1, bi);
        let m0 = covering.len() as u64;
        if m0 == 0 {
            continue;
        }
        masks.active(b, &mut act);
        sums.k_hist[act.len()] += m0;
        if act.is_empty() {
            continue;
        }
        for (x, &i) in act.iter().enumerate() {
            sums.count[i] += m0;
            for &j in &act[x..] {
                sums.pair[i * n + j] += m0;
            }
            for s in covering.clone() {
                sums.time[i * t + b - p.sample_start(s)] += 1;
            }
        }
        let m1 = if t >= 2 {
            p.samples_starting_in(bi + 2 - ti, bi).len() as u64
        } else {
            0
        };
        if m1 > 0 {
            masks.active(b + 1, &mut next);
            for &i in &act {
                for &j in &next {
                    sums.lag[i * n + j] += m1;
                }
            }
        }
        for k in 1..=ACF_MAX_LAG.min(t - 1) {
            let mk = p.samples_starting_in(bi + k as i64 + 1 - ti, bi).len() as u64;
            if mk == 0 {
                break;
            }
            sums.acf[k] += mk * act.iter().filter(|&&i| p.series_bit(i, b + k)).count() as u64;
        }
    }
    sums
}

/// Lag pairs across sample boundaries: neuron i in the last bin of sample s, neuron j in the
/// first bin of sample s + 1 (S joins them), for the samples `range`.
fn accumulate_boundaries(p: &PackedSamples, masks: &BinMasks, range: std::ops::Range<usize>) -> Sums {
    let n = p.n_neurons;
    let mut sums = Sums::new(n, p.n_bins);
    let (mut last, mut first) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for s in range.filter(|&s| s + 1 < p.n_samples) {
        masks.active(p.sample_start(s) + p.n_bins - 1, &mut last);
        if last.is_empty() {
            continue;
        }
        masks.active(p.sample_start(s + 1), &mut first);
        for &i in &last {
            for &j in &first {
                sums.lag[i * n + j] += 1;
            }
        }
    }
    sums
}

/// Compute every statistic of `samples` in one pass over bit-packed rows (no copy of windows),
/// in parallel over samples.
pub fn paper_stats(samples: &SampleSet<'_>) -> PaperStats {
    let packed = samples.packed();
    from_packed(&packed)
}

/// As [`paper_stats`], on already packed samples.
pub fn from_packed(packed: &PackedSamples) -> PaperStats {
    let (n, t, ns) = (packed.n_neurons, packed.n_bins, packed.n_samples);
    let masks = BinMasks::new(packed);
    const CHUNK: usize = 1 << 14;
    let bins = packed.series_len();
    let by_bins = (0..bins.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| accumulate_bins(packed, &masks, c * CHUNK..((c + 1) * CHUNK).min(bins)));
    let by_boundaries = (0..ns.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| accumulate_boundaries(packed, &masks, c * CHUNK..((c + 1) * CHUNK).min(ns)));
    let mut sums = by_bins.chain(by_boundaries).reduce(|| Sums::new(n, t), Sums::merge);
    sums.acf[0] = sums.count.iter().sum();
    // The two shifted series of the lag covariance each drop one bin of S: the last bin of the
    // last sample from the first series, the first bin of sample 0 from the second.
    let last_bin: Vec<f64> = (0..n)
        .map(|i| f64::from(u8::from(packed.series_bit(i, packed.sample_start(ns - 1) + t - 1))))
        .collect();
    let first_bin: Vec<f64> = (0..n)
        .map(|i| f64::from(u8::from(packed.series_bit(i, packed.sample_start(0)))))
        .collect();
    finish(&sums, n, t, ns, &last_bin, &first_bin)
}

fn finish(sums: &Sums, n: usize, t: usize, ns: usize, last_bin: &[f64], first_bin: &[f64]) -> PaperStats {
    let l = (ns * t) as f64;
    let count: Vec<f64> = sums.count.iter().map(|&c| c as f64).collect();
    let mut covariance = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let c = (sums.pair[i * n + j] as f64 - count[i] * count[j] / l) / (l - 1.0);
            covariance[i * n + j] = c;
            covariance[j * n + i] = c;
        }
    }
    let mut lag_covariance = vec![0.0; n * n];
    for i in 0..n {
        let a = count[i] - last_bin[i];
        for j in 0..n {
            let b = count[j] - first_bin[j];
            lag_covariance[i * n + j] = (sums.lag[i * n + j] as f64 - a * b / (l - 1.0)) / (l - 2.0);
        }
    }
    let total: u64 = sums.acf[0];
    let acf_half: Vec<f64> = sums.acf.iter().map(|&a| a as f64).collect();
    let max = acf_half.iter().cloned().fold(0.0, f64::max);
    let mut autocorrelogram = vec![0.0; 2 * ACF_MAX_LAG + 1];
    if total > 0 {
        for k in 1..=ACF_MAX_LAG {
            autocorrelogram[ACF_MAX_LAG + k] = acf_half[k] / max;
            autocorrelogram[ACF_MAX_LAG - k] = acf_half[k] / max;
        }
    }
    PaperStats {
        n_samples: ns,
        neurons: n,
        bins: t,
        mean_spike_count: count.iter().map(|c| c / ns as f64).collect(),
        covariance,
        k_probabilities: sums.k_hist.iter().map(|&k| k as f64 / l).collect(),
        autocorrelogram,
        time_course: sums.time.iter().map(|&c| c as f64 / ns as f64).collect(),
        lag_covariance,
    }
}

/// The seven L1 errors between a model's statistics and the reference's (spec section 5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperErrors {
    /// Sum over neurons of |mean spike count difference|.
    pub mean: f64,
    /// Sum over off-diagonal covariance entries (both triangles) of |difference|.
    pub covariance: f64,
    /// Sum over neurons of |variance difference|.
    pub variance: f64,
    /// Sum over k = 0..=N of |k-probability difference|.
    pub k_probabilities: f64,
    /// Sum over the 21 lags of |autocorrelogram difference|.
    pub autocorrelogram: f64,
    /// Sum over the N x T entries of |time-course difference|.
    pub time_course: f64,
    /// Sum over all N x N entries (diagonal included) of |lag-covariance difference|.
    pub lag_covariance: f64,
}

impl PaperErrors {
    /// Names and values in the paper's order, for tables and JSON.
    pub fn named(&self) -> [(&'static str, f64); 7] {
        [
            ("mean", self.mean),
            ("covariance", self.covariance),
            ("variance", self.variance),
            ("k_probabilities", self.k_probabilities),
            ("autocorrelogram", self.autocorrelogram),
            ("time_course", self.time_course),
            ("lag_covariance", self.lag_covariance),
        ]
    }
}

fn l1(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// Errors of `model` against `reference`; both must have the same N and T.
pub fn paper_errors(model: &PaperStats, reference: &PaperStats) -> Result<PaperErrors> {
    for (what, m, r) in [
        ("neurons", model.neurons, reference.neurons),
        ("bins per sample", model.bins, reference.bins),
    ] {
        if m != r {
            return Err(StatsError::ShapeMismatch {
                what: format!("the model's {what}"),
                expected: r.to_string(),
                found: m.to_string(),
            });
        }
    }
    let n = model.neurons;
    let off_diagonal: f64 = (0..n * n)
        .filter(|k| k / n != k % n)
        .map(|k| (model.covariance[k] - reference.covariance[k]).abs())
        .sum();
    Ok(PaperErrors {
        mean: l1(&model.mean_spike_count, &reference.mean_spike_count),
        covariance: off_diagonal,
        variance: l1(&model.variances(), &reference.variances()),
        k_probabilities: l1(&model.k_probabilities, &reference.k_probabilities),
        autocorrelogram: l1(&model.autocorrelogram, &reference.autocorrelogram),
        time_course: l1(&model.time_course, &reference.time_course),
        lag_covariance: l1(&model.lag_covariance, &reference.lag_covariance),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use spike_data::DataOrigin;

    fn set(values: Vec<u8>, n: usize, neurons: usize, t: usize) -> SampleSet<'static> {
        SampleSet::from_owned(values, n, neurons, t, DataOrigin::default()).unwrap()
    }

    /// Straightforward implementation of the definitions, for comparison.
    fn naive(s: &SampleSet<'_>) -> PaperStats {
        let (ns, n, t) = (s.n_samples(), s.n_neurons(), s.n_bins());
        let l = ns * t;
        let series: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..l).map(|b| f64::from(s.get(b / t, i, b % t))).collect())
            .collect();
        let cov = |a: &[f64], b: &[f64]| {
            let (ma, mb) = (
                a.iter().sum::<f64>() / a.len() as f64,
                b.iter().sum::<f64>() / b.len() as f64,
            );
            a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (a.len() - 1) as f64
        };
        let mut covariance = vec![0.0; n * n];
        let mut lag_covariance = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                covariance[i * n + j] = cov(&series[i], &series[j]);
                lag_covariance[i * n + j] = cov(&series[i][..l - 1], &series[j][1..]);
            }
        }
        let mut k_probabilities = vec![0.0; n + 1];
        for b in 0..l {
            let k: usize = series.iter().map(|row| row[b] as usize).sum();
            k_probabilities[k] += 1.0 / l as f64;
        }
        let mut acf = [0.0; 21];
        for smp in 0..ns {
            for i in 0..n {
                for a in 0..t {
                    for b in 0..t {
                        let lag = b as i64 - a as i64;
                        if lag.abs() <= 10 {
                            acf[(lag + 10) as usize] += f64::from(s.get(smp, i, a) * s.get(smp, i, b));
                        }
                    }
                }
            }
        }
        let max = acf.iter().cloned().fold(0.0, f64::max);
        let mut autocorrelogram: Vec<f64> = acf.iter().map(|a| if max > 0.0 { a / max } else { 0.0 }).collect();
        autocorrelogram[10] = 0.0;
        let time_course = (0..n * t)
            .map(|k| (0..ns).map(|smp| f64::from(s.get(smp, k / t, k % t))).sum::<f64>() / ns as f64)
            .collect();
        PaperStats {
            n_samples: ns,
            neurons: n,
            bins: t,
            mean_spike_count: (0..n).map(|i| series[i].iter().sum::<f64>() / ns as f64).collect(),
            covariance,
            k_probabilities,
            autocorrelogram,
            time_course,
            lag_covariance,
        }
    }

    fn assert_close(a: &PaperStats, b: &PaperStats) {
        assert_eq!((a.n_samples, a.neurons, a.bins), (b.n_samples, b.neurons, b.bins));
        for (x, y) in [
            (&a.mean_spike_count, &b.mean_spike_count),
            (&a.covariance, &b.covariance),
            (&a.k_probabilities, &b.k_probabilities),
            (&a.autocorrelogram, &b.autocorrelogram),
            (&a.time_course, &b.time_course),
            (&a.lag_covariance, &b.lag_covariance),
        ] {
            assert_eq!(x.len(), y.len());
            for (u, v) in x.iter().zip(y.iter()) {
                assert_relative_eq!(u, v, epsilon = 1e-12, max_relative = 1e-10);
            }
        }
    }

    #[test]
    fn hand_computed_two_samples() {
        // Sample 0: neuron 0 = 1 0 1, neuron 1 = 0 0 1; sample 1: neuron 0 = 0 1 0, neuron 1 = 0 0 0.
        let s = set(vec![1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0], 2, 2, 3);
        let st = paper_stats(&s);
        assert_eq!(st.mean_spike_count, vec![1.5, 0.5]);
        // S0 = 1 0 1 0 1 0 (mean 1/2), S1 = 0 0 1 0 0 0 (mean 1/6), L = 6.
        assert_relative_eq!(st.covariance[0], 0.3, epsilon = 1e-15); // (3 - 9/6) / 5
        assert_relative_eq!(st.covariance[1], (1.0 - 3.0 * 1.0 / 6.0) / 5.0, epsilon = 1e-15);
        assert_relative_eq!(st.covariance[3], (1.0 - 1.0 / 6.0) / 5.0, epsilon = 1e-15);
        // Per-bin population counts: 1 0 2 0 1 0.
        assert_eq!(st.k_probabilities, vec![0.5, 2.0 / 6.0, 1.0 / 6.0]);
        // Within-sample lags: neuron 0 of sample 0 has a lag-2 pair; 4 spikes in all.
        let mut acf = vec![0.0; 21];
        acf[8] = 0.25;
        acf[12] = 0.25;
        assert_eq!(st.autocorrelogram, acf);
        assert_eq!(st.time_course, vec![0.5, 0.5, 0.5, 0.0, 0.0, 0.5]);
        // Lag 1, neuron 0 -> neuron 0: pairs of S0[0..5] = 1 0 1 0 1 and S0[1..6] = 0 1 0 1 0: none
        // spike together; means 3/5 and 2/5, L - 2 = 4: (0 - 5 * 3/5 * 2/5) / 4.
        assert_relative_eq!(st.lag_covariance[0], -0.3, epsilon = 1e-15);
        // Neuron 0 -> neuron 1 crosses the boundary: S0[0..5] with S1[1..6] = 0 1 0 0 0: one pair at t=1? S0[1] = 0: none.
        assert_relative_eq!(st.lag_covariance[1], (0.0 - 3.0 * 1.0 / 5.0) / 4.0, epsilon = 1e-15);
    }

    #[test]
    fn silent_and_all_ones_data_stay_finite() {
        let silent = paper_stats(&set(vec![0; 2 * 3 * 4], 2, 3, 4));
        assert!(
            silent
                .covariance
                .iter()
                .chain(&silent.lag_covariance)
                .all(|&c| c == 0.0)
        );
        assert_eq!(silent.autocorrelogram, vec![0.0; 21]);
        assert_eq!(silent.k_probabilities, vec![1.0, 0.0, 0.0, 0.0]);
        let ones = paper_stats(&set(vec![1; 2 * 3 * 4], 2, 3, 4));
        assert_eq!(ones.mean_spike_count, vec![4.0; 3]);
        assert!(ones.covariance.iter().all(|&c| c.abs() < 1e-15));
        assert_eq!(ones.k_probabilities, vec![0.0, 0.0, 0.0, 1.0]);
        // Lags 1..3 have 3, 2, 1 pairs per row of 4 bins; lag 0 (4) is the maximum.
        assert_eq!(&ones.autocorrelogram[10..15], &[0.0, 0.75, 0.5, 0.25, 0.0]);
    }

    #[test]
    fn matches_the_naive_definitions_on_random_data() {
        let mut x = 12345u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (ns, n, t) in [(7, 5, 32), (5, 3, 64), (4, 4, 130), (9, 2, 12)] {
            let values: Vec<u8> = (0..ns * n * t).map(|_| u8::from(next() % 5 == 0)).collect();
            let s = set(values, ns, n, t);
            assert_close(&paper_stats(&s), &naive(&s));
        }
    }

    #[test]
    fn windows_over_a_raster_equal_their_copies() {
        use spike_data::{SpikeRaster, WindowSpec};
        let mut x = 99u64;
        let counts: Vec<u8> = (0..300 * 4)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                u8::from((x >> 33).is_multiple_of(4))
            })
            .collect();
        let raster = SpikeRaster::new(counts, 300, 4).unwrap();
        for (bins, stride) in [(32, 1), (32, 3), (12, 12), (10, 13), (70, 7), (2, 1)] {
            let view = SampleSet::windows(&raster, WindowSpec { bins, stride }).unwrap();
            let copy = view.clone().into_owned();
            let expected = naive(&copy);
            assert_close(&paper_stats(&view), &expected);
            assert_close(&paper_stats(&copy), &expected);
            assert_close(&paper_stats(&view.clone().take(5)), &naive(&copy.clone().take(5)));
        }
    }

    #[test]
    fn errors_are_l1_sums_and_check_shapes() {
        let a = paper_stats(&set(vec![1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0], 2, 2, 3));
        let b = paper_stats(&set(vec![0; 12], 2, 2, 3));
        let e = paper_errors(&a, &b).unwrap();
        assert_eq!(e.mean, 2.0);
        assert_relative_eq!(e.covariance, 2.0 * a.covariance[1].abs(), epsilon = 1e-15);
        assert_relative_eq!(e.variance, a.covariance[0] + a.covariance[3], epsilon = 1e-15);
        assert_relative_eq!(e.k_probabilities, 1.0, epsilon = 1e-15);
        assert_eq!(e.autocorrelogram, 0.5);
        assert_eq!(e.time_course, 2.0);
        assert_eq!(
            paper_errors(&a, &a).unwrap().named().iter().map(|x| x.1).sum::<f64>(),
            0.0
        );
        let c = paper_stats(&set(vec![0; 8], 2, 2, 2));
        assert!(
            paper_errors(&c, &a)
                .unwrap_err()
                .to_string()
                .contains("bins per sample")
        );
    }
}
