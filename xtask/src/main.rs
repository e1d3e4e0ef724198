//! Project automation, as plain Rust: `cargo xtask <task>`.
//!
//! - `setup`: install what a fresh Debian machine lacks (libhdf5 via apt-get) and build.
//! - `ci`: setup, then fmt check, clippy -D warnings, tests, docs without warnings, and the quick reproduction.
//! - `quickstart`: setup, then run `spikegan` on the shared retina data (the README's main job):
//!   verify the files, describe the recording, and compute the paper's Fig. 3 errors of its
//!   published baselines (`results/fig3_baseline_errors.json`).
//!
//! - `reproduce`: the paper's experiments with a report (`reproduce.rs`).
//!
//! xtask never links libhdf5: it only runs other programs.

mod bench;
mod curves;
mod experiments;
mod figures;
mod reproduce;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    match task {
        "setup" => setup(),
        "ci" => ci(),
        "quickstart" => quickstart(rest),
        "bench" => bench::run(rest),
        "curves" => curves::run(rest),
        "reproduce" => reproduce::reproduce(rest),
        "help" | "--help" | "-h" => {
            println!(
                "cargo xtask <task>\n\n  setup       install system dependencies (libhdf5) and build\n  ci          setup + fmt check + clippy -D warnings + tests + docs + quick reproduction (results/ci)\n  quickstart  setup + run spikegan on the shared retina data [--data-dir D]\n  curves      one training error against wall time for runs' logs, as SVG: --error E --out F.svg LABEL=RUN/log.jsonl...\n  reproduce   the paper's experiments, report in results/ [--quick] [--only fig2,s1,fig3,s6,fig4,s2-s4] [--out D] [--data-dir D] [--gan-minutes M | --paper-iterations] [--backend flex|cuda] [--spikegan PATH] [--force]"
            );
            Ok(())
        }
        other => bail!("unknown task '{other}' (try `cargo xtask help`)"),
    }
}

/// The workspace root (parent of this crate's folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The shared folder beside the checkout (data, fixtures, reference code), or `$SPIKEGAN_SHARED`.
fn shared_dir() -> PathBuf {
    std::env::var_os("SPIKEGAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"))
}

/// Run a command in the workspace root, echoing it, and fail when it fails.
fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Install what a fresh machine lacks, then build the workspace.
fn setup() -> anyhow::Result<()> {
    install_system_dependencies()?;
    run("cargo", &["build", "--workspace", "--all-targets", "--quiet"], &[])
}

/// Install libhdf5 (and pkg-config) with apt-get when pkg-config cannot find it.
fn install_system_dependencies() -> anyhow::Result<()> {
    if succeeds("pkg-config", &["--exists", "hdf5"]) {
        eprintln!("libhdf5: found");
    } else {
        let root_user = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false);
        let apt = |args: &[&str]| -> anyhow::Result<()> {
            let env = [("DEBIAN_FRONTEND", "noninteractive")];
            if root_user {
                run("apt-get", args, &env)
            } else {
                run("sudo", &[&["apt-get"], args].concat(), &env)
            }
        };
        eprintln!("libhdf5: missing, installing libhdf5-dev with apt-get");
        // A fresh image has no package lists; update first so the install can resolve dependencies.
        apt(&["update", "-q"])?;
        apt(&[
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "libhdf5-dev",
            "pkg-config",
        ])?;
    }
    Ok(())
}

fn ci() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    setup()?;
    run("cargo", &["fmt", "--all", "--check"], &[])?;
    // Everything, then the CLI built for machines without libhdf5 (docs/gpu.md: MAT v5 and .npy only).
    for target in [
        &["--workspace", "--all-targets"][..],
        &["-p", "spikegan-cli", "--no-default-features"],
    ] {
        let args = [&["clippy"][..], target, &["--quiet", "--", "-D", "warnings"]].concat();
        run("cargo", &args, &[])?;
    }
    run("cargo", &["test", "--workspace", "--quiet"], &[])?;
    run(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--quiet"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // The quick reproduction, with the `spikegan` binary the test build made (a release build
    // would compile every dependency a second time) and quarter-minute GANs: CI checks that every
    // experiment runs end to end and that the claims required at every scale hold (the baselines'
    // fits); the GANs' quality at quick scale is in docs/results.md. CI has 30 minutes on 2 cores
    // and a clean build takes most of them, so a machine that was too slow to leave room skips it
    // with a warning rather than failing on time.
    let budget = std::time::Duration::from_secs(22 * 60);
    if started.elapsed() > budget {
        eprintln!(
            "ci: WARNING: build and tests took {:.0} min, skipping the quick reproduction to stay inside \
             CI's 30 minutes (run `cargo xtask reproduce --quick`)",
            started.elapsed().as_secs_f64() / 60.0
        );
    } else {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        let spikegan = target.join("debug/spikegan").to_string_lossy().into_owned();
        let out = root().join("results/ci").to_string_lossy().into_owned();
        let args = [
            "--quick",
            "--force",
            "--gan-minutes",
            "0.25",
            "--spikegan",
            &spikegan,
            "--out",
            &out,
        ];
        reproduce::reproduce(&args.map(String::from)).context("the quick reproduction in CI")?;
    }
    eprintln!("ci: all checks passed");
    Ok(())
}

fn quickstart(args: &[String]) -> anyhow::Result<()> {
    setup()?;
    let data_dir = match args.iter().position(|a| a == "--data-dir") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--data-dir needs a value")?),
        None => std::env::var_os("SPIKEGAN_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("../shared/datasets")),
    };
    let retina = data_dir.join("retina50/original_data_num_neurons_50_1.mat");
    if !retina.exists() {
        bail!(
            "{} is missing: run `cargo run --release -p spikegan-cli -- data fetch retina50 --dir {}`",
            retina.display(),
            data_dir.display()
        );
    }
    let d = data_dir.join("retina50");
    let file = |name: &str| d.join(name).to_string_lossy().into_owned();
    let (retina, k, dg) = (
        file("original_data_num_neurons_50_1.mat"),
        file("k_pairwise_num_neurons_50_1.mat"),
        file("DG_num_neurons_50_1.mat"),
    );
    let dir = data_dir.to_string_lossy().into_owned();
    let out = root()
        .join("results/fig3_baseline_errors.json")
        .to_string_lossy()
        .into_owned();
    let spikegan = ["run", "--release", "--quiet", "-p", "spikegan-cli", "--"];
    let with = |extra: &[&str]| -> Vec<String> { spikegan.iter().chain(extra).map(|s| s.to_string()).collect() };
    // The paper's Fig. 3 table for its published baselines: 8192 windows of each against all
    // sliding windows of the recording.
    let fig3 = [
        "compare",
        "--reference",
        &retina,
        "--reference-stride",
        "1",
        &k,
        &dg,
        "--stride",
        "32",
        "--max-samples",
        "8192",
        "--out",
        &out,
    ];
    for cmd in [
        with(&["data", "verify", "--dir", &dir]),
        with(&["data", "info", &retina]),
        with(&fig3),
    ] {
        let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
        run("cargo", &refs, &[])?;
    }
    Ok(())
}
