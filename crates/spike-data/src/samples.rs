//! [`SampleSet`]: n binary samples of N neurons x T bins, owned or as windows over a raster.

use crate::error::{DataError, Result};
use crate::raster::{DataOrigin, SpikeRaster};

/// Where the values of a [`SampleSet`] live.
#[derive(Clone, Debug)]
pub enum SampleStorage<'a> {
    /// Owned values, `values[(s * n_neurons + n) * n_bins + t]` (C order `[n, N, T]`).
    Owned(Vec<u8>),
    /// Sample `s` is bins `first_bin + s * stride ..+ n_bins` of a raster (no copy).
    Windows {
        /// The raster the windows are cut from (binary).
        raster: &'a SpikeRaster,
        /// First bin of sample 0.
        first_bin: usize,
        /// Bins between the starts of consecutive samples.
        stride: usize,
    },
}

/// `n_samples` binary samples, each `n_neurons` x `n_bins` (0/1 values).
///
/// The paper's flattening order is neuron-major: neuron 0's T bins, then neuron 1's, ...
/// ([`SampleSet::flat_sample`]). Invariants: all dimensions are at least 1 and every value is 0 or 1.
#[derive(Clone, Debug)]
pub struct SampleSet<'a> {
    storage: SampleStorage<'a>,
    n_samples: usize,
    n_neurons: usize,
    n_bins: usize,
    /// Bin width in milliseconds, when known.
    pub bin_width_ms: Option<f64>,
    /// File and variable the samples came from.
    pub origin: DataOrigin,
}

/// How to cut windows from a raster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// Window length T in bins.
    pub bins: usize,
    /// Bins between window starts: 1 = sliding (the paper's GAN training set), `bins` = non-overlapping.
    pub stride: usize,
}

impl WindowSpec {
    /// Sliding windows of `bins` bins (stride 1).
    pub fn sliding(bins: usize) -> Self {
        WindowSpec { bins, stride: 1 }
    }

    /// Non-overlapping consecutive windows of `bins` bins.
    pub fn non_overlapping(bins: usize) -> Self {
        WindowSpec { bins, stride: bins }
    }

    /// Number of windows that fit in `n_bins` bins: `(n_bins - bins) / stride + 1`, 0 when none fits.
    pub fn count(&self, n_bins: usize) -> usize {
        if self.bins == 0 || self.stride == 0 || n_bins < self.bins {
            0
        } else {
            (n_bins - self.bins) / self.stride + 1
        }
    }
}

impl SampleSet<'static> {
    /// Samples from owned values in C order `[n_samples, n_neurons, n_bins]`; every value must be 0 or 1.
    pub fn from_owned(
        values: Vec<u8>,
        n_samples: usize,
        n_neurons: usize,
        n_bins: usize,
        origin: DataOrigin,
    ) -> Result<Self> {
        if n_samples == 0 || n_neurons == 0 || n_bins == 0 {
            return Err(origin.shape_error(format!(
                "empty sample set ({n_samples} samples x {n_neurons} neurons x {n_bins} bins)"
            )));
        }
        if values.len() != n_samples * n_neurons * n_bins {
            return Err(origin.shape_error(format!(
                "{} values do not fill {n_samples} x {n_neurons} x {n_bins}",
                values.len()
            )));
        }
        let bad = values.iter().filter(|&&v| v > 1).count();
        if bad > 0 {
            let i = values.iter().position(|&v| v > 1).unwrap_or(0);
            let (s, rest) = (i / (n_neurons * n_bins), i % (n_neurons * n_bins));
            return Err(origin.values_error(format!(
                "binary (0/1) samples required but {bad} value(s) are > 1; first at sample {s}, neuron {}, bin {}: {}",
                rest / n_bins,
                rest % n_bins,
                values[i]
            )));
        }
        Ok(SampleSet {
            storage: SampleStorage::Owned(values),
            n_samples,
            n_neurons,
            n_bins,
            bin_width_ms: None,
            origin,
        })
    }
}

impl<'a> SampleSet<'a> {
    /// Windows of a binary raster as samples, without copying. Errors when the raster is not 0/1,
    /// the window is empty or longer than the recording, or the stride is 0.
    pub fn windows(raster: &'a SpikeRaster, spec: WindowSpec) -> Result<Self> {
        if spec.bins == 0 {
            return Err(DataError::param("--window", "window length must be at least 1 bin"));
        }
        if spec.stride == 0 {
            return Err(DataError::param("--stride", "stride must be at least 1 bin"));
        }
        if spec.bins > raster.n_bins() {
            return Err(raster.origin.shape_error(format!(
                "window of {} bins is longer than the recording ({} bins)",
                spec.bins,
                raster.n_bins()
            )));
        }
        raster.ensure_binary()?;
        Ok(SampleSet {
            storage: SampleStorage::Windows {
                raster,
                first_bin: 0,
                stride: spec.stride,
            },
            n_samples: spec.count(raster.n_bins()),
            n_neurons: raster.n_neurons(),
            n_bins: spec.bins,
            bin_width_ms: raster.bin_width_ms,
            origin: raster.origin.clone(),
        })
    }

    /// Number of samples n.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of neurons N.
    pub fn n_neurons(&self) -> usize {
        self.n_neurons
    }

    /// Bins per sample T.
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Where the values live.
    pub fn storage(&self) -> &SampleStorage<'a> {
        &self.storage
    }

    /// Value (0 or 1) of `neuron` in `bin` of sample `sample`.
    #[inline]
    pub fn get(&self, sample: usize, neuron: usize, bin: usize) -> u8 {
        match &self.storage {
            SampleStorage::Owned(v) => v[(sample * self.n_neurons + neuron) * self.n_bins + bin],
            SampleStorage::Windows {
                raster,
                first_bin,
                stride,
            } => raster.get(first_bin + sample * stride + bin, neuron),
        }
    }

    /// Sample `sample` flattened neuron-major (length N*T): the paper's order.
    pub fn flat_sample(&self, sample: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.n_neurons * self.n_bins);
        for n in 0..self.n_neurons {
            out.extend((0..self.n_bins).map(|t| self.get(sample, n, t)));
        }
        out
    }

    /// The first `n` samples (all when `n` is larger), still without copying windows.
    pub fn take(mut self, n: usize) -> Self {
        self.n_samples = self.n_samples.min(n);
        self
    }

    /// All values copied into C order `[n_samples, n_neurons, n_bins]`.
    pub fn to_owned_values(&self) -> Vec<u8> {
        if let SampleStorage::Owned(v) = &self.storage {
            return v[..self.n_samples * self.n_neurons * self.n_bins].to_vec();
        }
        let mut out = Vec::with_capacity(self.n_samples * self.n_neurons * self.n_bins);
        for s in 0..self.n_samples {
            out.extend(self.flat_sample(s));
        }
        out
    }

    /// An owned copy that no longer borrows a raster.
    pub fn into_owned(self) -> SampleSet<'static> {
        let values = self.to_owned_values();
        SampleSet {
            storage: SampleStorage::Owned(values),
            n_samples: self.n_samples,
            n_neurons: self.n_neurons,
            n_bins: self.n_bins,
            bin_width_ms: self.bin_width_ms,
            origin: self.origin,
        }
    }

    /// The samples laid end to end in time: a raster of `n_samples * n_bins` bins x N neurons
    /// (sample s, bin t -> raster bin `s * T + t`), with the same origin and bin width. Only for
    /// single-bin analyses: consecutive samples are not contiguous in time.
    pub fn concatenated(&self) -> SpikeRaster {
        let (n, t) = (self.n_neurons, self.n_bins);
        let mut counts = Vec::with_capacity(self.n_samples * t * n);
        for s in 0..self.n_samples {
            for b in 0..t {
                counts.extend((0..n).map(|i| self.get(s, i, b)));
            }
        }
        let mut raster = SpikeRaster::with_origin(counts, self.n_samples * t, n, self.origin.clone())
            .expect("a sample set is never empty");
        raster.bin_width_ms = self.bin_width_ms;
        raster
    }

    /// Bit-packed rows for fast statistics; see [`PackedSamples`].
    pub fn packed(&self) -> PackedSamples {
        PackedSamples::new(self)
    }
}

/// Bit-packed form of a [`SampleSet`]: each neuron's source series packed 64 bins per `u64`
/// (bit `b % 64` of word `b / 64` = bin `b`), plus where each sample starts in it.
///
/// For windows over a raster the source is the raster's column (so memory is 1/8 of the raster
/// however many overlapping windows there are); for owned samples it is the samples' rows joined
/// in time. Sample `s` of neuron `n` is bits `first_bin + s * stride ..+ n_bins` of row `n`.
#[derive(Clone, Debug)]
pub struct PackedSamples {
    rows: Vec<u64>,
    words_per_row: usize,
    series_len: usize,
    first_bin: usize,
    stride: usize,
    /// Number of samples n.
    pub n_samples: usize,
    /// Number of neurons N.
    pub n_neurons: usize,
    /// Bins per sample T.
    pub n_bins: usize,
}

impl PackedSamples {
    fn new(set: &SampleSet<'_>) -> Self {
        let (n_neurons, n_bins) = (set.n_neurons, set.n_bins);
        let (series_len, first_bin, stride) = match &set.storage {
            SampleStorage::Owned(_) => (set.n_samples * n_bins, 0, n_bins),
            SampleStorage::Windows {
                raster,
                first_bin,
                stride,
            } => (raster.n_bins(), *first_bin, *stride),
        };
        let words_per_row = series_len.div_ceil(64) + 1; // one spare word so extraction never reads past the end
        let mut rows = vec![0u64; words_per_row * n_neurons];
        match &set.storage {
            SampleStorage::Owned(v) => {
                for s in 0..set.n_samples {
                    for n in 0..n_neurons {
                        let row = &mut rows[n * words_per_row..(n + 1) * words_per_row];
                        let src = &v[(s * n_neurons + n) * n_bins..][..n_bins];
                        for (t, &x) in src.iter().enumerate() {
                            if x != 0 {
                                let b = s * n_bins + t;
                                row[b / 64] |= 1 << (b % 64);
                            }
                        }
                    }
                }
            }
            SampleStorage::Windows { raster, .. } => {
                for (b, bin) in raster.counts().chunks_exact(n_neurons).enumerate() {
                    for (n, &x) in bin.iter().enumerate() {
                        if x != 0 {
                            rows[n * words_per_row + b / 64] |= 1 << (b % 64);
                        }
                    }
                }
            }
        }
        PackedSamples {
            rows,
            words_per_row,
            series_len,
            first_bin,
            stride,
            n_samples: set.n_samples,
            n_neurons,
            n_bins,
        }
    }

    /// Length in bins of each neuron's source series.
    pub fn series_len(&self) -> usize {
        self.series_len
    }

    /// `neuron`'s whole source series, 64 bins per word (plus one spare zero word).
    pub fn series_row(&self, neuron: usize) -> &[u64] {
        &self.rows[neuron * self.words_per_row..(neuron + 1) * self.words_per_row]
    }

    /// Bit `bin` of `neuron`'s source series (0 past its end).
    #[inline]
    pub fn series_bit(&self, neuron: usize, bin: usize) -> bool {
        bin < self.series_len && (self.rows[neuron * self.words_per_row + bin / 64] >> (bin % 64)) & 1 == 1
    }

    /// Where sample `s` starts in the source series.
    #[inline]
    pub fn sample_start(&self, sample: usize) -> usize {
        self.first_bin + sample * self.stride
    }

    /// The range of samples whose windows start at a bin in `lo..=hi` (may be empty).
    #[inline]
    pub fn samples_starting_in(&self, lo: i64, hi: i64) -> std::ops::Range<usize> {
        let (first, stride) = (self.first_bin as i64, self.stride as i64);
        let s_min = ((lo - first).max(0) as u64).div_ceil(stride as u64) as i64;
        let s_max = if hi < first {
            -1
        } else {
            ((hi - first) / stride).min(self.n_samples as i64 - 1)
        };
        if s_max < s_min {
            0..0
        } else {
            s_min as usize..s_max as usize + 1
        }
    }

    /// Number of `u64` words one sample's row needs: `ceil(T / 64)`.
    pub fn words_per_sample(&self) -> usize {
        self.n_bins.div_ceil(64)
    }

    /// Bits of `neuron` in sample `sample` written to `out` (length [`Self::words_per_sample`]),
    /// bin `t` at bit `t % 64` of word `t / 64`; bits past T are 0.
    #[inline]
    pub fn sample_row(&self, sample: usize, neuron: usize, out: &mut [u64]) {
        let row = &self.rows[neuron * self.words_per_row..(neuron + 1) * self.words_per_row];
        let start = self.first_bin + sample * self.stride;
        let (w0, sh) = (start / 64, start % 64);
        let words = out.len();
        for (k, o) in out.iter_mut().enumerate() {
            let lo = row[w0 + k] >> sh;
            let hi = if sh == 0 {
                0
            } else {
                row.get(w0 + k + 1).copied().unwrap_or(0) << (64 - sh)
            };
            *o = lo | hi;
        }
        let rem = self.n_bins % 64;
        if rem != 0 {
            out[words - 1] &= (1u64 << rem) - 1;
        }
    }

    /// Bits of `neuron` in sample `sample` as one word; only for T <= 64.
    #[inline]
    pub fn sample_word(&self, sample: usize, neuron: usize) -> u64 {
        debug_assert!(self.n_bins <= 64);
        let row = &self.rows[neuron * self.words_per_row..(neuron + 1) * self.words_per_row];
        let start = self.first_bin + sample * self.stride;
        let (w0, sh) = (start / 64, start % 64);
        let lo = row[w0] >> sh;
        let hi = if sh == 0 { 0 } else { row[w0 + 1] << (64 - sh) };
        let v = lo | hi;
        if self.n_bins == 64 {
            v
        } else {
            v & ((1u64 << self.n_bins) - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raster() -> SpikeRaster {
        // 70 bins x 2 neurons: neuron 0 spikes at multiples of 3, neuron 1 at multiples of 7.
        let mut c = vec![0u8; 140];
        for b in 0..70 {
            c[b * 2] = u8::from(b % 3 == 0);
            c[b * 2 + 1] = u8::from(b % 7 == 0);
        }
        SpikeRaster::new(c, 70, 2).unwrap()
    }

    #[test]
    fn non_overlapping_windows_concatenate_back_to_the_raster() {
        let r = raster();
        let set = SampleSet::windows(&r, WindowSpec::non_overlapping(10)).unwrap();
        let back = set.concatenated();
        assert_eq!((back.n_bins(), back.n_neurons()), (70, 2));
        assert_eq!(back.counts(), r.counts());
        // Sliding windows repeat bins: window s, bin t lands at s * T + t.
        let sliding = SampleSet::windows(&r, WindowSpec::sliding(4)).unwrap().concatenated();
        assert_eq!(sliding.n_bins(), 67 * 4);
        assert_eq!(sliding.get(5 * 4 + 2, 0), r.get(7, 0));
    }

    #[test]
    fn window_counts() {
        assert_eq!(WindowSpec::sliding(32).count(283041), 283010);
        assert_eq!(WindowSpec::non_overlapping(32).count(283041), 8845);
        assert_eq!(WindowSpec::non_overlapping(32).count(31), 0);
    }

    #[test]
    fn windows_view_matches_raster_and_packing() {
        let r = raster();
        for spec in [
            WindowSpec::sliding(5),
            WindowSpec { bins: 64, stride: 3 },
            WindowSpec::non_overlapping(10),
        ] {
            let set = SampleSet::windows(&r, spec).unwrap();
            let owned = set.clone().into_owned();
            let (p1, p2) = (set.packed(), owned.packed());
            let mut buf = vec![0u64; p1.words_per_sample()];
            for s in 0..set.n_samples() {
                for n in 0..2 {
                    let expect: u64 = (0..spec.bins)
                        .map(|t| u64::from(r.get(s * spec.stride + t, n)) << t)
                        .sum();
                    assert_eq!(p1.sample_word(s, n), expect);
                    assert_eq!(p2.sample_word(s, n), expect);
                    p1.sample_row(s, n, &mut buf);
                    assert_eq!(buf[0], expect);
                    assert_eq!(owned.get(s, n, 1), set.get(s, n, 1));
                    assert_eq!(
                        p1.series_bit(n, p1.sample_start(s) + 2),
                        r.get(s * spec.stride + 2, n) == 1
                    );
                }
            }
        }
    }

    #[test]
    fn samples_starting_in_a_range() {
        let r = raster();
        let p = SampleSet::windows(&r, WindowSpec { bins: 10, stride: 3 })
            .unwrap()
            .packed();
        assert_eq!(p.n_samples, 21); // starts 0, 3, ..., 60
        assert_eq!(p.samples_starting_in(-5, 0), 0..1);
        assert!(p.samples_starting_in(1, 2).is_empty());
        assert_eq!(p.samples_starting_in(1, 7), 1..3);
        assert_eq!(p.samples_starting_in(58, 100), 20..21);
        assert!(p.samples_starting_in(61, 100).is_empty());
        assert!(p.samples_starting_in(-9, -1).is_empty());
    }

    #[test]
    fn long_rows_pack_across_words() {
        let mut v = vec![0u8; 3 * 130];
        v[130 + 129] = 1; // sample 1, neuron 0, bin 129
        v[2 * 130 + 64] = 1; // sample 2, bin 64
        let set = SampleSet::from_owned(v, 3, 1, 130, DataOrigin::default()).unwrap();
        let p = set.packed();
        let mut buf = vec![0u64; 3];
        p.sample_row(1, 0, &mut buf);
        assert_eq!(buf, vec![0, 0, 1 << 1]);
        p.sample_row(2, 0, &mut buf);
        assert_eq!(buf, vec![0, 1, 0]);
    }

    #[test]
    fn rejects_bad_windows_and_values() {
        let r = raster();
        let e = SampleSet::windows(&r, WindowSpec::sliding(71)).unwrap_err().to_string();
        assert!(e.contains("longer than the recording"), "{e}");
        assert!(SampleSet::windows(&r, WindowSpec { bins: 4, stride: 0 }).is_err());
        let mut c = r.counts().to_vec();
        c[9] = 3;
        let nb = SpikeRaster::new(c, 70, 2).unwrap();
        let e = SampleSet::windows(&nb, WindowSpec::sliding(4)).unwrap_err().to_string();
        assert!(e.contains("1 value(s) are > 1; first at bin 4, neuron 1: 3"), "{e}");
        let e = SampleSet::from_owned(vec![0, 2, 2, 0], 1, 2, 2, DataOrigin::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2 value(s) are > 1; first at sample 0, neuron 0, bin 1"),
            "{e}"
        );
    }
}
