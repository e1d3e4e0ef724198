//! One module per command group; each only calls into the library crates.

pub mod data;
pub mod simulate;

use std::path::Path;

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
