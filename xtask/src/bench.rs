//! `cargo xtask bench [data|stats|train|maxent|all] [--rounds N]`: run the Rust timing harnesses and, side by side in the
//! same run, the Python tools users have today (when installed), then print and save the numbers
//! (`target/bench/<name>.json`) for docs/benchmarks.md.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::{root, shared_dir};

/// Run a program and return its last stdout line (the harnesses print one JSON object).
fn json_line(program: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<String> {
    eprintln!("$ {program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .with_context(|| format!("cannot start {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("{}")
        .to_string())
}

/// The Python interpreter the comparisons run: `$SPIKEGAN_BENCH_PYTHON` (e.g. a virtual
/// environment's, where ConIII is installed), else `python3`.
fn python() -> String {
    std::env::var("SPIKEGAN_BENCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn python_has(modules: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn save(name: &str, rust: &str, python: Option<&str>) -> anyhow::Result<()> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let text = format!("{{\"rust\": {rust}, \"python\": {}}}\n", python.unwrap_or("null"));
    std::fs::write(dir.join(format!("{name}.json")), &text)?;
    println!("{name}: {text}");
    Ok(())
}

fn data() -> anyhow::Result<()> {
    let datasets = shared_dir().join("datasets");
    let data_env = datasets.to_string_lossy().into_owned();
    let nwb = root().join("target/bench/units_1e7.nwb");
    let script = root().join("bench/nwb_pynwb.py");
    let script = script.to_string_lossy();
    let nwb_s = nwb.to_string_lossy().into_owned();
    let have_pynwb = python_has("pynwb, numpy");
    if have_pynwb && !nwb.exists() {
        std::fs::create_dir_all(nwb.parent().expect("target/bench"))?;
        json_line(&python(), &[&script, "make", &nwb_s], &[])?;
    }
    let mut env = vec![("SPIKEGAN_DATA", data_env.as_str())];
    if nwb.exists() {
        env.push(("SPIKEGAN_BENCH_NWB", nwb_s.as_str()));
    } else {
        eprintln!("pynwb is not installed (pip install pynwb): NWB binning is not measured");
    }
    let rust = json_line("cargo", &["bench", "-q", "-p", "spike-data", "--bench", "data"], &env)?;
    let python = if have_pynwb {
        Some(json_line(&python(), &[&script, "bin", &nwb_s, "20"], &[])?)
    } else {
        None
    };
    save("data", &rust, python.as_deref())
}

fn stats() -> anyhow::Result<()> {
    let shared = shared_dir();
    let data_env = shared.join("datasets").to_string_lossy().into_owned();
    let rust = json_line(
        "cargo",
        &["bench", "-q", "-p", "spike-stats", "--bench", "stats"],
        &[("SPIKEGAN_DATA", &data_env)],
    )?;
    let python = if python_has("numpy, scipy") {
        let script = root().join("bench/stats_numpy.py");
        Some(json_line(
            &python(),
            &[&script.to_string_lossy(), &shared.to_string_lossy()],
            &[],
        )?)
    } else {
        eprintln!("numpy/scipy are not installed (pip install numpy scipy): the numpy side is not measured");
        None
    };
    save("stats", &rust, python.as_deref())
}

/// P1: training iterations per second on the retina config, 2 threads, against the PyTorch port.
/// The two alternate for `rounds` rounds (the machine's speed drifts by up to 25% within
/// minutes, so one run of each can mislead); the Burn autodiff path is timed in the first round
/// only. Prints each round's ratio of median seconds per iteration and their median.
fn train(rounds: usize) -> anyhow::Result<()> {
    let shared = shared_dir();
    let data_env = shared.join("datasets").to_string_lossy().into_owned();
    let script = shared.join("reference/pytorch-spikegan/spikegan_torch.py");
    let with_python = python_has("torch, numpy, scipy") && script.exists();
    if !with_python {
        eprintln!("torch is not installed (pip install torch numpy scipy): the PyTorch side is not measured");
    }
    let mut results = Vec::new();
    for round in 0..rounds {
        // As `spikegan` sets at start-up (its main.rs): mimalloc keeps freed memory mapped, so the
        // bench times what the binary does, without a page fault per reused buffer.
        let mut env = vec![
            ("SPIKEGAN_DATA", data_env.as_str()),
            ("RAYON_NUM_THREADS", "2"),
            ("MIMALLOC_PURGE_DELAY", "-1"),
        ];
        if round > 0 {
            env.push(("SPIKEGAN_BENCH_HOST_ONLY", "1"));
        }
        let rust = json_line(
            "cargo",
            &["bench", "-q", "-p", "spikegan-model", "--bench", "train"],
            &env,
        )?;
        let python = if with_python {
            let out = root().join("target/bench/pytorch");
            json_line(
                &python(),
                &[
                    &script.to_string_lossy(),
                    "--iters",
                    "70",
                    "--eval-every",
                    "0",
                    "--threads",
                    "2",
                    "--out",
                    &out.to_string_lossy(),
                ],
                &[],
            )?;
            let summary = std::fs::read_to_string(out.join("summary.json")).context("PyTorch summary.json")?;
            Some(serde_json::from_str::<serde_json::Value>(&summary).context("PyTorch summary.json")?)
        } else {
            None
        };
        let rust: serde_json::Value = serde_json::from_str(&rust).context("the Rust harness's output")?;
        let ratio = python
            .as_ref()
            .and_then(|p| Some(p["median_iter_s_after_10"].as_f64()? / rust["median_iter_s"].as_f64()?));
        if let Some(r) = ratio {
            eprintln!("round {}: {r:.2}x PyTorch (median seconds per iteration)", round + 1);
        }
        results.push(serde_json::json!({ "rust": rust, "python": python, "ratio": ratio }));
    }
    let mut ratios: Vec<f64> = results.iter().filter_map(|r| r["ratio"].as_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let median = (!ratios.is_empty()).then(|| ratios[ratios.len() / 2]);
    let summary = serde_json::json!({ "rounds": results, "median_ratio": median });
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("train.json"), format!("{summary}\n"))?;
    println!("train: {summary}");
    if let Some(m) = median {
        println!("median ratio over {} rounds: {m:.2}x PyTorch", ratios.len());
    }
    Ok(())
}

/// Issue 5: an exact pairwise maximum-entropy fit of the retina's first 12 and 16 neurons,
/// `spikegan fit pairwise --neurons`, against ConIII's solvers (pseudolikelihood and exact
/// enumeration) on the same data in the same run; bench/maxent_coniii.py times ConIII and scores
/// every model alike (exact moments against the data's, in standard errors).
fn maxent() -> anyhow::Result<()> {
    let data = shared_dir().join("datasets/retina50/original_data_num_neurons_50_1.mat");
    let data = data.to_string_lossy().into_owned();
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    crate::run("cargo", &["build", "--release", "-q", "-p", "spikegan-cli"], &[])?;
    let spikegan = root().join("target/release/spikegan").to_string_lossy().into_owned();
    let with_python = python_has("coniii, numpy, scipy");
    if !with_python {
        eprintln!(
            "ConIII is not importable by {} (set SPIKEGAN_BENCH_PYTHON; docs/benchmarks.md says how to \
             install it): only spikegan-rs is measured",
            python()
        );
    }
    let script = root().join("bench/maxent_coniii.py").to_string_lossy().into_owned();
    let mut results = Vec::new();
    for neurons in [12usize, 16] {
        let model = dir
            .join(format!("pairwise_{neurons}.json"))
            .to_string_lossy()
            .into_owned();
        let subset = format!("0-{}", neurons - 1);
        crate::run(
            &spikegan,
            &[
                "fit",
                "pairwise",
                "--data",
                &data,
                "--neurons",
                &subset,
                "--out",
                &model,
            ],
            &[],
        )?;
        let result = if with_python {
            json_line(&python(), &[&script, &data, &neurons.to_string(), &model], &[])?
        } else {
            let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model)?)?;
            serde_json::json!({ "neurons": neurons, "spikegan": { "seconds": saved["fit"]["diagnostics"]["seconds"] } })
                .to_string()
        };
        results.push(serde_json::from_str::<serde_json::Value>(&result).context("the comparison's output")?);
    }
    let summary = serde_json::Value::Array(results).to_string();
    std::fs::write(dir.join("maxent.json"), format!("{summary}\n"))?;
    println!("maxent: {summary}");
    Ok(())
}

/// `--rounds N` (default 3) for the training benchmark.
fn rounds(args: &[String]) -> anyhow::Result<usize> {
    match args {
        [] => Ok(3),
        [flag, n] if flag == "--rounds" => match n.parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("--rounds needs a positive whole number, got '{n}'"),
        },
        other => bail!("unexpected arguments {other:?} (bench train [--rounds N])"),
    }
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if !Path::new(&shared_dir()).join("datasets").is_dir() {
        bail!(
            "{} is missing: benchmarks need the shared data (set SPIKEGAN_SHARED)",
            shared_dir().join("datasets").display()
        );
    }
    // Everything after the benchmark's name (none when no name is given).
    let options = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str).unwrap_or("all") {
        "data" => data(),
        "stats" => stats(),
        "train" => train(rounds(options)?),
        "maxent" => maxent(),
        "all" => data()
            .and_then(|_| stats())
            .and_then(|_| maxent())
            .and_then(|_| train(rounds(options)?)),
        other => bail!("unknown benchmark '{other}' (data, stats, train, maxent, all)"),
    }
}

#[cfg(test)]
mod tests {
    use super::rounds;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rounds_default_to_three_and_reject_bad_values() {
        assert_eq!(rounds(&[]).unwrap(), 3);
        assert_eq!(rounds(&args(&["--rounds", "5"])).unwrap(), 5);
        for bad in [
            &["--rounds", "0"][..],
            &["--rounds", "x"],
            &["--rounds"],
            &["--iters", "5"],
        ] {
            assert!(rounds(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
