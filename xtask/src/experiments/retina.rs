//! Fig. 3: the salamander retina.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::figures::{Series, xy_figure};
use crate::reproduce::{Ctx, Section, Table, Verdict, s, strings};

// ---------------------------------------------------------------- Fig. 3 (retina)

pub(super) fn fig3(ctx: &mut Ctx) -> anyhow::Result<Section> {
    let id = "fig3";
    let dir = ctx.dir(id)?;
    let retina = ctx.o.data_dir.join(RETINA);
    let mut models: Vec<(String, PathBuf)> = Vec::new();
    let kinds = [
        ("independent", "our independent"),
        ("kpairwise", "our k-pairwise"),
        ("dg", "our spatial DG"),
        ("dg-temporal", "our spatio-temporal DG"),
    ];
    for (kind, label) in kinds {
        models.push((label.to_string(), fit_and_sample(ctx, id, &dir, &retina, 32, kind)?));
    }
    let run = dir.join("gan");
    let minutes = ctx.gan_minutes(1.5, 30.0);
    let eval_every = ctx.scale(50, 200);
    train(
        ctx,
        id,
        &run,
        &retina,
        &Gan {
            arch: "conv",
            window: 32,
            minutes,
            eval_every,
        },
    )?;
    let gan_samples = dir.join("spikegan.h5");
    sample_gan(ctx, id, &run, &gan_samples, SAMPLES)?;
    models.insert(0, ("Spike-GAN".into(), gan_samples));
    for (label, file) in RETINA_PUBLISHED {
        models.push((label.to_string(), ctx.o.data_dir.join(file)));
    }
    // Real-data noise floor: 8192 random sliding windows of the recording itself.
    let real = dir.join("real_random.h5");
    let args = strings(&[
        "data",
        "windows",
        &s(&retina),
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
    ctx.step("fig3: 8192 random real windows", args, &[&retina], &[&real])?;
    models.push((NOISE_FLOOR.into(), real));
    let rows = compare(ctx, id, &dir, &retina, 1, 32, &models)?;
    let data_stats = stats(ctx, id, &dir.join("stats_reference.json"), &retina, 32, 1, None)?;
    let shown: Vec<(String, PathBuf)> = models
        .iter()
        .filter(|(l, _)| l != NOISE_FLOOR && l != "our independent")
        .cloned()
        .collect();
    let per_model = model_stats(ctx, id, &dir, 32, &shown)?;
    let mut figures = stat_figures("data (all windows)", &data_stats, &per_model);
    for key in ["covariance", "k_probabilities"] {
        let baselines: Vec<(String, f64)> = ["published k-pairwise", "published DG", NOISE_FLOOR]
            .iter()
            .map(|l| (l.to_string(), err(&rows, l, key)))
            .collect();
        figures.push(training_curves(
            key,
            &format!("Spike-GAN training: {key} error vs time"),
            &[("Spike-GAN", &run)],
            &baselines,
        ));
    }
    // Memorisation check (spec section 7): the nearest training window of 100 generated samples,
    // for Spike-GAN and for a model that cannot copy windows (our k-pairwise).
    let mut nearest = Vec::new();
    for (label, name) in [("Spike-GAN", "spikegan"), ("our k-pairwise", "kpairwise")] {
        let (file, out) = (dir.join(format!("{name}.h5")), dir.join(format!("nearest_{name}.json")));
        let args = strings(&[
            "nearest",
            "--train",
            &s(&retina),
            "--train-stride",
            "1",
            "--generated",
            &s(&file),
            "--window",
            "32",
            "-m",
            "100",
            "--out",
            &s(&out),
        ]);
        ctx.step(
            &format!("{id}: nearest training windows of {label}"),
            args,
            &[&file],
            &[&out],
        )?;
        nearest.push((label, read_json(&out)?));
    }
    let median = |v: &Value| v["median_distance"].as_f64().unwrap_or(f64::NAN);
    figures.push(xy_figure(
        "Hamming distance to the nearest training window (100 samples)",
        "distance (bins)",
        "samples",
        &nearest
            .iter()
            .map(|(label, v)| Series {
                label: format!("{label} (median {})", median(v)),
                points: v["distance_histogram"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .filter_map(|(d, c)| Some((d as f64, c.as_f64()?)))
                    .collect(),
                line: true,
            })
            .collect::<Vec<_>>(),
        false,
        false,
    ));
    let mut verdicts = fig3_verdicts(&rows);
    verdicts.push(Verdict {
        claim: "Spike-GAN does not copy training windows: its nearest ones are no closer than the k-pairwise model's (median)"
            .into(),
        holds: median(&nearest[0].1) >= median(&nearest[1].1),
        numbers: format!(
            "median Hamming distance: Spike-GAN {}, k-pairwise {}",
            median(&nearest[0].1),
            median(&nearest[1].1)
        ),
        required: false,
    });
    Ok(Section {
        id,
        title: title(id),
        text: format!(
            "<p>50 retinal ganglion cells (Marre et al. 2014), 20 ms bins. Every model: {SAMPLES} samples of \
             50 x 32, scored against all 283010 sliding windows of the recording. Spike-GAN: preset <code>{}</code>, \
             {}, {}. Baselines fitted here (seed 0) and the paper's published samples.</p>",
            ctx.o.gan_preset,
            if ctx.o.paper_iterations {
                "300k iterations".to_string()
            } else {
                format!("{minutes} min budget")
            },
            run_summary(&run)
        ),
        tables: vec![Table::errors(
            "Errors against all sliding windows of the recording",
            &rows,
        )],
        figures,
        verdicts,
        json: json!({"errors": errors_json(&rows), "gan_minutes": minutes,
                     "nearest_median_distance": {"spikegan": median(&nearest[0].1), "kpairwise": median(&nearest[1].1)},
                     "training_curve": training_curve(&run), "seeds": {"fit": 0, "sample": 1, "train": 0}}),
    })
}

pub fn fig3_verdicts(rows: &[(String, Value)]) -> Vec<Verdict> {
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
    // Required: our spatial DG is about as good as the published DG on the spatial statistics it
    // is built to match (its spike-count distribution is not: docs/benchmarks.md).
    for key in ["covariance", "mean", "variance"] {
        let (ours, theirs, noise) = (
            err(rows, "our spatial DG", key),
            err(rows, "published DG", key),
            err(rows, NOISE_FLOOR, key),
        );
        out.push(Verdict {
            claim: format!("our spatial DG is within 1.5x of the published DG (or the noise floor) on {key}"),
            holds: ours <= (1.5 * theirs).max(noise),
            numbers: format!("ours {ours:.4}, published {theirs:.4}, real-data noise {noise:.4}"),
            required: true,
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
    // Required: the spatio-temporal DG has the temporal structure the spatial one lacks (by a
    // factor of ~5-10 on the retina: docs/benchmarks.md). Reported: the goal.
    for key in ["autocorrelogram", "lag_covariance"] {
        let (st, spatial, theirs) = (
            err(rows, "our spatio-temporal DG", key),
            err(rows, "our spatial DG", key),
            err(rows, "published DG", key),
        );
        let numbers = format!("spatio-temporal {st:.4}, spatial {spatial:.4}, published DG {theirs:.4}");
        out.push(Verdict {
            claim: format!("our spatio-temporal DG beats our spatial DG on {key}"),
            holds: st < spatial,
            numbers: numbers.clone(),
            required: true,
        });
        out.push(Verdict {
            claim: format!("goal: our spatio-temporal DG within 1.2x of the published DG on {key}"),
            holds: st <= 1.2 * theirs,
            numbers,
            required: false,
        });
    }
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
