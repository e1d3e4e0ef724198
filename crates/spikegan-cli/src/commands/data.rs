//! `spikegan data ...`: inspect, bin, window, convert, list, verify and fetch.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use spike_data::binning::{BinParams, bin_trains};
use spike_data::io::{self, ReadOptions, SpikeData};
use spike_data::registry::{self, FileStatus, Registry};
use spike_data::{SampleSet, SpikeRaster, SpikeTrains, WindowSpec};

use super::{kind, load, registry_match};
use crate::Outcome;

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Print format, variable, shape, spike counts and rates of a data file.
    Info(InfoArgs),
    /// Bin NWB spike times into a raster (HDF5 /raster, .npy or .mat).
    Bin(BinArgs),
    /// Cut a raster into windows of T bins and write them as samples [n, N, T].
    Windows(WindowsArgs),
    /// Convert between formats (.mat, .h5, .npy; NWB spike trains to .nwb).
    Convert(ConvertArgs),
    /// List the registered data sets.
    List,
    /// Check the registered files in the data folder against their sha256 sums.
    Verify(VerifyArgs),
    /// Download a registered data set and verify it.
    Fetch(FetchArgs),
}

/// Which variable or dataset to read.
#[derive(Args, Debug, Clone)]
pub struct KeyArg {
    /// MAT variable, HDF5 dataset path or NWB Units table (found automatically when there is one).
    #[arg(long, visible_alias = "dataset")]
    pub key: Option<String>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Data file (MAT v5/v7.3, HDF5, NWB, .npy).
    pub file: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Bin width in ms, for rates in Hz when the file does not record it.
    #[arg(long)]
    pub bin_ms: Option<f64>,
}

#[derive(Args, Debug)]
pub struct BinArgs {
    /// NWB file with a Units table.
    pub input: PathBuf,
    /// Bin width in milliseconds.
    #[arg(long, allow_negative_numbers = true)]
    pub bin_ms: f64,
    /// Left edge of bin 0 in seconds (default: earliest observation start, else 0).
    #[arg(long, allow_negative_numbers = true)]
    pub t_start: Option<f64>,
    /// End of the binned range in seconds (default: latest observation end, else the last spike).
    #[arg(long, allow_negative_numbers = true)]
    pub t_stop: Option<f64>,
    /// Clip counts to 1.
    #[arg(long)]
    pub binary: bool,
    /// Keep only these unit ids, in this order (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub units: Option<Vec<i64>>,
    #[command(flatten)]
    pub key: KeyArg,
    /// Output raster (.h5, .npy or .mat).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct WindowsArgs {
    /// Raster file.
    pub input: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Window length T in bins.
    #[arg(long)]
    pub window: usize,
    /// Bins between window starts (1 = sliding; default: the window length, non-overlapping).
    #[arg(long)]
    pub stride: Option<usize>,
    /// Keep this many windows drawn at random (without replacement) from those the stride gives,
    /// in random order (e.g. a real-data noise floor for `compare`).
    #[arg(long)]
    pub random: Option<usize>,
    /// Seed of the random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output samples (.h5, .npy or .mat).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input file.
    pub input: PathBuf,
    /// Output file; the format follows the extension.
    pub output: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// The input matrix has neurons in rows and time bins in columns: write it the other way round.
    #[arg(long)]
    pub transpose: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Data folder (default: $SPIKEGAN_DATA, else the per-user data folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Data sets to check (default: all).
    pub datasets: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Registered data set name (see `spikegan data list`).
    pub dataset: String,
    /// Data folder (default: $SPIKEGAN_DATA, else the per-user data folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(cmd: DataCommand) -> anyhow::Result<Outcome> {
    match cmd {
        DataCommand::Info(a) => info(&a),
        DataCommand::Bin(a) => bin(&a),
        DataCommand::Windows(a) => windows(&a),
        DataCommand::Convert(a) => convert(&a),
        DataCommand::List => list(),
        DataCommand::Verify(a) => verify(&a),
        DataCommand::Fetch(a) => fetch(&a),
    }
}

fn pct(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

fn info(a: &InfoArgs) -> anyhow::Result<Outcome> {
    let loaded = load(&a.file, a.key.key.as_deref())?;
    let known = registry_match(&a.file);
    println!("file:          {}", a.file.display());
    println!("format:        {}", loaded.format);
    println!("variable:      {} ({})", loaded.key, kind(&loaded.data));
    if let Some((name, _)) = &known {
        println!("registry:      {name}");
    }
    let bin_ms = super::bin_width_ms(&a.file, &loaded, a.bin_ms);
    match &loaded.data {
        SpikeData::Raster(r) => print_raster(r, bin_ms),
        SpikeData::Samples(s) => print_samples(s, bin_ms),
        SpikeData::Trains(t) => print_trains(t),
    }
    Ok(Outcome::Success)
}

fn print_rate(per_bin: f64, bin_ms: Option<f64>) {
    match bin_ms {
        Some(w) => println!(
            "mean rate:     {per_bin:.6} spikes/bin per neuron = {:.3} Hz (bin width {w} ms)",
            per_bin * 1000.0 / w
        ),
        None => println!("mean rate:     {per_bin:.6} spikes/bin per neuron (bin width unknown: give --bin-ms for Hz)"),
    }
}

fn print_raster(r: &SpikeRaster, bin_ms: Option<f64>) {
    let (bins, neurons) = (r.n_bins(), r.n_neurons());
    println!("shape:         {bins} bins x {neurons} neurons");
    if let Some(t) = r.t_start_s {
        println!("t_start:       {t} s");
    }
    let total = r.total_spikes();
    println!("total spikes:  {total}");
    print_rate(total as f64 / (bins * neurons) as f64, bin_ms);
    let per_neuron = r.spikes_per_neuron();
    let silent_neurons = per_neuron.iter().filter(|&&c| c == 0).count();
    let silent_bins = r
        .counts()
        .chunks_exact(neurons)
        .filter(|row| row.iter().all(|&c| c == 0))
        .count();
    println!(
        "silent neurons:{silent_neurons} of {neurons} ({:.2}%)",
        pct(silent_neurons, neurons)
    );
    println!(
        "silent bins:   {silent_bins} of {bins} ({:.2}%)",
        pct(silent_bins, bins)
    );
    let max = r.counts().iter().copied().max().unwrap_or(0);
    println!(
        "values:        max count {max}{}",
        if max <= 1 {
            " (binary)"
        } else {
            " (counts; binary analyses need --binary data)"
        }
    );
}

fn print_samples(s: &SampleSet<'_>, bin_ms: Option<f64>) {
    let (n, neurons, bins) = (s.n_samples(), s.n_neurons(), s.n_bins());
    println!("shape:         {n} samples x {neurons} neurons x {bins} bins");
    let values = s.to_owned_values();
    let total: u64 = values.iter().map(|&v| u64::from(v)).sum();
    println!("total spikes:  {total}");
    print_rate(total as f64 / values.len() as f64, bin_ms);
    let mut per_neuron = vec![0u64; neurons];
    let mut silent_bins = 0usize;
    for sample in values.chunks_exact(neurons * bins) {
        for (nrn, row) in sample.chunks_exact(bins).enumerate() {
            per_neuron[nrn] += row.iter().map(|&v| u64::from(v)).sum::<u64>();
        }
        silent_bins += (0..bins)
            .filter(|&t| (0..neurons).all(|nrn| sample[nrn * bins + t] == 0))
            .count();
    }
    let silent_neurons = per_neuron.iter().filter(|&&c| c == 0).count();
    println!(
        "silent neurons:{silent_neurons} of {neurons} ({:.2}%)",
        pct(silent_neurons, neurons)
    );
    println!(
        "silent bins:   {silent_bins} of {} ({:.2}%)",
        n * bins,
        pct(silent_bins, n * bins)
    );
}

fn print_trains(t: &SpikeTrains) {
    let units = t.units();
    println!("units:         {}", units.len());
    println!("total spikes:  {}", t.total_spikes());
    let span = match (t.obs_start_s(), t.obs_stop_s()) {
        (Some(a), Some(b)) => Some((a, b, "observation intervals")),
        _ => t.spike_span_s().map(|(a, b)| (a, b, "first to last spike")),
    };
    if let Some((a, b, what)) = span {
        println!("time span:     {a} s to {b} s ({what})");
        if b > a {
            println!(
                "mean rate:     {:.3} Hz per unit",
                t.total_spikes() as f64 / units.len() as f64 / (b - a)
            );
        }
    }
    let silent = units.iter().filter(|u| u.spike_times_s.is_empty()).count();
    println!(
        "silent units:  {silent} of {} ({:.2}%)",
        units.len(),
        pct(silent, units.len())
    );
    let ids: Vec<String> = units.iter().take(20).map(|u| u.id.to_string()).collect();
    println!(
        "unit ids:      {}{}",
        ids.join(", "),
        if units.len() > 20 { ", ..." } else { "" }
    );
}

fn bin(a: &BinArgs) -> anyhow::Result<Outcome> {
    let options = ReadOptions {
        key: a.key.key.clone(),
        units: a.units.clone(),
    };
    let loaded = io::read(&a.input, &options)?;
    let SpikeData::Trains(trains) = loaded.data else {
        bail!(
            "{}: '{}' is already binned ({}); `data bin` needs NWB spike times",
            a.input.display(),
            loaded.key,
            kind(&loaded.data)
        );
    };
    let params = BinParams {
        bin_width_ms: a.bin_ms,
        t_start_s: a.t_start,
        t_stop_s: a.t_stop,
        binary: a.binary,
    };
    let (raster, report) = bin_trains(&trains, &params)?;
    io::write_raster(&a.out, &raster).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: {} bins x {} units of {} ms from t = {} s; {} spikes kept, {} outside observation intervals, {} outside the range dropped",
        a.out.display(),
        raster.n_bins(),
        raster.n_neurons(),
        a.bin_ms,
        raster.t_start_s.unwrap_or(0.0),
        raster.total_spikes(),
        report.dropped_outside_obs,
        report.dropped_outside_range
    );
    Ok(Outcome::Success)
}

fn windows(a: &WindowsArgs) -> anyhow::Result<Outcome> {
    let loaded = load(&a.input, a.key.key.as_deref())?;
    let SpikeData::Raster(raster) = loaded.data else {
        bail!(
            "{}: '{}' holds {}, not a raster; windows are cut from a bins x neurons raster",
            a.input.display(),
            loaded.key,
            kind(&loaded.data)
        );
    };
    let spec = WindowSpec {
        bins: a.window,
        stride: a.stride.unwrap_or(a.window),
    };
    let mut set = SampleSet::windows(&raster, spec)?;
    if let Some(n) = a.random {
        if n == 0 || n > set.n_samples() {
            bail!(
                "--random {n}: {} has {} windows of {} bins at stride {}",
                a.input.display(),
                set.n_samples(),
                a.window,
                spec.stride
            );
        }
        let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
        let picked = rand::seq::index::sample(&mut rng, set.n_samples(), n);
        let values: Vec<u8> = picked.iter().flat_map(|i| set.flat_sample(i)).collect();
        set = SampleSet::from_owned(values, n, set.n_neurons(), set.n_bins(), set.origin.clone())?;
    }
    io::write_samples(&a.out, &set).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: {} samples x {} neurons x {} bins (stride {})",
        a.out.display(),
        set.n_samples(),
        set.n_neurons(),
        set.n_bins(),
        spec.stride
    );
    Ok(Outcome::Success)
}

fn convert(a: &ConvertArgs) -> anyhow::Result<Outcome> {
    let mut loaded = load(&a.input, a.key.key.as_deref())?;
    if a.transpose {
        match &loaded.data {
            SpikeData::Raster(r) => loaded.data = SpikeData::Raster(r.transposed()),
            other => bail!(
                "{}: --transpose applies to a 2-D matrix, but the file holds {}",
                a.input.display(),
                kind(other)
            ),
        }
    }
    let out = &a.output;
    let is_nwb_out = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("nwb"));
    match (&loaded.data, is_nwb_out) {
        (SpikeData::Raster(r), false) => io::write_raster(out, r),
        (SpikeData::Samples(s), false) => io::write_samples(out, s),
        #[cfg(feature = "hdf5")]
        (SpikeData::Trains(t), true) => io::write_nwb_units(out, t),
        (SpikeData::Trains(_), _) => {
            bail!(
                "{}: holds spike times; bin them first with `spikegan data bin --bin-ms W --out {}`",
                a.input.display(),
                out.display()
            )
        }
        (_, true) => bail!(
            "{}: NWB output needs spike times, but the input is {}",
            out.display(),
            kind(&loaded.data)
        ),
    }
    .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{} ({}, '{}') -> {}",
        a.input.display(),
        loaded.format,
        loaded.key,
        out.display()
    );
    Ok(Outcome::Success)
}

fn list() -> anyhow::Result<Outcome> {
    let reg = Registry::builtin();
    let dir = registry::data_dir(None);
    println!(
        "data folder: {} (set with --dir or ${})\n",
        dir.display(),
        registry::DATA_DIR_ENV
    );
    for d in &reg.datasets {
        println!(
            "{}  ({} ms bins)\n  {}\n  cite: {}",
            d.name, d.bin_width_ms, d.description, d.citation
        );
        for f in &d.files {
            println!(
                "    {:<40} key {:<18} {:>8} x {:<3} {}",
                f.file, f.key, f.shape[0], f.shape[1], f.role
            );
        }
        println!();
    }
    Ok(Outcome::Success)
}

fn verify(a: &VerifyArgs) -> anyhow::Result<Outcome> {
    let dir = registry::data_dir(a.dir.as_deref());
    let reg = Registry::builtin();
    let results = registry::verify(&reg, &dir, &a.datasets)?;
    let mut failed = 0;
    for (dataset, path, status) in &results {
        match status {
            FileStatus::Ok => println!("ok        {dataset}: {}", path.display()),
            FileStatus::Missing => {
                failed += 1;
                println!(
                    "MISSING   {dataset}: {} (run `spikegan data fetch {dataset} --dir {}`)",
                    path.display(),
                    dir.display()
                );
            }
            FileStatus::Mismatch { found } => {
                failed += 1;
                println!(
                    "CORRUPT   {dataset}: {} (sha256 {found} differs from the registry; fetch it again)",
                    path.display()
                );
            }
        }
    }
    println!(
        "{} of {} files verified in {}",
        results.len() - failed,
        results.len(),
        dir.display()
    );
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

#[cfg(feature = "fetch")]
fn fetch(a: &FetchArgs) -> anyhow::Result<Outcome> {
    use indicatif::{ProgressBar, ProgressStyle};
    let dir = registry::data_dir(a.dir.as_deref());
    let reg = Registry::builtin();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("static template"),
    );
    let paths = registry::fetch(&reg, &dir, &a.dataset, |file, done, total| {
        bar.set_message(file.to_string());
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    for p in paths {
        println!("verified  {}", p.display());
    }
    Ok(Outcome::Success)
}

#[cfg(not(feature = "fetch"))]
fn fetch(_a: &FetchArgs) -> anyhow::Result<Outcome> {
    bail!(
        "this spikegan was built without the `fetch` feature; download the files listed by `spikegan data list` by hand"
    )
}
