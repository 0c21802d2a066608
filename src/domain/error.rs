//! Errors of the domain layer: input that cannot become a valid domain value.

use super::Feature;

/// Result alias for domain parsing and logic.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Why a value could not be turned into a domain type. These are user
/// errors: the API reports them as `INVALID_ARGUMENT`, the importer as a
/// rejected row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A track id that is not 22 base-62 characters.
    #[error("invalid track id {0:?}: a Spotify track id is 22 characters of 0-9, a-z, A-Z")]
    InvalidTrackId(String),
    /// A required field is absent or empty.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A value is not a number (or not the kind of number expected).
    #[error("{field} is not a valid number: {value:?}")]
    NotANumber { field: &'static str, value: String },
    /// An audio feature outside its documented range.
    #[error("{feature} = {value} is outside its range {min}..={max}")]
    OutOfRange {
        feature: Feature,
        value: f64,
        min: f64,
        max: f64,
    },
    /// A date that is not YYYY, YYYY-MM or YYYY-MM-DD.
    #[error("invalid release date {0:?}: expected YYYY, YYYY-MM or YYYY-MM-DD")]
    InvalidDate(String),
    /// A text too long, empty, or a list too long (`domain::bounds`).
    #[error("{0}")]
    OutOfBounds(String),
    /// Any other argument that makes no sense (the message says why).
    #[error("{0}")]
    InvalidArgument(String),
}

impl DomainError {
    /// A short, stable label of the error's kind, used to count rejected
    /// rows by reason in import summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainError::InvalidTrackId(_) => "invalid track id",
            DomainError::Missing("track id") => "missing track id",
            DomainError::Missing(_) => "missing field",
            DomainError::NotANumber { .. } => "unparsable number",
            DomainError::OutOfRange { .. } => "feature out of range",
            DomainError::InvalidDate(_) => "invalid release date",
            DomainError::OutOfBounds(_) => "out of bounds",
            DomainError::InvalidArgument(_) => "invalid value",
        }
    }
}
