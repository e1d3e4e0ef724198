//! The experiments of `cargo xtask reproduce`, each a chain of `spikegan` steps turned into a
//! [`Section`] of the report. Settings follow spec section 10; GAN budgets are wall-clock minutes.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::figures::{LineSpec, Series, Stats, heatmaps, line_figure, scatter_figure, xy_figure};
use crate::reproduce::{Ctx, Section, s, strings};

mod packets;
mod retina;
mod uniform;

#[cfg(test)]
pub use retina::fig3_verdicts;

/// Label of the real-data noise floor rows.
pub const NOISE_FLOOR: &str = "real data: independent draw (noise floor)";
pub(super) const RETINA: &str = "retina50/original_data_num_neurons_50_1.mat";
pub(super) const RETINA_PUBLISHED: [(&str, &str); 2] = [
    ("published k-pairwise", "retina50/k_pairwise_num_neurons_50_1.mat"),
    ("published DG", "retina50/DG_num_neurons_50_1.mat"),
];
pub(super) const NEGCORR_PUBLISHED: [(&str, &str); 2] = [
    (
        "published k-pairwise (paper's realisation)",
        "negcorr16/k_pairwise_num_neurons_16_1.mat",
    ),
    (
        "published DG (paper's realisation)",
        "negcorr16/DG_num_neurons_16_1.mat",
    ),
];
/// Generated samples per model.
pub(super) const SAMPLES: usize = 8192;

/// Fail early, naming the missing file and how to get it.
pub fn check_shared_data(data_dir: &Path, selected: &[&str]) -> anyhow::Result<()> {
    let mut needed: Vec<(&str, &str)> = Vec::new();
    if selected.contains(&"fig3") {
        needed.push(("retina50", RETINA));
        needed.extend(RETINA_PUBLISHED.iter().map(|p| ("retina50", p.1)));
    }
    if selected.contains(&"s6") {
        needed.extend(NEGCORR_PUBLISHED.iter().map(|p| ("negcorr16", p.1)));
    }
    for (set, file) in needed {
        let path = data_dir.join(file);
        if !path.exists() {
            bail!(
                "{} is missing: download the data with `cargo run --release -p spikegan-cli -- data fetch {set} --dir {}` \
                 (or point --data-dir / SPIKEGAN_DATA at it)",
                path.display(),
                data_dir.display()
            );
        }
    }
    Ok(())
}

pub fn run(ctx: &mut Ctx, id: &str) -> anyhow::Result<Section> {
    match id {
        "fig2" => uniform::fig2(ctx),
        "s1" => uniform::s1(ctx),
        "fig3" => retina::fig3(ctx),
        "s6" => uniform::s6(ctx),
        "fig4" => packets::fig4(ctx),
        "s2-s4" => packets::s2_s4(ctx),
        other => bail!("no experiment '{other}'"),
    }
}

pub(super) fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

pub(super) fn title(id: &str) -> String {
    crate::reproduce::EXPERIMENTS
        .iter()
        .find(|e| e.0 == id)
        .map_or_else(String::new, |e| e.1.to_string())
}

/// `spikegan simulate kind params --samples n --seed seed --draw draw --out dir/file`.
pub(super) fn simulate(
    ctx: &mut Ctx,
    id: &str,
    file: &Path,
    kind: &str,
    params: &[&str],
    samples: usize,
    (seed, draw): (u64, u64),
) -> anyhow::Result<()> {
    let mut args = strings(&["simulate", kind]);
    args.extend(strings(params));
    let (n, seed_s, draw_s) = (samples.to_string(), seed.to_string(), draw.to_string());
    args.extend(strings(&[
        "--samples",
        &n,
        "--seed",
        &seed_s,
        "--draw",
        &draw_s,
        "--out",
        &s(file),
    ]));
    let truth = file.with_extension("truth.json");
    ctx.step(
        &format!("{id}: simulate {kind} ({samples} samples, seed {seed}, draw {draw})"),
        args,
        &[],
        &[file, &truth],
    )
}

/// A GAN run folder trained on `data` for `minutes`, evaluated every `eval_every` iterations on
/// 2048 samples (0 = never); `--resume`s a run a crash or budget stopped.
/// How a GAN is trained: architecture, window T, wall-clock budget, evaluation interval.
pub(super) struct Gan<'a> {
    pub arch: &'a str,
    pub window: usize,
    /// Wall-clock budget; 0 = no training at all (the initialised networks, as a control).
    pub minutes: f64,
    /// Iterations between evaluations on 2048 samples (0 = never).
    pub eval_every: usize,
}

pub(super) fn train(ctx: &mut Ctx, id: &str, run: &Path, data: &Path, gan: &Gan) -> anyhow::Result<()> {
    let Gan {
        arch,
        window,
        minutes,
        eval_every,
    } = *gan;
    let (w, m, e) = (window.to_string(), minutes.to_string(), eval_every.to_string());
    let mut args = strings(&[
        "train",
        "--data",
        &s(data),
        "--window",
        &w,
        "--arch",
        arch,
        "--preset",
        &ctx.o.gan_preset,
        "--seed",
        "0",
        "--eval-every",
        &e,
        "--eval-samples",
        "2048",
        "--backend",
        &ctx.o.backend,
        "--out",
        &s(run),
    ]);
    if minutes > 0.0 && ctx.o.paper_iterations {
        args.extend(["--iters".to_string(), "300000".to_string()]);
    } else if minutes > 0.0 {
        args.extend(["--max-minutes".to_string(), m]);
    } else {
        // The untrained networks (the seed's initialisation), a control.
        args.extend(["--iters".to_string(), "0".to_string()]);
    }
    // Resume only a run that this same step started (stopped by a crash or Ctrl-C); a run made
    // with other settings, or any run under --force, starts over.
    let key = ctx.runner.key(&args, &[data]);
    let key_file = run.join("reproduce-step.key");
    let ours = std::fs::read_to_string(&key_file).is_ok_and(|k| k == key);
    if ours && (!ctx.o.force || ctx.runner.ran.contains(&key)) {
        if run.join("checkpoint").exists() {
            args.push("--resume".into());
        }
    } else {
        if run.exists() {
            std::fs::remove_dir_all(run).with_context(|| format!("removing the stale run {}", run.display()))?;
        }
        std::fs::create_dir_all(run)?;
        std::fs::write(&key_file, &key)?;
    }
    let done = run.join("config.json");
    let what = if minutes > 0.0 && ctx.o.paper_iterations {
        format!("train {arch} GAN (paper preset, 300k iterations)")
    } else if minutes > 0.0 {
        format!("train {arch} GAN ({minutes} min, preset {})", ctx.o.gan_preset)
    } else {
        format!("initialise {arch} GAN (untrained control)")
    };
    ctx.step(&format!("{id}: {what}"), args, &[data], &[&done])
}

/// `n` binarised samples of a trained run.
pub(super) fn sample_gan(ctx: &mut Ctx, id: &str, run: &Path, out: &Path, n: usize) -> anyhow::Result<()> {
    let n = n.to_string();
    let args = strings(&[
        "sample",
        "--run",
        &s(run),
        "-n",
        &n,
        "--seed",
        "1",
        "--backend",
        &ctx.o.backend,
        "--out",
        &s(out),
    ]);
    ctx.step(
        &format!("{id}: sample {}", run.display()),
        args,
        &[&run.join("config.json")],
        &[out],
    )
}

/// Fit a baseline to `data` and draw `SAMPLES` windows of `window` bins from it.
pub(super) fn fit_and_sample(
    ctx: &mut Ctx,
    id: &str,
    dir: &Path,
    data: &Path,
    window: usize,
    kind: &str,
) -> anyhow::Result<PathBuf> {
    let model = dir.join(format!("{kind}.json"));
    let w = window.to_string();
    let fit = strings(&[
        "fit",
        kind,
        "--data",
        &s(data),
        "--window",
        &w,
        "--seed",
        "0",
        "--out",
        &s(&model),
    ]);
    ctx.step(&format!("{id}: fit {kind}"), fit, &[data], &[&model])?;
    let samples = dir.join(format!("{kind}.h5"));
    let n = SAMPLES.to_string();
    let args = strings(&[
        "sample",
        "--model",
        &s(&model),
        "-n",
        &n,
        "--window",
        &w,
        "--seed",
        "1",
        "--out",
        &s(&samples),
    ]);
    ctx.step(&format!("{id}: sample {kind}"), args, &[&model], &[&samples])?;
    Ok(samples)
}

/// The seven errors of each model against `reference` (raster windows with `reference_stride`,
/// or samples), models as windows of `window` bins (the first `SAMPLES`).
pub(super) fn compare(
    ctx: &mut Ctx,
    id: &str,
    dir: &Path,
    reference: &Path,
    reference_stride: usize,
    window: usize,
    models: &[(String, PathBuf)],
) -> anyhow::Result<Vec<(String, Value)>> {
    let errors = dir.join("errors.json");
    let (rs, w, n) = (reference_stride.to_string(), window.to_string(), SAMPLES.to_string());
    let mut args = strings(&[
        "compare",
        "--reference",
        &s(reference),
        "--reference-stride",
        &rs,
        "--window",
        &w,
        "--stride",
        &w,
        "--max-samples",
        &n,
        "--out",
        &s(&errors),
    ]);
    args.extend(models.iter().map(|m| s(&m.1)));
    let mut inputs: Vec<&Path> = models.iter().map(|m| m.1.as_path()).collect();
    inputs.push(reference);
    ctx.step(&format!("{id}: compare"), args, &inputs, &[&errors])?;
    let table = read_json(&errors)?;
    Ok(models
        .iter()
        .map(|(label, path)| (label.clone(), table["models"][s(path)].clone()))
        .collect())
}

/// `spikegan stats` of a file (windows of `window` with `stride`, at most `max` samples).
pub(super) fn stats(
    ctx: &mut Ctx,
    id: &str,
    out: &Path,
    data: &Path,
    window: usize,
    stride: usize,
    max: Option<usize>,
) -> anyhow::Result<Value> {
    let (w, st) = (window.to_string(), stride.to_string());
    let mut args = strings(&[
        "stats",
        &s(data),
        "--window",
        &w,
        "--stride",
        &st,
        "--examples",
        "2",
        "--out",
        &s(out),
    ]);
    if let Some(m) = max {
        args.extend(["--max-samples".to_string(), m.to_string()]);
    }
    ctx.step(
        &format!("{id}: statistics of {}", data.display()),
        args,
        &[data],
        &[out],
    )?;
    read_json(out)
}

/// Statistics of every model (for the figures), the reference's first.
pub(super) fn model_stats(
    ctx: &mut Ctx,
    id: &str,
    dir: &Path,
    window: usize,
    models: &[(String, PathBuf)],
) -> anyhow::Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (i, (label, path)) in models.iter().enumerate() {
        let file = dir.join(format!("stats_{i}.json"));
        out.push((
            label.clone(),
            stats(ctx, id, &file, path, window, window, Some(SAMPLES))?,
        ));
    }
    Ok(out)
}

/// The paper's statistic panels: k-probabilities, autocorrelogram, rates, covariances, lag covariances.
pub(super) fn stat_figures(data_label: &str, data: &Value, models: &[(String, Value)]) -> Vec<String> {
    let shown: Vec<Stats> = models.iter().map(|(label, json)| Stats { label, json }).collect();
    let data_json = data;
    let data = Stats {
        label: data_label,
        json: data,
    };
    let line = |title, x_desc, y_desc, key, offset, log| {
        line_figure(
            &LineSpec {
                title,
                x_desc,
                y_desc,
                key,
                offset,
                log,
            },
            &data,
            &shown,
        )
    };
    let mut figures = vec![
        line(
            "Population spike count",
            "K (active neurons in a bin)",
            "log10 P(K)",
            "k_probabilities",
            0.0,
            true,
        ),
        line(
            "Autocorrelogram",
            "lag (bins)",
            "normalised",
            "autocorrelogram",
            -10.0,
            false,
        ),
        scatter_figure(
            "Mean spike count per window (model vs data)",
            "mean_spike_count",
            false,
            &data,
            &shown,
        ),
        scatter_figure(
            "Covariances, off-diagonal (model vs data)",
            "covariance",
            true,
            &data,
            &shown,
        ),
        scatter_figure(
            "Lag-1 covariances (model vs data)",
            "lag_covariance",
            true,
            &data,
            &shown,
        ),
    ];
    figures.push(example_rasters(data_label, data_json, models));
    figures
}

/// The first example sample of the data and of each model (`spikegan stats --examples`), as
/// rasters: neurons down, bins across, spikes dark.
pub(super) fn example_rasters(data_label: &str, data: &Value, models: &[(String, Value)]) -> String {
    let raster = |v: &Value| -> Vec<Vec<f64>> {
        v["examples"][0]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| row.as_array().into_iter().flatten().filter_map(Value::as_f64).collect())
            .collect()
    };
    let panels: Vec<(String, Vec<Vec<f64>>)> = std::iter::once((data_label.to_string(), raster(data)))
        .chain(models.iter().map(|(l, v)| (l.clone(), raster(v))))
        .collect();
    heatmaps("Example samples", "neuron", "bin", &panels)
}

/// Error of `key` in row `label` (NaN when absent, so a missing row never passes a check).
pub(super) fn err(rows: &[(String, Value)], label: &str, key: &str) -> f64 {
    rows.iter()
        .find(|r| r.0 == label)
        .and_then(|r| r.1[key].as_f64())
        .unwrap_or(f64::NAN)
}

pub(super) fn errors_json(rows: &[(String, Value)]) -> Value {
    Value::Object(rows.iter().map(|(l, v)| (l.clone(), v.clone())).collect())
}

/// Training curves of runs: `key`'s error vs wall time from their log.jsonl, with the given
/// baselines' errors as horizontal lines.
pub(super) fn training_curves(key: &str, title: &str, runs: &[(&str, &Path)], baselines: &[(String, f64)]) -> String {
    let mut series = Vec::new();
    let mut max_t = 0f64;
    for (label, run) in runs {
        let text = std::fs::read_to_string(run.join("log.jsonl")).unwrap_or_default();
        let points: Vec<(f64, f64)> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| Some((v["seconds"].as_f64()?, v["errors"][key].as_f64()?)))
            .collect();
        max_t = points.iter().fold(max_t, |m, p| m.max(p.0));
        series.push(Series {
            label: format!("{label} (2048 samples)"),
            points,
            line: true,
        });
    }
    for (label, v) in baselines {
        series.push(Series {
            label: label.clone(),
            points: vec![(0.0, *v), (max_t.max(1.0), *v)],
            line: true,
        });
    }
    xy_figure(
        title,
        "training wall time (s)",
        &format!("{key} error"),
        &series,
        false,
        true,
    )
}

/// Every evaluation a run logged (iteration, wall seconds, the seven errors): its training curve.
pub(super) fn training_curve(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("log.jsonl")).unwrap_or_default();
    Value::Array(
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["errors"].is_object())
            .map(|v| json!({"iteration": v["iteration"], "seconds": v["seconds"], "errors": v["errors"]}))
            .collect(),
    )
}

/// Iterations and seconds of a run.
pub(super) fn run_summary(run: &Path) -> String {
    let text = std::fs::read_to_string(run.join("log.jsonl")).unwrap_or_default();
    let last = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .next_back();
    match last {
        Some(v) => format!(
            "{} iterations in {:.0} s",
            v["iteration"].as_u64().unwrap_or(0),
            v["seconds"].as_f64().unwrap_or(0.0)
        ),
        None => "no log".into(),
    }
}
