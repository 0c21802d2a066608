//! [`TrackService`]: the facade every adapter calls. The one way tracks get
//! in and answers get out.
//!
//! Each query and write the API offers is one method here: it picks where
//! the work runs (the calling thread for microsecond lookups, tokio's
//! blocking pool for searches that may scan), reads the store or memory,
//! and returns domain results. Adapters only translate their arguments and
//! these results.
//!
//! Writes go to the store first and then to the catalog and index, under a
//! single writer lock, so a track is searchable only once it is durable and
//! two writers never interleave. Reads run under the catalog's read lock
//! and never wait for a write to the store.
//!
//! - `open`: bringing the catalog up at start (snapshot or rebuild);
//! - `queries`: the read facade, with the rule that MongoDB, when it is the
//!   store, serves tracks' metadata;
//! - `writes`: upserts, deletes and listeners' interactions;
//! - `health`: the store's health and the circuit breaker that keeps a dead
//!   store from costing queries a time-out;
//! - `graph`: background graph catch-ups and index snapshots;
//! - `jobs`: analytics jobs and their runner; `engine`: the engine port and
//!   the embedded engine; `models`: trained co-occurrence models.

pub mod engine;
mod graph;
mod health;
pub mod jobs;
pub mod models;
mod open;
mod queries;
mod writes;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use timbre_index::IndexParams;

use crate::catalog::Catalog;
use crate::config::RecommendSettings;
use crate::domain::TrackId;
use crate::error::{Error, Result};
use crate::ingest::ChangeBatch;
use crate::store::TrackStore;

pub use health::StoreHealth;
pub use queries::{CatalogInfo, TrackPage};

/// How the service is set up, beyond its store.
#[derive(Debug, Clone, Default)]
pub struct ServiceOptions {
    /// Where the index snapshot is kept; `None` keeps none (tests, tools).
    pub snapshot_dir: Option<PathBuf>,
    /// Parameters of the HNSW index.
    pub index: IndexParams,
    /// How recommendations blend their signals.
    pub recommend: RecommendSettings,
}

/// How the catalog was brought up at start.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexOrigin {
    /// Loaded from the snapshot, then brought up to date with the store.
    Snapshot { upserted: usize, removed: usize },
    /// Built from the store's tracks, for the reason given.
    Rebuilt { reason: String },
}

/// What start-up did, for the log and for benchmarks.
#[derive(Debug, Clone)]
pub struct Startup {
    pub tracks: usize,
    pub origin: IndexOrigin,
    pub elapsed: Duration,
}

/// Owns the store, the in-memory catalog and the index snapshot.
pub struct TrackService {
    store: Arc<dyn TrackStore>,
    catalog: Arc<RwLock<Catalog>>,
    options: ServiceOptions,
    writer: tokio::sync::Mutex<()>,
    health: parking_lot::Mutex<StoreHealth>,
    events: tokio::sync::broadcast::Sender<CatalogEvent>,
    /// Accepted writes with their data, for sinks (the lake).
    changes: tokio::sync::broadcast::Sender<Arc<ChangeBatch>>,
    /// Whether a graph catch-up task is running (at most one at a time).
    catching_up: Arc<AtomicBool>,
    /// Whether the server answers requests: graph catch-ups then leave
    /// them a core. Before (imports, a rebuild at start) they take all.
    serving: Arc<AtomicBool>,
}

/// A change that has become visible to queries: published after the store
/// and the index both hold it, for subscriptions (`trackIndexed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogEvent {
    /// The track is searchable (new, or replaced by a new version).
    Indexed(TrackId),
    /// The track was deleted.
    Removed(TrackId),
}

/// Events kept for slow subscribers before they are told they missed some.
const EVENT_BUFFER: usize = 4_096;

/// Writes kept for a slow sink before it is told it missed some: each is a
/// whole batch (an import's, a mutation's), so this covers minutes of
/// writes while the sink waits for its storage.
pub const CHANGE_BUFFER: usize = 16_384;

impl TrackService {
    /// Changes as they become visible to queries, from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<CatalogEvent> {
        self.events.subscribe()
    }

    fn publish(&self, events: impl IntoIterator<Item = CatalogEvent>) {
        if self.events.receiver_count() == 0 {
            return;
        }
        for event in events {
            // Only fails without receivers, which is fine.
            let _ = self.events.send(event);
        }
    }

    /// Every write accepted from now on, with its data and origin, for
    /// sinks that record changes beside the store (the lake). A receiver
    /// that falls more than [`CHANGE_BUFFER`] writes behind is told how
    /// many it missed.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<Arc<ChangeBatch>> {
        self.changes.subscribe()
    }

    fn publish_change(&self, change: ChangeBatch) {
        // Only fails without receivers, which is fine.
        let _ = self.changes.send(Arc::new(change));
    }

    /// The store behind the service.
    pub fn store(&self) -> &dyn TrackStore {
        self.store.as_ref()
    }

    /// Marks the service as answering requests: from now on, graph
    /// catch-ups leave a core to them.
    pub fn start_serving(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Runs `f` with read access to the catalog on the blocking pool. For
    /// tools, benchmarks and tests; adapters call the facade's methods.
    ///
    /// # Errors
    /// [`Error::Internal`] when the blocking task panicked.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Catalog) -> R + Send + 'static,
    ) -> Result<R> {
        let catalog = Arc::clone(&self.catalog);
        blocking(move || f(&catalog.read())).await
    }

    /// Runs `f` with read access to the catalog: on the calling thread when
    /// the caller knows it is `cheap` (a graph walk or a small scan, tens of
    /// microseconds), on the blocking pool otherwise. A hop to the pool
    /// costs two context switches and, under load, puts as many threads as
    /// requests in flight on the same cores, evicting each other's cache
    /// lines: measured under HTTP load it tripled the cost of an unfiltered
    /// `similar` (BENCHMARKS.md, "GraphQL under HTTP load").
    ///
    /// # Errors
    /// [`Error::Internal`] when the blocking task panicked.
    pub async fn read_sized<R: Send + 'static>(
        &self,
        cheap: bool,
        f: impl FnOnce(&Catalog) -> R + Send + 'static,
    ) -> Result<R> {
        if cheap {
            Ok(self.read_now(f))
        } else {
            self.read(f).await
        }
    }

    /// Runs `f` with read access to the catalog on the calling thread: for
    /// lookups that take microseconds, where a trip to the blocking pool
    /// would cost more than the work.
    pub fn read_now<R>(&self, f: impl FnOnce(&Catalog) -> R) -> R {
        f(&self.catalog.read())
    }

    /// Scores co-occurrence with a trained neighbour table from now on
    /// (`None`: from the catalogue's playlists).
    pub fn use_model(&self, table: Option<Arc<crate::domain::Neighbours>>) {
        self.catalog.read().set_trained(table);
    }
}

/// Runs CPU-bound or blocking work on tokio's blocking pool.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a background task failed: {e}")))
}
