//! The embedded store: a redb database file in the data directory.
//!
//! redb is a pure-Rust, ACID, crash-safe embedded key-value store: nothing to
//! install or run beside timbre. Tracks are stored as JSON under their id, so
//! a record written by an older timbre still decodes after fields are added.
//! redb's calls block, so every one runs on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{Result, StoreError, TrackStore, UpsertStats};
use crate::domain::{JobFilter, JobRecord, ListenerProfile, Track, TrackId, TrackSignal, UserId};

/// Track id → track as JSON.
const TRACKS: TableDefinition<&str, &[u8]> = TableDefinition::new("tracks");

/// (user id, track id) → the listener's [`TrackSignal`] as JSON.
const SIGNALS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("signals");

/// Job id → the job's record as JSON (ids sort by creation time).
const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");

/// File name of the database inside the data directory.
pub const FILE_NAME: &str = "tracks.redb";

/// The embedded store.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir`.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process has it open,
    /// [`StoreError::Unavailable`] when the directory or file cannot be
    /// created or opened.
    pub fn open(data_dir: &Path) -> Result<Self> {
        // redb's page cache; its default is 1 GiB. The catalog holds every
        // track in memory, so the store is read in full once, at start, and
        // then only written: a large cache kept pages of that first read
        // for nothing (the 1M-track server's resident size, bench/startup.sh:
        // 1 GiB -> 32 MiB saved 1.55 GB; 32 -> 8 MiB about 24 MB more).
        const CACHE_BYTES: usize = 8 << 20;
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(FILE_NAME);
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StoreError::Locked(path.display().to_string())
                }
                other => {
                    StoreError::Unavailable(format!("cannot open {}: {other}", path.display()))
                }
            })?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(TRACKS).map_err(backend)?;
        txn.open_table(SIGNALS).map_err(backend)?;
        txn.open_table(JOBS).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            path,
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}

fn backend(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(e.into().to_string())
}

fn decode(id: &str, bytes: &[u8]) -> Result<Track> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        reason: e.to_string(),
    })
}

#[async_trait]
impl TrackStore for EmbeddedStore {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn upsert(&self, tracks: &[Track]) -> Result<UpsertStats> {
        let encoded: Vec<(TrackId, Vec<u8>)> = tracks
            .iter()
            .map(|t| serde_json::to_vec(t).map(|json| (t.id, json)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| StoreError::Backend(format!("encoding a track: {e}")))?;
        self.blocking(move |db| {
            let mut stats = UpsertStats::default();
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(TRACKS).map_err(backend)?;
                for (id, json) in &encoded {
                    let old = table
                        .insert(id.as_str(), json.as_slice())
                        .map_err(backend)?;
                    if old.is_some() {
                        stats.replaced += 1;
                    } else {
                        stats.inserted += 1;
                    }
                }
            }
            txn.commit().map_err(backend)?;
            Ok(stats)
        })
        .await
    }

    async fn delete(&self, ids: &[TrackId]) -> Result<usize> {
        let ids = ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let mut removed = 0;
            {
                let mut table = txn.open_table(TRACKS).map_err(backend)?;
                for id in &ids {
                    removed += usize::from(table.remove(id.as_str()).map_err(backend)?.is_some());
                }
            }
            txn.commit().map_err(backend)?;
            Ok(removed)
        })
        .await
    }

    async fn get_many(&self, ids: &[TrackId]) -> Result<Vec<Track>> {
        let ids = ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(TRACKS).map_err(backend)?;
            let mut found = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(value) = table.get(id.as_str()).map_err(backend)? {
                    found.push(decode(id.as_str(), value.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn scan(&self, after: Option<TrackId>, limit: usize) -> Result<Vec<Track>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(TRACKS).map_err(backend)?;
            let after = after.map(String::from);
            let range = match &after {
                Some(a) => table.range::<&str>((
                    std::ops::Bound::Excluded(a.as_str()),
                    std::ops::Bound::Unbounded,
                )),
                None => table.range::<&str>(..),
            }
            .map_err(backend)?;
            let mut page = Vec::with_capacity(limit.min(100_000));
            for entry in range.take(limit) {
                let (key, value) = entry.map_err(backend)?;
                page.push(decode(key.value(), value.value())?);
            }
            Ok(page)
        })
        .await
    }

    async fn count(&self) -> Result<u64> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(TRACKS).map_err(backend)?;
            table.len().map_err(backend)
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|db| db.begin_read().map(drop).map_err(backend))
            .await
    }

    async fn record_signals(&self, signals: &[(UserId, TrackId, TrackSignal)]) -> Result<()> {
        let signals = signals.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(SIGNALS).map_err(backend)?;
                for (user, track, signal) in &signals {
                    let key = (user.as_str(), track.as_str());
                    let mut merged = match table.get(key).map_err(backend)? {
                        Some(old) => decode_signal(user, old.value())?,
                        None => TrackSignal::default(),
                    };
                    merged.merge(signal);
                    let json = serde_json::to_vec(&merged)
                        .map_err(|e| StoreError::Backend(format!("encoding a signal: {e}")))?;
                    table.insert(key, json.as_slice()).map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn put_job(&self, job: &JobRecord) -> Result<()> {
        let json = serde_json::to_vec(job)
            .map_err(|e| StoreError::Backend(format!("encoding a job: {e}")))?;
        let id = job.id.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            txn.open_table(JOBS)
                .map_err(backend)?
                .insert(id.as_str(), json.as_slice())
                .map_err(backend)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        let id = id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(JOBS).map_err(backend)?;
            let found = table.get(id.as_str()).map_err(backend)?;
            found.map(|v| decode_job(&id, v.value())).transpose()
        })
        .await
    }

    async fn jobs(&self, filter: &JobFilter, limit: usize) -> Result<Vec<JobRecord>> {
        let filter = filter.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(JOBS).map_err(backend)?;
            let range = match &filter.before {
                Some(b) => table.range::<&str>(..b.as_str()),
                None => table.range::<&str>(..),
            }
            .map_err(backend)?;
            let mut found = Vec::new();
            for entry in range.rev() {
                let (key, value) = entry.map_err(backend)?;
                let job = decode_job(key.value(), value.value())?;
                if filter.matches(&job) {
                    found.push(job);
                    if found.len() == limit {
                        break;
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn profile(&self, user: &UserId) -> Result<ListenerProfile> {
        let user = user.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(SIGNALS).map_err(backend)?;
            let mut profile = ListenerProfile::default();
            for entry in table.range((user.as_str(), "")..).map_err(backend)? {
                let (key, value) = entry.map_err(backend)?;
                let (u, track) = key.value();
                if u != user.as_str() {
                    break;
                }
                let track = TrackId::parse(track).map_err(|e| StoreError::Corrupt {
                    id: format!("{u}/{track}"),
                    reason: e.to_string(),
                })?;
                profile
                    .tracks
                    .insert(track, decode_signal(&user, value.value())?);
            }
            Ok(profile)
        })
        .await
    }
}

fn decode_job(id: &str, bytes: &[u8]) -> Result<JobRecord> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id: format!("job {id}"),
        reason: e.to_string(),
    })
}

fn decode_signal(user: &UserId, bytes: &[u8]) -> Result<TrackSignal> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id: format!("signal of user {user}"),
        reason: e.to_string(),
    })
}
