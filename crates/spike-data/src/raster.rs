//! [`SpikeRaster`]: binned spike counts of a population, bins x neurons.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// Where a piece of data came from, for error messages: the file and the variable or
/// dataset inside it. Both may be empty for data made in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataOrigin {
    /// File the data was read from.
    pub path: PathBuf,
    /// Variable (MAT), dataset (HDF5) or table (NWB) name.
    pub name: String,
}

impl DataOrigin {
    /// Origin of data read from `path`, variable or dataset `name`.
    pub fn new(path: &Path, name: &str) -> Self {
        DataOrigin {
            path: path.to_path_buf(),
            name: name.to_string(),
        }
    }

    pub(crate) fn values_error(&self, detail: String) -> DataError {
        DataError::Values {
            path: self.path.clone(),
            name: self.name.clone(),
            detail,
        }
    }

    pub(crate) fn shape_error(&self, detail: String) -> DataError {
        DataError::Shape {
            path: self.path.clone(),
            name: self.name.clone(),
            detail,
        }
    }
}

/// Spike counts of `n_neurons` neurons in `n_bins` consecutive time bins.
///
/// Storage is bin-major (`counts[bin * n_neurons + neuron]`), the orientation of the recordings
/// (rows = time bins, columns = neurons). Counts are `u8`; most analyses need 0/1 data, which
/// [`SpikeRaster::ensure_binary`] checks. Invariant: at least one bin and one neuron.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeRaster {
    counts: Vec<u8>,
    n_bins: usize,
    n_neurons: usize,
    /// Width of one bin in milliseconds, when known.
    pub bin_width_ms: Option<f64>,
    /// Time of the left edge of bin 0 in seconds, when known.
    pub t_start_s: Option<f64>,
    /// Identifier of each neuron (column), when known; length `n_neurons`.
    unit_ids: Option<Vec<i64>>,
    /// File and variable this raster was read from.
    pub origin: DataOrigin,
}

impl SpikeRaster {
    /// Raster from bin-major counts (`counts[bin * n_neurons + neuron]`).
    pub fn new(counts: Vec<u8>, n_bins: usize, n_neurons: usize) -> Result<Self> {
        Self::with_origin(counts, n_bins, n_neurons, DataOrigin::default())
    }

    /// As [`SpikeRaster::new`], naming the file and variable the data came from in errors.
    pub fn with_origin(counts: Vec<u8>, n_bins: usize, n_neurons: usize, origin: DataOrigin) -> Result<Self> {
        if n_bins == 0 || n_neurons == 0 {
            return Err(origin.shape_error(format!("empty matrix ({n_bins} bins x {n_neurons} neurons)")));
        }
        if counts.len() != n_bins * n_neurons {
            return Err(origin.shape_error(format!(
                "{} values do not fill {n_bins} bins x {n_neurons} neurons",
                counts.len()
            )));
        }
        Ok(SpikeRaster {
            counts,
            n_bins,
            n_neurons,
            bin_width_ms: None,
            t_start_s: None,
            unit_ids: None,
            origin,
        })
    }

    /// Number of time bins (rows).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Number of neurons (columns).
    pub fn n_neurons(&self) -> usize {
        self.n_neurons
    }

    /// Bin-major counts, `counts[bin * n_neurons + neuron]`.
    pub fn counts(&self) -> &[u8] {
        &self.counts
    }

    /// Spike count of `neuron` in `bin`.
    #[inline]
    pub fn get(&self, bin: usize, neuron: usize) -> u8 {
        self.counts[bin * self.n_neurons + neuron]
    }

    /// Unit identifiers, one per neuron, when known.
    pub fn unit_ids(&self) -> Option<&[i64]> {
        self.unit_ids.as_deref()
    }

    /// Attach unit identifiers (one per neuron).
    pub fn set_unit_ids(&mut self, ids: Vec<i64>) -> Result<()> {
        if ids.len() != self.n_neurons {
            return Err(self
                .origin
                .shape_error(format!("{} unit ids for {} neurons", ids.len(), self.n_neurons)));
        }
        self.unit_ids = Some(ids);
        Ok(())
    }

    /// Total number of spikes.
    pub fn total_spikes(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Spike count of each neuron over the whole raster, length `n_neurons`.
    pub fn spikes_per_neuron(&self) -> Vec<u64> {
        let mut out = vec![0u64; self.n_neurons];
        for row in self.counts.chunks_exact(self.n_neurons) {
            for (o, &c) in out.iter_mut().zip(row) {
                *o += u64::from(c);
            }
        }
        out
    }

    /// Whether every count is 0 or 1.
    pub fn is_binary(&self) -> bool {
        self.counts.iter().all(|&c| c <= 1)
    }

    /// Error unless every count is 0 or 1; the error says how many are not and where the first is.
    pub fn ensure_binary(&self) -> Result<()> {
        let bad = self.counts.iter().filter(|&&c| c > 1).count();
        if bad == 0 {
            return Ok(());
        }
        let i = self.counts.iter().position(|&c| c > 1).unwrap_or(0);
        Err(self.origin.values_error(format!(
            "binary (0/1) data required but {bad} value(s) are > 1; first at bin {}, neuron {}: {}",
            i / self.n_neurons,
            i % self.n_neurons,
            self.counts[i]
        )))
    }

    /// The raster of these neurons only, in the order given (indices into the columns). Unit ids,
    /// bin width and start time are kept. Errors on an empty list, an index out of range or a
    /// neuron named twice.
    pub fn select_neurons(&self, neurons: &[usize]) -> Result<SpikeRaster> {
        let bad = |detail: String| Err(self.origin.shape_error(detail));
        if neurons.is_empty() {
            return bad("no neurons selected".into());
        }
        let mut seen = vec![false; self.n_neurons];
        for &i in neurons {
            match seen.get_mut(i) {
                None => {
                    return bad(format!(
                        "neuron {i} selected, but the raster has {} (0-based)",
                        self.n_neurons
                    ));
                }
                Some(true) => return bad(format!("neuron {i} selected twice")),
                Some(s) => *s = true,
            }
        }
        let counts = self
            .counts
            .chunks_exact(self.n_neurons)
            .flat_map(|row| neurons.iter().map(move |&i| row[i]))
            .collect();
        let mut out = SpikeRaster::with_origin(counts, self.n_bins, neurons.len(), self.origin.clone())?;
        out.bin_width_ms = self.bin_width_ms;
        out.t_start_s = self.t_start_s;
        out.unit_ids = self
            .unit_ids
            .as_ref()
            .map(|ids| neurons.iter().map(|&i| ids[i]).collect());
        Ok(out)
    }

    /// The matrix read the other way round: for a file whose rows are neurons and columns bins
    /// (this raster then has `n_bins` = neurons). Bin width and start time are kept; unit ids,
    /// which label columns, are dropped.
    pub fn transposed(&self) -> SpikeRaster {
        let (rows, cols) = (self.n_bins, self.n_neurons);
        let counts = (0..cols)
            .flat_map(|c| (0..rows).map(move |r| self.counts[r * cols + c]))
            .collect();
        SpikeRaster {
            counts,
            n_bins: cols,
            n_neurons: rows,
            bin_width_ms: self.bin_width_ms,
            t_start_s: self.t_start_s,
            unit_ids: None,
            origin: self.origin.clone(),
        }
    }

    /// The same raster with every count above 1 set to 1.
    pub fn clipped_to_binary(mut self) -> Self {
        for c in &mut self.counts {
            *c = (*c).min(1);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 bins x 4 neurons; neuron j spikes (j + bin) times, unit ids 10, 11, 12, 13.
    fn raster() -> SpikeRaster {
        let counts = (0..3).flat_map(|b| (0..4).map(move |j| (j + b) as u8)).collect();
        let mut r = SpikeRaster::with_origin(counts, 3, 4, DataOrigin::new(Path::new("r.mat"), "data")).unwrap();
        r.set_unit_ids(vec![10, 11, 12, 13]).unwrap();
        r.bin_width_ms = Some(20.0);
        r
    }

    #[test]
    fn select_neurons_keeps_the_chosen_columns_in_order() {
        let s = raster().select_neurons(&[3, 1]).unwrap();
        assert_eq!((s.n_bins(), s.n_neurons()), (3, 2));
        assert_eq!(s.counts(), &[3, 1, 4, 2, 5, 3]);
        assert_eq!(s.unit_ids(), Some(&[13, 11][..]));
        assert_eq!(s.bin_width_ms, Some(20.0));
    }

    #[test]
    fn transposed_swaps_rows_and_columns() {
        let t = raster().transposed();
        assert_eq!((t.n_bins(), t.n_neurons()), (4, 3));
        for (bin, neuron) in [(0, 0), (3, 1), (2, 2)] {
            assert_eq!(t.get(bin, neuron), raster().get(neuron, bin));
        }
        assert_eq!((t.unit_ids(), t.bin_width_ms), (None, Some(20.0)));
        assert_eq!(t.transposed().counts(), raster().counts());
    }

    #[test]
    fn select_neurons_rejects_bad_lists_naming_the_file() {
        for (list, what) in [(&[][..], "no neurons"), (&[4][..], "neuron 4"), (&[1, 1][..], "twice")] {
            let e = raster().select_neurons(list).unwrap_err().to_string();
            assert!(e.contains(what) && e.contains("r.mat"), "{e}");
        }
    }
}
