//! The one error type of this crate.

use std::path::PathBuf;

/// Why a model cannot be built, trained, saved or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GanError {
    /// A hyperparameter is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The training data does not fit the model.
    #[error("data does not fit the model: {0}")]
    Data(String),
    /// A checkpoint is missing, corrupt or of another architecture.
    #[error("{}: {detail}", path.display())]
    Checkpoint {
        /// Checkpoint file or folder.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// A loss became NaN or infinite.
    #[error("training diverged at iteration {iteration}: {what} is {value}; the last good checkpoint is kept")]
    Diverged {
        /// Iteration at which it happened.
        iteration: usize,
        /// Which quantity.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// File IO failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = GanError> = std::result::Result<T, E>;
