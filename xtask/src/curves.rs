//! `cargo xtask curves`: one error of the paper's seven against wall time, for the evaluations in
//! the `log.jsonl` of one or more `spikegan train` runs, as an SVG (docs' time-to-quality plots).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::figures::{Series, xy_figure};

const USAGE: &str = "cargo xtask curves --error covariance --out FILE.svg LABEL=RUN/log.jsonl...";

/// (seconds, error) of every evaluation in a training log.
fn evaluations(log: &Path, error: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut points = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{} line {}: not JSON", log.display(), i + 1))?;
        if let (Some(s), Some(e)) = (v["seconds"].as_f64(), v["errors"][error].as_f64()) {
            points.push((s, e));
        }
    }
    if points.is_empty() {
        bail!("{}: no evaluation with the error '{error}'", log.display());
    }
    Ok(points)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .with_context(|| format!("{flag} is required: {USAGE}"))
    };
    let (error, out) = (value("--error")?, PathBuf::from(value("--out")?));
    let mut series = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        if a == "--error" || a == "--out" {
            rest.next();
            continue;
        }
        let (label, log) = a
            .split_once('=')
            .with_context(|| format!("'{a}' is not LABEL=LOG: {USAGE}"))?;
        series.push(Series {
            label: label.to_string(),
            points: evaluations(Path::new(log), error)?,
            line: true,
        });
    }
    if series.is_empty() {
        bail!("no runs given: {USAGE}");
    }
    let svg = xy_figure(&format!("{error} error"), "seconds", error, &series, false, true);
    let tmp = out.with_extension("svg.tmp");
    std::fs::write(&tmp, svg).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_evaluations_of_a_log() {
        let dir = std::env::temp_dir().join(format!("xtask-curves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.jsonl");
        std::fs::write(
            &log,
            "{\"iteration\":1,\"seconds\":0.5}\n{\"iteration\":2,\"seconds\":1.5,\"errors\":{\"covariance\":2.0}}\n",
        )
        .unwrap();
        assert_eq!(evaluations(&log, "covariance").unwrap(), vec![(1.5, 2.0)]);
        let e = evaluations(&log, "mean").unwrap_err().to_string();
        assert!(e.contains("no evaluation with the error 'mean'"), "{e}");
        std::fs::write(&log, "not json\n").unwrap();
        assert!(
            evaluations(&log, "covariance")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
