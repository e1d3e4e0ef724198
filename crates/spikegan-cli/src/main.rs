//! `spikegan`: generate realistic neural population spike patterns and measure how realistic they are.
//!
//! This binary only parses arguments, calls the library crates and prints; see docs/architecture.md.

mod backend;
mod commands;
mod logging;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// See the `mimalloc` entry in Cargo.toml: training's buffers stay mapped between steps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: option 15 of the v3 header that libmimalloc-sys builds by
/// default (its bindings name the options around it but not this one).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory mapped for the life of the process. A training step frees and allocates
/// buffers of tens of MB; mimalloc would hand them back to the kernel after 1 s (its default
/// purge delay), and the kernel zero-fills them again at the next step's page faults: 4% of a GAN
/// iteration and 8% of a moment-only update (docs/benchmarks.md, session 21).
fn keep_freed_memory() {
    #[allow(unsafe_code)]
    // SAFETY: sets one integer option, which mimalloc reads atomically; -1 = never purge.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    }
}

/// Generate realistic neural population spike patterns and measure how realistic they are.
#[derive(Parser, Debug)]
#[command(name = "spikegan", version, about, long_about = None)]
struct Cli {
    /// More log output (-v: debug, -vv: trace, -vvv: also the libraries' own logs); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Inspect, bin, window, convert, list, verify and fetch spike data.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Simulate the paper's synthetic data sets.
    #[command(subcommand)]
    Simulate(commands::simulate::SimulateCommand),
    /// The paper's statistics of a data set, as JSON.
    Stats(commands::stats::StatsArgs),
    /// The seven L1 errors of model data against reference data (the paper's Fig. 3 table).
    Compare(commands::stats::CompareArgs),
    /// For generated samples, the nearest training sample by Hamming distance (memorisation check).
    Nearest(commands::stats::NearestArgs),
    /// Whole-pattern check of small data sets (N * T of a few dozen) against ground truth.
    HigherOrder(commands::stats::HigherOrderArgs),
    /// Train Spike-GAN (WGAN-GP) on binary spike data.
    Train(Box<commands::gan::TrainArgs>),
    /// Fit a baseline model (maximum entropy, dichotomized Gaussian) to a binary raster.
    Fit(commands::fit::FitArgs),
    /// Draw samples from a trained Spike-GAN run (--run) or a fitted baseline (--model).
    Sample(commands::gan::SampleArgs),
    /// Importance maps: which spikes a trained critic relies on (shuffle windows, score changes).
    Importance(commands::importance::ImportanceArgs),
    /// Infer the packet from importance maps; with simulated ground truth, score recovery and
    /// discriminate the stimulus (ROC).
    Packets(commands::importance::PacketsArgs),
}

/// What a command reports besides errors: success, or a check that did not pass (exit code 1).
pub enum Outcome {
    /// Everything asked for was done and every check passed.
    Success,
    /// The command ran but a check it performs failed.
    CheckFailed,
}

fn main() -> ExitCode {
    keep_freed_memory();
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let result = match cli.command {
        Command::Data(c) => commands::data::run(c),
        Command::Simulate(c) => commands::simulate::run(c),
        Command::Stats(a) => commands::stats::stats(&a),
        Command::Compare(a) => commands::stats::compare(&a),
        Command::Nearest(a) => commands::stats::nearest(&a),
        Command::HigherOrder(a) => commands::stats::higher_order(&a),
        Command::Train(a) => commands::gan::train(&a),
        Command::Fit(a) => commands::fit::fit(&a),
        Command::Sample(a) => commands::gan::sample(&a),
        Command::Importance(a) => commands::importance::importance(&a),
        Command::Packets(a) => commands::importance::packets(&a),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", error_message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause that the message before it
/// already shows (our error types display their source, as in `path: No such file`).
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain().map(ToString::to_string) {
        if message.is_empty() {
            message = cause;
        } else if !message.ends_with(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    message
}

/// `spikegan ... | head` closes stdout early; like other command-line tools, stop with exit code 0
/// instead of reporting a panic from `println!`.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    /// Option 15 is the purge delay: its documented default (1000 ms) before the call, never
    /// (-1) after it.
    #[test]
    fn freed_memory_stays_mapped() {
        #[allow(unsafe_code)]
        // SAFETY: reads one integer option.
        let purge_delay = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(purge_delay(), 1000);
        super::keep_freed_memory();
        assert_eq!(purge_delay(), -1);
    }
}
