//! The training windows of a run: [`TrainingData`].

use burn::tensor::{Device, Tensor, TensorData};
use spike_data::{PackedSamples, SampleSet};

use crate::error::{GanError, Result};

/// Training windows, bit-packed, split into train and dev parts.
pub struct TrainingData {
    packed: PackedSamples,
    train: usize,
    pub(super) dev: Vec<usize>,
    time_course: Vec<f64>,
}

impl TrainingData {
    /// Windows of the training set. With `dev_fraction > 0` the last windows are held out as the
    /// dev set, with a gap of T - 1 windows so that (sliding) dev windows share no bin with
    /// training windows.
    pub fn new(samples: &SampleSet<'_>, dev_fraction: f64) -> Result<Self> {
        let n = samples.n_samples();
        let n_dev = (n as f64 * dev_fraction).floor() as usize;
        let gap = if n_dev > 0 { samples.n_bins() - 1 } else { 0 };
        if n < n_dev + gap + 1 {
            return Err(GanError::Data(format!(
                "{n} windows are too few for a dev fraction of {dev_fraction}"
            )));
        }
        let train = n - n_dev - gap;
        let packed = samples.packed();
        let (nn, t) = (packed.n_neurons, packed.n_bins);
        // Spikes per neuron and bin of a window, [N, T].
        let mut counts = vec![0u64; nn * t];
        let mut row = vec![0u64; packed.words_per_sample()];
        for s in 0..train {
            for (i, c) in counts.chunks_exact_mut(t).enumerate() {
                packed.sample_row(s, i, &mut row);
                for (k, &word) in row.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        c[k * 64 + bits.trailing_zeros() as usize] += 1;
                        bits &= bits - 1;
                    }
                }
            }
        }
        let time_course = counts.iter().map(|&c| c as f64 / train as f64).collect();
        Ok(TrainingData {
            packed,
            train,
            dev: (n - n_dev..n).collect(),
            time_course,
        })
    }

    /// Neurons N.
    pub fn neurons(&self) -> usize {
        self.packed.n_neurons
    }

    /// Bins per window T.
    pub fn bins(&self) -> usize {
        self.packed.n_bins
    }

    /// Number of training windows.
    pub fn train_len(&self) -> usize {
        self.train
    }

    /// The windows, bit-packed (the first [`Self::train_len`] are the training windows).
    pub(crate) fn packed(&self) -> &PackedSamples {
        &self.packed
    }

    /// Mean spike probability per bin of each neuron over the training windows (the time
    /// course's mean over the bins), length N.
    pub fn rates(&self) -> Vec<f64> {
        let t = self.bins();
        self.time_course
            .chunks_exact(t)
            .map(|c| c.iter().sum::<f64>() / t as f64)
            .collect()
    }

    /// Spike probability of each neuron in each bin of a window over the training windows,
    /// `[N, T]` row-major (the paper's average time course divided by nothing: a probability).
    pub fn time_course(&self) -> &[f64] {
        &self.time_course
    }

    /// The windows `indices` as a `[B, N, T]` f32 tensor of 0/1.
    pub(super) fn batch(&self, indices: &[usize], device: &Device) -> Tensor<3> {
        let (n, t) = (self.neurons(), self.bins());
        Tensor::from_data(
            TensorData::new(self.batch_values(indices), [indices.len(), n, t]),
            device,
        )
    }

    /// The windows `indices` as `[B, N, T]` row-major 0/1 values.
    pub(super) fn batch_values(&self, indices: &[usize]) -> Vec<f32> {
        let (n, t) = (self.neurons(), self.bins());
        let mut values = vec![0f32; indices.len() * n * t];
        let mut row = vec![0u64; self.packed.words_per_sample()];
        for (b, &s) in indices.iter().enumerate() {
            for i in 0..n {
                self.packed.sample_row(s, i, &mut row);
                let out = &mut values[(b * n + i) * t..][..t];
                for (k, &word) in row.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        out[k * 64 + bits.trailing_zeros() as usize] = 1.0;
                        bits &= bits - 1;
                    }
                }
            }
        }
        values
    }
}
