//! `spikegan fit`: the baseline models (maximum entropy, dichotomized Gaussian), fitted to a
//! binary raster and saved as a JSON model file that `spikegan sample --model` reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use baselines::dg::{DgKind, DgParams, PairWeighting};
use baselines::maxent::{MaxEntKind, MaxEntParams};
use baselines::{Baseline, FittedOn};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use spike_data::io::SpikeData;
use spike_data::{FitSpikeModel, SpikeModel, SpikeRaster};

use super::{load, registry_entry};
use crate::Outcome;

/// The baseline models.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModelKind {
    /// Independent neurons (maximum entropy with fields only).
    Independent,
    /// Pairwise maximum entropy (Ising).
    Pairwise,
    /// k-pairwise maximum entropy (Tkacik et al. 2014).
    Kpairwise,
    /// Spatial dichotomized Gaussian (Macke et al. 2009).
    Dg,
    /// Spatio-temporal dichotomized Gaussian over windows of --window bins (Lyamzin et al. 2010).
    DgTemporal,
}

/// How a DG's moment fit weighs the pair means (`baselines::dg::PairWeighting`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PairWeightingArg {
    /// Each pair in units of sqrt(its sampling error x the pairs' RMS one): between the two others.
    Balanced,
    /// Every pair alike: the absolute misfit, what covariance errors measure (rare pairs drift).
    Absolute,
    /// Each pair in units of its own sampling error (chi2): rare pairs count more.
    StandardError,
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// Which model.
    #[arg(value_enum)]
    pub model: ModelKind,
    /// Binary raster (bins x neurons) to fit; samples [n, N, T] are concatenated in time.
    #[arg(long)]
    pub data: PathBuf,
    /// MAT variable / HDF5 dataset.
    #[arg(long, visible_alias = "dataset")]
    pub key: Option<String>,
    /// Window length T in bins (the spatio-temporal DG's latent block; recorded for the others).
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Seed of the fit's random draws (MCMC).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Maximum entropy: enumerate patterns exactly up to this many neurons (at most 24).
    #[arg(long, default_value_t = 20)]
    pub exact_max_neurons: usize,
    /// Maximum entropy (MCMC): parallel Gibbs chains.
    #[arg(long)]
    pub chains: Option<usize>,
    /// Maximum entropy (MCMC): most fitting iterations.
    #[arg(long)]
    pub max_iterations: Option<usize>,
    /// Maximum entropy (MCMC): stop when residuals are within this many standard errors (RMS).
    #[arg(long)]
    pub tolerance_z: Option<f64>,
    /// Dichotomized Gaussian: most iterations of the fit of the latent matrix to the pair means
    /// when the solved one is not positive definite (0 = keep the nearest-correlation projection).
    #[arg(long)]
    pub moment_fit_iterations: Option<usize>,
    /// Dichotomized Gaussian: how the moment fit weighs the pair means (default: balanced).
    #[arg(long, value_enum)]
    pub pair_weighting: Option<PairWeightingArg>,
    /// Spatio-temporal DG: largest singular value kept in a lag's partial correlation, in (0, 1)
    /// (lagged correlations no stationary Gaussian has are clipped to it).
    #[arg(long)]
    pub max_partial_correlation: Option<f64>,
    /// Spatio-temporal DG: lags fitted to the data (longer ones follow the fitted process).
    #[arg(long)]
    pub fitted_lags: Option<usize>,
    /// Spatio-temporal DG: lag-0 latent matrix shrunk to (1 - f) R(0) + f I before the lags are
    /// fitted, f in [0, 1).
    #[arg(long)]
    pub lag0_floor: Option<f64>,
    /// Fit only these neurons (0-based columns of the file, in order): a list of indices and
    /// ranges, e.g. `0-15` or `0,3,7-9`.
    #[arg(long, value_parser = parse_neuron_list)]
    pub neurons: Option<NeuronList>,
    /// Output model file (JSON).
    #[arg(long)]
    pub out: PathBuf,
}

/// Neuron indices from `--neurons`.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronList(pub Vec<usize>);

/// `0-15,20` -> 0..=15 and 20. Ranges are inclusive and must not run backwards.
fn parse_neuron_list(text: &str) -> Result<NeuronList, String> {
    let index = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{s}' is not a neuron index (0-based whole number)"))
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                if a > b {
                    return Err(format!("range '{part}' runs backwards"));
                }
                out.extend(a..=b);
            }
            None => out.push(index(part)?),
        }
    }
    Ok(NeuronList(out))
}

/// The raster to fit. Samples [n, N, T] are concatenated in time (exact for the single-bin
/// models, which only count bins; the spatio-temporal DG needs one continuous recording, since
/// lags across sample boundaries would be counted as real).
fn raster_of(path: &Path, key: Option<&str>, model: ModelKind) -> anyhow::Result<(SpikeRaster, String)> {
    let loaded = load(path, key)?;
    match loaded.data {
        SpikeData::Raster(r) => {
            r.ensure_binary()?;
            Ok((r, loaded.key))
        }
        SpikeData::Samples(set) if !matches!(model, ModelKind::DgTemporal) => Ok((set.concatenated(), loaded.key)),
        SpikeData::Samples(_) => bail!(
            "{}: '{}' holds separate samples [n, N, T]; the spatio-temporal DG is fitted to one \
             continuous raster (bins x neurons) so that lags never cross sample boundaries",
            path.display(),
            loaded.key
        ),
        SpikeData::Trains(_) => bail!(
            "{}: holds spike times; bin them first with `spikegan data bin`",
            path.display()
        ),
    }
}

fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"));
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub fn fit(a: &FitArgs) -> anyhow::Result<Outcome> {
    let (raster, key) = raster_of(&a.data, a.key.as_deref(), a.model)?;
    let raster = match &a.neurons {
        Some(list) => raster.select_neurons(&list.0)?,
        None => raster,
    };
    let sha256 = spike_data::registry::sha256_file(&a.data)?;
    let dataset = registry_entry(&sha256).map(|e| e.0);
    let fitted_on = FittedOn {
        file: a.data.display().to_string(),
        key,
        sha256,
        dataset,
        bins: raster.n_bins(),
        neurons: raster.n_neurons(),
        neuron_selection: a.neurons.as_ref().map(|list| list.0.clone()),
    };
    let bar = spinner(&format!(
        "fitting {:?} to {} bins x {} neurons (log: -v)",
        a.model,
        raster.n_bins(),
        raster.n_neurons()
    ));
    let maxent = |kind| {
        let mut p = MaxEntParams::new(kind).with_seed(a.seed);
        p.exact_max_neurons = a.exact_max_neurons;
        if let Some(c) = a.chains {
            p.mcmc.chains = c;
        }
        if let Some(m) = a.max_iterations {
            p.mcmc.max_iterations = m;
        }
        if let Some(t) = a.tolerance_z {
            p.mcmc.tolerance_z = t;
        }
        p
    };
    let context = || format!("fitting {:?} to {}", a.model, a.data.display());
    let baseline = match a.model {
        ModelKind::Independent | ModelKind::Pairwise | ModelKind::Kpairwise => {
            let kind = match a.model {
                ModelKind::Independent => MaxEntKind::Independent,
                ModelKind::Pairwise => MaxEntKind::Pairwise,
                _ => MaxEntKind::KPairwise,
            };
            let fit = maxent(kind).fit(&raster).with_context(context)?;
            Baseline::MaxEnt { fitted_on, fit }
        }
        ModelKind::Dg | ModelKind::DgTemporal => {
            let kind = if matches!(a.model, ModelKind::Dg) {
                DgKind::Spatial
            } else {
                DgKind::Temporal
            };
            let mut params = DgParams::new(kind, a.window);
            if let Some(iterations) = a.moment_fit_iterations {
                params.moment_fit_iterations = iterations;
            }
            if let Some(k) = a.max_partial_correlation {
                params.max_partial_correlation = k;
            }
            if let Some(lags) = a.fitted_lags {
                params.fitted_lags = lags;
            }
            if let Some(f) = a.lag0_floor {
                params.lag0_floor = f;
            }
            if let Some(w) = a.pair_weighting {
                params.pair_weighting = match w {
                    PairWeightingArg::Balanced => PairWeighting::Balanced,
                    PairWeightingArg::Absolute => PairWeighting::Absolute,
                    PairWeightingArg::StandardError => PairWeighting::StandardError,
                };
            }
            let model = params.fit(&raster).with_context(context)?;
            Baseline::DichotomizedGaussian { fitted_on, model }
        }
    };
    bar.finish_and_clear();
    baseline.save(&a.out)?;
    let converged = match &baseline {
        Baseline::MaxEnt { fit, .. } => {
            let d = &fit.diagnostics;
            let z = &d.residual_z;
            println!(
                "{}: {} fitted by {}{}, {:.1} s; max |residual| {:.2e}; \
                 RMS residual in standard errors: rates {:.2}, pairs {:.2}, P(K) {:.2}",
                a.out.display(),
                baseline.describe(),
                d.method,
                match d.iterations {
                    0 => String::new(),
                    n => format!(" in {n} iterations"),
                },
                d.seconds,
                d.max_abs_residual,
                z.rates_rms,
                z.pairs_rms,
                z.counts_rms
            );
            if let Some(e) = &d.exact {
                println!(
                    "  log Z {:.6}, entropy {:.6} bits per bin, log-likelihood {:.6} nats per bin",
                    e.log_partition, e.entropy_bits, e.log_likelihood_per_bin
                );
            }
            d.converged
        }
        Baseline::DichotomizedGaussian { model, .. } => {
            let d = &model.diagnostics;
            let lags = d.lag_extension.as_ref().map_or(String::new(), |e| {
                let (before, after) = e
                    .pair_mean_misfit
                    .iter()
                    .fold((0.0, 0.0), |(b, a), &(x, y)| (b + x, a + y));
                let refined = if e.pair_mean_misfit.is_empty() {
                    String::new()
                } else {
                    format!(", their pair means refitted (summed |misfit| {before:.4} -> {after:.4})")
                };
                format!(
                    "; lags 1-{} fitted, {} of them clipped to a valid process (largest change {:.3}){refined}, longer lags extended",
                    e.fitted_lags, e.clipped_lags, e.max_abs_change
                )
            });
            println!(
                "{}: {} fitted in {:.1} s; {} pair means at the end of the attainable range; {}{lags}",
                a.out.display(),
                baseline.describe(),
                d.seconds,
                d.clamped_correlations,
                if d.projection.was_positive_definite {
                    "latent correlation matrix positive definite".to_string()
                } else {
                    let refit = d.moment_fit.as_ref().map_or(String::new(), |m| {
                        format!(
                            ", then fitted to the pair means ({}chi2 per pair {:.2} -> {:.2}, {} iterations)",
                            match m.weighting {
                                PairWeighting::StandardError => String::new(),
                                w => format!(
                                    "{} misfit per pair {:.2} -> {:.2}; ",
                                    if w == PairWeighting::Absolute {
                                        "absolute"
                                    } else {
                                        "balanced"
                                    },
                                    m.misfit_per_pair.0,
                                    m.misfit_per_pair.1
                                ),
                            },
                            m.chi2_per_pair_before,
                            m.chi2_per_pair_after,
                            m.iterations
                        )
                    });
                    format!(
                        "latent correlation matrix projected to the nearest valid one (Frobenius change {:.3}, largest entry change {:.3}){refit}",
                        d.projection.frobenius_change, d.projection.max_abs_change
                    )
                }
            );
            true
        }
    };
    if converged {
        Ok(Outcome::Success)
    } else {
        eprintln!("warning: the fit stopped at its iteration limit before converging (model saved)");
        Ok(Outcome::CheckFailed)
    }
}
