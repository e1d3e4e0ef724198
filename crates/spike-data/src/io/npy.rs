//! NumPy `.npy` files through `ndarray-npy`.

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use super::{Matrix, Values, corrupt};
use crate::error::{DataError, Result};

/// Read a `.npy` array of u8, bool, signed/unsigned integers or floats.
pub(super) fn read(path: &Path) -> Result<Matrix> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    fn to_f64<T: Copy>(a: ArrayD<T>, f: impl Fn(T) -> f64) -> (Vec<usize>, Values) {
        (a.shape().to_vec(), Values::F64(a.iter().map(|&x| f(x)).collect()))
    }
    let (dims, values) = if let Ok(a) = ArrayD::<u8>::read_npy(&bytes[..]) {
        (a.shape().to_vec(), Values::U8(a.iter().copied().collect()))
    } else if let Ok(a) = ArrayD::<bool>::read_npy(&bytes[..]) {
        (a.shape().to_vec(), Values::U8(a.iter().map(|&b| u8::from(b)).collect()))
    } else if let Ok(a) = ArrayD::<f64>::read_npy(&bytes[..]) {
        to_f64(a, |x| x)
    } else if let Ok(a) = ArrayD::<f32>::read_npy(&bytes[..]) {
        to_f64(a, f64::from)
    } else if let Ok(a) = ArrayD::<i64>::read_npy(&bytes[..]) {
        to_f64(a, |x| x as f64)
    } else if let Ok(a) = ArrayD::<i32>::read_npy(&bytes[..]) {
        to_f64(a, f64::from)
    } else if let Ok(a) = ArrayD::<i16>::read_npy(&bytes[..]) {
        to_f64(a, f64::from)
    } else if let Ok(a) = ArrayD::<i8>::read_npy(&bytes[..]) {
        to_f64(a, f64::from)
    } else if let Ok(a) = ArrayD::<u16>::read_npy(&bytes[..]) {
        to_f64(a, f64::from)
    } else if let Ok(a) = ArrayD::<u32>::read_npy(&bytes[..]) {
        to_f64(a, f64::from)
    } else {
        // Re-read as u8 for the most specific message (bad header, truncated data, other dtype).
        let e = ArrayD::<u8>::read_npy(&bytes[..])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        return Err(corrupt(
            path,
            ".npy",
            format!("cannot read as a numeric array of a supported dtype: {e}"),
        ));
    };
    Ok(Matrix {
        dims,
        values,
        column_major: false,
    })
}

/// Write a C-order u8 array of shape `dims`.
pub(super) fn write(path: &Path, dims: &[usize], values: &[u8]) -> Result<()> {
    write_typed(path, dims, values)
}

/// Write a C-order f32 array of shape `dims`.
pub(super) fn write_f32(path: &Path, dims: &[usize], values: &[f32]) -> Result<()> {
    write_typed(path, dims, values)
}

fn write_typed<T: Clone + ndarray_npy::WritableElement>(path: &Path, dims: &[usize], values: &[T]) -> Result<()> {
    let a = ArrayD::from_shape_vec(dims.to_vec(), values.to_vec())
        .map_err(|e| DataError::param("--out", format!("shape {dims:?}: {e}")))?;
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    a.write_npy(&mut w).map_err(|e| corrupt(path, ".npy", e.to_string()))?;
    w.into_inner()
        .map_err(|e| DataError::io(path, e.into_error()))?
        .sync_all()
        .map_err(|e| DataError::io(path, e))
}
