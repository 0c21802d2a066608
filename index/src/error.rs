//! The index's error type.

use std::path::PathBuf;

/// Result alias for index operations.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;

/// Everything that can go wrong inside the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A vector's length differs from the index's dimension.
    #[error("vector has {got} dimensions but the index holds {expected}-dimensional vectors")]
    Dimension { expected: usize, got: usize },
    /// A vector holds NaN or an infinity, which would poison every distance.
    #[error("vector holds a value that is not a finite number")]
    NonFinite,
    /// A parameter is outside the range the graph accepts.
    #[error("invalid index parameter: {0}")]
    InvalidParams(String),
    /// A snapshot is missing, incomplete, corrupt or of another format.
    #[error("index snapshot {path}: {reason}")]
    Snapshot { path: PathBuf, reason: String },
    /// Reading or writing a snapshot file failed.
    #[error("index snapshot I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| IndexError::Io { path, source }
    }

    pub(crate) fn snapshot(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        IndexError::Snapshot {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
