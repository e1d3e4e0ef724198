//! `spikegan stats | compare | nearest | higher-order`: the paper's statistics, errors between data
//! sets, nearest-sample search and the whole-pattern check of small data sets.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use spike_data::io::{Loaded, SpikeData};
use spike_data::{SampleSet, WindowSpec};
use spike_stats::higher_order::higher_order_check;
use spike_stats::nearest::nearest_samples;
use spike_stats::patterns::{bin_pattern_counts, entropy};
use spike_stats::{PaperStats, paper_errors, paper_stats};

use super::{bin_width_ms, kind, load, write_json};
use crate::Outcome;

/// How to turn a file into samples.
#[derive(Args, Debug, Clone)]
pub struct Windowing {
    /// Window length T in bins, for raster input (default: the T of the sample files given, else 32;
    /// samples input must already have this T).
    #[arg(long)]
    pub window: Option<usize>,
    /// Bins between window starts for raster input (default: the window length, non-overlapping; 1 = sliding).
    #[arg(long)]
    pub stride: Option<usize>,
    /// Use at most this many samples (the first ones).
    #[arg(long)]
    pub max_samples: Option<usize>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Data file: a raster (cut into windows) or samples [n, N, T].
    pub data: PathBuf,
    /// MAT variable / HDF5 dataset.
    #[arg(long, visible_alias = "dataset")]
    pub key: Option<String>,
    #[command(flatten)]
    pub windowing: Windowing,
    /// Bin width in ms for rates in Hz (default: from the file or the registry).
    #[arg(long)]
    pub bin_ms: Option<f64>,
    /// Also write the first this many samples, as `examples`, `[k][N][T]` (for raster figures).
    #[arg(long, default_value_t = 0)]
    pub examples: usize,
    /// Output JSON.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Reference data (e.g. the recording).
    #[arg(long)]
    pub reference: PathBuf,
    /// MAT variable / HDF5 dataset of the reference.
    #[arg(long)]
    pub key: Option<String>,
    /// Stride of the reference windows (default: the window length; 1 = all sliding windows, as the paper).
    #[arg(long)]
    pub reference_stride: Option<usize>,
    /// Use at most this many reference samples (default: all).
    #[arg(long)]
    pub reference_max_samples: Option<usize>,
    /// Model data files to compare with the reference.
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// MAT variable / HDF5 dataset of the model files (default: found automatically).
    #[arg(long)]
    pub model_key: Option<String>,
    #[command(flatten)]
    pub windowing: Windowing,
    /// Output JSON.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct NearestArgs {
    /// Training data.
    #[arg(long)]
    pub train: PathBuf,
    /// Stride of the training windows (default 1: every sliding window, as the GAN saw them).
    #[arg(long, default_value_t = 1)]
    pub train_stride: usize,
    /// Generated (or held-out real) data.
    #[arg(long)]
    pub generated: PathBuf,
    /// Number of generated samples to search for.
    #[arg(short, default_value_t = 100)]
    pub m: usize,
    /// Window length T in bins, for raster input (default: the T of the sample files given, else 32).
    #[arg(long)]
    pub window: Option<usize>,
    /// Stride of the generated windows for raster input (default: the window length).
    #[arg(long)]
    pub stride: Option<usize>,
    /// Output JSON.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct HigherOrderArgs {
    /// Generated samples [n, N, T] (N * T up to a few dozen: whole samples are patterns).
    #[arg(long)]
    pub generated: PathBuf,
    /// A very large set from the true distribution (e.g. `spikegan simulate ... --samples 2097152
    /// --draw 1`), whose pattern frequencies stand for the true probabilities.
    #[arg(long)]
    pub ground_truth: PathBuf,
    /// A set drawn from the true distribution, the generated set's size (e.g. `--draw 2`).
    #[arg(long)]
    pub surrogate: PathBuf,
    /// The training set.
    #[arg(long)]
    pub train: PathBuf,
    /// Output JSON.
    #[arg(long)]
    pub out: PathBuf,
}

/// Samples of a samples file (whatever their T).
fn whole_samples<'a>(loaded: &'a Loaded, path: &Path) -> anyhow::Result<SampleSet<'a>> {
    match &loaded.data {
        SpikeData::Samples(s) => Ok(s.clone()),
        other => bail!(
            "{}: holds a {}; samples [n, N, T] are needed (`spikegan data windows` cuts a raster)",
            path.display(),
            kind(other)
        ),
    }
}

/// Spec section 6: frequencies of generated whole-sample patterns against their ground-truth
/// probabilities, impossible patterns, entropies, and how many samples occur in the training set.
pub fn higher_order(a: &HigherOrderArgs) -> anyhow::Result<Outcome> {
    let files = [&a.generated, &a.ground_truth, &a.surrogate, &a.train];
    let loaded: Vec<Loaded> = files.iter().map(|p| load(p, None)).collect::<anyhow::Result<_>>()?;
    let sets: Vec<SampleSet<'_>> = loaded
        .iter()
        .zip(files)
        .map(|(l, p)| whole_samples(l, p))
        .collect::<anyhow::Result<_>>()?;
    let check = higher_order_check(&sets[0], &sets[1], &sets[2], &sets[3])
        .with_context(|| format!("comparing {} with the other sets", a.generated.display()))?;
    let entropy_json = |e: &spike_stats::patterns::Entropy| {
        json!({"plug_in_bits": e.plug_in_bits, "miller_madow_bits": e.miller_madow_bits,
               "distinct_patterns": e.distinct_patterns, "observations": e.observations})
    };
    let out = json!({
        "generated": a.generated.display().to_string(),
        "n_generated": sets[0].n_samples(),
        "n_ground_truth": sets[1].n_samples(),
        "distinct_generated_patterns": check.patterns.len(),
        "impossible_patterns": check.impossible_patterns,
        "impossible_samples": check.impossible_samples,
        "entropy_ground_truth": entropy_json(&check.entropy_ground_truth),
        "entropy_surrogate": entropy_json(&check.entropy_surrogate),
        "entropy_generated": entropy_json(&check.entropy_generated),
        "generated_in_training": check.generated_in_training,
        "surrogate_in_training": check.surrogate_in_training,
        "generated_frequency": check.patterns.iter().map(|p| p.generated_frequency).collect::<Vec<_>>(),
        "ground_truth_probability": check.patterns.iter().map(|p| p.ground_truth_probability).collect::<Vec<_>>(),
    });
    write_json(&a.out, &out)?;
    println!(
        "{} generated samples, {} distinct patterns, {} impossible ({} samples); entropy generated {:.3} bits, \
         surrogate {:.3}, ground truth {:.3}; in the training set: generated {:.1}%, surrogate {:.1}%",
        sets[0].n_samples(),
        check.patterns.len(),
        check.impossible_patterns,
        check.impossible_samples,
        check.entropy_generated.plug_in_bits,
        check.entropy_surrogate.plug_in_bits,
        check.entropy_ground_truth.plug_in_bits,
        100.0 * check.generated_in_training,
        100.0 * check.surrogate_in_training
    );
    println!("wrote {}", a.out.display());
    Ok(Outcome::Success)
}

/// Window length for raster input when `--window` is not given.
pub const DEFAULT_WINDOW: usize = 32;

/// The window length T: `explicit`, else the T of the first sample set among `files` (rasters
/// are then cut to match it), else [`DEFAULT_WINDOW`].
pub fn window_for(explicit: Option<usize>, files: &[&Loaded]) -> usize {
    explicit.unwrap_or_else(|| {
        files
            .iter()
            .find_map(|l| match &l.data {
                SpikeData::Samples(s) => Some(s.n_bins()),
                _ => None,
            })
            .unwrap_or(DEFAULT_WINDOW)
    })
}

/// Samples from loaded data: a raster is cut into windows, samples are used as they are.
pub fn samples_of<'a>(
    loaded: &'a Loaded,
    path: &Path,
    window: usize,
    stride: Option<usize>,
    max: Option<usize>,
) -> anyhow::Result<SampleSet<'a>> {
    let set = match &loaded.data {
        SpikeData::Raster(r) => SampleSet::windows(
            r,
            WindowSpec {
                bins: window,
                stride: stride.unwrap_or(window),
            },
        )?,
        SpikeData::Samples(s) => {
            if s.n_bins() != window {
                bail!(
                    "{}: '{}' holds samples of {} bins, but windows of {window} bins are used here (--window, or the T of the other sample files)",
                    path.display(),
                    loaded.key,
                    s.n_bins()
                );
            }
            s.clone()
        }
        SpikeData::Trains(_) => {
            bail!(
                "{}: holds {}; bin them first with `spikegan data bin`",
                path.display(),
                kind(&loaded.data)
            )
        }
    };
    Ok(match max {
        Some(m) => set.take(m),
        None => set,
    })
}

fn matrix(values: &[f64], cols: usize) -> Value {
    json!(values.chunks(cols).collect::<Vec<_>>())
}

pub fn stats(a: &StatsArgs) -> anyhow::Result<Outcome> {
    let loaded = load(&a.data, a.key.as_deref())?;
    let w = &a.windowing;
    let set = samples_of(
        &loaded,
        &a.data,
        window_for(w.window, &[&loaded]),
        w.stride,
        w.max_samples,
    )?;
    let st = paper_stats(&set);
    let h = entropy(bin_pattern_counts(&set)?.values());
    let bin_ms = bin_width_ms(&a.data, &loaded, a.bin_ms);
    let rates = bin_ms.map(|b| st.firing_rate_hz(b));
    let mut out = json!({
        "file": a.data.display().to_string(),
        "key": loaded.key,
        "n_samples": st.n_samples,
        "neurons": st.neurons,
        "bins": st.bins,
        "bin_width_ms": bin_ms,
        "mean_spike_count": st.mean_spike_count,
        "firing_rate_hz": rates,
        "covariance": matrix(&st.covariance, st.neurons),
        "variances": st.variances(),
        "k_probabilities": st.k_probabilities,
        "autocorrelogram": st.autocorrelogram,
        "time_course": matrix(&st.time_course, st.bins),
        "lag_covariance": matrix(&st.lag_covariance, st.neurons),
        "entropy_bits": h.plug_in_bits,
        "entropy_miller_madow_bits": h.miller_madow_bits,
    });
    if a.examples > 0 {
        let examples: Vec<Vec<Vec<u8>>> = (0..a.examples.min(set.n_samples()))
            .map(|k| {
                (0..set.n_neurons())
                    .map(|i| (0..set.n_bins()).map(|t| set.get(k, i, t)).collect())
                    .collect()
            })
            .collect();
        out["examples"] = json!(examples);
    }
    write_json(&a.out, &out)?;
    print_summary(&st, rates.as_deref(), h.plug_in_bits);
    println!("wrote {}", a.out.display());
    Ok(Outcome::Success)
}

fn print_summary(st: &PaperStats, rates: Option<&[f64]>, entropy_bits: f64) {
    let n = st.neurons;
    let mean = st.mean_spike_count.iter().sum::<f64>() / n as f64;
    println!("{} samples x {} neurons x {} bins", st.n_samples, n, st.bins);
    match rates {
        Some(r) => println!(
            "mean spike count per sample: {mean:.4} ({:.3} Hz)",
            r.iter().sum::<f64>() / n as f64
        ),
        None => println!("mean spike count per sample: {mean:.4} (bin width unknown: --bin-ms for Hz)"),
    }
    let off: Vec<f64> = (0..n * n)
        .filter(|k| k / n != k % n)
        .map(|k| st.covariance[k])
        .collect();
    if !off.is_empty() {
        println!(
            "mean pairwise covariance: {:.6}",
            off.iter().sum::<f64>() / off.len() as f64
        );
    }
    let mode = st
        .k_probabilities
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|x| x.0)
        .unwrap_or(0);
    println!("P(k = 0) = {:.4}, most likely k = {mode}", st.k_probabilities[0]);
    println!("single-bin pattern entropy: {entropy_bits:.4} bits");
}

pub fn compare(a: &CompareArgs) -> anyhow::Result<Outcome> {
    let w = &a.windowing;
    let ref_loaded = load(&a.reference, a.key.as_deref())?;
    let model_files = a
        .models
        .iter()
        .map(|path| Ok((path, load(path, a.model_key.as_deref())?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let all: Vec<&Loaded> = std::iter::once(&ref_loaded)
        .chain(model_files.iter().map(|(_, l)| l))
        .collect();
    let window = window_for(w.window, &all);
    let reference = samples_of(
        &ref_loaded,
        &a.reference,
        window,
        a.reference_stride,
        a.reference_max_samples,
    )?;
    let ref_stats = paper_stats(&reference);
    let mut models = serde_json::Map::new();
    let mut rows = Vec::new();
    for (path, loaded) in &model_files {
        let set = samples_of(loaded, path, window, w.stride, w.max_samples)?;
        let errors = paper_errors(&paper_stats(&set), &ref_stats)
            .with_context(|| format!("{} against {}", path.display(), a.reference.display()))?;
        let obj: serde_json::Map<String, Value> =
            errors.named().iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        models.insert(path.display().to_string(), Value::Object(obj));
        rows.push((
            path.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            set.n_samples(),
            errors,
        ));
    }
    let out = json!({
        "reference": {"file": a.reference.display().to_string(), "n_samples": ref_stats.n_samples, "neurons": ref_stats.neurons, "bins": ref_stats.bins},
        "models": models,
    });
    write_json(&a.out, &out)?;
    println!(
        "reference: {} ({} samples of {} x {})",
        a.reference.display(),
        ref_stats.n_samples,
        ref_stats.neurons,
        ref_stats.bins
    );
    println!(
        "{:<36} {:>8} {:>9} {:>10} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "model", "samples", "mean", "covariance", "variance", "k-probs", "acf", "time-crs", "lag-cov"
    );
    for (name, n, e) in rows {
        println!(
            "{:<36} {:>8} {:>9.4} {:>10.4} {:>9.4} {:>9.5} {:>9.4} {:>10.4} {:>9.4}",
            name,
            n,
            e.mean,
            e.covariance,
            e.variance,
            e.k_probabilities,
            e.autocorrelogram,
            e.time_course,
            e.lag_covariance
        );
    }
    println!("wrote {}", a.out.display());
    Ok(Outcome::Success)
}

pub fn nearest(a: &NearestArgs) -> anyhow::Result<Outcome> {
    let train_loaded = load(&a.train, None)?;
    let gen_loaded = if a.train == a.generated {
        None
    } else {
        Some(load(&a.generated, None)?)
    };
    let window = window_for(a.window, &[&train_loaded, gen_loaded.as_ref().unwrap_or(&train_loaded)]);
    let train = samples_of(&train_loaded, &a.train, window, Some(a.train_stride), None)?;
    let same = gen_loaded.is_none() && a.stride.unwrap_or(window) == a.train_stride;
    let generated = match &gen_loaded {
        _ if same => train.clone(),
        Some(g) => samples_of(g, &a.generated, window, a.stride, None)?,
        None => samples_of(&train_loaded, &a.train, window, a.stride, None)?,
    };
    let found = nearest_samples(&generated, &train, a.m, same)?;
    let distances: Vec<u32> = found.iter().map(|n| n.distance).collect();
    let max = distances.iter().copied().max().unwrap_or(0) as usize;
    let mut histogram = vec![0u64; max + 1];
    distances.iter().for_each(|&d| histogram[d as usize] += 1);
    let mut sorted = distances.clone();
    sorted.sort_unstable();
    let mean = distances.iter().map(|&d| f64::from(d)).sum::<f64>() / distances.len().max(1) as f64;
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let out = json!({
        "train": {"file": a.train.display().to_string(), "n_samples": train.n_samples(), "stride": a.train_stride},
        "generated": {"file": a.generated.display().to_string(), "n_samples": found.len()},
        "excluded_self": same,
        "nearest": found.iter().map(|n| json!({"generated": n.generated, "train": n.train, "distance": n.distance})).collect::<Vec<_>>(),
        "distance_histogram": histogram,
        "mean_distance": mean,
        "median_distance": median,
    });
    write_json(&a.out, &out)?;
    println!(
        "{} generated samples vs {} training samples: Hamming distance to the nearest mean {mean:.2}, median {median}, min {}",
        found.len(),
        train.n_samples(),
        sorted.first().copied().unwrap_or(0)
    );
    println!("wrote {}", a.out.display());
    Ok(Outcome::Success)
}
