//! Fig. 4 (packets) and S2-S4 (two-mode packets): importance maps, inferred packets, stimulus ROC.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;
use crate::figures::{Series, heatmaps, xy_figure};
use crate::reproduce::{Ctx, Section, Table, Verdict, s, strings};

// ---------------------------------------------------------------- Fig. 4 and S2-S4 (packets)

/// Rows in the order of the true packets (each sequence in firing order, then the rest), so
/// that sequences show as diagonals.
fn packet_row_order(truth: &Value, neurons: usize) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    for seq in truth["packets"].as_array().into_iter().flatten() {
        for r in seq.as_array().into_iter().flatten().filter_map(Value::as_u64) {
            let r = r as usize;
            if r < neurons && !order.contains(&r) {
                order.push(r);
            }
        }
    }
    let rest: Vec<usize> = (0..neurons).filter(|r| !order.contains(r)).collect();
    order.extend(rest);
    order
}

fn matrix_rows(v: &Value, order: &[usize]) -> Vec<Vec<f64>> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r.as_array().into_iter().flatten().filter_map(Value::as_f64).collect())
        .collect();
    order.iter().filter_map(|&r| rows.get(r).cloned()).collect()
}

/// Where importance maps are computed: training data, held-out samples (with truth), T, count.
struct MapsJob<'a> {
    dir: &'a Path,
    data: &'a Path,
    held_out: &'a Path,
    bins: usize,
    n_maps: usize,
}

/// Train a GAN (`minutes`; 0 = untrained control) into `dir/name`, compute importance maps of the
/// first `n_maps` held-out samples and infer packets with the held-out set's truth. Returns the
/// packets JSON and the run folder.
fn maps_and_packets(
    ctx: &mut Ctx,
    id: &str,
    job: &MapsJob,
    name: &str,
    minutes: f64,
) -> anyhow::Result<(Value, PathBuf)> {
    let run = job.dir.join(name);
    let gan = Gan {
        arch: "conv",
        window: job.bins,
        minutes,
        eval_every: 0,
    };
    train(ctx, id, &run, job.data, &gan)?;
    let maps = job.dir.join(format!("maps_{name}.h5"));
    let n = job.n_maps.to_string();
    let args = strings(&[
        "importance",
        "--run",
        &s(&run),
        "--data",
        &s(job.held_out),
        "--max-samples",
        &n,
        "--backend",
        &ctx.o.backend,
        "--out",
        &s(&maps),
    ]);
    ctx.step(
        &format!("{id}: importance maps of {} held-out samples ({name})", job.n_maps),
        args,
        &[&run.join("config.json"), job.held_out],
        &[&maps],
    )?;
    let packets = job.dir.join(format!("packets_{name}.json"));
    let truth = job.held_out.with_extension("truth.json");
    let args = strings(&[
        "packets",
        "--maps",
        &s(&maps),
        "--truth",
        &s(&truth),
        "--out",
        &s(&packets),
    ]);
    ctx.step(
        &format!("{id}: infer packets ({name})"),
        args,
        &[&maps, &truth],
        &[&packets],
    )?;
    Ok((read_json(&packets)?, run))
}

fn recovery_table(caption: &str, labels: &[String], recoveries: &[&Value]) -> Table {
    Table {
        caption: caption.into(),
        header: strings(&[
            "packet",
            "neurons",
            "mass on its neurons",
            "chance",
            "order correlation (Spearman)",
        ]),
        rows: labels
            .iter()
            .zip(recoveries)
            .map(|(l, r)| {
                vec![
                    l.clone(),
                    r["rows"].as_array().map_or(0, Vec::len).to_string(),
                    format!("{:.3}", r["mass_fraction"].as_f64().unwrap_or(f64::NAN)),
                    format!("{:.3}", r["chance_mass_fraction"].as_f64().unwrap_or(f64::NAN)),
                    r["order_spearman"].as_f64().map_or("—".into(), |v| format!("{v:.3}")),
                ]
            })
            .collect(),
    }
}

pub(super) fn fig4(ctx: &mut Ctx) -> anyhow::Result<Section> {
    let id = "fig4";
    let dir = ctx.dir(id)?;
    let params = [
        "--neurons",
        "32",
        "--bins",
        "64",
        "--rate",
        "0.1",
        "--packet-prob",
        "0.1",
        "--group",
        "8",
    ];
    let (data, held_out) = (dir.join("data.h5"), dir.join("held_out.h5"));
    let n_maps = ctx.scale(20, 500);
    simulate(ctx, id, &data, "packets", &params, SAMPLES, (4, 0))?;
    simulate(ctx, id, &held_out, "packets", &params, n_maps, (4, 1))?;
    let minutes = ctx.gan_minutes(0.5, 30.0);
    let job = MapsJob {
        dir: &dir,
        data: &data,
        held_out: &held_out,
        bins: 64,
        n_maps,
    };
    let (packets, run) = maps_and_packets(ctx, id, &job, "gan", minutes)?;
    let (control, _) = maps_and_packets(ctx, id, &job, "untrained", 0.0)?;
    let truth = read_json(&held_out.with_extension("truth.json"))?;
    let order = packet_row_order(&truth, 32);
    let recoveries = |p: &Value| -> Vec<Value> { p["recovery"].as_array().cloned().unwrap_or_default() };
    let (trained, untrained) = (recoveries(&packets), recoveries(&control));
    let mut labels: Vec<String> = (0..trained.len()).map(|k| format!("group {k}")).collect();
    labels.extend((0..untrained.len()).map(|k| format!("group {k}, untrained critic")));
    let all: Vec<&Value> = trained.iter().chain(&untrained).collect();
    let mean_spearman = |r: &[Value]| {
        let v: Vec<f64> = r.iter().filter_map(|r| r["order_spearman"].as_f64()).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let (ours, theirs) = (mean_spearman(&trained), mean_spearman(&untrained));
    let mass = |r: &[Value]| {
        r.iter()
            .filter_map(|r| r["mass_fraction"].as_f64())
            .fold(0f64, f64::max)
    };
    let figure = heatmaps(
        "Inferred packet (rows: neurons in packet order, group by group)",
        "neuron",
        "bin (aligned)",
        &[
            ("trained critic".into(), matrix_rows(&packets["packet"], &order)),
            (
                "untrained critic (control)".into(),
                matrix_rows(&control["packet"], &order),
            ),
        ],
    );
    let verdicts = vec![
        Verdict {
            claim: "importance maps recover the packets' firing order (mean Spearman correlation over groups > 0.5)"
                .into(),
            holds: ours > 0.5,
            numbers: format!("trained {ours:.3}, untrained critic {theirs:.3}"),
            required: false,
        },
        Verdict {
            claim:
                "training focuses the maps: the largest group's share of the estimate exceeds the untrained critic's"
                    .into(),
            holds: mass(&trained) > mass(&untrained),
            numbers: format!("trained {:.3}, untrained {:.3}", mass(&trained), mass(&untrained)),
            required: false,
        },
    ];
    Ok(Section {
        id,
        title: title(id),
        text: format!(
            "<p>'packets' simulation (background p 0.1, packet probability 0.1 per bin, 4 groups of 8; seed 4), \
             {SAMPLES} training samples. Spike-GAN: {}. Importance maps (window 8, step 2, 5 shuffles) of {n_maps} \
             held-out samples; packet inferred from the 95th percentile of map values at spikes (spec section 8). \
             Control: the same pipeline with the critic at its initialisation (no training).</p>",
            run_summary(&run)
        ),
        tables: vec![recovery_table(
            "Recovery of each group's packet in the estimate (control: the same critic before training)",
            &labels,
            &all,
        )],
        figures: vec![figure],
        verdicts,
        json: json!({"packets": packets, "untrained_control": control, "n_maps": n_maps, "gan_minutes": minutes}),
    })
}

pub(super) fn s2_s4(ctx: &mut Ctx) -> anyhow::Result<Section> {
    let id = "s2-s4";
    let noises: Vec<&str> = if ctx.o.quick { vec!["0"] } else { vec!["0", "0.5"] };
    let n_maps = ctx.scale(40, 500);
    let minutes = ctx.gan_minutes(0.5, 20.0);
    let mut tables = Vec::new();
    let mut figures = Vec::new();
    let mut verdicts = Vec::new();
    let mut results = serde_json::Map::new();
    let mut runs = Vec::new();
    for (k, noise) in noises.iter().enumerate() {
        let dir = ctx.dir(&format!("{id}/noise_{noise}"))?;
        let params = [
            "--neurons",
            "32",
            "--bins",
            "32",
            "--rate",
            "0.05",
            "--group",
            "18",
            "--packet-prob",
            "1",
            "--noise",
            noise,
        ];
        let (data, held_out) = (dir.join("data.h5"), dir.join("held_out.h5"));
        let seed = 5 + k as u64;
        simulate(ctx, id, &data, "two-mode", &params, SAMPLES, (seed, 0))?;
        simulate(ctx, id, &held_out, "two-mode", &params, n_maps, (seed, 1))?;
        let job = MapsJob {
            dir: &dir,
            data: &data,
            held_out: &held_out,
            bins: 32,
            n_maps,
        };
        let (packets, run) = maps_and_packets(ctx, id, &job, "gan", minutes)?;
        let (control, _) = maps_and_packets(ctx, id, &job, "untrained", 0.0)?;
        let auc_untrained = control["stimulus"]["auc_maps"].as_f64().unwrap_or(f64::NAN);
        runs.push(format!("noise {noise}: {}", run_summary(&run)));
        let truth = read_json(&held_out.with_extension("truth.json"))?;
        let order = packet_row_order(&truth, 32);
        let stim = &packets["stimulus"];
        let per: Vec<&Value> = stim["per_stimulus"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let recs: Vec<&Value> = per.iter().map(|p| &p["recovery"]).collect();
        let control_recs: Vec<&Value> = control["stimulus"]["per_stimulus"]
            .as_array()
            .map(|a| a.iter().map(|p| &p["recovery"]).collect())
            .unwrap_or_default();
        tables.push(recovery_table(
            &format!("Noise {noise}: each stimulus's packet in the maps of its samples"),
            &[
                "stimulus 1".into(),
                "stimulus 2".into(),
                "stimulus 1, untrained critic".into(),
                "stimulus 2, untrained critic".into(),
            ],
            &recs.iter().chain(&control_recs).copied().collect::<Vec<_>>(),
        ));
        let (auc_maps, auc_counts) = (
            stim["auc_maps"].as_f64().unwrap_or(f64::NAN),
            stim["auc_spike_counts"].as_f64().unwrap_or(f64::NAN),
        );
        tables.push(Table {
            caption: format!(
                "Noise {noise}: stimulus discrimination ({})",
                stim["method"].as_str().unwrap_or("")
            ),
            header: strings(&["features", "ROC area"]),
            rows: vec![
                vec!["importance maps".into(), format!("{auc_maps:.3}")],
                vec![
                    "importance maps, untrained critic (control)".into(),
                    format!("{auc_untrained:.3}"),
                ],
                vec!["spike counts".into(), format!("{auc_counts:.3}")],
            ],
        });
        let curve = |v: &Value| -> Vec<(f64, f64)> {
            let f = v["false_positive_rate"].as_array().cloned().unwrap_or_default();
            let t = v["true_positive_rate"].as_array().cloned().unwrap_or_default();
            f.iter()
                .zip(&t)
                .filter_map(|(a, b)| Some((a.as_f64()?, b.as_f64()?)))
                .collect()
        };
        figures.push(xy_figure(
            &format!("ROC, stimulus 1 vs 2 (noise {noise})"),
            "false positive rate",
            "true positive rate",
            &[
                Series {
                    label: format!("importance maps (AUC {auc_maps:.3})"),
                    points: curve(&stim["roc_maps"]),
                    line: true,
                },
                Series {
                    label: format!("spike counts (AUC {auc_counts:.3})"),
                    points: curve(&stim["roc_spike_counts"]),
                    line: true,
                },
            ],
            false,
            false,
        ));
        figures.push(heatmaps(
            &format!("Packets inferred per stimulus (noise {noise}; rows: mode 1 then mode 2 order)"),
            "neuron",
            "bin (aligned)",
            &per.iter()
                .enumerate()
                .map(|(i, p)| (format!("stimulus {}", i + 1), matrix_rows(&p["packet"], &order)))
                .collect::<Vec<_>>(),
        ));
        let spearman: Vec<f64> = recs.iter().filter_map(|r| r["order_spearman"].as_f64()).collect();
        verdicts.push(Verdict {
            claim: format!(
                "noise {noise}: each stimulus's inferred packet follows its true order (Spearman > 0.5 for both)"
            ),
            holds: spearman.len() == 2 && spearman.iter().all(|&r| r > 0.5),
            numbers: format!("{spearman:.3?}"),
            required: false,
        });
        verdicts.push(Verdict {
            claim: format!("noise {noise}: the importance maps discriminate the stimulus (ROC area > 0.9)"),
            holds: auc_maps > 0.9,
            numbers: format!(
                "maps {auc_maps:.3}, untrained critic's maps {auc_untrained:.3}, spike counts {auc_counts:.3}"
            ),
            required: false,
        });
        results.insert(
            format!("noise_{noise}"),
            json!({"trained": packets, "untrained_control": control}),
        );
    }
    Ok(Section {
        id,
        title: title(id),
        text: format!(
            "<p>Two-mode packets (background p 0.05, one packet of 18 neurons per sample: mode 1 = the first 18 \
             neurons in order, mode 2 = the last 18 in reverse; the mode is the stimulus), {SAMPLES} training \
             samples per noise level. Spike-GAN {minutes} min each ({}). Importance maps of {n_maps} held-out \
             samples; stimulus read out by a cross-validated template on each sample's per-neuron importance, \
             compared with the same read-out of spike counts.</p>",
            runs.join("; ")
        ),
        tables,
        figures,
        verdicts,
        json: Value::Object(results),
    })
}
