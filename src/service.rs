//! [`TrackService`]: the one way tracks get in and answers get out.
//!
//! Writes go to the store first and then to the catalog and index, under a
//! single writer lock, so a track is searchable only once it is durable and
//! two writers never interleave. Reads run on tokio's blocking pool under the
//! catalog's read lock: a search is CPU work and must not stall the async
//! workers that serve HTTP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::RwLock;
use timbre_index::{IndexParams, VectorIndex};

use crate::catalog::Catalog;
use crate::domain::{
    genre, FeatureSpace, GenreLevel, GenreProfile, Interaction, ListenerProfile, Track,
    TrackFields, TrackId, TrackSignal, TrendQuery, UserId, YearTrend,
};
use crate::error::{Error, Result};
use crate::store::{self, StoreError, TrackStore, UpsertStats};

/// Tracks are written to the store in batches of this many.
const WRITE_BATCH: usize = 5_000;

/// Batches smaller than this are always inserted one by one.
const REBUILD_MIN: usize = 1_000;

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
    snapshot_dir: Option<PathBuf>,
    params: IndexParams,
    writer: tokio::sync::Mutex<()>,
    health: parking_lot::Mutex<StoreHealth>,
    events: tokio::sync::broadcast::Sender<CatalogEvent>,
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

/// Whether the store answered its last call, and since when it has not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreHealth {
    /// When the store stopped answering; `None` while it answers.
    pub down_since: Option<SystemTime>,
    /// The last error, while down.
    pub error: Option<String>,
    /// When a call last failed: while down, reads go straight to memory and
    /// try the store again only every [`RETRY_EVERY`].
    last_failure: Option<Instant>,
}

/// While the store is down, reads retry it this often.
const RETRY_EVERY: Duration = Duration::from_secs(2);

impl TrackService {
    /// Loads every track from the store and brings up the catalog: from the
    /// index snapshot in `snapshot_dir` when it is present, intact and made
    /// with the current feature space, by a rebuild otherwise (then the
    /// snapshot is rewritten).
    ///
    /// # Errors
    /// The store cannot be read, or the index parameters are invalid.
    pub async fn open(
        store: Arc<dyn TrackStore>,
        snapshot_dir: Option<PathBuf>,
        params: IndexParams,
    ) -> Result<(Self, Startup)> {
        let started = Instant::now();
        let (pages, mut inbox) = tokio::sync::mpsc::channel::<Vec<Track>>(2);
        let dir = snapshot_dir.clone();
        let build = blocking(move || {
            let tracks = std::iter::from_fn(move || inbox.blocking_recv()).flatten();
            bring_up(tracks, dir.as_deref(), params)
        });
        let (loaded, built) = tokio::join!(store::load_pages(store.as_ref(), 10_000, pages), build);
        loaded?;
        let (catalog, origin) = built??;
        let service = TrackService {
            store,
            catalog: Arc::new(RwLock::new(catalog)),
            snapshot_dir,
            params,
            writer: tokio::sync::Mutex::new(()),
            health: parking_lot::Mutex::default(),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
            catching_up: Arc::default(),
            serving: Arc::default(),
        };
        if let IndexOrigin::Rebuilt { .. } = origin {
            service.save_snapshot().await?;
        }
        let startup = Startup {
            tracks: service.catalog.read().len(),
            origin,
            elapsed: started.elapsed(),
        };
        Ok((service, startup))
    }

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

    /// The store behind the service.
    pub fn store(&self) -> &dyn TrackStore {
        self.store.as_ref()
    }

    /// Records the outcome of a store call: an unavailable store marks the
    /// service degraded (from the first failure on), any success clears it.
    fn note<T>(&self, outcome: &store::Result<T>) {
        let mut health = self.health.lock();
        match outcome {
            Err(StoreError::Unavailable(e)) => {
                if health.down_since.is_none() {
                    tracing::warn!(
                        error = e.as_str(),
                        "the store became unavailable; serving from memory"
                    );
                    health.down_since = Some(SystemTime::now());
                }
                health.error = Some(e.clone());
                health.last_failure = Some(Instant::now());
            }
            Err(_) => {}
            Ok(_) => {
                if health.down_since.take().is_some() {
                    tracing::info!("the store is available again");
                }
                health.error = None;
                health.last_failure = None;
            }
        }
    }

    /// The store's health as of its last call (no new call is made).
    pub fn store_health(&self) -> StoreHealth {
        self.health.lock().clone()
    }

    /// Whether reads should ask the store: always while it is up, every
    /// [`RETRY_EVERY`] while it is down, so a dead store costs a query no
    /// time-out.
    fn store_worth_asking(&self) -> bool {
        self.health
            .lock()
            .last_failure
            .is_none_or(|at| at.elapsed() >= RETRY_EVERY)
    }

    /// Pings the store (within `timeout`) and returns its health.
    pub async fn check_store(&self, timeout: Duration) -> StoreHealth {
        let outcome = match tokio::time::timeout(timeout, self.store.ping()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {timeout:?}"
            ))),
        };
        self.note(&outcome);
        self.health.lock().clone()
    }

    /// Tracks by id, from the system of record when the store serves
    /// metadata (one batched round trip), from memory otherwise or while the
    /// store is unavailable.
    ///
    /// # Errors
    /// A store error other than unavailability.
    pub async fn tracks_by_ids(&self, ids: &[TrackId]) -> Result<Vec<Arc<Track>>> {
        if self.store.serves_metadata() && self.store_worth_asking() {
            let outcome = self.store.get_many(ids).await;
            self.note(&outcome);
            match outcome {
                Ok(tracks) => return Ok(tracks.into_iter().map(Arc::new).collect()),
                Err(StoreError::Unavailable(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.read_now(|c| ids.iter().filter_map(|id| c.get_owned(id)).collect()))
    }

    /// Genre profiles, computed by the store when it can (MongoDB
    /// aggregations), by the domain code over the catalog otherwise or while
    /// the store is unavailable.
    ///
    /// # Errors
    /// A store error other than unavailability.
    pub async fn genre_profiles(&self, level: GenreLevel) -> Result<Arc<Vec<GenreProfile>>> {
        let outcome = if self.store_worth_asking() {
            let outcome = self.store.genre_profiles(level).await;
            self.note(&outcome);
            outcome
        } else {
            Ok(None)
        };
        match outcome {
            Ok(Some(profiles)) => return Ok(Arc::new(profiles)),
            Ok(None) | Err(StoreError::Unavailable(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.read(move |c| c.genres(level)).await
    }

    /// Genre trends by release year, computed like [`Self::genre_profiles`].
    ///
    /// # Errors
    /// A store error other than unavailability.
    pub async fn genre_trends(&self, query: TrendQuery) -> Result<Vec<YearTrend>> {
        let outcome = if self.store_worth_asking() {
            let outcome = self.store.genre_trends(&query).await;
            self.note(&outcome);
            outcome
        } else {
            Ok(None)
        };
        match outcome {
            Ok(Some(trends)) => return Ok(trends),
            Ok(None) | Err(StoreError::Unavailable(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.read(move |c| genre::trends(c.rows(), &query)).await
    }

    /// Stores tracks and makes them searchable. A batch of at least a
    /// quarter of the catalog (a first import, a re-import) rebuilds the
    /// catalog instead: building the graph on every core is faster than
    /// inserting that many nodes one by one, and it refits the feature space
    /// to the new data.
    ///
    /// # Errors
    /// A store or index error. Tracks of batches already stored stay stored
    /// and searchable.
    pub async fn upsert(&self, tracks: Vec<Track>) -> Result<UpsertStats> {
        let _writer = self.writer.lock().await;
        let mut stats = UpsertStats::default();
        let mut stored = 0;
        let mut failure = None;
        for batch in tracks.chunks(WRITE_BATCH) {
            let outcome = self.store.upsert(batch).await;
            self.note(&outcome);
            match outcome {
                Ok(s) => {
                    stats.inserted += s.inserted;
                    stats.replaced += s.replaced;
                    stored += batch.len();
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // What the store accepted becomes searchable even when a later batch
        // failed: the catalog never lags the store by a failed write.
        let mut tracks = tracks;
        tracks.truncate(stored);
        let indexed: Vec<TrackId> = if self.events.receiver_count() > 0 {
            tracks.iter().map(|t| t.id).collect()
        } else {
            Vec::new()
        };
        let catalog = Arc::clone(&self.catalog);
        let params = self.params;
        blocking(move || {
            let rebuild = tracks.len() >= REBUILD_MIN.max(catalog.read().len() / 4);
            if rebuild {
                let mut all: Vec<Track> = {
                    let current = catalog.read();
                    let incoming: std::collections::HashSet<TrackId> =
                        tracks.iter().map(|t| t.id).collect();
                    current
                        .tracks()
                        .filter(|t| !incoming.contains(&t.id))
                        .map(|t| t.to_track())
                        .collect()
                };
                all.extend(tracks);
                let fresh = Catalog::build_deferred(all, params)?;
                *catalog.write() = fresh;
                Ok(())
            } else {
                catalog.write().upsert(tracks)
            }
        })
        .await??;
        self.catch_up_graph();
        self.publish(indexed.into_iter().map(CatalogEvent::Indexed));
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(stats),
        }
    }

    /// Deletes tracks from the store, the catalog and the index; returns how
    /// many existed.
    ///
    /// # Errors
    /// A store error (then nothing was removed from the catalog).
    pub async fn delete(&self, ids: Vec<TrackId>) -> Result<usize> {
        let _writer = self.writer.lock().await;
        let outcome = self.store.delete(&ids).await;
        self.note(&outcome);
        let removed = outcome?;
        let catalog = Arc::clone(&self.catalog);
        let gone = ids.clone();
        blocking(move || catalog.write().remove(&ids)).await?;
        self.publish(gone.into_iter().map(CatalogEvent::Removed));
        Ok(removed)
    }

    /// Stores listeners' interactions, folded per listener and track (see
    /// [`crate::domain::listener`]); returns how many signals were written.
    /// Profiles live in the store only, so every instance behind a load
    /// balancer sees the same listener.
    ///
    /// # Errors
    /// A store error; retrying is safe (the writes are idempotent).
    pub async fn record_interactions(&self, events: &[Interaction]) -> Result<usize> {
        let mut folded: std::collections::BTreeMap<(UserId, TrackId), TrackSignal> =
            Default::default();
        for e in events {
            folded
                .entry((e.user.clone(), e.track))
                .or_default()
                .apply(e.kind, e.at_ms);
        }
        let signals: Vec<(UserId, TrackId, TrackSignal)> = folded
            .into_iter()
            .map(|((user, track), signal)| (user, track, signal))
            .collect();
        let outcome = self.store.record_signals(&signals).await;
        self.note(&outcome);
        outcome?;
        Ok(signals.len())
    }

    /// One listener's profile, from the store.
    ///
    /// # Errors
    /// A store error (an unavailable store means no profile: `UNAVAILABLE`).
    pub async fn profile(&self, user: &UserId) -> Result<ListenerProfile> {
        let outcome = self.store.profile(user).await;
        self.note(&outcome);
        Ok(outcome?)
    }

    /// Starts inserting into the graph, in the background, the vectors
    /// writes appended to the index's tail, unless that already runs.
    /// Writers never wait for the graph: a new track is searchable through
    /// the tail's exact scan at once, and joins the graph walk once this
    /// has caught up. Needs a tokio runtime (every caller has one).
    fn catch_up_graph(&self) {
        if self
            .catching_up
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let catalog = Arc::clone(&self.catalog);
        let running = Arc::clone(&self.catching_up);
        let serving = Arc::clone(&self.serving);
        tokio::spawn(async move {
            loop {
                let job = catalog.write().graph_catch_up();
                let Some(job) = job else {
                    running.store(false, Ordering::Release);
                    // A write may have appended after the check above and
                    // seen the flag still set: look once more.
                    let more = catalog.read().index().unclaimed() > 0;
                    if more
                        && running
                            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                    {
                        continue;
                    }
                    return;
                };
                let started = Instant::now();
                let inserted = job.len();
                let spare_a_core = serving.load(Ordering::Acquire);
                let run = crate::background::spawn("timbre-graph", move || {
                    let mut job = job;
                    job.run(spare_a_core);
                    job
                });
                let done = match run {
                    Ok(receiver) => receiver.await.map_err(|_| "it panicked".to_string()),
                    Err(e) => Err(format!("no thread for it: {e}")),
                };
                match done {
                    Ok(job) => {
                        catalog.write().graph_caught_up(job);
                        tracing::debug!(
                            inserted,
                            took_ms = started.elapsed().as_millis() as u64,
                            "graph caught up"
                        );
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the graph catch-up failed");
                        catalog.write().graph_catch_up_lost();
                        running.store(false, Ordering::Release);
                        return;
                    }
                }
            }
        });
    }

    /// Waits until every vector is in the graph and the walkable copy is
    /// fresh (before a snapshot, and for benchmarks that measure the walk).
    pub async fn flush_graph(&self) {
        loop {
            let flushed = {
                let catalog = Arc::clone(&self.catalog);
                blocking(move || catalog.write().flush_graph())
                    .await
                    .unwrap_or(false)
            };
            if flushed {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writes the index snapshot (no-op without a snapshot directory),
    /// after putting every vector into the graph.
    ///
    /// # Errors
    /// The snapshot cannot be written.
    pub async fn save_snapshot(&self) -> Result<()> {
        let Some(dir) = self.snapshot_dir.clone() else {
            return Ok(());
        };
        loop {
            self.flush_graph().await;
            let catalog = Arc::clone(&self.catalog);
            let dir = dir.clone();
            // A write may have appended since the flush: then flush again.
            let saved = blocking(move || {
                let catalog = catalog.read();
                if !catalog.index().is_graphed() {
                    return Ok(false);
                }
                catalog.index().save(&dir, catalog.space()).map(|()| true)
            })
            .await??;
            if saved {
                return Ok(());
            }
        }
    }

    /// Marks the service as answering requests: from now on, graph
    /// catch-ups leave a core to them.
    pub fn start_serving(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Runs `f` with read access to the catalog on the blocking pool.
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
}

/// Builds the catalog at start: from the snapshot when usable, else anew.
fn bring_up(
    tracks: impl Iterator<Item = Track>,
    dir: Option<&std::path::Path>,
    params: IndexParams,
) -> Result<(Catalog, IndexOrigin)> {
    let reason = match dir {
        None => "no snapshot directory configured".to_string(),
        Some(dir) if !dir.exists() => "no index snapshot yet".to_string(),
        Some(dir) => match VectorIndex::<TrackId>::peek_meta::<FeatureSpace>(dir) {
            Err(e) => format!("unusable snapshot ({e})"),
            Ok(space) if !space.is_current() => format!(
                "snapshot made with feature space v{}, this build uses v{}",
                space.version,
                crate::domain::feature_space::FEATURE_SPACE_VERSION
            ),
            Ok(_) => match VectorIndex::<TrackId>::load::<FeatureSpace>(dir) {
                Err(e) => format!("unusable snapshot ({e})"),
                Ok((mut index, space)) => {
                    if !index.retune(params) {
                        return Ok((
                            Catalog::build(tracks, params)?,
                            IndexOrigin::Rebuilt {
                                reason: "graph parameters changed since the snapshot".into(),
                            },
                        ));
                    }
                    let (catalog, r) = Catalog::from_snapshot(tracks, index, space)?;
                    return Ok((
                        catalog,
                        IndexOrigin::Snapshot {
                            upserted: r.upserted,
                            removed: r.removed,
                        },
                    ));
                }
            },
        },
    };
    Ok((
        Catalog::build(tracks, params)?,
        IndexOrigin::Rebuilt { reason },
    ))
}

/// Runs CPU-bound or blocking work on tokio's blocking pool.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a background task failed: {e}")))
}
