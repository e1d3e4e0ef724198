//! `cargo xtask reproduce`: the paper's experiments, run through the `spikegan` binary, with
//! cached steps, `results/results.json` and a self-contained `results/report.html`.
//!
//! Implemented so far: `fig3` (salamander retina: Spike-GAN, our fitted independent, k-pairwise,
//! spatial and — in full mode — spatio-temporal DG baselines, the published baseline samples and
//! a real-data noise floor, all scored with the paper's seven errors). The other experiments of
//! the spec's table are listed in the report as not yet reproduced.
//!
//! Each step is skipped when its outputs exist and a key of its command line and its inputs'
//! sizes and modification times is unchanged (`--force` recomputes), so a rerun after a crash
//! continues where it stopped; a GAN run that stopped early resumes from its checkpoint.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::figures::{LineSpec, Stats, line_figure, scatter_figure};
use crate::{root, run};

const EXPERIMENTS: [&str; 1] = ["fig3"];
const NOISE_FLOOR: &str = "real data: 8192 random windows (noise floor)";
const NOT_YET: [&str; 6] = ["fig2", "s1", "s6", "fig4", "s2-s4", "packets/importance maps"];
/// The seven errors, in the paper's table order: (JSON key, column title).
const ERRORS: [(&str, &str); 7] = [
    ("mean", "mean"),
    ("covariance", "covariance"),
    ("variance", "variance"),
    ("k_probabilities", "k-probs"),
    ("autocorrelogram", "autocorrelogram"),
    ("time_course", "time course"),
    ("lag_covariance", "lag cov"),
];

struct Options {
    quick: bool,
    force: bool,
    out: PathBuf,
    data_dir: PathBuf,
    gan_minutes: f64,
}

const USAGE: &str =
    "cargo xtask reproduce [--quick] [--only fig3] [--out DIR] [--data-dir DIR] [--gan-minutes M] [--force]

  --quick          reduced scale (3-minute GAN, no spatio-temporal DG)
  --only LIST      experiments to run, comma-separated (available: fig3)
  --out DIR        results folder (default: results/)
  --data-dir DIR   shared data folder (default: $SPIKEGAN_DATA, else ../shared/datasets)
  --gan-minutes M  Spike-GAN training budget in minutes (default: 3 quick, 30 full)
  --force          recompute every step instead of reusing up-to-date results";

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--quick" | "--force" => {}
            "--only" | "--out" | "--data-dir" | "--gan-minutes" => {
                rest.next();
            }
            other => bail!("unknown argument '{other}'\n\nusage: {USAGE}"),
        }
    }
    let value = |flag: &str| -> anyhow::Result<Option<String>> {
        match args.iter().position(|a| a == flag) {
            Some(i) => Ok(Some(
                args.get(i + 1)
                    .with_context(|| format!("{flag} needs a value"))?
                    .clone(),
            )),
            None => Ok(None),
        }
    };
    let quick = args.iter().any(|a| a == "--quick");
    let only: Vec<String> = value("--only")?
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    for o in &only {
        if !EXPERIMENTS.contains(&o.as_str()) {
            bail!(
                "experiment '{o}' is not reproduced yet; available: {} (not yet: {})",
                EXPERIMENTS.join(", "),
                NOT_YET.join(", ")
            );
        }
    }
    let gan_minutes = match value("--gan-minutes")? {
        Some(m) => m.parse().context("--gan-minutes takes a number of minutes")?,
        None if quick => 3.0,
        None => 30.0,
    };
    Ok(Options {
        quick,
        force: args.iter().any(|a| a == "--force"),
        out: value("--out")?
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("results")),
        data_dir: value("--data-dir")?
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("SPIKEGAN_DATA").map(PathBuf::from))
            .unwrap_or_else(|| root().join("../shared/datasets")),
        gan_minutes,
    })
}

/// Runs `spikegan` steps with caching and records their wall times.
struct Runner {
    binary: PathBuf,
    force: bool,
    timings: Vec<(String, f64, bool)>,
}

impl Runner {
    /// The cache key: the command line (less `--resume`, which only says how to continue) and
    /// the inputs' sizes and modification times.
    fn key(&self, args: &[String], inputs: &[&Path]) -> String {
        let mut h = DefaultHasher::new();
        args.iter().filter(|a| *a != "--resume").for_each(|a| a.hash(&mut h));
        for p in inputs {
            if let Ok(m) = std::fs::metadata(p) {
                m.len().hash(&mut h);
                m.modified().ok().hash(&mut h);
            }
        }
        format!("{:016x}", h.finish())
    }

    /// Run `spikegan args` unless `outputs` exist with the same key.
    fn step(&mut self, name: &str, args: &[String], inputs: &[&Path], outputs: &[&Path]) -> anyhow::Result<()> {
        let key = self.key(args, inputs);
        let stamp = stamp_path(outputs[0]);
        let cached = !self.force
            && outputs.iter().all(|o| o.exists())
            && std::fs::read_to_string(&stamp).is_ok_and(|k| k == key);
        if cached {
            eprintln!("reproduce: {name}: up to date");
            self.timings.push((name.to_string(), 0.0, true));
            return Ok(());
        }
        eprintln!("reproduce: {name}");
        let start = Instant::now();
        let status = Command::new(&self.binary)
            .args(args)
            .status()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        // `fit` exits 1 when a fit stopped before converging: the model is still saved and
        // scored; anything else is an error.
        if !status.success() && status.code() != Some(1) {
            bail!("step {name} failed ({status}): spikegan {}", args.join(" "));
        }
        std::fs::write(&stamp, &key)?;
        self.timings
            .push((name.to_string(), start.elapsed().as_secs_f64(), false));
        Ok(())
    }
}

/// Where a step's key is kept: beside its first output, `<file name>.step-key` (appended, so
/// `model.json` and `model.h5` of two steps never share one).
fn stamp_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".step-key");
    output.with_file_name(name)
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub fn reproduce(args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let o = options(args)?;
    let retina_dir = o.data_dir.join("retina50");
    let retina = retina_dir.join("original_data_num_neurons_50_1.mat");
    let published = [
        (
            "published k-pairwise",
            retina_dir.join("k_pairwise_num_neurons_50_1.mat"),
        ),
        ("published DG", retina_dir.join("DG_num_neurons_50_1.mat")),
    ];
    for f in std::iter::once(&retina).chain(published.iter().map(|p| &p.1)) {
        if !f.exists() {
            bail!(
                "{} is missing: download the data with `cargo run --release -p spikegan-cli -- data fetch retina50 --dir {}` \
                 (or point --data-dir / SPIKEGAN_DATA at it)",
                f.display(),
                o.data_dir.display()
            );
        }
    }
    crate::install_system_dependencies()?;
    run("cargo", &["build", "--release", "--quiet", "-p", "spikegan-cli"], &[])?;
    let mut runner = Runner {
        binary: root().join("target/release/spikegan"),
        force: o.force,
        timings: Vec::new(),
    };
    let started = Instant::now();
    let dir = o.out.join("fig3");
    std::fs::create_dir_all(&dir)?;
    let r = s(&retina);

    // Baselines fitted here.
    let mut models: Vec<(String, PathBuf)> = Vec::new();
    let mut baselines = vec![
        ("independent", "independent"),
        ("kpairwise", "k-pairwise"),
        ("dg", "spatial DG"),
    ];
    if !o.quick {
        baselines.push(("dg-temporal", "spatio-temporal DG"));
    }
    for (kind, label) in baselines {
        let model = dir.join(format!("{kind}.json"));
        let fit = strings(&[
            "fit",
            kind,
            "--data",
            &r,
            "--window",
            "32",
            "--seed",
            "0",
            "--out",
            &s(&model),
        ]);
        runner.step(
            &format!("fig3: fit {label}"),
            &fit,
            &[retina.as_path()],
            &[model.as_path()],
        )?;
        let samples = dir.join(format!("{kind}.h5"));
        let sample = strings(&[
            "sample",
            "--model",
            &s(&model),
            "-n",
            "8192",
            "--window",
            "32",
            "--seed",
            "1",
            "--out",
            &s(&samples),
        ]);
        runner.step(
            &format!("fig3: sample {label}"),
            &sample,
            &[model.as_path()],
            &[samples.as_path()],
        )?;
        models.push((format!("our {label}"), samples));
    }

    // Spike-GAN, budgeted by wall time.
    let run_dir = dir.join("gan");
    let minutes = format!("{}", o.gan_minutes);
    let mut train = strings(&[
        "train",
        "--data",
        &r,
        "--window",
        "32",
        "--preset",
        "fast",
        "--seed",
        "0",
        "--eval-every",
        "0",
        "--max-minutes",
        &minutes,
        "--out",
        &s(&run_dir),
    ]);
    let done_marker = run_dir.join("config.json");
    if run_dir.join("checkpoint").exists() && !o.force {
        train.push("--resume".into());
    }
    runner.step(
        &format!("fig3: train Spike-GAN ({minutes} min)"),
        &train,
        &[retina.as_path()],
        &[done_marker.as_path()],
    )?;
    let gan_samples = dir.join("spikegan.h5");
    let sample = strings(&[
        "sample",
        "--run",
        &s(&run_dir),
        "-n",
        "8192",
        "--seed",
        "1",
        "--out",
        &s(&gan_samples),
    ]);
    runner.step(
        "fig3: sample Spike-GAN",
        &sample,
        &[done_marker.as_path()],
        &[gan_samples.as_path()],
    )?;
    models.insert(0, ("Spike-GAN".into(), gan_samples));
    for (label, path) in &published {
        models.push((label.to_string(), path.clone()));
    }
    // Real-data noise floor: 8192 random sliding windows of the recording itself.
    let real = dir.join("real_random.h5");
    let args = strings(&[
        "data",
        "windows",
        &r,
        "--window",
        "32",
        "--stride",
        "1",
        "--random",
        "8192",
        "--seed",
        "2",
        "--out",
        &s(&real),
    ]);
    runner.step(
        "fig3: 8192 random real windows",
        &args,
        &[retina.as_path()],
        &[real.as_path()],
    )?;
    models.push((NOISE_FLOOR.into(), real));

    // The seven errors of everything against all sliding windows of the recording.
    let errors = dir.join("errors.json");
    let mut compare = strings(&[
        "compare",
        "--reference",
        &r,
        "--reference-stride",
        "1",
        "--stride",
        "32",
        "--max-samples",
        "8192",
    ]);
    compare.extend(["--out".to_string(), s(&errors)]);
    compare.extend(models.iter().map(|m| s(&m.1)));
    let inputs: Vec<&Path> = models.iter().map(|m| m.1.as_path()).collect();
    runner.step("fig3: compare", &compare, &inputs, &[errors.as_path()])?;

    // Statistics of the data and of every model, for the figures.
    let ref_stats = dir.join("stats_reference.json");
    let args = strings(&["stats", &r, "--window", "32", "--stride", "1", "--out", &s(&ref_stats)]);
    runner.step(
        "fig3: statistics of the data",
        &args,
        &[retina.as_path()],
        &[ref_stats.as_path()],
    )?;
    let mut model_stats = Vec::new();
    for (i, (label, path)) in models.iter().enumerate() {
        let out = dir.join(format!("stats_{i}.json"));
        let args = strings(&[
            "stats",
            &s(path),
            "--window",
            "32",
            "--stride",
            "32",
            "--max-samples",
            "8192",
            "--out",
            &s(&out),
        ]);
        runner.step(
            &format!("fig3: statistics of {label}"),
            &args,
            &[path.as_path()],
            &[out.as_path()],
        )?;
        model_stats.push((label.clone(), read_json(&out)?));
    }
    let figures = fig3_figures(&read_json(&ref_stats)?, &model_stats);

    let table: Value = serde_json::from_str(&std::fs::read_to_string(&errors)?)?;
    let rows: Vec<(String, Value)> = models
        .iter()
        .map(|(label, path)| (label.clone(), table["models"][s(path)].clone()))
        .collect();
    let verdicts = fig3_verdicts(&rows);
    let results = json!({
        "mode": if o.quick { "quick" } else { "full" },
        "experiments": {"fig3": {
            "reference": table["reference"],
            "errors": rows.iter().map(|(l, v)| (l.clone(), v.clone())).collect::<serde_json::Map<_, _>>(),
            "verdicts": verdicts.iter().map(|v| json!({"claim": v.claim, "holds": v.holds, "numbers": v.numbers, "required": v.required})).collect::<Vec<_>>(),
            "gan_minutes": o.gan_minutes,
            "seeds": {"fit": 0, "sample": 1, "train": 0},
        }},
        "not_yet_reproduced": NOT_YET,
        "steps": runner.timings.iter().map(|(n, t, c)| json!({"step": n, "seconds": t, "cached": c})).collect::<Vec<_>>(),
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    write_atomically(&o.out.join("results.json"), &serde_json::to_string_pretty(&results)?)?;
    write_atomically(
        &o.out.join("report.html"),
        &report(&rows, &verdicts, &figures, &o, &runner),
    )?;
    eprintln!(
        "reproduce: wrote {} and {}",
        o.out.join("results.json").display(),
        o.out.join("report.html").display()
    );
    for v in &verdicts {
        eprintln!("  [{}] {} ({})", if v.holds { "yes" } else { "no" }, v.claim, v.numbers);
    }
    let failed: Vec<&Verdict> = verdicts.iter().filter(|v| v.required && !v.holds).collect();
    if !failed.is_empty() {
        bail!("{} required comparison(s) did not hold (see the report)", failed.len());
    }
    Ok(())
}

struct Verdict {
    claim: String,
    holds: bool,
    numbers: String,
    /// Whether reproduce fails when it does not hold (claims that must hold at every scale).
    required: bool,
}

fn err(rows: &[(String, Value)], label: &str, key: &str) -> f64 {
    rows.iter()
        .find(|r| r.0 == label)
        .and_then(|r| r.1[key].as_f64())
        .unwrap_or(f64::NAN)
}

fn fig3_verdicts(rows: &[(String, Value)]) -> Vec<Verdict> {
    let mut out = Vec::new();
    // Required (true at every scale, with margin): our k-pairwise is about as good as the
    // published one on what the model is built to match — within 1.5x of the published
    // samples' errors or within the real data's own sampling noise.
    // Reported: the stricter goal of 1.2x.
    for key in ["covariance", "k_probabilities", "mean", "variance"] {
        let (ours, theirs, noise) = (
            err(rows, "our k-pairwise", key),
            err(rows, "published k-pairwise", key),
            err(rows, NOISE_FLOOR, key),
        );
        let numbers = format!("ours {ours:.4}, published {theirs:.4}, real-data noise {noise:.4}");
        out.push(Verdict {
            claim: format!("our k-pairwise is within 1.5x of the published k-pairwise (or the noise floor) on {key}"),
            holds: ours <= (1.5 * theirs).max(noise),
            numbers: numbers.clone(),
            required: true,
        });
        out.push(Verdict {
            claim: format!("goal: within 1.2x of the published k-pairwise (or the noise floor) on {key}"),
            holds: ours <= (1.2 * theirs).max(noise),
            numbers,
            required: false,
        });
    }
    let (dg, pdg) = (
        err(rows, "our spatial DG", "k_probabilities"),
        err(rows, "published DG", "k_probabilities"),
    );
    out.push(Verdict {
        claim: "goal: our spatial DG within 1.2x of the published DG on k-probabilities".into(),
        holds: dg <= 1.2 * pdg,
        numbers: format!("ours {dg:.4}, published {pdg:.4}"),
        required: false,
    });
    let (gan, ind) = (
        err(rows, "Spike-GAN", "covariance"),
        err(rows, "our independent", "covariance"),
    );
    out.push(Verdict {
        claim: "Spike-GAN's covariance error beats independent neurons with the real rates".into(),
        holds: gan < ind,
        numbers: format!("Spike-GAN {gan:.4}, independent {ind:.4}"),
        required: false,
    });
    for key in ["autocorrelogram", "lag_covariance"] {
        let (gan, kp) = (err(rows, "Spike-GAN", key), err(rows, "our k-pairwise", key));
        out.push(Verdict {
            claim: format!("Spike-GAN captures temporal structure the k-pairwise model lacks ({key})"),
            holds: gan < kp,
            numbers: format!("Spike-GAN {gan:.4}, k-pairwise {kp:.4}"),
            required: false,
        });
    }
    out
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The Fig. 3 panels: k-probabilities, autocorrelogram, rates, covariances, lag covariances.
fn fig3_figures(data: &Value, models: &[(String, Value)]) -> Vec<String> {
    let shown: Vec<Stats> = models
        .iter()
        .filter(|(label, _)| !label.starts_with("real data") && label != "our independent")
        .map(|(label, json)| Stats { label, json })
        .collect();
    let data = Stats {
        label: "data (all windows)",
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
    vec![
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
    ]
}

fn report(rows: &[(String, Value)], verdicts: &[Verdict], figures: &[String], o: &Options, runner: &Runner) -> String {
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>spikegan-rs: reproduction report</title>\
         <style>body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}\
         table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}\
         td:first-child,th:first-child{text-align:left}.yes{color:#070}.no{color:#b00}</style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>spikegan-rs reproduction ({} mode)</h1><p>Spike-GAN trained for {} minutes (preset <code>fast</code>, seed 0). \
         Every model: 8192 samples of 50 neurons x 32 bins, scored against all 283010 sliding windows of the recording \
         with the paper's seven L1 errors (lower is better).</p>",
        if o.quick { "quick" } else { "full" },
        o.gan_minutes
    );
    h.push_str("<h2>Fig. 3: salamander retina (50 neurons, 20 ms bins)</h2><table><tr><th>model</th>");
    for (_, title) in ERRORS {
        let _ = write!(h, "<th>{title}</th>");
    }
    h.push_str("</tr>");
    for (label, v) in rows {
        let _ = write!(h, "<tr><td>{label}</td>");
        for (key, _) in ERRORS {
            let _ = write!(h, "<td>{:.4}</td>", v[key].as_f64().unwrap_or(f64::NAN));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for f in figures {
        let _ = write!(h, "<div class=\"figure\">{f}</div>");
    }
    h.push_str("<h3>Verdicts</h3><ul>");
    for v in verdicts {
        let _ = write!(
            h,
            "<li class=\"{}\">{}: <b>{}</b> ({}){}</li>",
            if v.holds { "yes" } else { "no" },
            v.claim,
            if v.holds { "yes" } else { "no" },
            v.numbers,
            if v.required {
                ""
            } else {
                " — reported, not required at this scale"
            }
        );
    }
    let _ = write!(
        h,
        "</ul><h2>Not yet reproduced</h2><p>{}</p><h2>Steps</h2><table><tr><th>step</th><th>seconds</th></tr>",
        NOT_YET.join(", ")
    );
    for (name, secs, cached) in &runner.timings {
        let _ = write!(
            h,
            "<tr><td>{name}</td><td>{}</td></tr>",
            if *cached { "cached".into() } else { format!("{secs:.1}") }
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[path = "reproduce_tests.rs"]
mod tests;
