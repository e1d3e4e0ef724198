//! HDF5-based formats through the real libhdf5: plain HDF5, MATLAB v7.3 and NWB 2.x units tables.
//!
//! libhdf5 serialises every call behind one global lock, so readers pull whole datasets into
//! memory and leave parallel work to the caller.

use std::path::Path;

use hdf5::types::{FixedAscii, FixedUnicode, IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, File, Group, Location};

use super::{Format, Matrix, ReadOptions, SampleMaps, SpikeData, Values, corrupt};
use crate::error::{DataError, Result};
use crate::raster::{DataOrigin, SpikeRaster};
use crate::trains::{SpikeTrains, UnitTrain};

fn h5err(path: &Path, name: &str, e: hdf5::Error) -> DataError {
    DataError::Hdf5 {
        path: path.into(),
        name: name.into(),
        detail: e.to_string(),
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| corrupt(path, "HDF5", format!("libhdf5 cannot open it: {e}")))
}

/// A string attribute, whatever string type the writer chose; `None` when absent or not a string.
fn string_attr(loc: &Location, name: &str) -> Option<String> {
    let attr = loc.attr(name).ok()?;
    if let Ok(s) = attr.read_scalar::<VarLenUnicode>() {
        return Some(s.as_str().to_string());
    }
    if let Ok(s) = attr.read_scalar::<VarLenAscii>() {
        return Some(s.as_str().to_string());
    }
    if let Ok(s) = attr.read_scalar::<FixedAscii<1024>>() {
        return Some(s.as_str().to_string());
    }
    attr.read_scalar::<FixedUnicode<1024>>()
        .ok()
        .map(|s| s.as_str().to_string())
}

pub(super) fn is_nwb(path: &Path) -> Result<bool> {
    let file = open(path)?;
    Ok(string_attr(&file, "neurodata_type").as_deref() == Some("NWBFile") || file.attr("nwb_version").is_ok())
}

pub(super) fn read(path: &Path, format: Format, options: &ReadOptions) -> Result<(String, SpikeData)> {
    let file = open(path)?;
    match format {
        Format::Nwb => read_nwb(path, &file, options),
        Format::MatV73 => {
            let name = choose_dataset(path, &file, options.key.as_deref(), &[])?;
            let ds = file.dataset(&name).map_err(|e| h5err(path, &name, e))?;
            let mut m = read_matrix(path, &name, &ds)?;
            // MATLAB writes an r x c matrix as an HDF5 dataset of shape [c, r] holding it column-major.
            m.dims.reverse();
            m.column_major = true;
            let data = m.into_data(&DataOrigin::new(path, &name))?;
            Ok((name, data))
        }
        _ => {
            let name = choose_dataset(path, &file, options.key.as_deref(), &["raster", "samples"])?;
            let ds = file.dataset(&name).map_err(|e| h5err(path, &name, e))?;
            let m = read_matrix(path, &name, &ds)?;
            let mut data = m.into_data(&DataOrigin::new(path, &name))?;
            let bin_width_ms = ds.attr("bin_width_ms").and_then(|a| a.read_scalar::<f64>()).ok();
            match &mut data {
                SpikeData::Raster(r) => {
                    r.bin_width_ms = bin_width_ms;
                    r.t_start_s = ds.attr("t_start_s").and_then(|a| a.read_scalar::<f64>()).ok();
                    if let Ok(ids) = ds.attr("unit_ids").and_then(|a| a.read_raw::<i64>()) {
                        r.set_unit_ids(ids)?;
                    }
                }
                SpikeData::Samples(s) => s.bin_width_ms = bin_width_ms,
                SpikeData::Trains(_) => {}
            }
            Ok((name, data))
        }
    }
}

/// The dataset to read: `key`, else the first of `preferred` present, else the only dataset at
/// the root.
fn choose_dataset(path: &Path, file: &File, key: Option<&str>, preferred: &[&str]) -> Result<String> {
    let present: Vec<String> = file
        .datasets()
        .map_err(|e| h5err(path, "/", e))?
        .iter()
        .map(|d| d.name().trim_start_matches('/').to_string())
        .collect();
    if let Some(k) = key {
        let k = k.trim_start_matches('/');
        return if file.dataset(k).is_ok() {
            Ok(k.to_string())
        } else {
            Err(DataError::MissingVariable {
                path: path.into(),
                name: k.into(),
                present,
            })
        };
    }
    if let Some(p) = preferred.iter().find(|p| present.iter().any(|n| n == *p)) {
        return Ok(p.to_string());
    }
    match present.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(corrupt(
            path,
            "HDF5",
            "no dataset at the root; give its path with --key",
        )),
        _ => Err(DataError::AmbiguousVariable {
            path: path.into(),
            present,
        }),
    }
}

fn read_matrix(path: &Path, name: &str, ds: &Dataset) -> Result<Matrix> {
    let dims = ds.shape();
    let descriptor = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| h5err(path, name, e))?;
    let values = match descriptor {
        TypeDescriptor::Unsigned(IntSize::U1) => Values::U8(ds.read_raw::<u8>().map_err(|e| h5err(path, name, e))?),
        TypeDescriptor::Boolean => Values::U8(
            ds.read_raw::<bool>()
                .map_err(|e| h5err(path, name, e))?
                .into_iter()
                .map(u8::from)
                .collect(),
        ),
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Float(_) => {
            Values::F64(ds.read_raw::<f64>().map_err(|e| h5err(path, name, e))?)
        }
        other => {
            return Err(DataError::Values {
                path: path.into(),
                name: name.into(),
                detail: format!("element type {other:?} is not numeric"),
            });
        }
    };
    Ok(Matrix {
        dims,
        values,
        column_major: false,
    })
}

fn find_units_tables(group: &Group, depth: usize, out: &mut Vec<String>) {
    if string_attr(group, "neurodata_type").as_deref() == Some("Units") {
        out.push(group.name());
    }
    if depth == 0 {
        return;
    }
    for g in group.groups().unwrap_or_default() {
        find_units_tables(&g, depth - 1, out);
    }
}

fn read_ints(path: &Path, group: &Group, name: &str) -> Result<Option<Vec<i64>>> {
    if !group.link_exists(name) {
        return Ok(None);
    }
    let full = format!("{}/{name}", group.name());
    let ds = group.dataset(name).map_err(|e| h5err(path, &full, e))?;
    ds.read_raw::<i64>().map(Some).map_err(|e| h5err(path, &full, e))
}

/// Split a ragged column by its NWB index (cumulative end offsets).
fn ragged<T: Clone>(path: &Path, table: &str, column: &str, values: &[T], index: &[i64]) -> Result<Vec<Vec<T>>> {
    let err = |detail: String| DataError::Values {
        path: path.into(),
        name: format!("{table}/{column}_index"),
        detail,
    };
    let mut out = Vec::with_capacity(index.len());
    let mut start = 0usize;
    for (u, &end) in index.iter().enumerate() {
        if end < start as i64 {
            return Err(err(format!("index decreases at row {u} ({end} after {start})")));
        }
        let end = end as usize;
        if end > values.len() {
            return Err(err(format!(
                "row {u} ends at {end}, past the end of {column} ({} values)",
                values.len()
            )));
        }
        out.push(values[start..end].to_vec());
        start = end;
    }
    if start != values.len() {
        return Err(err(format!(
            "the index ends at {start} but {column} has {} values",
            values.len()
        )));
    }
    Ok(out)
}

fn read_nwb(path: &Path, file: &File, options: &ReadOptions) -> Result<(String, SpikeData)> {
    let table = match options.key.as_deref() {
        Some(k) => k.to_string(),
        None => {
            let mut found = Vec::new();
            find_units_tables(file, 6, &mut found);
            match found.as_slice() {
                [] => {
                    return Err(corrupt(
                        path,
                        "NWB",
                        "no Units table (neurodata_type 'Units') in the file",
                    ));
                }
                [one] => one.clone(),
                many if many.iter().any(|p| p == "/units") => "/units".to_string(),
                many => {
                    return Err(DataError::AmbiguousVariable {
                        path: path.into(),
                        present: many.to_vec(),
                    });
                }
            }
        }
    };
    let group = file.group(&table).map_err(|_| {
        let mut present = Vec::new();
        find_units_tables(file, 6, &mut present);
        DataError::MissingVariable {
            path: path.into(),
            name: table.clone(),
            present,
        }
    })?;
    let missing = |col: &str| DataError::Shape {
        path: path.into(),
        name: table.clone(),
        detail: format!("the Units table has no '{col}' column"),
    };
    let times = group
        .dataset("spike_times")
        .map_err(|_| missing("spike_times"))?
        .read_raw::<f64>()
        .map_err(|e| h5err(path, &format!("{table}/spike_times"), e))?;
    let index = read_ints(path, &group, "spike_times_index")?.ok_or_else(|| missing("spike_times_index"))?;
    let per_unit = ragged(path, &table, "spike_times", &times, &index)?;
    let ids = match read_ints(path, &group, "id")? {
        Some(ids) if ids.len() == per_unit.len() => ids,
        Some(ids) => {
            return Err(DataError::Shape {
                path: path.into(),
                name: format!("{table}/id"),
                detail: format!("{} ids for {} units", ids.len(), per_unit.len()),
            });
        }
        None => (0..per_unit.len() as i64).collect(),
    };
    let obs = match (
        group.link_exists("obs_intervals"),
        read_ints(path, &group, "obs_intervals_index")?,
    ) {
        (true, Some(obs_index)) => {
            let name = format!("{table}/obs_intervals");
            let ds = group.dataset("obs_intervals").map_err(|e| h5err(path, &name, e))?;
            let flat = ds.read_raw::<f64>().map_err(|e| h5err(path, &name, e))?;
            if ds.shape().len() != 2 || ds.shape()[1] != 2 {
                return Err(DataError::Shape {
                    path: path.into(),
                    name,
                    detail: format!("shape {:?}, expected [n, 2]", ds.shape()),
                });
            }
            let pairs: Vec<(f64, f64)> = flat.chunks_exact(2).map(|p| (p[0], p[1])).collect();
            let per = ragged(path, &table, "obs_intervals", &pairs, &obs_index)?;
            if per.len() != per_unit.len() {
                return Err(DataError::Shape {
                    path: path.into(),
                    name: format!("{table}/obs_intervals_index"),
                    detail: format!("{} rows for {} units", per.len(), per_unit.len()),
                });
            }
            per
        }
        _ => vec![Vec::new(); per_unit.len()],
    };
    let units = per_unit
        .into_iter()
        .zip(ids)
        .zip(obs)
        .map(|((spike_times_s, id), obs_intervals_s)| UnitTrain {
            id,
            spike_times_s,
            obs_intervals_s,
        })
        .collect();
    let mut trains = SpikeTrains::new(units, DataOrigin::new(path, &table))?;
    if let Some(ids) = &options.units {
        trains = trains.select(ids)?;
    }
    Ok((table, SpikeData::Trains(trains)))
}

fn write_u8_dataset(path: &Path, file: &File, name: &str, dims: &[usize], values: &[u8]) -> Result<Dataset> {
    let arr = ndarray::ArrayViewD::from_shape(dims.to_vec(), values)
        .map_err(|e| DataError::param("--out", format!("shape {dims:?}: {e}")))?;
    let mut chunk = dims.to_vec();
    chunk[0] = chunk[0].clamp(1, (1 << 20) / dims[1..].iter().product::<usize>().max(1));
    file.new_dataset_builder()
        .chunk(chunk)
        .deflate(4)
        .with_data(arr)
        .create(name)
        .map_err(|e| h5err(path, name, e))
}

fn write_f64_attr(path: &Path, ds: &Dataset, name: &str, v: f64) -> Result<()> {
    ds.new_attr::<f64>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| h5err(path, name, e))
}

pub(super) fn write_raster(path: &Path, raster: &SpikeRaster) -> Result<()> {
    let file = File::create(path).map_err(|e| h5err(path, "/", e))?;
    let ds = write_u8_dataset(
        path,
        &file,
        "raster",
        &[raster.n_bins(), raster.n_neurons()],
        raster.counts(),
    )?;
    if let Some(w) = raster.bin_width_ms {
        write_f64_attr(path, &ds, "bin_width_ms", w)?;
    }
    if let Some(t) = raster.t_start_s {
        write_f64_attr(path, &ds, "t_start_s", t)?;
    }
    if let Some(ids) = raster.unit_ids() {
        ds.new_attr_builder()
            .with_data(ids)
            .create("unit_ids")
            .map_err(|e| h5err(path, "unit_ids", e))?;
    }
    Ok(())
}

pub(super) fn write_samples(path: &Path, dims: &[usize; 3], values: &[u8], bin_width_ms: Option<f64>) -> Result<()> {
    let file = File::create(path).map_err(|e| h5err(path, "/", e))?;
    let ds = write_u8_dataset(path, &file, "samples", dims, values)?;
    if let Some(w) = bin_width_ms {
        write_f64_attr(path, &ds, "bin_width_ms", w)?;
    }
    Ok(())
}

pub(super) fn write_probabilities(path: &Path, dims: &[usize; 3], values: &[f32]) -> Result<()> {
    let file = File::create(path).map_err(|e| h5err(path, "/", e))?;
    let arr = ndarray::ArrayViewD::from_shape(dims.to_vec(), values)
        .map_err(|e| DataError::param("--out", format!("shape {dims:?}: {e}")))?;
    file.new_dataset_builder()
        .with_data(arr)
        .create("probabilities")
        .map_err(|e| h5err(path, "probabilities", e))?;
    Ok(())
}

fn write_str_attr(path: &Path, loc: &Location, name: &str, value: &str) -> Result<()> {
    let v: VarLenUnicode = value.parse().map_err(|e| DataError::param("--out", format!("{e:?}")))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| h5err(path, name, e))
}

/// Write spike trains as a minimal NWB 2.x file: root attributes, and a `/units` table with
/// `spike_times`, `spike_times_index`, `id`, and `obs_intervals`/`obs_intervals_index` when any
/// unit has intervals. Written atomically.
pub fn write_nwb_units(path: &Path, trains: &SpikeTrains) -> Result<()> {
    super::write_atomically(path, |tmp| {
        let file = File::create(tmp).map_err(|e| h5err(path, "/", e))?;
        write_str_attr(path, &file, "neurodata_type", "NWBFile")?;
        write_str_attr(path, &file, "namespace", "core")?;
        write_str_attr(path, &file, "nwb_version", "2.7.0")?;
        let units = file.create_group("units").map_err(|e| h5err(path, "/units", e))?;
        write_str_attr(path, &units, "neurodata_type", "Units")?;
        write_str_attr(path, &units, "namespace", "core")?;
        write_str_attr(path, &units, "description", "spike times written by spikegan-rs")?;
        let times: Vec<f64> = trains
            .units()
            .iter()
            .flat_map(|u| u.spike_times_s.iter().copied())
            .collect();
        let mut end = 0i64;
        let index: Vec<i64> = trains
            .units()
            .iter()
            .map(|u| {
                end += u.spike_times_s.len() as i64;
                end
            })
            .collect();
        let ids: Vec<i64> = trains.units().iter().map(|u| u.id).collect();
        let w = |name: &str, data: ndarray::ArrayViewD<'_, f64>| {
            units
                .new_dataset_builder()
                .with_data(data)
                .create(name)
                .map_err(|e| h5err(path, name, e))
        };
        let wi = |name: &str, data: &[i64]| {
            units
                .new_dataset_builder()
                .with_data(data)
                .create(name)
                .map_err(|e| h5err(path, name, e))
        };
        w(
            "spike_times",
            ndarray::ArrayViewD::from_shape(vec![times.len()], &times).expect("1-D shape"),
        )?;
        wi("spike_times_index", &index)?;
        wi("id", &ids)?;
        let mut colnames = "spike_times".to_string();
        if trains.units().iter().any(|u| !u.obs_intervals_s.is_empty()) {
            let flat: Vec<f64> = trains
                .units()
                .iter()
                .flat_map(|u| u.obs_intervals_s.iter().flat_map(|&(a, b)| [a, b]))
                .collect();
            let mut end = 0i64;
            let oi: Vec<i64> = trains
                .units()
                .iter()
                .map(|u| {
                    end += u.obs_intervals_s.len() as i64;
                    end
                })
                .collect();
            w(
                "obs_intervals",
                ndarray::ArrayViewD::from_shape(vec![flat.len() / 2, 2], &flat).expect("n x 2 shape"),
            )?;
            wi("obs_intervals_index", &oi)?;
            colnames.push_str(" obs_intervals");
        }
        write_str_attr(path, &units, "colnames", &colnames)?;
        Ok(())
    })
}

/// Write a raster as a MATLAB v7.3 MAT-file (HDF5 with a 512-byte user block; the bins x neurons
/// matrix stored column-major as MATLAB does, class uint8), variable `name`. Written atomically.
pub fn write_mat73(path: &Path, name: &str, raster: &SpikeRaster) -> Result<()> {
    super::write_atomically(path, |tmp| {
        {
            let file = File::with_options()
                .with_fcpl(|p| p.userblock(512))
                .create(tmp)
                .map_err(|e| h5err(path, "/", e))?;
            // Column-major r x c = C-order [c, r], i.e. the transpose.
            let (r, c) = (raster.n_bins(), raster.n_neurons());
            let mut t = vec![0u8; r * c];
            for b in 0..r {
                for n in 0..c {
                    t[n * r + b] = raster.get(b, n);
                }
            }
            let arr = ndarray::ArrayView2::from_shape((c, r), &t).expect("transposed shape");
            let ds = file
                .new_dataset_builder()
                .with_data(arr)
                .create(name)
                .map_err(|e| h5err(path, name, e))?;
            ds.new_attr::<FixedAscii<5>>()
                .create("MATLAB_class")
                .and_then(|a| a.write_scalar(&FixedAscii::<5>::from_ascii(b"uint8").expect("ascii")))
                .map_err(|e| h5err(path, "MATLAB_class", e))?;
        }
        let mut header = [b' '; 512];
        let text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: spikegan-rs HDF5 schema 1.00 .";
        header[..text.len()].copy_from_slice(text);
        header[116..124].fill(0);
        header[124..126].copy_from_slice(&0x0200u16.to_le_bytes());
        header[126..128].copy_from_slice(b"IM");
        header[128..].fill(0);
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(tmp)
            .map_err(|e| DataError::io(path, e))?;
        f.seek(std::io::SeekFrom::Start(0))
            .and_then(|_| f.write_all(&header))
            .and_then(|_| f.sync_all())
            .map_err(|e| DataError::io(path, e))
    })
}

/// Write `/samples` (u8) and `/maps` (f32, same shape, `attributes` attached) to an HDF5 file,
/// atomically.
pub fn write_sample_maps(
    path: &Path,
    samples: &crate::SampleSet<'_>,
    values: &[f32],
    attributes: &[(&str, f64)],
) -> Result<()> {
    let dims = [samples.n_samples(), samples.n_neurons(), samples.n_bins()];
    if values.len() != dims.iter().product::<usize>() {
        return Err(DataError::param(
            "--out",
            format!("{} map values for samples of shape {dims:?}", values.len()),
        ));
    }
    let owned = samples.to_owned_values();
    super::write_atomically(path, |tmp| {
        let file = File::create(tmp).map_err(|e| h5err(tmp, "/", e))?;
        let ds = write_u8_dataset(tmp, &file, "samples", &dims, &owned)?;
        if let Some(w) = samples.bin_width_ms {
            write_f64_attr(tmp, &ds, "bin_width_ms", w)?;
        }
        let arr = ndarray::ArrayViewD::from_shape(dims.to_vec(), values)
            .map_err(|e| DataError::param("--out", format!("shape {dims:?}: {e}")))?;
        let maps = file
            .new_dataset_builder()
            .deflate(4)
            .chunk(vec![1.max(dims[0].min(256)), dims[1], dims[2]])
            .with_data(arr)
            .create("maps")
            .map_err(|e| h5err(tmp, "maps", e))?;
        for (name, v) in attributes {
            write_f64_attr(tmp, &maps, name, *v)?;
        }
        Ok(())
    })
}

/// Read a file written by [`write_sample_maps`], checking that both datasets exist, have the same
/// 3-D shape, the samples are 0/1 and the maps finite.
pub fn read_sample_maps(path: &Path) -> Result<SampleMaps> {
    let file = open(path)?;
    let dataset = |name: &str| {
        file.dataset(name).map_err(|_| DataError::Values {
            path: path.into(),
            name: name.into(),
            detail: format!("no /{name} dataset: not a maps file (write one with `spikegan importance`)"),
        })
    };
    let (s_ds, m_ds) = (dataset("samples")?, dataset("maps")?);
    let dims = s_ds.shape();
    if dims.len() != 3 || m_ds.shape() != dims {
        return Err(DataError::Values {
            path: path.into(),
            name: "maps".into(),
            detail: format!(
                "/samples has shape {dims:?} and /maps {:?}; both must be the same [n, N, T]",
                m_ds.shape()
            ),
        });
    }
    let samples_values: Vec<u8> = s_ds.read_raw::<u8>().map_err(|e| h5err(path, "samples", e))?;
    if let Some(pos) = samples_values.iter().position(|&v| v > 1) {
        return Err(DataError::Values {
            path: path.into(),
            name: "samples".into(),
            detail: format!("value {} at flat index {pos} is not 0/1", samples_values[pos]),
        });
    }
    let values: Vec<f32> = m_ds.read_raw::<f32>().map_err(|e| h5err(path, "maps", e))?;
    if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
        return Err(DataError::Values {
            path: path.into(),
            name: "maps".into(),
            detail: format!("value {} at flat index {pos} is not finite", values[pos]),
        });
    }
    let bin_width_ms = s_ds.attr("bin_width_ms").and_then(|a| a.read_scalar::<f64>()).ok();
    let mut samples = crate::SampleSet::from_owned(
        samples_values,
        dims[0],
        dims[1],
        dims[2],
        DataOrigin::new(path, "samples"),
    )?;
    samples.bin_width_ms = bin_width_ms;
    let mut attributes = Vec::new();
    for name in m_ds.attr_names().map_err(|e| h5err(path, "maps", e))? {
        if let Ok(v) = m_ds.attr(&name).and_then(|a| a.read_scalar::<f64>()) {
            attributes.push((name, v));
        }
    }
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(SampleMaps {
        samples,
        values,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_maps_round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maps.h5");
        let values: Vec<u8> = (0..2 * 3 * 4).map(|k| u8::from(k % 3 == 0)).collect();
        let mut samples =
            crate::SampleSet::from_owned(values.clone(), 2, 3, 4, DataOrigin::new(&path, "samples")).unwrap();
        samples.bin_width_ms = Some(20.0);
        let maps: Vec<f32> = (0..24).map(|k| k as f32 / 7.0).collect();
        write_sample_maps(&path, &samples, &maps, &[("step", 2.0), ("seed", 5.0)]).unwrap();
        let back = read_sample_maps(&path).unwrap();
        assert_eq!(back.samples.to_owned_values(), values);
        assert_eq!(back.samples.bin_width_ms, Some(20.0));
        assert_eq!(back.values, maps);
        assert_eq!(back.attributes, vec![("seed".into(), 5.0), ("step".into(), 2.0)]);
        // Wrong number of values, a samples-only file, a file that is not HDF5.
        assert!(write_sample_maps(&path, &samples, &maps[1..], &[]).is_err());
        let plain = dir.path().join("plain.h5");
        super::super::write_samples(&plain, &samples).unwrap();
        let err = read_sample_maps(&plain).unwrap_err().to_string();
        assert!(err.contains("plain.h5") && err.contains("/maps"), "{err}");
        let junk = dir.path().join("junk.h5");
        std::fs::write(&junk, b"not hdf5").unwrap();
        assert!(read_sample_maps(&junk).unwrap_err().to_string().contains("junk.h5"));
    }
}
