//! Errors of fitting, sampling, saving and loading baseline models.

use std::path::PathBuf;

use spike_data::DataError;

/// What went wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The data could not be used (not binary, empty, ...).
    #[error(transparent)]
    Data(#[from] DataError),
    /// Parameters that cannot work; the message says which and why.
    #[error("invalid parameters: {0}")]
    Params(String),
    /// A request the fitted model cannot serve (wrong window length, ...).
    #[error("{0}")]
    Request(String),
    /// A numerical step failed (a factorisation of a matrix that should be valid).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// A model file could not be read or written.
    #[error("{path}: {detail}")]
    File {
        /// The model file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

/// Result with [`BaselineError`].
pub type Result<T> = std::result::Result<T, BaselineError>;
