//! The higher-order check of spec section 6, for data small enough that whole samples can be
//! counted as patterns (the paper: N = 2, T = 12).

use std::collections::HashMap;

use spike_data::SampleSet;

use crate::error::{Result, StatsError};
use crate::patterns::{Entropy, entropy, sample_pattern_counts};

/// One generated pattern: how often it was generated and its ground-truth probability.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternFrequency {
    /// The sample's bits, neuron-major, 64 per word.
    pub pattern: Vec<u64>,
    /// Fraction of generated samples with this pattern.
    pub generated_frequency: f64,
    /// Its frequency in the (very large) ground-truth set; 0 = impossible.
    pub ground_truth_probability: f64,
}

/// The result of [`higher_order_check`].
#[derive(Clone, Debug, PartialEq)]
pub struct HigherOrderCheck {
    /// Every distinct generated pattern.
    pub patterns: Vec<PatternFrequency>,
    /// Distinct generated patterns that never occur in the ground truth.
    pub impossible_patterns: usize,
    /// Generated samples that are such impossible patterns.
    pub impossible_samples: u64,
    /// Entropy of the ground-truth set's patterns.
    pub entropy_ground_truth: Entropy,
    /// Entropy of a surrogate set drawn from the simulator (the same size as the generated set).
    pub entropy_surrogate: Entropy,
    /// Entropy of the generated set's patterns.
    pub entropy_generated: Entropy,
    /// Fraction of generated samples whose pattern occurs in the training set.
    pub generated_in_training: f64,
    /// Fraction of surrogate samples whose pattern occurs in the training set.
    pub surrogate_in_training: f64,
}

fn in_training(counts: &HashMap<Vec<u64>, u64>, training: &HashMap<Vec<u64>, u64>) -> f64 {
    let total: u64 = counts.values().sum();
    let found: u64 = counts
        .iter()
        .filter(|(k, _)| training.contains_key(*k))
        .map(|(_, c)| c)
        .sum();
    found as f64 / total.max(1) as f64
}

/// Compare generated samples with a ground-truth set, a surrogate set and the training set (all
/// of the same N and T).
pub fn higher_order_check(
    generated: &SampleSet<'_>,
    ground_truth: &SampleSet<'_>,
    surrogate: &SampleSet<'_>,
    training: &SampleSet<'_>,
) -> Result<HigherOrderCheck> {
    let shape = (generated.n_neurons(), generated.n_bins());
    for (name, s) in [
        ("ground truth", ground_truth),
        ("surrogate", surrogate),
        ("training set", training),
    ] {
        if (s.n_neurons(), s.n_bins()) != shape {
            return Err(StatsError::ShapeMismatch {
                what: format!("the {name}"),
                expected: format!("{} neurons x {} bins", shape.0, shape.1),
                found: format!("{} neurons x {} bins", s.n_neurons(), s.n_bins()),
            });
        }
    }
    let generated_counts = sample_pattern_counts(generated);
    let truth = sample_pattern_counts(ground_truth);
    let sur = sample_pattern_counts(surrogate);
    let train = sample_pattern_counts(training);
    let (n_gen, n_truth) = (generated.n_samples() as f64, ground_truth.n_samples() as f64);
    let mut patterns: Vec<PatternFrequency> = generated_counts
        .iter()
        .map(|(k, &c)| PatternFrequency {
            pattern: k.clone(),
            generated_frequency: c as f64 / n_gen,
            ground_truth_probability: truth.get(k).map_or(0.0, |&t| t as f64 / n_truth),
        })
        .collect();
    patterns.sort_by(|a, b| {
        b.generated_frequency
            .total_cmp(&a.generated_frequency)
            .then(a.pattern.cmp(&b.pattern))
    });
    let impossible: Vec<&Vec<u64>> = generated_counts.keys().filter(|k| !truth.contains_key(*k)).collect();
    Ok(HigherOrderCheck {
        impossible_patterns: impossible.len(),
        impossible_samples: impossible.iter().map(|k| generated_counts[*k]).sum(),
        patterns,
        entropy_ground_truth: entropy(truth.values()),
        entropy_surrogate: entropy(sur.values()),
        entropy_generated: entropy(generated_counts.values()),
        generated_in_training: in_training(&generated_counts, &train),
        surrogate_in_training: in_training(&sur, &train),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spike_data::DataOrigin;

    fn set(v: Vec<u8>) -> SampleSet<'static> {
        let n = v.len() / 2;
        SampleSet::from_owned(v, n, 1, 2, DataOrigin::default()).unwrap()
    }

    #[test]
    fn counts_impossible_patterns_and_training_overlap() {
        // Patterns of 1 neuron x 2 bins: ground truth never has "11" (a refractory period).
        let truth = set(vec![0, 0, 1, 0, 0, 1, 0, 0]);
        let generated = set(vec![1, 1, 1, 0, 0, 0, 1, 1]);
        let surrogate = set(vec![0, 0, 0, 1]);
        let training = set(vec![1, 0]);
        let r = higher_order_check(&generated, &truth, &surrogate, &training).unwrap();
        assert_eq!((r.impossible_patterns, r.impossible_samples), (1, 2));
        assert_eq!(r.patterns[0].pattern, vec![0b11]);
        assert_eq!(
            (
                r.patterns[0].generated_frequency,
                r.patterns[0].ground_truth_probability
            ),
            (0.5, 0.0)
        );
        assert_eq!(r.entropy_ground_truth.plug_in_bits, 1.5);
        assert_eq!(r.entropy_surrogate.plug_in_bits, 1.0);
        assert_eq!(r.entropy_generated.plug_in_bits, 1.5);
        assert_eq!((r.generated_in_training, r.surrogate_in_training), (0.25, 0.0));
    }
}
