//! Moments of single-bin population patterns of a binary raster (bins x neurons): what the
//! maximum-entropy models and the dichotomized Gaussian are fitted to.

use spike_data::SpikeRaster;

use crate::error::Result;

/// Moments over all bins of a raster. Neuron i's value in bin t is s_i(t) in {0, 1}.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternMoments {
    /// Number of bins averaged over.
    pub n_bins: usize,
    /// Number of neurons N.
    pub n_neurons: usize,
    /// P(s_i = 1) per neuron, length N.
    pub rates: Vec<f64>,
    /// E[s_i s_j], N x N row-major, symmetric, diagonal = rates.
    pub pair_means: Vec<f64>,
    /// P(K = k), k = 0..=N, K = number of active neurons in a bin.
    pub count_probabilities: Vec<f64>,
}

/// Active neurons of each bin, in order.
pub(crate) fn active_lists(raster: &SpikeRaster) -> Vec<Vec<u32>> {
    let n = raster.n_neurons();
    raster
        .counts()
        .chunks_exact(n)
        .map(|row| (0..n).filter(|&i| row[i] > 0).map(|i| i as u32).collect())
        .collect()
}

impl PatternMoments {
    /// The moments of every bin of `raster`, which must be binary.
    pub fn of_raster(raster: &SpikeRaster) -> Result<Self> {
        raster.ensure_binary()?;
        let n = raster.n_neurons();
        let mut spikes = vec![0u64; n];
        let mut pairs = vec![0u64; n * n];
        let mut counts = vec![0u64; n + 1];
        for active in active_lists(raster) {
            counts[active.len()] += 1;
            for (a, &i) in active.iter().enumerate() {
                spikes[i as usize] += 1;
                for &j in &active[a + 1..] {
                    pairs[i as usize * n + j as usize] += 1;
                }
            }
        }
        let total = raster.n_bins() as f64;
        let mut pair_means = vec![0.0; n * n];
        for i in 0..n {
            pair_means[i * n + i] = spikes[i] as f64 / total;
            for j in i + 1..n {
                let v = pairs[i * n + j] as f64 / total;
                pair_means[i * n + j] = v;
                pair_means[j * n + i] = v;
            }
        }
        Ok(PatternMoments {
            n_bins: raster.n_bins(),
            n_neurons: n,
            rates: spikes.iter().map(|&c| c as f64 / total).collect(),
            pair_means,
            count_probabilities: counts.iter().map(|&c| c as f64 / total).collect(),
        })
    }
}

/// E[s_i(t) s_j(t + lag)] for lag = 0..=max_lag, averaged over the bins where both exist
/// (t = 0..bins-lag); `[lag][i][j]` flattened, each block N x N (not symmetric for lag > 0).
pub fn lagged_pair_means(raster: &SpikeRaster, max_lag: usize) -> Result<Vec<f64>> {
    raster.ensure_binary()?;
    let n = raster.n_neurons();
    let bins = raster.n_bins();
    let active = active_lists(raster);
    let mut out = vec![0.0; (max_lag + 1) * n * n];
    for lag in 0..=max_lag.min(bins.saturating_sub(1)) {
        let mut c = vec![0u64; n * n];
        for t in 0..bins - lag {
            for &i in &active[t] {
                for &j in &active[t + lag] {
                    c[i as usize * n + j as usize] += 1;
                }
            }
        }
        let total = (bins - lag) as f64;
        for (o, v) in out[lag * n * n..(lag + 1) * n * n].iter_mut().zip(c) {
            *o = v as f64 / total;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_small_raster() {
        // bins x neurons: [1 1 0], [0 1 1], [0 0 0], [1 1 1]
        let r = SpikeRaster::new(vec![1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1], 4, 3).unwrap();
        let m = PatternMoments::of_raster(&r).unwrap();
        assert_eq!(m.rates, vec![0.5, 0.75, 0.5]);
        assert_eq!(m.pair_means[1], 0.5); // (0,1): bins 0 and 3
        assert_eq!(m.pair_means[3 + 2], 0.5); // (1,2): bins 1 and 3
        assert_eq!(m.pair_means[2], 0.25);
        assert_eq!(m.count_probabilities, vec![0.25, 0.0, 0.5, 0.25]);
        let lag = lagged_pair_means(&r, 1).unwrap();
        assert_eq!(&lag[..9], &m.pair_means[..]);
        // lag 1, neuron 0 then neuron 2: (t=0 -> t=1) only, out of 3 pairs of bins.
        assert!((lag[9 + 2] - 1.0 / 3.0).abs() < 1e-15);
        assert!((lag[9 + 2 * 3] - 0.0).abs() < 1e-15); // neuron 2 at t then neuron 0 at t+1: (2->3)? bin 2 silent
    }
}
