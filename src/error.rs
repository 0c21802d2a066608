//! The error type of timbre's service layer (catalog, store, ingest, access),
//! which the adapters map to client-facing codes in exactly one place
//! (`api/error.rs`): GraphQL's `extensions.code` and the HTTP/JSON routes'
//! `code` are the same.

use crate::domain::{DomainError, TrackId};
use crate::store::StoreError;

/// Result alias of the service layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong answering a request or applying a write.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No track has this id.
    #[error("no track with id {0}")]
    TrackNotFound(TrackId),
    /// No genre (or subgenre) has this name.
    #[error("no genre named {0:?}")]
    GenreNotFound(String),
    /// No track of the catalog belongs to a playlist with this id.
    #[error("no playlist with id {0:?}")]
    PlaylistNotFound(String),
    /// No job has this id.
    #[error("no job with id {0:?}")]
    JobNotFound(String),
    /// The job queue is full.
    #[error("{0}")]
    TooManyJobs(String),
    /// The request's input is invalid; the message says why.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The caller presented no valid API key.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's key does not allow the operation.
    #[error("{0}")]
    Forbidden(String),
    /// The operation cannot be sent this way (a mutation over GET).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The server is not set up for the operation (e.g. no Kafka).
    #[error("{0}")]
    NotConfigured(String),
    /// The store failed or cannot be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vector index failed (a bug or a corrupt snapshot, never user input).
    #[error("index: {0}")]
    Index(#[from] timbre_index::IndexError),
    /// Anything else that is our fault, e.g. a background task that died.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for an invalid-argument error with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(DomainError::InvalidArgument(message.into()))
    }
}
