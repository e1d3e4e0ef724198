//! The one error type of this crate.

/// Why a statistic cannot be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// Two data sets that must have the same shape do not.
    #[error("shape mismatch: {what} has {found} but the reference has {expected}")]
    ShapeMismatch {
        /// Which set and dimension.
        what: String,
        /// The reference's size.
        expected: String,
        /// The other set's size.
        found: String,
    },
    /// The input is too small or too large for the statistic.
    #[error("{0}")]
    Unsupported(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = StatsError> = std::result::Result<T, E>;
