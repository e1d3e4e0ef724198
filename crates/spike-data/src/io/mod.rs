//! Reading and writing spike data: format detection by content, readers, atomic writers.
//!
//! | format | read | write | what it holds |
//! |---|---|---|---|
//! | MATLAB v5 `.mat` | yes | yes | a bins x neurons matrix (any numeric class) or an n x N x T array |
//! | MATLAB v7.3 `.mat` (HDF5 + 512-byte user block) | yes (feature `hdf5`) | no | same, stored transposed (column-major) |
//! | HDF5 `.h5` | yes (feature `hdf5`) | yes | `/raster` [bins, neurons] or `/samples` [n, N, T], or any 2-/3-D dataset via `--key` |
//! | NWB 2.x `.nwb` | yes (feature `hdf5`) | no | a Units table: spike times per unit, observation intervals |
//! | NumPy `.npy` | yes | yes | 2-D raster or 3-D samples; u8/bool/int/float holding counts |
//!
//! Matrices are rows = time bins, columns = neurons, as in the recordings. Values must be finite,
//! non-negative integers up to 255; 3-D sample arrays must be 0/1.

#[cfg(feature = "hdf5")]
mod h5;
mod mat5;
mod npy;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::raster::{DataOrigin, SpikeRaster};
use crate::samples::SampleSet;
use crate::trains::SpikeTrains;

/// A file format this crate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// MATLAB level 5 MAT-file.
    MatV5,
    /// MATLAB v7.3 MAT-file (HDF5 inside).
    MatV73,
    /// Plain HDF5.
    Hdf5,
    /// Neurodata Without Borders 2.x (HDF5).
    Nwb,
    /// NumPy `.npy`.
    Npy,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::MatV5 => "MATLAB v5 MAT-file",
            Format::MatV73 => "MATLAB v7.3 MAT-file (HDF5)",
            Format::Hdf5 => "HDF5",
            Format::Nwb => "NWB 2.x (HDF5)",
            Format::Npy => "NumPy .npy",
        })
    }
}

const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Find a file's format from its first bytes (not its extension).
pub fn detect_format(path: &Path) -> Result<Format> {
    let mut head = Vec::with_capacity(2056);
    std::fs::File::open(path)
        .and_then(|f| f.take(2056).read_to_end(&mut head))
        .map_err(|e| DataError::io(path, e))?;
    if head.starts_with(b"\x93NUMPY") {
        return Ok(Format::Npy);
    }
    let hdf5_at = [0usize, 512, 1024, 2048]
        .into_iter()
        .find(|&o| head.len() >= o + 8 && &head[o..o + 8] == HDF5_SIGNATURE);
    if head.starts_with(b"MATLAB") && hdf5_at == Some(512) {
        return Ok(Format::MatV73);
    }
    if head.starts_with(b"MATLAB 5.0 MAT-file")
        || (head.len() >= 128 && head.starts_with(b"MATLAB") && matches!(&head[126..128], b"IM" | b"MI"))
    {
        if head.len() < 128 {
            return Err(corrupt(path, "MAT v5", "file ends inside the 128-byte header"));
        }
        return Ok(Format::MatV5);
    }
    if hdf5_at.is_some() {
        return Ok(if is_nwb(path)? { Format::Nwb } else { Format::Hdf5 });
    }
    if head.is_empty() {
        return Err(DataError::UnknownFormat {
            path: path.into(),
            detail: "the file is empty".into(),
        });
    }
    Err(DataError::UnknownFormat {
        path: path.into(),
        detail: "not MAT v5/v7.3, HDF5, NWB or .npy (no known signature in the first bytes)".into(),
    })
}

#[cfg(feature = "hdf5")]
fn is_nwb(path: &Path) -> Result<bool> {
    h5::is_nwb(path)
}

#[cfg(not(feature = "hdf5"))]
fn is_nwb(_path: &Path) -> Result<bool> {
    Ok(false)
}

pub(crate) fn corrupt(path: &Path, format: &'static str, detail: impl Into<String>) -> DataError {
    DataError::Corrupt {
        path: path.into(),
        format,
        detail: detail.into(),
    }
}

/// Options for [`read`].
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// MAT variable, HDF5 dataset path or NWB Units table path; found automatically when `None`.
    pub key: Option<String>,
    /// NWB only: keep these unit ids, in this order.
    pub units: Option<Vec<i64>>,
}

/// What a file holds.
#[derive(Clone, Debug)]
pub enum SpikeData {
    /// A binned recording, bins x neurons.
    Raster(SpikeRaster),
    /// Samples, n x N x T.
    Samples(SampleSet<'static>),
    /// Spike times per unit.
    Trains(SpikeTrains),
}

/// The result of [`read`]: the data, the format it was read from and the variable/dataset used.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Detected format.
    pub format: Format,
    /// Variable (MAT), dataset (HDF5) or Units table (NWB) that was read.
    pub key: String,
    /// The data.
    pub data: SpikeData,
}

/// Read a file of any supported format (detected from its content).
pub fn read(path: &Path, options: &ReadOptions) -> Result<Loaded> {
    let format = detect_format(path)?;
    if options.units.is_some() && format != Format::Nwb {
        return Err(DataError::param(
            "--units",
            format!(
                "unit selection applies to NWB files, but {} is {format}",
                path.display()
            ),
        ));
    }
    let (key, data) = match format {
        Format::MatV5 => {
            let (key, m) = mat5::read(path, options.key.as_deref())?;
            let data = m.into_data(&DataOrigin::new(path, &key))?;
            (key, data)
        }
        Format::Npy => {
            let m = npy::read(path)?;
            let data = m.into_data(&DataOrigin::new(path, "array"))?;
            ("array".to_string(), data)
        }
        #[cfg(feature = "hdf5")]
        Format::MatV73 | Format::Hdf5 | Format::Nwb => h5::read(path, format, options)?,
        #[cfg(not(feature = "hdf5"))]
        Format::MatV73 | Format::Hdf5 | Format::Nwb => {
            return Err(DataError::FeatureMissing {
                path: path.into(),
                format: "HDF5/NWB/MAT v7.3",
                feature: "hdf5",
            });
        }
    };
    if let SpikeData::Raster(r) = &data
        && r.n_neurons() > r.n_bins()
    {
        tracing::warn!(
            "{}: '{key}' has {} rows and {} columns, read as {} time bins of {} neurons (rows are bins); \
             if its rows are neurons, transpose it: spikegan data convert --transpose",
            path.display(),
            r.n_bins(),
            r.n_neurons(),
            r.n_bins(),
            r.n_neurons()
        );
    }
    Ok(Loaded { format, key, data })
}

/// Read a file that must hold binned data (a raster or samples); NWB spike times are an error
/// that points to `spikegan data bin`.
pub fn read_binned(path: &Path, options: &ReadOptions) -> Result<Loaded> {
    let loaded = read(path, options)?;
    if let SpikeData::Trains(_) = loaded.data {
        return Err(DataError::Shape {
            path: path.into(),
            name: loaded.key,
            detail: "holds spike times, not binned data: bin it first (spikegan data bin --bin-ms W)".into(),
        });
    }
    Ok(loaded)
}

/// Numeric values as read from a file.
pub(crate) enum Values {
    U8(Vec<u8>),
    F64(Vec<f64>),
}

/// A numeric array as read from a file, before it becomes a raster or samples.
pub(crate) struct Matrix {
    /// Dimensions as the file states them.
    pub dims: Vec<usize>,
    pub values: Values,
    /// Element `(i, j, k)` is at `i + j*d0 + k*d0*d1` (MATLAB) rather than C order.
    pub column_major: bool,
}

impl Matrix {
    /// Values in C order as `u8` counts, checked to be finite non-negative integers <= 255.
    fn c_order_counts(self, origin: &DataOrigin) -> Result<Vec<u8>> {
        let dims = &self.dims;
        let total: usize = dims.iter().product();
        let len = match &self.values {
            Values::U8(v) => v.len(),
            Values::F64(v) => v.len(),
        };
        if len != total {
            return Err(origin.shape_error(format!("{len} values do not fill shape {dims:?}")));
        }
        // Source index of each C-order index: the identity, or the column-major position.
        let source_order: Option<Vec<usize>> = self.column_major.then(|| column_major_positions(dims));
        let src = |i: usize| source_order.as_ref().map_or(i, |o| o[i]);
        let position = |i: usize| -> String {
            let mut rest = i;
            let mut idx = vec![0; dims.len()];
            for d in (0..dims.len()).rev() {
                idx[d] = rest % dims[d];
                rest /= dims[d];
            }
            format!("{idx:?}")
        };
        match self.values {
            Values::U8(v) if !self.column_major => Ok(v),
            Values::U8(v) => Ok((0..total).map(|i| v[src(i)]).collect()),
            Values::F64(v) => {
                let mut out = vec![0u8; total];
                let mut bad = 0usize;
                let mut first = None;
                for (i, o) in out.iter_mut().enumerate() {
                    let x = v[src(i)];
                    if x.is_finite() && (0.0..=255.0).contains(&x) && x.fract() == 0.0 {
                        *o = x as u8;
                    } else {
                        bad += 1;
                        first.get_or_insert((i, x));
                    }
                }
                match first {
                    None => Ok(out),
                    Some((i, x)) => Err(origin.values_error(format!(
                        "{bad} value(s) are not spike counts (finite integers 0..=255); first at index {} (row-major [bin, neuron] or [sample, neuron, bin]): {x}",
                        position(i)
                    ))),
                }
            }
        }
    }

    /// A 2-D matrix becomes a raster (rows = bins), a 3-D array samples `[n, N, T]`.
    pub(crate) fn into_data(self, origin: &DataOrigin) -> Result<SpikeData> {
        let dims = self.dims.clone();
        match dims.len() {
            2 => {
                let counts = self.c_order_counts(origin)?;
                Ok(SpikeData::Raster(SpikeRaster::with_origin(
                    counts,
                    dims[0],
                    dims[1],
                    origin.clone(),
                )?))
            }
            3 => {
                let counts = self.c_order_counts(origin)?;
                Ok(SpikeData::Samples(SampleSet::from_owned(
                    counts,
                    dims[0],
                    dims[1],
                    dims[2],
                    origin.clone(),
                )?))
            }
            n => Err(origin.shape_error(format!(
                "{n}-D array of shape {dims:?}: expected 2-D [bins, neurons] or 3-D [samples, neurons, bins]"
            ))),
        }
    }
}

/// For each C-order index of an array of shape `dims`, its position in column-major order.
fn column_major_positions(dims: &[usize]) -> Vec<usize> {
    let total: usize = dims.iter().product();
    let mut strides = vec![1usize; dims.len()];
    for d in 1..dims.len() {
        strides[d] = strides[d - 1] * dims[d - 1];
    }
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; dims.len()];
    let mut pos = 0usize;
    for _ in 0..total {
        out.push(pos);
        // Advance the C-order multi-index (last dimension fastest), keeping `pos` in step.
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            pos += strides[d];
            if idx[d] < dims[d] {
                break;
            }
            pos -= strides[d] * dims[d];
            idx[d] = 0;
        }
    }
    out
}

/// Output formats of the writers, chosen from the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutFormat {
    /// `.h5` / `.hdf5`.
    Hdf5,
    /// `.npy`.
    Npy,
    /// `.mat` (MATLAB v5, uncompressed uint8).
    MatV5,
}

impl OutFormat {
    /// Format for an output path, from its extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("h5" | "hdf5") => Ok(OutFormat::Hdf5),
            Some("npy") => Ok(OutFormat::Npy),
            Some("mat") => Ok(OutFormat::MatV5),
            _ => Err(DataError::param(
                "--out",
                format!(
                    "{}: unknown output extension (use .h5, .hdf5, .npy or .mat)",
                    path.display()
                ),
            )),
        }
    }
}

/// Write `path` atomically: `write` fills a temporary file in the same folder, which is renamed
/// over `path` only when it succeeded, so a crash never leaves a half-written file.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| DataError::io(&dir, e))?
        .into_temp_path();
    write(&tmp)?;
    tmp.persist(path).map_err(|e| DataError::io(path, e.error))
}

/// Write a raster (`/raster` with attributes in HDF5, a 2-D array otherwise), atomically.
pub fn write_raster(path: &Path, raster: &SpikeRaster) -> Result<()> {
    let format = OutFormat::from_path(path)?;
    let dims = [raster.n_bins(), raster.n_neurons()];
    write_atomically(path, |tmp| match format {
        OutFormat::Npy => npy::write(tmp, &dims, raster.counts()),
        OutFormat::MatV5 => mat5::write(tmp, "data", &dims, raster.counts()),
        OutFormat::Hdf5 => write_raster_hdf5(tmp, raster),
    })
}

/// Write samples (`/samples` [n, N, T] in HDF5, a 3-D array otherwise), atomically.
pub fn write_samples(path: &Path, samples: &SampleSet<'_>) -> Result<()> {
    let format = OutFormat::from_path(path)?;
    let dims = [samples.n_samples(), samples.n_neurons(), samples.n_bins()];
    let values = samples.to_owned_values();
    write_atomically(path, |tmp| match format {
        OutFormat::Npy => npy::write(tmp, &dims, &values),
        OutFormat::MatV5 => mat5::write(tmp, "samples", &dims, &values),
        OutFormat::Hdf5 => write_samples_hdf5(tmp, &dims, &values, samples.bin_width_ms),
    })
}

/// Write spike probabilities `[n, N, T]` (f32 in [0, 1]) atomically: `/probabilities` in HDF5, a
/// 3-D float array in `.npy`. MAT output is not supported for probabilities.
pub fn write_probabilities(path: &Path, dims: [usize; 3], values: &[f32]) -> Result<()> {
    let format = OutFormat::from_path(path)?;
    write_atomically(path, |tmp| match format {
        OutFormat::Npy => npy::write_f32(tmp, &dims, values),
        OutFormat::MatV5 => Err(DataError::param(
            "--out",
            "probabilities are written as .h5 or .npy, not .mat",
        )),
        OutFormat::Hdf5 => write_probabilities_hdf5(tmp, &dims, values),
    })
}

#[cfg(feature = "hdf5")]
fn write_probabilities_hdf5(tmp: &Path, dims: &[usize; 3], values: &[f32]) -> Result<()> {
    h5::write_probabilities(tmp, dims, values)
}

#[cfg(not(feature = "hdf5"))]
fn write_probabilities_hdf5(tmp: &Path, _dims: &[usize; 3], _values: &[f32]) -> Result<()> {
    Err(DataError::FeatureMissing {
        path: tmp.into(),
        format: "HDF5",
        feature: "hdf5",
    })
}

#[cfg(feature = "hdf5")]
fn write_raster_hdf5(tmp: &Path, raster: &SpikeRaster) -> Result<()> {
    h5::write_raster(tmp, raster)
}

#[cfg(feature = "hdf5")]
fn write_samples_hdf5(tmp: &Path, dims: &[usize; 3], values: &[u8], bin_width_ms: Option<f64>) -> Result<()> {
    h5::write_samples(tmp, dims, values, bin_width_ms)
}

#[cfg(not(feature = "hdf5"))]
fn write_raster_hdf5(tmp: &Path, _raster: &SpikeRaster) -> Result<()> {
    Err(DataError::FeatureMissing {
        path: tmp.into(),
        format: "HDF5",
        feature: "hdf5",
    })
}

#[cfg(not(feature = "hdf5"))]
fn write_samples_hdf5(tmp: &Path, _dims: &[usize; 3], _values: &[u8], _w: Option<f64>) -> Result<()> {
    Err(DataError::FeatureMissing {
        path: tmp.into(),
        format: "HDF5",
        feature: "hdf5",
    })
}

/// Per-bin values attached to samples (e.g. importance maps): the samples, the values
/// `[n, N, T]` and numeric settings stored as attributes of `/maps`.
#[derive(Clone, Debug)]
pub struct SampleMaps {
    /// The samples the maps belong to.
    pub samples: crate::SampleSet<'static>,
    /// The map values, C order `[n, N, T]`.
    pub values: Vec<f32>,
    /// Numeric attributes of `/maps` (name, value), sorted by name.
    pub attributes: Vec<(String, f64)>,
}

#[cfg(feature = "hdf5")]
pub use h5::{read_sample_maps, write_mat73, write_nwb_units, write_sample_maps};

/// Without the `hdf5` feature: a clear error (maps files are HDF5).
#[cfg(not(feature = "hdf5"))]
pub fn write_sample_maps(
    path: &Path,
    _samples: &SampleSet<'_>,
    _values: &[f32],
    _attributes: &[(&str, f64)],
) -> Result<()> {
    Err(DataError::FeatureMissing {
        path: path.into(),
        format: "HDF5",
        feature: "hdf5",
    })
}

/// Without the `hdf5` feature: a clear error (maps files are HDF5).
#[cfg(not(feature = "hdf5"))]
pub fn read_sample_maps(path: &Path) -> Result<SampleMaps> {
    Err(DataError::FeatureMissing {
        path: path.into(),
        format: "HDF5",
        feature: "hdf5",
    })
}
