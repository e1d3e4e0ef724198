//! The statistics of binary spike samples that the Spike-GAN paper judges models by, and more
//! that users of such tools ask for. No IO, no randomness, nothing about models.
//!
//! Input is a [`spike_data::SampleSet`]: n samples of N neurons x T bins, values 0/1. Let S be the
//! samples joined in time, N x L with L = n*T (sample 0's bins, then sample 1's, ...). The
//! definitions follow the paper's numpy code exactly (`tflib/analysis.py`, checked against its
//! golden outputs to 1e-12):
//!
//! | statistic | definition | shape |
//! |---|---|---|
//! | mean spike count | mean over samples of each neuron's count in a sample (rate per bin x T); Hz = count / (T x bin width) | N |
//! | covariance | `np.cov(S)`: unbiased, divide by L - 1, means over all of S | N x N |
//! | variances | its diagonal | N |
//! | k-probabilities | fraction of the L bins in which exactly k neurons spike | N + 1 |
//! | autocorrelogram | lags -10..=10: sum of x(t) x(t+k) within each sample and neuron, / its maximum, lag 0 set to 0 | 21 |
//! | time course | mean over samples of each bin | N x T |
//! | lag covariance | (i, j): `np.cov(S[i, 0..L-1], S[j, 1..L])`, divide by L - 2; crosses sample boundaries | N x N |
//!
//! The seven errors ([`PaperErrors`]) are L1 sums of differences: mean (over N), covariance
//! (off-diagonal, both triangles), variance (diagonal), k-probabilities, autocorrelogram, time
//! course (N x T) and lag covariance (all N x N). Matrices are row-major `Vec<f64>`.
//!
//! Beyond the paper: [`patterns`] (pattern probabilities, plug-in and Miller-Madow entropies in
//! bits, KL divergence of spike-count distributions), [`pairwise`] (correlation coefficients that
//! are `None`, never NaN, for silent neurons; Fano factors; ISI coefficients of variation;
//! cross-correlograms), [`higher_order`] (spec section 6), [`nearest`] (spec section 7) and
//! [`discrimination`] (ROC curves and cross-validated template scores for two-stimulus data).
//!
//! Computation is one pass over bit-packed rows ([`spike_data::PackedSamples`]: windows of a raster
//! are never copied) with popcounts, in parallel over samples with rayon.
//!
//! ```
//! use spike_data::{SpikeRaster, SampleSet, WindowSpec};
//! let raster = SpikeRaster::new(vec![1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1], 6, 2)?;
//! let windows = SampleSet::windows(&raster, WindowSpec::non_overlapping(3))?;
//! let stats = spike_stats::paper_stats(&windows);
//! assert_eq!(stats.mean_spike_count, vec![1.5, 1.5]);
//! assert_eq!(stats.k_probabilities.len(), 3);
//! # Ok::<(), spike_data::DataError>(())
//! ```

pub mod discrimination;
mod error;
pub mod higher_order;
pub mod nearest;
pub mod pairwise;
mod paper;
pub mod patterns;

pub use error::{Result, StatsError};
pub use paper::{ACF_MAX_LAG, PaperErrors, PaperStats, from_packed, paper_errors, paper_stats};
