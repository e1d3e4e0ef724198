//! `cargo xtask reproduce`: the paper's experiments (spec section 10), run through the `spikegan`
//! binary, with cached steps, `results/results.json` and a self-contained `results/report.html`.
//!
//! Experiments ([`experiments`]): `fig2` (simulated correlated groups: Spike-GAN vs the fully
//! connected GAN), `s1` (whole-pattern check of a 2-neuron, 12-bin set), `fig3` (salamander
//! retina: Spike-GAN vs fitted and published baselines), `s6` (the Fig. 2 data: Spike-GAN vs
//! k-pairwise and DG), `fig4` (packets: importance maps and the inferred packets) and `s2-s4`
//! (two-mode packets: packets per stimulus and stimulus discrimination from importance maps).
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

use crate::experiments;
use crate::{root, run};

/// The experiments, in the paper's order: (id, what).
pub const EXPERIMENTS: [(&str, &str); 6] = [
    (
        "fig2",
        "simulated correlated groups, 16 neurons x 128 bins: Spike-GAN vs the fully connected GAN",
    ),
    (
        "s1",
        "2 neurons x 12 bins: whole-pattern probabilities against ground truth",
    ),
    (
        "fig3",
        "salamander retina, 50 neurons x 32 bins: Spike-GAN vs k-pairwise and DG",
    ),
    (
        "s6",
        "the Fig. 2 data (negative temporal correlations): Spike-GAN vs k-pairwise and DG",
    ),
    (
        "fig4",
        "packets, 32 neurons x 64 bins: importance maps and inferred packets",
    ),
    (
        "s2-s4",
        "two-mode packets, 32 neurons x 32 bins: packets per stimulus, stimulus ROC",
    ),
];

/// The seven errors, in the paper's table order: (JSON key, column title).
pub const ERRORS: [(&str, &str); 7] = [
    ("mean", "mean"),
    ("covariance", "covariance"),
    ("variance", "variance"),
    ("k_probabilities", "k-probs"),
    ("autocorrelogram", "autocorrelogram"),
    ("time_course", "time course"),
    ("lag_covariance", "lag cov"),
];

pub struct Options {
    pub quick: bool,
    pub force: bool,
    pub only: Vec<String>,
    pub out: PathBuf,
    pub data_dir: PathBuf,
    /// Overrides every experiment's GAN budget (minutes).
    pub gan_minutes: Option<f64>,
    /// Train every GAN with the paper's preset for its 300k iterations (no time budget).
    pub paper_iterations: bool,
    /// `spikegan train --preset` of every GAN: `fast` (default), `moments` or `paper`.
    pub gan_preset: String,
    /// `spikegan --backend` for training, sampling and importance maps: flex (CPU) or cuda.
    pub backend: String,
    /// A `spikegan` binary to run instead of building `target/release/spikegan` (CI reuses the
    /// one its test build made).
    pub spikegan: Option<PathBuf>,
}

const USAGE: &str =
    "cargo xtask reproduce [--quick] [--only LIST] [--out DIR] [--data-dir DIR] [--gan-minutes M | --paper-iterations] [--gan-preset P] [--backend B] [--spikegan PATH] [--force]

  --quick          reduced scale: GANs of 0.5-1.5 min, tens of importance maps (under 10 min)
  --only LIST      experiments to run, comma-separated: fig2, s1, fig3, s6, fig4, s2-s4
  --out DIR        results folder (default: results/)
  --data-dir DIR   shared data folder (default: $SPIKEGAN_DATA, else ../shared/datasets)
  --gan-minutes M  every Spike-GAN's training budget in minutes (default per experiment:
                   0.5-1.5 quick, 10-30 full; the paper's 300k iterations would take days here)
  --paper-iterations  the paper's preset and 300k iterations per GAN instead of a time budget
                   (days on 2 CPU cores: about 2 it/s on the retina; a GPU is the realistic place)
  --gan-preset P   every Spike-GAN's `spikegan train --preset`: fast (default: the paper's GAN
                   with a faster schedule), moments (adds moment matching, the tool's default) or paper
  --backend B      flex (CPU, default) or cuda (builds spikegan with --features cuda; see docs/gpu.md)
  --spikegan PATH  run this spikegan binary instead of building target/release/spikegan
  --force          recompute every step instead of reusing up-to-date results";

pub fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--quick" | "--force" | "--paper-iterations" => {}
            "--only" | "--out" | "--data-dir" | "--gan-minutes" | "--gan-preset" | "--backend" | "--spikegan" => {
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
    let only: Vec<String> = value("--only")?
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    for o in &only {
        if !EXPERIMENTS.iter().any(|(id, _)| id == o) {
            bail!(
                "no experiment '{o}'; available: {}",
                EXPERIMENTS.map(|e| e.0).join(", ")
            );
        }
    }
    let gan_minutes = match value("--gan-minutes")? {
        Some(m) => {
            let m: f64 = m.parse().context("--gan-minutes takes a number of minutes")?;
            if !(m.is_finite() && m > 0.0) {
                bail!("--gan-minutes must be positive");
            }
            Some(m)
        }
        None => None,
    };
    let paper_iterations = args.iter().any(|a| a == "--paper-iterations");
    if gan_minutes.is_some() && paper_iterations {
        bail!("--gan-minutes and --paper-iterations exclude each other");
    }
    let gan_preset = match (value("--gan-preset")?, paper_iterations) {
        (None, true) => "paper".to_string(),
        (None, false) => "fast".to_string(),
        (Some(p), _) if !["fast", "moments", "paper"].contains(&p.as_str()) => {
            bail!("--gan-preset must be fast, moments or paper, not '{p}'")
        }
        (Some(p), true) if p != "paper" => bail!("--paper-iterations trains the paper preset, not '{p}'"),
        (Some(p), _) => p,
    };
    let backend = value("--backend")?.unwrap_or_else(|| "flex".into());
    if backend != "flex" && backend != "cuda" {
        bail!("--backend must be flex or cuda, not '{backend}'");
    }
    let spikegan = value("--spikegan")?.map(PathBuf::from);
    if let Some(p) = &spikegan
        && !p.is_file()
    {
        bail!("--spikegan {}: no such file", p.display());
    }
    Ok(Options {
        spikegan,
        backend,
        paper_iterations,
        gan_preset,
        quick: args.iter().any(|a| a == "--quick"),
        force: args.iter().any(|a| a == "--force"),
        only,
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
pub struct Runner {
    pub binary: PathBuf,
    pub force: bool,
    pub timings: Vec<(String, f64, bool)>,
    /// Keys of the steps run by this invocation: with `--force` a step shared by two experiments
    /// (e.g. the Fig. 2 GAN that S6 reuses) still runs once.
    pub ran: std::collections::HashSet<String>,
}

impl Runner {
    /// The cache key: the command line (less `--resume`, which only says how to continue) and
    /// the inputs' sizes and modification times.
    pub fn key(&self, args: &[String], inputs: &[&Path]) -> String {
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
    pub fn step(&mut self, name: &str, args: &[String], inputs: &[&Path], outputs: &[&Path]) -> anyhow::Result<()> {
        let key = self.key(args, inputs);
        let stamp = stamp_path(outputs[0]);
        let cached = (!self.force || self.ran.contains(&key))
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
        self.ran.insert(key);
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

pub fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// What an experiment hands to the report.
pub struct Section {
    pub id: &'static str,
    pub title: String,
    /// HTML paragraph(s) saying what was run.
    pub text: String,
    pub tables: Vec<Table>,
    pub figures: Vec<String>,
    pub verdicts: Vec<Verdict>,
    /// Every number, for results.json.
    pub json: Value,
}

/// A table of strings.
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The seven errors of each (label, errors JSON) row.
    pub fn errors(caption: &str, rows: &[(String, Value)]) -> Table {
        Table {
            caption: caption.into(),
            header: std::iter::once("model".to_string())
                .chain(ERRORS.iter().map(|e| e.1.to_string()))
                .collect(),
            rows: rows
                .iter()
                .map(|(label, v)| {
                    std::iter::once(label.clone())
                        .chain(
                            ERRORS
                                .iter()
                                .map(|(k, _)| format!("{:.4}", v[k].as_f64().unwrap_or(f64::NAN))),
                        )
                        .collect()
                })
                .collect(),
        }
    }
}

pub struct Verdict {
    pub claim: String,
    pub holds: bool,
    pub numbers: String,
    /// Whether reproduce fails when it does not hold (claims that must hold at every scale).
    pub required: bool,
}

/// Everything an experiment needs: the options and the step runner.
pub struct Ctx {
    pub o: Options,
    pub runner: Runner,
}

impl Ctx {
    /// Run (or reuse) one `spikegan` step.
    pub fn step(&mut self, name: &str, args: Vec<String>, inputs: &[&Path], outputs: &[&Path]) -> anyhow::Result<()> {
        self.runner.step(name, &args, inputs, outputs)
    }

    /// A GAN's training budget: `--gan-minutes`, else `quick` or `full` minutes.
    pub fn gan_minutes(&self, quick: f64, full: f64) -> f64 {
        self.o.gan_minutes.unwrap_or(if self.o.quick { quick } else { full })
    }

    /// `quick` in quick mode, else `full`.
    pub fn scale(&self, quick: usize, full: usize) -> usize {
        if self.o.quick { quick } else { full }
    }

    /// The folder of an experiment's files.
    pub fn dir(&self, id: &str) -> anyhow::Result<PathBuf> {
        let d = self.o.out.join(id);
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        Ok(d)
    }
}

pub fn reproduce(args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let o = options(args)?;
    let selected: Vec<&str> = EXPERIMENTS
        .iter()
        .map(|e| e.0)
        .filter(|id| o.only.is_empty() || o.only.iter().any(|x| x == id))
        .collect();
    if selected.iter().any(|id| *id == "fig3" || *id == "s6") {
        experiments::check_shared_data(&o.data_dir, &selected)?;
    }
    crate::install_system_dependencies()?;
    let binary = match &o.spikegan {
        Some(p) => p.clone(),
        None => {
            let mut build = vec!["build", "--release", "--quiet", "-p", "spikegan-cli"];
            if o.backend == "cuda" {
                build.extend(["--features", "cuda"]);
            }
            run("cargo", &build, &[])?;
            root().join("target/release/spikegan")
        }
    };
    let mut ctx = Ctx {
        runner: Runner {
            binary,
            force: o.force,
            timings: Vec::new(),
            ran: Default::default(),
        },
        o,
    };
    std::fs::create_dir_all(&ctx.o.out)?;
    let started = Instant::now();
    let mut sections = Vec::new();
    let mut seconds = Vec::new();
    for id in &selected {
        let t0 = Instant::now();
        sections.push(experiments::run(&mut ctx, id).with_context(|| format!("experiment {id}"))?);
        seconds.push(t0.elapsed().as_secs_f64());
    }
    let mode = if ctx.o.quick { "quick" } else { "full" };
    let previous: Option<Value> = std::fs::read_to_string(ctx.o.out.join("results.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    // An experiment whose steps were all up to date keeps the wall time of the run that made them.
    for (sec, t) in sections.iter().zip(seconds.iter_mut()) {
        let prefix = format!("{}: ", sec.id);
        let computed = ctx
            .runner
            .timings
            .iter()
            .any(|(n, _, cached)| n.starts_with(&prefix) && !cached);
        if let Some(earlier) = previous
            .as_ref()
            .and_then(|p| p["experiments"][sec.id]["seconds"].as_f64())
            && !computed
        {
            *t = earlier;
        }
    }
    let results = json!({
        "mode": mode,
        "gan_preset": ctx.o.gan_preset,
        "experiments": sections.iter().zip(&seconds).map(|(sec, t)| {
            (sec.id.to_string(), json!({
                "title": sec.title,
                "seconds": t,
                "results": sec.json,
                "verdicts": sec.verdicts.iter().map(|v| json!({"claim": v.claim, "holds": v.holds, "numbers": v.numbers, "required": v.required})).collect::<Vec<_>>(),
            }))
        }).collect::<serde_json::Map<_, _>>(),
        "steps": ctx.runner.timings.iter().map(|(n, t, c)| json!({"step": n, "seconds": t, "cached": c})).collect::<Vec<_>>(),
        "total_seconds": started.elapsed().as_secs_f64(),
        "versions": {"spikegan-rs": env!("CARGO_PKG_VERSION")},
    });
    // Experiments run earlier into the same folder (e.g. one at a time with --only) stay.
    let mut results = results;
    if let Some(previous) = &previous
        && let (Some(old), Some(new)) = (
            previous["experiments"].as_object(),
            results["experiments"].as_object_mut(),
        )
    {
        for (id, v) in old {
            new.entry(id.clone()).or_insert_with(|| v.clone());
        }
    }
    write_atomically(
        &ctx.o.out.join("results.json"),
        &serde_json::to_string_pretty(&results)?,
    )?;
    // Each section is kept beside its files, so that the report shows every experiment run into
    // this folder, also those run earlier one at a time with --only.
    for (sec, t) in sections.iter().zip(&seconds) {
        write_atomically(&ctx.dir(sec.id)?.join("section.html"), &section_html(sec, *t))?;
    }
    write_atomically(&ctx.o.out.join("report.html"), &report(&ctx.o.out, mode, &ctx.runner)?)?;
    eprintln!(
        "reproduce: wrote {} and {} ({:.1} min)",
        ctx.o.out.join("results.json").display(),
        ctx.o.out.join("report.html").display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    for sec in &sections {
        for v in &sec.verdicts {
            eprintln!(
                "  {} [{}] {} ({})",
                sec.id,
                if v.holds { "yes" } else { "no" },
                v.claim,
                v.numbers
            );
        }
    }
    let failed = sections
        .iter()
        .flat_map(|s| &s.verdicts)
        .filter(|v| v.required && !v.holds)
        .count();
    if failed > 0 {
        bail!("{failed} required comparison(s) did not hold (see the report)");
    }
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One experiment's part of the report: text, tables, figures, verdicts.
fn section_html(sec: &Section, seconds: f64) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<h2 id=\"{}\">{}: {}</h2>{}<p><small>wall time {:.1} min</small></p>",
        sec.id,
        sec.id,
        escape(&sec.title),
        sec.text,
        seconds / 60.0
    );
    for table in &sec.tables {
        let _ = write!(h, "<table><caption>{}</caption><tr>", escape(&table.caption));
        for c in &table.header {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        h.push_str("</tr>");
        for row in &table.rows {
            h.push_str("<tr>");
            for c in row {
                let _ = write!(h, "<td>{}</td>", escape(c));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
    }
    for f in &sec.figures {
        let _ = write!(h, "<div class=\"figure\">{f}</div>");
    }
    if !sec.verdicts.is_empty() {
        h.push_str("<h3>Verdicts</h3><ul>");
        for v in &sec.verdicts {
            let _ = write!(
                h,
                "<li class=\"{}\">{}: <b>{}</b> ({}){}</li>",
                if v.holds { "yes" } else { "no" },
                escape(&v.claim),
                if v.holds { "yes" } else { "no" },
                escape(&v.numbers),
                if v.required {
                    ""
                } else {
                    " — reported, not required at this scale"
                }
            );
        }
        h.push_str("</ul>");
    }
    h
}

/// The page: every experiment with a section in `out` (in the paper's order), then this run's
/// steps.
fn report(out: &Path, mode: &str, runner: &Runner) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    for (id, _) in EXPERIMENTS {
        let path = out.join(id).join("section.html");
        if path.exists() {
            let html = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            parts.push((id, html));
        }
    }
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>spikegan-rs: reproduction report</title>\
         <style>body{font-family:sans-serif;max-width:72em;margin:2em auto;line-height:1.4}\
         table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}\
         td:first-child,th:first-child{text-align:left}.yes{color:#070}.no{color:#b00}\
         caption{text-align:left;font-style:italic}.figure{margin:1em 0}</style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>spikegan-rs reproduction ({mode} mode)</h1><p>The experiments of Molano-Mazon et al. (ICLR 2018), \
         run with <code>cargo xtask reproduce{}</code>. Errors are the paper's seven L1 errors against the \
         reference data (lower is better). Contents: {}.</p>",
        if mode == "quick" { " --quick" } else { "" },
        parts
            .iter()
            .map(|(id, _)| format!("<a href=\"#{id}\">{id}</a>"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (_, html) in &parts {
        h.push_str(html);
    }
    h.push_str("<h2>Steps of the last run</h2><table><tr><th>step</th><th>seconds</th></tr>");
    for (name, secs, cached) in &runner.timings {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(name),
            if *cached { "cached".into() } else { format!("{secs:.1}") }
        );
    }
    h.push_str("</table></body></html>\n");
    Ok(h)
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
