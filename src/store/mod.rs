//! Where tracks are kept durably: one async trait, [`TrackStore`], with the
//! embedded store (the default, a redb file in the data directory) and, in
//! production, MongoDB behind it. The catalog and index in memory are
//! rebuilt from the store; the store is the system of record.

mod embedded;
mod mongo;
mod mongo_analytics;

use async_trait::async_trait;

use crate::domain::{
    GenreLevel, GenreProfile, JobFilter, JobRecord, ListenerProfile, Track, TrackId, TrackSignal,
    TrendQuery, UserId, YearTrend,
};

pub use embedded::EmbeddedStore;
pub use mongo::MongoStore;

/// Result alias of the store layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store (the embedded store's file lock).
    #[error("the store at {0} is in use by another timbre process (a running server?); stop that process first")]
    Locked(String),
    /// The store cannot be reached or opened right now.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored record cannot be decoded.
    #[error("stored track {id} cannot be decoded: {reason}")]
    Corrupt { id: String, reason: String },
    /// Any other failure of the backend.
    #[error("store error: {0}")]
    Backend(String),
}

/// What an upsert did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertStats {
    /// Tracks that were not stored before.
    pub inserted: usize,
    /// Tracks that replaced a stored version.
    pub replaced: usize,
}

/// Durable storage of tracks, keyed by track id. Every operation is
/// idempotent: upserting the same track twice stores it once.
#[async_trait]
pub trait TrackStore: Send + Sync + 'static {
    /// A short name for logs and `/readyz` (`embedded`, `mongodb`).
    fn name(&self) -> &'static str;

    /// Inserts or replaces tracks (a track replaces the stored one with the
    /// same id). Either the whole batch is stored or none of it.
    async fn upsert(&self, tracks: &[Track]) -> Result<UpsertStats>;

    /// Deletes tracks; returns how many existed.
    async fn delete(&self, ids: &[TrackId]) -> Result<usize>;

    /// The stored tracks among `ids`, in no particular order; unknown ids are
    /// skipped.
    async fn get_many(&self, ids: &[TrackId]) -> Result<Vec<Track>>;

    /// Up to `limit` tracks in id order, starting after `after`.
    async fn scan(&self, after: Option<TrackId>, limit: usize) -> Result<Vec<Track>>;

    /// Number of stored tracks.
    async fn count(&self) -> Result<u64>;

    /// Checks that the store answers.
    async fn ping(&self) -> Result<()>;

    /// Folds listeners' signals into the stored ones: each time field
    /// becomes the later of the stored and the given value, so writes are
    /// idempotent and commute (a replayed or reordered event changes
    /// nothing), and retrying a failed call, which may have stored part of
    /// the batch, is always safe.
    async fn record_signals(&self, signals: &[(UserId, TrackId, TrackSignal)]) -> Result<()>;

    /// Everything one listener did, by track (empty for an unknown user).
    async fn profile(&self, user: &UserId) -> Result<ListenerProfile>;

    /// Stores a job's record, replacing the one with its id.
    async fn put_job(&self, job: &JobRecord) -> Result<()>;

    /// The job with this id, if any.
    async fn job(&self, id: &str) -> Result<Option<JobRecord>>;

    /// Up to `limit` jobs matching `filter`, newest first.
    async fn jobs(&self, filter: &JobFilter, limit: usize) -> Result<Vec<JobRecord>>;

    /// Whether track metadata should be read from the store (the system of
    /// record) rather than from the in-memory catalog. The embedded store
    /// holds exactly what the catalog holds, so it says no.
    fn serves_metadata(&self) -> bool {
        false
    }

    /// Genre profiles computed by the store itself, or `None` when the store
    /// leaves that to the domain code over the catalog.
    async fn genre_profiles(&self, _level: GenreLevel) -> Result<Option<Vec<GenreProfile>>> {
        Ok(None)
    }

    /// Genre trends computed by the store itself, or `None` as above.
    async fn genre_trends(&self, _query: &TrendQuery) -> Result<Option<Vec<YearTrend>>> {
        Ok(None)
    }
}

/// Reads every stored track, page by page in id order, logging progress,
/// and sends each page to `pages`: at start-up the catalog takes them in as
/// they arrive, so the tracks are never all held as `Track` values at once
/// (a million of them take several times the catalog's own size). Stops
/// early when the receiver is gone. Returns how many tracks were read.
///
/// # Errors
/// The first store error.
pub async fn load_pages(
    store: &dyn TrackStore,
    page: usize,
    pages: tokio::sync::mpsc::Sender<Vec<Track>>,
) -> Result<usize> {
    let total = store.count().await?;
    let mut loaded = 0;
    let mut after = None;
    loop {
        let batch = store.scan(after, page).await?;
        // Only an empty page ends the scan: a server may answer a page
        // shorter than asked for (a cursor cut short under load), and
        // taking that for the last page would start the catalogue without
        // the tracks after it.
        if batch.is_empty() {
            if loaded as u64 != total {
                tracing::info!(
                    loaded,
                    total,
                    store = store.name(),
                    "tracks changed while loading"
                );
            }
            return Ok(loaded);
        }
        after = batch.last().map(|t| t.id);
        loaded += batch.len();
        if pages.send(batch).await.is_err() {
            return Ok(loaded);
        }
        if total >= page as u64 {
            tracing::info!(loaded, total, store = store.name(), "loading tracks");
        }
    }
}
