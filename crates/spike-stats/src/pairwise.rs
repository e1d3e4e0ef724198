//! Correlation coefficients, Fano factors, ISI variability and cross-correlograms.

use spike_data::{SampleSet, SpikeRaster};

use crate::error::{Result, StatsError};

/// Pearson correlation coefficients from a covariance matrix (N x N row-major):
/// `r_ij = cov_ij / sqrt(var_i var_j)`, `None` where a neuron has zero variance (silent or
/// always firing), so a missing value never turns a mean into NaN.
pub fn correlation_coefficients(covariance: &[f64], neurons: usize) -> Vec<Option<f64>> {
    (0..neurons * neurons)
        .map(|k| {
            let (i, j) = (k / neurons, k % neurons);
            let (vi, vj) = (covariance[i * neurons + i], covariance[j * neurons + j]);
            (vi > 0.0 && vj > 0.0).then(|| covariance[k] / (vi * vj).sqrt())
        })
        .collect()
}

/// Mean of the defined values, and how many there were (`None` when none is defined).
pub fn mean_defined(values: &[Option<f64>]) -> Option<(f64, usize)> {
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    (!defined.is_empty()).then(|| (defined.iter().sum::<f64>() / defined.len() as f64, defined.len()))
}

/// Fano factor of each neuron's spike count per sample: sample variance (ddof 1) / mean over the
/// n samples. `None` for a neuron that never fires, or when n < 2.
pub fn fano_factors(samples: &SampleSet<'_>) -> Vec<Option<f64>> {
    let (ns, n, t) = (samples.n_samples(), samples.n_neurons(), samples.n_bins());
    (0..n)
        .map(|i| {
            let counts: Vec<f64> = (0..ns)
                .map(|s| (0..t).map(|b| f64::from(samples.get(s, i, b))).sum::<f64>())
                .collect();
            let mean = counts.iter().sum::<f64>() / ns as f64;
            if ns < 2 || mean == 0.0 {
                return None;
            }
            let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (ns - 1) as f64;
            Some(var / mean)
        })
        .collect()
}

/// Coefficient of variation (sample std, ddof 1, / mean) of each neuron's inter-spike intervals
/// in a raster, in bins (unitless, so the bin width does not matter). c spikes in one bin count as
/// c spikes at the same time (c - 1 intervals of 0). `None` with fewer than 3 spikes or a zero mean.
pub fn isi_cv(raster: &SpikeRaster) -> Vec<Option<f64>> {
    (0..raster.n_neurons())
        .map(|i| {
            let mut times = Vec::new();
            for b in 0..raster.n_bins() {
                times.extend(std::iter::repeat_n(b as f64, usize::from(raster.get(b, i))));
            }
            if times.len() < 3 {
                return None;
            }
            let isis: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
            let mean = isis.iter().sum::<f64>() / isis.len() as f64;
            if mean == 0.0 {
                return None;
            }
            let var = isis.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (isis.len() - 1) as f64;
            Some(var.sqrt() / mean)
        })
        .collect()
}

/// Cross-correlogram of neurons `i` and `j` for lags `-max_lag..=max_lag`: entry `max_lag + k` is
/// the number of times j spikes k bins after i, within a sample (never across samples, like the
/// autocorrelogram). Raw counts; divide by the spike counts for rates.
pub fn cross_correlogram(samples: &SampleSet<'_>, i: usize, j: usize, max_lag: usize) -> Result<Vec<u64>> {
    let n = samples.n_neurons();
    if i >= n || j >= n {
        return Err(StatsError::Unsupported(format!(
            "neuron index out of range: ({i}, {j}) with {n} neurons"
        )));
    }
    let t = samples.n_bins();
    let mut cc = vec![0u64; 2 * max_lag + 1];
    for s in 0..samples.n_samples() {
        let a: Vec<usize> = (0..t).filter(|&b| samples.get(s, i, b) == 1).collect();
        let b: Vec<usize> = (0..t).filter(|&b| samples.get(s, j, b) == 1).collect();
        for &x in &a {
            for &y in &b {
                let lag = y as i64 - x as i64;
                if lag.unsigned_abs() as usize <= max_lag {
                    cc[(lag + max_lag as i64) as usize] += 1;
                }
            }
        }
    }
    Ok(cc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use spike_data::DataOrigin;

    #[test]
    fn silent_neurons_have_missing_correlations() {
        // Neuron 1 silent.
        let cov = [0.25, 0.0, 0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.16];
        let r = correlation_coefficients(&cov, 3);
        assert_eq!(r[1], None);
        assert_eq!(r[4], None);
        assert_relative_eq!(r[2].unwrap(), 0.1 / (0.25f64 * 0.16).sqrt());
        assert_relative_eq!(r[0].unwrap(), 1.0);
        let (m, k) = mean_defined(&[r[2], r[1], Some(0.5)]).unwrap();
        assert_eq!(k, 2);
        assert_relative_eq!(m, (r[2].unwrap() + 0.5) / 2.0);
        assert_eq!(mean_defined(&[None]), None);
    }

    #[test]
    fn fano_and_cross_correlogram_by_hand() {
        // Three samples of 2 neurons x 3 bins; neuron 0 counts 1, 2, 3; neuron 1 silent.
        let v = vec![1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0];
        let s = SampleSet::from_owned(v, 3, 2, 3, DataOrigin::default()).unwrap();
        let f = fano_factors(&s);
        assert_relative_eq!(f[0].unwrap(), 1.0 / 2.0); // var 1, mean 2
        assert_eq!(f[1], None);
        // Auto-pairs of neuron 0: lag 0: 6 spikes; lag +1: 1 + 2 = 3; lag +2: 1.
        assert_eq!(cross_correlogram(&s, 0, 0, 2).unwrap(), vec![1, 3, 6, 3, 1]);
        assert_eq!(cross_correlogram(&s, 0, 1, 1).unwrap(), vec![0, 0, 0]);
        assert!(cross_correlogram(&s, 0, 2, 1).is_err());
    }

    #[test]
    fn isi_cv_of_regular_and_irregular_trains() {
        // Neuron 0 fires every 2 bins (CV 0); neuron 1 at bins 0, 1, 5 (ISIs 1, 4); neuron 2 once.
        let mut c = vec![0u8; 8 * 3];
        for b in [0, 2, 4, 6] {
            c[b * 3] = 1;
        }
        for b in [0, 1, 5] {
            c[b * 3 + 1] = 1;
        }
        c[2] = 1;
        let r = SpikeRaster::new(c, 8, 3).unwrap();
        let cv = isi_cv(&r);
        assert_eq!(cv[0], Some(0.0));
        assert_relative_eq!(cv[1].unwrap(), (4.5f64).sqrt() / 2.5);
        assert_eq!(cv[2], None);
    }
}
