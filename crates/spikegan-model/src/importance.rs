//! Importance maps: which spikes a trained critic relies on (spec section 8), and the packet
//! estimate the paper derives from them.
//!
//! For a binary sample `x` (`N x T`) and a scorer `D` (the critic): windows of `window_width` bins
//! start at `0, step, 2 step, ...` up to `T - window_width`. For every start and neuron, a copy of
//! `x` has that neuron's bins in the window permuted at random (only within the neuron's row, the
//! original's quirk), `shuffles` times. A window's importance is the mean over shuffles of
//! `|D(x) - D(copy)|`. The map at `(i, b)` is the mean importance of the windows of neuron `i`
//! that cover bin `b`, where `x(i, b) = 1`, and 0 at bins without a spike.
//!
//! The scorer is a trait ([`SampleScorer`]) so the map code can be checked with hand-made
//! functions; [`CriticScorer`] runs a trained critic. Samples are processed in parallel (rayon),
//! each sample's copies scored as one batch. The shuffles of sample `s` come from a ChaCha8
//! stream seeded with `seed` and numbered `s`, so maps do not depend on the thread count.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use spike_data::SampleSet;

use crate::config::ModelConfig;
use crate::error::{GanError, Result};
use crate::model::Critic;

/// Anything that scores binary samples like a critic.
pub trait SampleScorer: Sync {
    /// Scores of `batch.len() / (N * T)` samples given as 0/1 values in C order `[b, N, T]`.
    fn score(&self, batch: &[f32], neurons: usize, bins: usize) -> Vec<f32>;
}

impl<F: Fn(&[f32], usize, usize) -> f32 + Sync> SampleScorer for F {
    fn score(&self, batch: &[f32], neurons: usize, bins: usize) -> Vec<f32> {
        batch
            .chunks_exact(neurons * bins)
            .map(|x| self(x, neurons, bins))
            .collect()
    }
}

/// A trained critic as a [`SampleScorer`] (no autodiff, eval mode).
pub struct CriticScorer {
    critic: Critic,
    model: ModelConfig,
    device: Device,
}

impl CriticScorer {
    /// Wrap `critic` of architecture `model`, run on `device` (its autodiff is dropped).
    pub fn new(critic: Critic, model: ModelConfig, device: &Device) -> Self {
        Self {
            critic: critic.valid(),
            model,
            device: device.clone().without_autodiff(),
        }
    }

    /// The architecture (N, T) the critic takes.
    pub fn model(&self) -> &ModelConfig {
        &self.model
    }
}

impl SampleScorer for CriticScorer {
    fn score(&self, batch: &[f32], neurons: usize, bins: usize) -> Vec<f32> {
        let b = batch.len() / (neurons * bins);
        // Bounded batches keep the activations of the first layer small.
        const MAX_BATCH: usize = 4096;
        let mut out = Vec::with_capacity(b);
        for chunk in batch.chunks(MAX_BATCH * neurons * bins) {
            let n = chunk.len() / (neurons * bins);
            let x = Tensor::from_data(TensorData::new(chunk.to_vec(), [n, neurons, bins]), &self.device);
            let scores = self.critic.forward(x).into_data().convert::<f32>();
            out.extend(scores.iter::<f32>());
        }
        out
    }
}

/// Settings of the maps (defaults: the paper's).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportanceParams {
    /// Width of the shuffled windows, bins (paper: 8).
    pub window_width: usize,
    /// Distance between window starts, bins (paper: 2).
    pub step: usize,
    /// Independent shuffles per window (paper: 5).
    pub shuffles: usize,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Default for ImportanceParams {
    fn default() -> Self {
        Self {
            window_width: 8,
            step: 2,
            shuffles: 5,
            seed: 0,
        }
    }
}

impl ImportanceParams {
    /// Check the settings against samples of `bins` bins; returns the window starts.
    pub fn window_starts(&self, bins: usize) -> Result<Vec<usize>> {
        let bad = |msg: String| Err(GanError::Config(msg));
        if self.window_width == 0 || self.window_width > bins {
            return bad(format!(
                "--window-width {} must be between 1 and the samples' {bins} bins",
                self.window_width
            ));
        }
        if self.step == 0 {
            return bad("--step must be at least 1".into());
        }
        if self.shuffles == 0 {
            return bad("--shuffles must be at least 1".into());
        }
        Ok((0..=bins - self.window_width).step_by(self.step).collect())
    }
}

/// Importance maps of `n` samples, C order `[n, N, T]`, with the samples they belong to.
#[derive(Clone, Debug)]
pub struct ImportanceMaps {
    /// Map values, `[n, N, T]`; 0 where the sample has no spike.
    pub values: Vec<f32>,
    /// Number of samples.
    pub n_samples: usize,
    /// Neurons N.
    pub neurons: usize,
    /// Bins T.
    pub bins: usize,
    /// The settings used.
    pub params: ImportanceParams,
}

impl ImportanceMaps {
    /// The map of sample `s`, `[N, T]`.
    pub fn map(&self, s: usize) -> &[f32] {
        let size = self.neurons * self.bins;
        &self.values[s * size..(s + 1) * size]
    }
}

/// Importance maps of every sample in `samples` under `scorer` (see the module docs).
/// `progress` is called with the number of samples finished so far (from any thread).
pub fn importance_maps(
    scorer: &impl SampleScorer,
    samples: &SampleSet<'_>,
    params: ImportanceParams,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ImportanceMaps> {
    let (n, neurons, bins) = (samples.n_samples(), samples.n_neurons(), samples.n_bins());
    let starts = params.window_starts(bins)?;
    if n == 0 {
        return Err(GanError::Data("no samples to compute importance maps of".into()));
    }
    let size = neurons * bins;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut values = vec![0f32; n * size];
    values.par_chunks_mut(size).enumerate().for_each(|(s, map)| {
        let x: Vec<f32> = (0..neurons)
            .flat_map(|i| (0..bins).map(move |t| (i, t)))
            .map(|(i, t)| f32::from(samples.get(s, i, t).min(1)))
            .collect();
        sample_map(scorer, &x, neurons, bins, &starts, params, s as u64, map);
        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
    });
    Ok(ImportanceMaps {
        values,
        n_samples: n,
        neurons,
        bins,
        params,
    })
}

/// The map of one sample `x` (`[N, T]`, 0/1) into `map`.
#[allow(clippy::too_many_arguments)]
fn sample_map(
    scorer: &impl SampleScorer,
    x: &[f32],
    neurons: usize,
    bins: usize,
    starts: &[usize],
    params: ImportanceParams,
    stream: u64,
    map: &mut [f32],
) {
    let w = params.window_width;
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    rng.set_stream(stream);
    // Copies in the original's order: shuffle, then window start, then neuron.
    let copies = params.shuffles * starts.len() * neurons;
    let mut batch = Vec::with_capacity((copies + 1) * x.len());
    batch.extend_from_slice(x);
    for _ in 0..params.shuffles {
        for &t in starts {
            for i in 0..neurons {
                let at = batch.len();
                batch.extend_from_slice(x);
                batch[at + i * bins + t..at + i * bins + t + w].shuffle(&mut rng);
            }
        }
    }
    let scores = scorer.score(&batch, neurons, bins);
    let original = scores[0];
    let per_window = starts.len() * neurons;
    let mut sum = vec![0f32; neurons * bins];
    let mut count = vec![0u32; neurons * bins];
    for (k, &t) in starts.iter().enumerate() {
        for i in 0..neurons {
            let idx = k * neurons + i;
            let importance = (0..params.shuffles)
                .map(|sh| (original - scores[1 + sh * per_window + idx]).abs())
                .sum::<f32>()
                / params.shuffles as f32;
            for b in t..t + w {
                if x[i * bins + b] > 0.0 {
                    sum[i * bins + b] += importance;
                    count[i * bins + b] += 1;
                }
            }
        }
    }
    for ((m, s), c) in map.iter_mut().zip(sum).zip(count) {
        *m = if c > 0 { s / c as f32 } else { 0.0 };
    }
}

/// The packet estimate of spec section 8.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PacketEstimate {
    /// The percentile of map values at spikes used as threshold.
    pub percentile: f64,
    /// The threshold: that percentile of every map value at a spike (numpy's linear method).
    pub threshold: f64,
    /// Samples with at least one map value at or above the threshold.
    pub samples_with_packet: usize,
    /// Neurons N.
    pub neurons: usize,
    /// Bins T.
    pub bins: usize,
    /// Mean over all samples of the thresholded maps, each cut from its first to its last
    /// surviving bin and aligned to bin 0, `[N][T]` (the original averages over every sample,
    /// counting those without a surviving bin as zeros).
    pub packet: Vec<Vec<f64>>,
}

/// Aligned, thresholded map of every sample, C order `[n, N, T]`, with the threshold used.
pub fn aligned_packets(maps: &ImportanceMaps, samples: &SampleSet<'_>, percentile: f64) -> Result<(f64, Vec<f32>)> {
    if !(0.0..=100.0).contains(&percentile) {
        return Err(GanError::Config(format!(
            "--percentile {percentile} must be between 0 and 100"
        )));
    }
    let (n, neurons, bins) = (maps.n_samples, maps.neurons, maps.bins);
    if (samples.n_samples(), samples.n_neurons(), samples.n_bins()) != (n, neurons, bins) {
        return Err(GanError::Data(format!(
            "maps are {n} x {neurons} x {bins} but the samples are {} x {} x {}",
            samples.n_samples(),
            samples.n_neurons(),
            samples.n_bins()
        )));
    }
    let mut at_spikes: Vec<f64> = Vec::new();
    for s in 0..n {
        let map = maps.map(s);
        for i in 0..neurons {
            for t in 0..bins {
                if samples.get(s, i, t) == 1 {
                    at_spikes.push(f64::from(map[i * bins + t]));
                }
            }
        }
    }
    if at_spikes.is_empty() {
        return Err(GanError::Data("the samples have no spikes: no packet to infer".into()));
    }
    let threshold = percentile_linear(&mut at_spikes, percentile);
    let size = neurons * bins;
    let mut out = vec![0f32; n * size];
    for (s, aligned) in out.chunks_exact_mut(size).enumerate() {
        let map = maps.map(s);
        let kept = |i: usize, t: usize| {
            let v = map[i * bins + t];
            if f64::from(v) < threshold { 0.0 } else { v }
        };
        let active: Vec<usize> = (0..bins)
            .filter(|&t| (0..neurons).map(|i| kept(i, t)).sum::<f32>() != 0.0)
            .collect();
        if let (Some(&first), Some(&last)) = (active.first(), active.last()) {
            for i in 0..neurons {
                for t in first..=last {
                    aligned[i * bins + t - first] = kept(i, t);
                }
            }
        }
    }
    Ok((threshold, out))
}

/// Infer the packet from importance maps (spec section 8): threshold at `percentile` of the map
/// values at spikes, cut and align each sample's surviving span to bin 0, average over samples.
pub fn infer_packet(maps: &ImportanceMaps, samples: &SampleSet<'_>, percentile: f64) -> Result<PacketEstimate> {
    let (threshold, aligned) = aligned_packets(maps, samples, percentile)?;
    let (n, neurons, bins) = (maps.n_samples, maps.neurons, maps.bins);
    let mut packet = vec![vec![0f64; bins]; neurons];
    let mut samples_with_packet = 0;
    for a in aligned.chunks_exact(neurons * bins) {
        samples_with_packet += usize::from(a.iter().any(|&v| v != 0.0));
        for (i, row) in packet.iter_mut().enumerate() {
            for (t, p) in row.iter_mut().enumerate() {
                *p += f64::from(a[i * bins + t]) / n as f64;
            }
        }
    }
    Ok(PacketEstimate {
        percentile,
        threshold,
        samples_with_packet,
        neurons,
        bins,
        packet,
    })
}

/// numpy's default (`linear`) percentile; sorts `values`.
fn percentile_linear(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // np.percentile([1, 2, 3, 4, 10], [0, 50, 95, 100]) = [1, 3, 8.8, 10]
        for (q, want) in [(0.0, 1.0), (50.0, 3.0), (95.0, 8.8), (100.0, 10.0)] {
            let mut v = vec![4.0, 1.0, 10.0, 3.0, 2.0];
            assert!((percentile_linear(&mut v, q) - want).abs() < 1e-12, "q {q}");
        }
    }

    #[test]
    fn window_starts_follow_the_original() {
        // times = 2 * arange(T / 2), keeping those <= T - w.
        let p = ImportanceParams::default();
        assert_eq!(p.window_starts(32).unwrap(), (0..=24).step_by(2).collect::<Vec<_>>());
        assert_eq!(p.window_starts(8).unwrap(), vec![0]);
        assert!(p.window_starts(7).is_err());
        let odd = ImportanceParams { step: 3, ..p };
        assert_eq!(odd.window_starts(12).unwrap(), vec![0, 3]);
        assert!(ImportanceParams { shuffles: 0, ..p }.window_starts(32).is_err());
    }
}
