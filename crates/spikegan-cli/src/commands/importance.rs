//! `spikegan importance` (importance maps of a trained critic) and `spikegan packets` (the packet
//! they point to, and stimulus discrimination when labels are known).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use spike_data::io;
use spike_stats::discrimination::{cross_validated_template_scores, roc};
use spikegan_model::checkpoint;
use spikegan_model::importance::{CriticScorer, ImportanceMaps, ImportanceParams, aligned_packets, importance_maps};

use super::stats::samples_of;
use super::{load, write_json};
use crate::Outcome;
use crate::backend::{Backend, device};

#[derive(Args, Debug)]
pub struct ImportanceArgs {
    /// Run folder written by `spikegan train` (its critic is used).
    #[arg(long)]
    pub run: PathBuf,
    /// Samples [n, N, T] or a raster (cut into windows of the run's T).
    #[arg(long)]
    pub data: PathBuf,
    /// MAT variable / HDF5 dataset.
    #[arg(long, visible_alias = "dataset")]
    pub key: Option<String>,
    /// Bins between windows of a raster (default: the window length, no overlap).
    #[arg(long)]
    pub stride: Option<usize>,
    /// Use the first this many samples.
    #[arg(long, default_value_t = 1000)]
    pub max_samples: usize,
    /// Width of the shuffled windows, bins.
    #[arg(long, default_value_t = 8)]
    pub window_width: usize,
    /// Bins between window starts.
    #[arg(long, default_value_t = 2)]
    pub step: usize,
    /// Shuffles per window.
    #[arg(long, default_value_t = 5)]
    pub shuffles: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute backend.
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    /// Output HDF5 file: /maps (f32) and /samples (u8), both [n, N, T].
    #[arg(long)]
    pub out: PathBuf,
}

pub fn importance(a: &ImportanceArgs) -> anyhow::Result<Outcome> {
    let dev = device(a.backend)?;
    let (config, critic) = checkpoint::load_critic(&a.run, &dev)?;
    let m = config.model.clone();
    let loaded = load(&a.data, a.key.as_deref())?;
    if a.max_samples == 0 {
        bail!("--max-samples must be at least 1");
    }
    let samples = samples_of(&loaded, &a.data, m.bins, a.stride, Some(a.max_samples))?;
    if samples.n_neurons() != m.neurons {
        bail!(
            "{}: '{}' has {} neurons but the critic of {} takes {}",
            a.data.display(),
            loaded.key,
            samples.n_neurons(),
            a.run.display(),
            m.neurons
        );
    }
    let params = ImportanceParams {
        window_width: a.window_width,
        step: a.step,
        shuffles: a.shuffles,
        seed: a.seed,
    };
    let starts = params.window_starts(m.bins)?;
    tracing::info!(
        samples = samples.n_samples(),
        copies_per_sample = starts.len() * m.neurons * a.shuffles,
        "importance maps"
    );
    let bar = ProgressBar::new(samples.n_samples() as u64);
    bar.set_style(
        ProgressStyle::with_template("importance maps {bar:30} {pos}/{len} samples {per_sec} eta {eta}")
            .expect("static template"),
    );
    let started = Instant::now();
    let scorer = CriticScorer::new(critic, m.clone(), &dev);
    let maps = importance_maps(&scorer, &samples, params, &|_| bar.inc(1))?;
    bar.finish_and_clear();
    let attributes = [
        ("window_width", a.window_width as f64),
        ("step", a.step as f64),
        ("shuffles", a.shuffles as f64),
        ("seed", a.seed as f64),
    ];
    io::write_sample_maps(&a.out, &samples, &maps.values, &attributes)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: importance maps of {} samples ({} neurons x {} bins) under the critic of {} in {:.1} s",
        a.out.display(),
        samples.n_samples(),
        m.neurons,
        m.bins,
        a.run.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Success)
}

#[derive(Args, Debug)]
pub struct PacketsArgs {
    /// Importance maps written by `spikegan importance`.
    #[arg(long)]
    pub maps: PathBuf,
    /// Percentile of map values at spikes below which values are dropped.
    #[arg(long, default_value_t = 95.0)]
    pub percentile: f64,
    /// Ground truth of simulated data (`<samples>.truth.json` from `spikegan simulate`): scores
    /// how well the packets are recovered and, for two-mode data, discriminates the stimulus.
    /// The maps must be of the first samples of that simulation (as `--max-samples` takes them).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Output JSON.
    #[arg(long)]
    pub out: PathBuf,
}

fn matrix(values: &[f64], cols: usize) -> Value {
    json!(values.chunks(cols).collect::<Vec<_>>())
}

/// Mean of aligned maps `[n, N, T]` over the samples selected by `keep`, `[N * T]`.
fn mean_aligned(aligned: &[f32], size: usize, keep: impl Fn(usize) -> bool) -> Vec<f64> {
    let mut mean = vec![0.0; size];
    let mut count = 0usize;
    for (_, a) in aligned.chunks_exact(size).enumerate().filter(|(s, _)| keep(*s)) {
        count += 1;
        mean.iter_mut().zip(a).for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= count.max(1) as f64);
    mean
}

/// How well `estimate` (`[N * T]`) shows the sequence `rows`: the fraction of its mass on those
/// rows, and the Spearman correlation between a row's place in the sequence and its mean time.
fn recovery(estimate: &[f64], bins: usize, rows: &[usize]) -> Value {
    let total: f64 = estimate.iter().sum();
    let row_mass = |r: usize| estimate[r * bins..(r + 1) * bins].iter().sum::<f64>();
    let on_rows: f64 = rows.iter().map(|&r| row_mass(r)).sum();
    let centre = |r: usize| {
        let m = row_mass(r);
        (m > 0.0).then(|| {
            estimate[r * bins..(r + 1) * bins]
                .iter()
                .enumerate()
                .map(|(t, v)| t as f64 * v)
                .sum::<f64>()
                / m
        })
    };
    let centres: Vec<Option<f64>> = rows.iter().map(|&r| centre(r)).collect();
    let known: Vec<(f64, f64)> = centres
        .iter()
        .enumerate()
        .filter_map(|(k, c)| c.map(|c| (k as f64, c)))
        .collect();
    json!({
        "rows": rows,
        "mass_fraction": if total > 0.0 { on_rows / total } else { 0.0 },
        "chance_mass_fraction": rows.len() as f64 / (estimate.len() / bins) as f64,
        "centre_bins": centres,
        "order_spearman": spearman(&known),
    })
}

/// Spearman rank correlation of pairs (average ranks for ties); `None` below 3 pairs or when a
/// side is constant.
fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let ranks = |values: Vec<f64>| {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let mut r = vec![0.0; values.len()];
        let mut k = 0;
        while k < order.len() {
            let mut j = k;
            while j + 1 < order.len() && values[order[j + 1]] == values[order[k]] {
                j += 1;
            }
            for &o in &order[k..=j] {
                r[o] = (k + j) as f64 / 2.0;
            }
            k = j + 1;
        }
        r
    };
    let a = ranks(pairs.iter().map(|p| p.0).collect());
    let b = ranks(pairs.iter().map(|p| p.1).collect());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

/// The settings recorded with the maps (the defaults where an attribute is missing); an attribute
/// that is not a non-negative whole number is an error naming the file.
fn params_of(attributes: &[(String, f64)], file: &std::path::Path) -> anyhow::Result<ImportanceParams> {
    let get = |name: &str, default: u64| -> anyhow::Result<u64> {
        match attributes.iter().find(|(n, _)| n == name) {
            None => Ok(default),
            Some((_, v)) if v.is_finite() && *v >= 0.0 && v.fract() == 0.0 => Ok(*v as u64),
            Some((_, v)) => anyhow::bail!(
                "{}: attribute '{name}' of the importance maps is {v}, not a non-negative whole number",
                file.display()
            ),
        }
    };
    let d = ImportanceParams::default();
    Ok(ImportanceParams {
        window_width: get("window_width", d.window_width as u64)? as usize,
        step: get("step", d.step as u64)? as usize,
        shuffles: get("shuffles", d.shuffles as u64)? as usize,
        seed: get("seed", d.seed)?,
    })
}

pub fn packets(a: &PacketsArgs) -> anyhow::Result<Outcome> {
    let file = io::read_sample_maps(&a.maps)?;
    let (n, neurons, bins) = (
        file.samples.n_samples(),
        file.samples.n_neurons(),
        file.samples.n_bins(),
    );
    let maps = ImportanceMaps {
        values: file.values,
        n_samples: n,
        neurons,
        bins,
        params: params_of(&file.attributes, &a.maps)?,
    };
    let (threshold, aligned) = aligned_packets(&maps, &file.samples, a.percentile)?;
    let size = neurons * bins;
    let packet = mean_aligned(&aligned, size, |_| true);
    let with_packet = aligned
        .chunks_exact(size)
        .filter(|m| m.iter().any(|&v| v != 0.0))
        .count();
    let neuron_importance: Vec<f64> = (0..neurons)
        .map(|i| {
            (0..n)
                .map(|s| {
                    maps.map(s)[i * bins..(i + 1) * bins]
                        .iter()
                        .map(|&v| f64::from(v))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / (n * bins) as f64
        })
        .collect();
    let mut out = json!({
        "maps": a.maps.display().to_string(),
        "samples": n,
        "neurons": neurons,
        "bins": bins,
        "percentile": a.percentile,
        "threshold": threshold,
        "samples_with_packet": with_packet,
        "packet": matrix(&packet, bins),
        "neuron_importance": neuron_importance,
        "map_settings": {"window_width": maps.params.window_width, "step": maps.params.step,
                         "shuffles": maps.params.shuffles, "seed": maps.params.seed},
    });
    let mut summary = format!(
        "{n} maps, threshold {threshold:.4} ({}th percentile at spikes), {with_packet} samples keep a packet",
        a.percentile
    );
    if let Some(truth_path) = &a.truth {
        let text = std::fs::read_to_string(truth_path).with_context(|| format!("reading {}", truth_path.display()))?;
        let truth: Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not a truth JSON file", truth_path.display()))?;
        let sequences: Vec<Vec<usize>> = serde_json::from_value(truth["packets"].clone()).with_context(|| {
            format!(
                "{}: no \"packets\" list (simulate packets or two-mode data)",
                truth_path.display()
            )
        })?;
        if sequences.is_empty() {
            bail!(
                "{}: the simulation has no packets (the truth of `simulate packets` or `simulate two-mode` is needed)",
                truth_path.display()
            );
        }
        if let Some(bad) = sequences.iter().flatten().find(|&&r| r >= neurons) {
            bail!(
                "{}: packet row {bad} does not exist in maps of {neurons} neurons",
                truth_path.display()
            );
        }
        out["recovery"] = json!(
            sequences
                .iter()
                .map(|rows| recovery(&packet, bins, rows))
                .collect::<Vec<_>>()
        );
        if let Some(labels) = truth["stimulus"].as_array() {
            let labels: Vec<u64> = labels.iter().filter_map(Value::as_u64).collect();
            if labels.len() < n {
                bail!(
                    "{}: {} stimulus labels for {n} maps",
                    truth_path.display(),
                    labels.len()
                );
            }
            let first: Vec<bool> = labels[..n].iter().map(|&l| l == 1).collect();
            let per_stimulus: Vec<Value> = [true, false]
                .iter()
                .zip(&sequences)
                .map(|(&want, rows)| {
                    let estimate = mean_aligned(&aligned, size, |s| first[s] == want);
                    json!({"packet": matrix(&estimate, bins), "recovery": recovery(&estimate, bins, rows)})
                })
                .collect();
            // Features per sample: neuron importance (maps) and spike counts (activity), both [N].
            let per_neuron = |values: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
                (0..n)
                    .flat_map(|s| (0..neurons).map(move |i| (s, i)))
                    .map(|(s, i)| (0..bins).map(|t| values(s, i * bins + t)).sum::<f64>())
                    .collect()
            };
            let from_maps = per_neuron(&|s, k| f64::from(maps.map(s)[k]));
            let from_counts = per_neuron(&|s, k| f64::from(file.samples.get(s, k / bins, k % bins)));
            let roc_maps = roc(&cross_validated_template_scores(&from_maps, neurons, &first)?, &first)?;
            let roc_counts = roc(&cross_validated_template_scores(&from_counts, neurons, &first)?, &first)?;
            summary += &format!(
                "; stimulus AUC {:.3} from the maps ({:.3} from spike counts)",
                roc_maps.auc, roc_counts.auc
            );
            out["stimulus"] = json!({
                "per_stimulus": per_stimulus,
                "method": "2-fold cross-validated template on per-neuron sums (stimulus 1 positive)",
                "auc_maps": roc_maps.auc,
                "auc_spike_counts": roc_counts.auc,
                "roc_maps": {"false_positive_rate": roc_maps.false_positive_rate, "true_positive_rate": roc_maps.true_positive_rate},
                "roc_spike_counts": {"false_positive_rate": roc_counts.false_positive_rate, "true_positive_rate": roc_counts.true_positive_rate},
            });
        }
    }
    write_json(&a.out, &out)?;
    println!("{summary}");
    println!("wrote {}", a.out.display());
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::{recovery, spearman};

    #[test]
    fn recovery_of_a_perfect_and_a_reversed_packet() {
        // 4 neurons x 5 bins; the packet is rows 2, 0, 3 firing at bins 0, 1, 2.
        let mut estimate = vec![0.0; 20];
        for (m, &r) in [2usize, 0, 3].iter().enumerate() {
            estimate[r * 5 + m] = 1.0;
        }
        let r = recovery(&estimate, 5, &[2, 0, 3]);
        assert_eq!(r["mass_fraction"], 1.0);
        assert_eq!(r["chance_mass_fraction"], 0.75);
        assert!((r["order_spearman"].as_f64().unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(r["centre_bins"][1], 1.0);
        // The same estimate read as the reversed sequence, plus mass on a row outside it.
        estimate[5 + 4] = 3.0; // row 1, bin 4
        let r = recovery(&estimate, 5, &[3, 0, 2]);
        assert!((r["mass_fraction"].as_f64().unwrap() - 3.0 / 6.0).abs() < 1e-12);
        assert!((r["order_spearman"].as_f64().unwrap() + 1.0).abs() < 1e-12);
        // A row with no mass has no centre and is left out of the correlation.
        let r = recovery(&[0.0; 20], 5, &[0, 1, 2]);
        assert!(r["centre_bins"][0].is_null() && r["order_spearman"].is_null());
    }

    #[test]
    fn spearman_of_hand_cases() {
        let up = [(0.0, 1.0), (1.0, 5.0), (2.0, 9.0)];
        assert!((spearman(&up).unwrap() - 1.0).abs() < 1e-12);
        let down = [(0.0, 3.0), (1.0, 2.0), (2.0, 1.0), (3.0, 0.0)];
        assert!((spearman(&down).unwrap() + 1.0).abs() < 1e-12);
        // Ties: ranks (0, 1.5, 1.5) vs (0, 1, 2): r = 0.866...
        let tie = [(0.0, 0.0), (1.0, 2.0), (2.0, 2.0)];
        assert!((spearman(&[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman(&tie.map(|(a, b)| (b, a))).unwrap() - 0.75f64.sqrt()).abs() < 1e-12);
        assert!(spearman(&up[..2]).is_none());
        assert!(spearman(&[(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]).is_none());
    }
}
