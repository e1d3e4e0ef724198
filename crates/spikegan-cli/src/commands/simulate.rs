//! `spikegan simulate ...`: the paper's synthetic data sets.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use spike_data::io;
use spike_data::simulate::{self, PacketParams, Simulation, UniformParams};

use crate::Outcome;

#[derive(Subcommand, Debug)]
pub enum SimulateCommand {
    /// Correlated groups with a soft refractory period (the paper's Fig. 2 data).
    Uniform(UniformArgs),
    /// Background activity plus packets sweeping through groups (Fig. 4).
    Packets(PacketArgs),
    /// One packet per sample in one of two modes; the mode is the stimulus label (Figs. S2-S4).
    TwoMode(PacketArgs),
}

#[derive(Args, Debug)]
pub struct Common {
    /// Number of samples.
    #[arg(long, default_value_t = 8192)]
    pub samples: usize,
    /// Seed of the data set: its rates, correlations and neuron permutation (and its samples).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Another independent set of samples from the same data set (same --seed): ground truth,
    /// surrogate or held-out sets. 0 is the data set's own samples.
    #[arg(long, default_value_t = 0)]
    pub draw: u64,
    /// Output samples [n, N, T] (.h5, .npy or .mat); ground truth goes beside it with extension `.truth.json`.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct UniformArgs {
    /// Neurons N.
    #[arg(long, default_value_t = 16)]
    pub neurons: usize,
    /// Bins per sample T.
    #[arg(long, default_value_t = 128)]
    pub bins: usize,
    /// Mean spike probability per bin.
    #[arg(long, default_value_t = 0.25)]
    pub rate: f64,
    /// Mean within-group correlation.
    #[arg(long, default_value_t = 0.3)]
    pub corr: f64,
    /// Group size.
    #[arg(long, default_value_t = 2)]
    pub group: usize,
    /// Soft refractory period in bins.
    #[arg(long, default_value_t = 2.0)]
    pub refractory: f64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct PacketArgs {
    /// Neurons N.
    #[arg(long, default_value_t = 32)]
    pub neurons: usize,
    /// Bins per sample T.
    #[arg(long, default_value_t = 64)]
    pub bins: usize,
    /// Mean background spike probability per bin.
    #[arg(long, default_value_t = 0.1)]
    pub rate: f64,
    /// Probability per bin that a packet starts (packets only).
    #[arg(long, default_value_t = 0.1)]
    pub packet_prob: f64,
    /// Group (packet) size.
    #[arg(long, default_value_t = 8)]
    pub group: usize,
    /// Soft refractory period of the background in bins.
    #[arg(long, default_value_t = 2.0)]
    pub refractory: f64,
    /// Jitter (standard deviation, bins) of packet spikes.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    #[command(flatten)]
    pub common: Common,
}

fn packet_params(a: &PacketArgs) -> PacketParams {
    PacketParams {
        neurons: a.neurons,
        bins: a.bins,
        samples: a.common.samples,
        rate: a.rate,
        packet_prob: a.packet_prob,
        group: a.group,
        refractory: a.refractory,
        noise: a.noise,
    }
}

pub fn run(cmd: SimulateCommand) -> anyhow::Result<Outcome> {
    let (sim, common, what) = match &cmd {
        SimulateCommand::Uniform(a) => {
            let p = UniformParams {
                neurons: a.neurons,
                bins: a.bins,
                samples: a.common.samples,
                rate: a.rate,
                corr: a.corr,
                group: a.group,
                refractory: a.refractory,
            };
            (
                simulate::simulate_uniform(&p, a.common.seed, a.common.draw)?,
                &a.common,
                format!("{p:?}"),
            )
        }
        SimulateCommand::Packets(a) => {
            let p = packet_params(a);
            (
                simulate::simulate_packets(&p, a.common.seed, a.common.draw)?,
                &a.common,
                format!("{p:?}"),
            )
        }
        SimulateCommand::TwoMode(a) => {
            let p = packet_params(a);
            (
                simulate::simulate_two_mode_packets(&p, a.common.seed, a.common.draw)?,
                &a.common,
                format!("{p:?}"),
            )
        }
    };
    io::write_samples(&common.out, &sim.samples).with_context(|| format!("writing {}", common.out.display()))?;
    let truth_path = common.out.with_extension("truth.json");
    write_truth(&truth_path, &sim, &what, common.seed)?;
    let s = &sim.samples;
    println!(
        "{}: {} samples x {} neurons x {} bins (seed {}); ground truth in {}",
        common.out.display(),
        s.n_samples(),
        s.n_neurons(),
        s.n_bins(),
        common.seed,
        truth_path.display()
    );
    Ok(Outcome::Success)
}

fn write_truth(path: &std::path::Path, sim: &Simulation, params: &str, seed: u64) -> anyhow::Result<()> {
    let json = serde_json::json!({
        "params": params,
        "seed": seed,
        "permutation": sim.permutation,
        "rates": sim.rates,
        "groups": sim.groups,
        "group_corrs": sim.group_corrs,
        "stimulus": sim.stimulus,
        "packets": sim.packets,
    });
    super::write_json(path, &json)
}
