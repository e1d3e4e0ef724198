//! Log output through `tracing`, on stderr.
//!
//! Our crates log at `info` by default; the libraries below them (Burn, CubeCL, rayon, ...) only
//! at `warn` until `-vvv`, because some log every compiled GPU kernel at `info`.

use tracing_subscriber::EnvFilter;

/// The crates of this workspace, by their `tracing` target.
const OUR_CRATES: [&str; 5] = ["spikegan", "spikegan_model", "spike_data", "spike_stats", "baselines"];

/// The filter for `-v` given `verbose` times, unless `RUST_LOG` is set.
pub fn filter(verbose: u8) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives(verbose)))
}

/// `verbose` 0: ours at info, libraries at warn; 1: ours at debug; 2: ours at trace;
/// 3 or more: everything at trace.
fn directives(verbose: u8) -> String {
    let (ours, libraries) = match verbose {
        0 => ("info", "warn"),
        1 => ("debug", "warn"),
        2 => ("trace", "warn"),
        _ => ("trace", "trace"),
    };
    let mut d = libraries.to_string();
    for c in OUR_CRATES {
        d.push_str(&format!(",{c}={ours}"));
    }
    d
}

/// Installs the stderr subscriber.
pub fn init(verbose: u8) {
    tracing_subscriber::fmt()
        .with_env_filter(filter(verbose))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::directives;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(verbose: u8) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(directives(verbose)))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "cubecl_llvm::shared", "IR after pass");
            tracing::warn!(target: "cubecl_cuda", "library warning");
            tracing::info!(target: "spikegan_model::train", "training");
            tracing::debug!(target: "baselines::maxent", "gibbs sweep");
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn libraries_log_only_warnings_until_the_third_v() {
        let quiet = logged(0);
        assert!(
            quiet.contains("training") && quiet.contains("library warning"),
            "{quiet}"
        );
        assert!(
            !quiet.contains("IR after pass") && !quiet.contains("gibbs sweep"),
            "{quiet}"
        );
        let debug = logged(1);
        assert!(
            debug.contains("gibbs sweep") && !debug.contains("IR after pass"),
            "{debug}"
        );
        assert!(logged(3).contains("IR after pass"));
    }
}
