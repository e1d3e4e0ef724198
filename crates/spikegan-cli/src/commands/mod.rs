//! One module per command group; each only calls into the library crates.

pub mod data;
pub mod fit;
pub mod gan;
pub mod importance;
pub mod simulate;
pub mod stats;

use std::path::Path;

use anyhow::Context;
use spike_data::io::{self, Loaded, ReadOptions, SpikeData};

/// Read a file; errors name the file and variable themselves.
pub fn load(path: &Path, key: Option<&str>) -> anyhow::Result<Loaded> {
    let options = ReadOptions {
        key: key.map(str::to_string),
        units: None,
    };
    Ok(io::read(path, &options)?)
}

/// Short human description of a data kind.
pub fn kind(data: &SpikeData) -> &'static str {
    match data {
        SpikeData::Raster(_) => "raster",
        SpikeData::Samples(_) => "samples",
        SpikeData::Trains(_) => "spike trains",
    }
}

/// Bin width in ms: given by the user, else recorded in the file, else the registry's for a
/// registered file (matched by sha256).
pub fn bin_width_ms(path: &Path, loaded: &Loaded, given: Option<f64>) -> Option<f64> {
    let recorded = match &loaded.data {
        SpikeData::Raster(r) => r.bin_width_ms,
        SpikeData::Samples(s) => s.bin_width_ms,
        SpikeData::Trains(_) => None,
    };
    given.or(recorded).or_else(|| registry_match(path).map(|m| m.1))
}

/// The registry entry of a file, found by its sha256 (only for files small enough to hash quickly):
/// a description and the data set's bin width in ms.
pub fn registry_match(path: &Path) -> Option<(String, f64)> {
    let small = std::fs::metadata(path).map(|m| m.len() < 512 << 20).unwrap_or(false);
    if !small {
        return None;
    }
    registry_entry(&spike_data::registry::sha256_file(path).ok()?)
}

/// The registry entry of a file with this sha256: a description and the bin width in ms.
pub fn registry_entry(sha256: &str) -> Option<(String, f64)> {
    spike_data::registry::Registry::builtin()
        .find_by_sha256(sha256)
        .map(|(d, f)| (format!("{}/{} ({})", d.name, f.file, f.role), d.bin_width_ms))
}

/// Write pretty JSON atomically.
pub fn write_json(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    io::write_atomically(path, |tmp| {
        std::fs::write(tmp, &text).map_err(|e| spike_data::DataError::Io {
            path: tmp.into(),
            source: e,
        })
    })
    .with_context(|| format!("writing {}", path.display()))
}
