//! Pattern probabilities, entropies and the KL divergence between spike-count distributions.
//!
//! A single-bin pattern is the population's 0/1 vector in one bin (bit i = neuron i; N <= 128).
//! A sample pattern is a whole N x T sample (neuron-major bits). Counts live in hash maps over
//! bit-packed keys.

use std::collections::HashMap;

use spike_data::SampleSet;

use crate::error::{Result, StatsError};
use crate::paper::BinMasks;

/// Counts of the single-bin population patterns over all n*T bins of the samples (bit i of the
/// key = neuron i). Windows are not copied: each bin of the source is counted once per window
/// that contains it.
pub fn bin_pattern_counts(samples: &SampleSet<'_>) -> Result<HashMap<u128, u64>> {
    let n = samples.n_neurons();
    if n > 128 {
        return Err(StatsError::Unsupported(format!(
            "single-bin patterns need N <= 128 neurons, got {n}"
        )));
    }
    let packed = samples.packed();
    let masks = BinMasks::new(&packed);
    let t = packed.n_bins as i64;
    let mut counts: HashMap<u128, u64> = HashMap::new();
    for b in 0..packed.series_len() {
        let m = packed.samples_starting_in(b as i64 - t + 1, b as i64).len() as u64;
        if m > 0 {
            let words = &masks.masks[b * masks.words..(b + 1) * masks.words];
            let key = words
                .iter()
                .enumerate()
                .fold(0u128, |k, (w, &x)| k | (u128::from(x) << (64 * w)));
            *counts.entry(key).or_default() += m;
        }
    }
    Ok(counts)
}

/// Counts of whole-sample patterns; the key is the sample's bits, neuron-major, 64 per word.
pub fn sample_pattern_counts(samples: &SampleSet<'_>) -> HashMap<Vec<u64>, u64> {
    let mut counts: HashMap<Vec<u64>, u64> = HashMap::new();
    for s in 0..samples.n_samples() {
        *counts.entry(sample_key(samples, s)).or_default() += 1;
    }
    counts
}

/// The bits of sample `s`, neuron-major (bit `n*T + t`), packed 64 per word.
pub fn sample_key(samples: &SampleSet<'_>, s: usize) -> Vec<u64> {
    let bits = samples.n_neurons() * samples.n_bins();
    let mut key = vec![0u64; bits.div_ceil(64)];
    for (b, v) in samples.flat_sample(s).into_iter().enumerate() {
        key[b / 64] |= u64::from(v) << (b % 64);
    }
    key
}

/// Entropy estimates in bits from pattern counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entropy {
    /// Plug-in estimate `-sum p log2 p` with `p = count / total`.
    pub plug_in_bits: f64,
    /// Miller-Madow correction: plug-in + (K - 1) / (2 n ln 2), K = patterns observed, n = total.
    pub miller_madow_bits: f64,
    /// Distinct patterns observed K.
    pub distinct_patterns: usize,
    /// Observations n.
    pub observations: u64,
}

/// Entropy of the distribution given by `counts` (any key type).
pub fn entropy<'a>(counts: impl IntoIterator<Item = &'a u64>) -> Entropy {
    let counts: Vec<u64> = counts.into_iter().copied().filter(|&c| c > 0).collect();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Entropy {
            plug_in_bits: 0.0,
            miller_madow_bits: 0.0,
            distinct_patterns: 0,
            observations: 0,
        };
    }
    let n = total as f64;
    let plug_in: f64 = counts.iter().map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum();
    let k = counts.len();
    Entropy {
        plug_in_bits: plug_in,
        miller_madow_bits: plug_in + (k as f64 - 1.0) / (2.0 * n * std::f64::consts::LN_2),
        distinct_patterns: k,
        observations: total,
    }
}

/// KL divergence `D(p || q) = sum p_k log2(p_k / q_k)` in bits between two distributions of the
/// same length (e.g. k-probabilities). `None` when q is 0 where p is not (infinite divergence).
pub fn kl_divergence_bits(p: &[f64], q: &[f64]) -> Result<Option<f64>> {
    if p.len() != q.len() {
        return Err(StatsError::ShapeMismatch {
            what: "q".into(),
            expected: p.len().to_string(),
            found: q.len().to_string(),
        });
    }
    let mut d = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        if a > 0.0 {
            if b <= 0.0 {
                return Ok(None);
            }
            d += a * (a / b).log2();
        }
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use spike_data::DataOrigin;

    #[test]
    fn patterns_and_entropy_by_hand() {
        // One sample, 2 neurons x 4 bins: neuron 0 = 1 1 0 0, neuron 1 = 1 0 0 0.
        // Bin patterns: 0b11, 0b01, 0, 0 -> probabilities 1/4, 1/4, 1/2: entropy 1.5 bits.
        let s = SampleSet::from_owned(vec![1, 1, 0, 0, 1, 0, 0, 0], 1, 2, 4, DataOrigin::default()).unwrap();
        let c = bin_pattern_counts(&s).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!((c[&0b11], c[&0b01], c[&0]), (1, 1, 2));
        let h = entropy(c.values());
        assert_relative_eq!(h.plug_in_bits, 1.5);
        assert_relative_eq!(h.miller_madow_bits, 1.5 + 2.0 / (8.0 * std::f64::consts::LN_2));
        assert_eq!(sample_key(&s, 0), vec![0b0001_0011]);
        assert_eq!(sample_pattern_counts(&s)[&vec![0b0001_0011]], 1);
        assert_eq!(entropy([].iter()).plug_in_bits, 0.0);
    }

    #[test]
    fn kl_divergence() {
        assert_eq!(kl_divergence_bits(&[0.5, 0.5], &[0.5, 0.5]).unwrap(), Some(0.0));
        assert_relative_eq!(kl_divergence_bits(&[1.0, 0.0], &[0.5, 0.5]).unwrap().unwrap(), 1.0);
        assert_eq!(kl_divergence_bits(&[0.5, 0.5], &[1.0, 0.0]).unwrap(), None);
        assert!(kl_divergence_bits(&[1.0], &[0.5, 0.5]).is_err());
    }
}
