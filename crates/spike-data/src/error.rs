//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong reading, checking, binning or writing spike data.
///
/// Variants that concern a file carry its path and, where there is one, the variable or
/// dataset name, and display as `path: what`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The operating system refused an operation on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file's content is not a format this crate reads.
    #[error("{}: unrecognised format ({detail})", path.display())]
    UnknownFormat {
        /// File concerned.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// The file is of a known format but its content is damaged or truncated.
    #[error("{}: corrupt or truncated {format} file: {detail}", path.display())]
    Corrupt {
        /// File concerned.
        path: PathBuf,
        /// Format it claimed to be.
        format: &'static str,
        /// Parser message.
        detail: String,
    },
    /// The requested variable or dataset is not in the file.
    #[error("{}: no variable/dataset '{name}' (present: {})", path.display(), present.join(", "))]
    MissingVariable {
        /// File concerned.
        path: PathBuf,
        /// Name asked for.
        name: String,
        /// Names present in the file.
        present: Vec<String>,
    },
    /// Several candidate variables and no key to choose one.
    #[error("{}: several variables ({}); choose one with --key", path.display(), present.join(", "))]
    AmbiguousVariable {
        /// File concerned.
        path: PathBuf,
        /// Names present in the file.
        present: Vec<String>,
    },
    /// The data has the wrong shape or is empty.
    #[error("{}: '{name}': {detail}", path.display())]
    Shape {
        /// File concerned (empty when the data did not come from a file).
        path: PathBuf,
        /// Variable or dataset name.
        name: String,
        /// What was wrong.
        detail: String,
    },
    /// The values are not what the data must hold (negative, NaN, non-integer, not 0/1, ...).
    #[error("{}: '{name}': {detail}", path.display())]
    Values {
        /// File concerned (empty when the data did not come from a file).
        path: PathBuf,
        /// Variable or dataset name.
        name: String,
        /// What was wrong, with how many values and where the first one is.
        detail: String,
    },
    /// A parameter given by the user is out of its range.
    #[error("invalid parameter {name}: {detail}")]
    Parameter {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// Rule that was broken.
        detail: String,
    },
    /// The library was built without a feature the file needs.
    #[error("{}: {format} support was not compiled in (rebuild spike-data with feature '{feature}')", path.display())]
    FeatureMissing {
        /// File concerned.
        path: PathBuf,
        /// Format needing the feature.
        format: &'static str,
        /// Cargo feature to enable.
        feature: &'static str,
    },
    /// An HDF5 library call failed.
    #[error("{}: HDF5 error at '{name}': {detail}", path.display())]
    Hdf5 {
        /// File concerned.
        path: PathBuf,
        /// Object path inside the file.
        name: String,
        /// Library message.
        detail: String,
    },
    /// A data set registry problem (unknown name, checksum mismatch, download failure).
    #[error("{0}")]
    Registry(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn param(name: &'static str, detail: impl Into<String>) -> Self {
        DataError::Parameter {
            name,
            detail: detail.into(),
        }
    }
}
