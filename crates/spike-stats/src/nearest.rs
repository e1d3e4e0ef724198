//! Nearest-sample search (spec section 7): for generated samples, the training sample at the
//! smallest Hamming distance, a check that a model did not memorise its training set.

use rayon::prelude::*;
use spike_data::{PackedSamples, SampleSet};

use crate::error::{Result, StatsError};

/// The training sample nearest to one generated sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nearest {
    /// Index of the generated sample.
    pub generated: usize,
    /// Index of the nearest training sample (the first one at that distance).
    pub train: usize,
    /// Hamming distance: number of the N x T bins that differ.
    pub distance: u32,
}

fn rows(p: &PackedSamples, s: usize, out: &mut [u64]) {
    let w = p.words_per_sample();
    for i in 0..p.n_neurons {
        p.sample_row(s, i, &mut out[i * w..(i + 1) * w]);
    }
}

/// For each of the first `m` generated samples, the nearest training sample. With
/// `exclude_same_index` (generated = training set, real-vs-real) sample i is not compared with
/// training sample i. Parallel over blocks of training samples; no copy of the training windows
/// beyond one block per thread.
pub fn nearest_samples(
    generated: &SampleSet<'_>,
    train: &SampleSet<'_>,
    m: usize,
    exclude_same_index: bool,
) -> Result<Vec<Nearest>> {
    if (generated.n_neurons(), generated.n_bins()) != (train.n_neurons(), train.n_bins()) {
        return Err(StatsError::ShapeMismatch {
            what: "the generated samples".into(),
            expected: format!("{} neurons x {} bins", train.n_neurons(), train.n_bins()),
            found: format!("{} neurons x {} bins", generated.n_neurons(), generated.n_bins()),
        });
    }
    let (gp, tp) = (generated.packed(), train.packed());
    let m = m.min(generated.n_samples());
    let width = gp.n_neurons * gp.words_per_sample();
    let mut queries = vec![0u64; m * width];
    for g in 0..m {
        rows(&gp, g, &mut queries[g * width..(g + 1) * width]);
    }
    const BLOCK: usize = 2048;
    let n_train = train.n_samples();
    let best = (0..n_train.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let range = b * BLOCK..((b + 1) * BLOCK).min(n_train);
            let mut block = vec![0u64; range.len() * width];
            for (k, s) in range.clone().enumerate() {
                rows(&tp, s, &mut block[k * width..(k + 1) * width]);
            }
            let mut best = vec![(u32::MAX, usize::MAX); m];
            for (g, q) in queries.chunks_exact(width).enumerate() {
                let (mut bd, mut bi) = best[g];
                for (k, cand) in block.chunks_exact(width).enumerate() {
                    let s = range.start + k;
                    if exclude_same_index && s == g {
                        continue;
                    }
                    let mut d = 0u32;
                    for (x, y) in q.iter().zip(cand) {
                        d += (x ^ y).count_ones();
                    }
                    if d < bd {
                        (bd, bi) = (d, s);
                    }
                }
                best[g] = (bd, bi);
            }
            best
        })
        .reduce(
            || vec![(u32::MAX, usize::MAX); m],
            |a, b| {
                a.into_iter()
                    .zip(b)
                    .map(|(x, y)| if (y.0, y.1) < (x.0, x.1) { y } else { x })
                    .collect()
            },
        );
    Ok(best
        .into_iter()
        .enumerate()
        .filter(|(_, (_, t))| *t != usize::MAX)
        .map(|(g, (distance, t))| Nearest {
            generated: g,
            train: t,
            distance,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spike_data::DataOrigin;

    fn set(v: Vec<u8>, n: usize) -> SampleSet<'static> {
        SampleSet::from_owned(v, n, 2, 2, DataOrigin::default()).unwrap()
    }

    #[test]
    fn finds_the_closest_and_excludes_self() {
        let train = set(vec![0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0], 3);
        let generated = set(vec![1, 1, 1, 0, 0, 0, 0, 1], 2);
        let r = nearest_samples(&generated, &train, 10, false).unwrap();
        assert_eq!(
            r,
            vec![
                Nearest {
                    generated: 0,
                    train: 1,
                    distance: 1
                },
                Nearest {
                    generated: 1,
                    train: 0,
                    distance: 1
                }
            ]
        );
        let own = nearest_samples(&train, &train, 3, true).unwrap();
        assert_eq!(
            own.iter().map(|n| (n.train, n.distance)).collect::<Vec<_>>(),
            vec![(2, 1), (2, 3), (0, 1)]
        );
        let other = SampleSet::from_owned(vec![0; 3], 1, 1, 3, DataOrigin::default()).unwrap();
        assert!(nearest_samples(&other, &train, 1, false).is_err());
    }
}
