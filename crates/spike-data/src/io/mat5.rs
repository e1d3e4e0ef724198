//! MATLAB level 5 MAT-files: reading through the `matfile` crate, writing uncompressed uint8.

use std::io::Write;
use std::path::Path;

use matfile::{MatFile, NumericData};

use super::{Matrix, Values, corrupt};
use crate::error::{DataError, Result};

/// Read one numeric variable: `key`, or the only one in the file. Returns its name and values
/// (column-major, as MATLAB stores them).
pub(super) fn read(path: &Path, key: Option<&str>) -> Result<(String, Matrix)> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    // The parser indexes into the buffer; a damaged file must give an error, not a panic.
    let parsed = std::panic::catch_unwind(|| MatFile::parse(&bytes[..]))
        .map_err(|_| corrupt(path, "MAT v5", "the parser could not make sense of the data"))?
        .map_err(|e| corrupt(path, "MAT v5", e.to_string()))?;
    let names: Vec<String> = parsed.arrays().iter().map(|a| a.name().to_string()).collect();
    let array = match key {
        Some(k) => parsed.find_by_name(k).ok_or_else(|| DataError::MissingVariable {
            path: path.into(),
            name: k.into(),
            present: names.clone(),
        })?,
        None => match parsed.arrays().as_slice() {
            [] => return Err(corrupt(path, "MAT v5", "no numeric variable in the file")),
            [one] => one,
            _ => {
                return Err(DataError::AmbiguousVariable {
                    path: path.into(),
                    present: names,
                });
            }
        },
    };
    let name = array.name().to_string();
    let values = numeric_values(array.data()).ok_or_else(|| DataError::Values {
        path: path.into(),
        name: name.clone(),
        detail: "complex values are not spike counts".into(),
    })?;
    Ok((
        name,
        Matrix {
            dims: array.size().clone(),
            values,
            column_major: true,
        },
    ))
}

fn numeric_values(data: &NumericData) -> Option<Values> {
    fn f64s<T: Copy + Into<f64>>(v: &[T]) -> Values {
        Values::F64(v.iter().map(|&x| x.into()).collect())
    }
    Some(match data {
        NumericData::UInt8 { real, imag: None } => Values::U8(real.clone()),
        NumericData::Int8 { real, imag: None } => f64s(real),
        NumericData::Int16 { real, imag: None } => f64s(real),
        NumericData::UInt16 { real, imag: None } => f64s(real),
        NumericData::Int32 { real, imag: None } => f64s(real),
        NumericData::UInt32 { real, imag: None } => f64s(real),
        NumericData::Int64 { real, imag: None } => Values::F64(real.iter().map(|&x| x as f64).collect()),
        NumericData::UInt64 { real, imag: None } => Values::F64(real.iter().map(|&x| x as f64).collect()),
        NumericData::Single { real, imag: None } => f64s(real),
        NumericData::Double { real, imag: None } => Values::F64(real.clone()),
        _ => return None,
    })
}

/// Write one uint8 variable `name` of C-order `dims` (stored column-major as MATLAB expects).
pub(super) fn write(path: &Path, name: &str, dims: &[usize], c_order: &[u8]) -> Result<()> {
    let total: usize = dims.iter().product();
    if total > u32::MAX as usize - 4096 {
        return Err(DataError::param(
            "--out",
            "array too large for a MAT v5 file (4 GiB limit); use .h5",
        ));
    }
    // Column-major reordering of the C-order values.
    let mut col = vec![0u8; total];
    let mut idx = vec![0usize; dims.len()];
    for &v in c_order {
        let (mut off, mut stride) = (0, 1);
        for (d, &i) in idx.iter().enumerate() {
            off += i * stride;
            stride *= dims[d];
        }
        col[off] = v;
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    let pad8 = |n: usize| n.div_ceil(8) * 8;
    let mut body = Vec::with_capacity(total + 128);
    let element = |body: &mut Vec<u8>, ty: u32, data: &[u8]| {
        body.extend_from_slice(&ty.to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        body.resize(body.len() + pad8(data.len()) - data.len(), 0);
    };
    const MI_INT8: u32 = 1;
    const MI_UINT8: u32 = 2;
    const MI_INT32: u32 = 5;
    const MI_UINT32: u32 = 6;
    const MX_UINT8_CLASS: u32 = 9;
    let flags: Vec<u8> = [MX_UINT8_CLASS, 0].iter().flat_map(|x| x.to_le_bytes()).collect();
    element(&mut body, MI_UINT32, &flags);
    let dims_bytes: Vec<u8> = dims.iter().flat_map(|&d| (d as i32).to_le_bytes()).collect();
    element(&mut body, MI_INT32, &dims_bytes);
    element(&mut body, MI_INT8, name.as_bytes());
    element(&mut body, MI_UINT8, &col);

    let mut header = [b' '; 128];
    let text = b"MATLAB 5.0 MAT-file, written by spikegan-rs";
    header[..text.len()].copy_from_slice(text);
    header[116..124].fill(0);
    header[124..126].copy_from_slice(&0x0100u16.to_le_bytes());
    header[126..128].copy_from_slice(b"IM");
    let mut file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut out = Vec::with_capacity(body.len() + 136);
    out.extend_from_slice(&header);
    out.extend_from_slice(&14u32.to_le_bytes()); // miMATRIX
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    file.write_all(&out)
        .and_then(|_| file.sync_all())
        .map_err(|e| DataError::io(path, e))
}
