//! The MongoDB store, timbre's system of record in production.
//!
//! Each track is one document: the track's fields as serde writes them, with
//! `_id` = the Spotify track id and a top-level `release_year` for indexing
//! and aggregation. Upserts go in one unordered `update` command per batch
//! (one round trip for thousands of replacements, each statement atomic on
//! its own document); lookups by many ids are one `$in` query. Indexes that
//! the queries use are created at start, idempotently.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};

use super::{Result, StoreError, TrackStore, UpsertStats};
use crate::config::redact;
use crate::domain::{
    GenreLevel, GenreProfile, JobFilter, JobRecord, ListenerProfile, Track, TrackFields, TrackId,
    TrackSignal, TrendQuery, UserId, YearTrend,
};

/// Name of the collection holding tracks.
pub const COLLECTION: &str = "tracks";

/// Name of the collection holding listeners' signals: one document per
/// listener and track, `_id` = "user track" (user ids hold no spaces).
pub const SIGNALS: &str = "signals";

/// Name of the collection holding analytics jobs: one document per job,
/// `_id` = the job id.
pub const JOBS: &str = "jobs";

/// Statements per `update` command: well under MongoDB's 100,000 limit and
/// its 16 MiB message size for tracks of a few hundred bytes.
const UPSERT_BATCH: usize = 2_000;

/// Tracks stored in MongoDB.
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    tracks: Collection<Document>,
    signals: Collection<Document>,
    jobs: Collection<Document>,
}

impl MongoStore {
    /// Connects to `uri`, uses database `database`, and creates the indexes.
    /// `on_command`, when given, sees every command the driver starts (tests
    /// count round trips with it).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URI is malformed or no server
    /// answers within a few seconds.
    pub async fn connect(
        uri: &str,
        database: &str,
        on_command: Option<EventHandler<CommandEvent>>,
    ) -> Result<Self> {
        let mut options = ClientOptions::parse(uri).await.map_err(|e| {
            StoreError::Unavailable(format!("invalid MongoDB URI {}: {e}", redact(uri)))
        })?;
        options.app_name.get_or_insert_with(|| "timbre".to_string());
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(3));
        options
            .connect_timeout
            .get_or_insert(Duration::from_secs(3));
        options.command_event_handler = on_command;
        let client = Client::with_options(options).map_err(map_err)?;
        let db = client.database(database);
        let store = MongoStore {
            tracks: db.collection(COLLECTION),
            signals: db.collection(SIGNALS),
            jobs: db.collection(JOBS),
            db,
        };
        store.ensure_indexes().await?;
        Ok(store)
    }

    /// Creates the indexes the queries use; creating an existing index is a
    /// no-op, so this runs at every start.
    async fn ensure_indexes(&self) -> Result<()> {
        let keys = [
            doc! { "genres": 1 },
            doc! { "subgenres": 1 },
            doc! { "artists": 1 },
            doc! { "popularity": 1 },
            doc! { "release_year": 1 },
        ];
        let models = keys
            .into_iter()
            .map(|k| IndexModel::builder().keys(k).build());
        self.tracks.create_indexes(models).await.map_err(map_err)?;
        self.signals
            .create_index(IndexModel::builder().keys(doc! { "user": 1 }).build())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// The database, for aggregations over the collection.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The tracks collection.
    pub fn collection(&self) -> &Collection<Document> {
        &self.tracks
    }
}

/// Network and server-selection failures mean "try again later"; anything
/// else is a backend error.
pub(super) fn map_err(e: mongodb::error::Error) -> StoreError {
    match *e.kind {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. } => {
            StoreError::Unavailable(format!("MongoDB: {e}"))
        }
        _ => StoreError::Backend(format!("MongoDB: {e}")),
    }
}

fn to_document(track: &Track) -> Result<Document> {
    let mut doc = bson::to_document(track)
        .map_err(|e| StoreError::Backend(format!("encoding {}: {e}", track.id)))?;
    doc.insert("_id", track.id.as_str());
    doc.insert(
        "release_year",
        track
            .release_year()
            .map_or(Bson::Null, |y| Bson::Int32(i32::from(y))),
    );
    Ok(doc)
}

fn from_document(doc: Document) -> Result<Track> {
    let id = doc.get_str("_id").unwrap_or("?").to_string();
    bson::from_document(doc).map_err(|e| StoreError::Corrupt {
        id,
        reason: e.to_string(),
    })
}

fn decode_job(doc: Document) -> Result<JobRecord> {
    let id = doc.get_str("_id").unwrap_or("?").to_string();
    bson::from_document(doc).map_err(|e| StoreError::Corrupt {
        id: format!("job {id}"),
        reason: e.to_string(),
    })
}

/// Drains a cursor of track documents, decoding each as it arrives.
async fn decode_all(mut cursor: mongodb::Cursor<Document>) -> Result<Vec<Track>> {
    let mut tracks = Vec::new();
    while let Some(doc) = cursor.try_next().await.map_err(map_err)? {
        tracks.push(from_document(doc)?);
    }
    Ok(tracks)
}

fn ids(ids: &[TrackId]) -> Vec<&str> {
    ids.iter().map(TrackId::as_str).collect()
}

#[async_trait]
impl TrackStore for MongoStore {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    async fn upsert(&self, tracks: &[Track]) -> Result<UpsertStats> {
        let mut stats = UpsertStats::default();
        for batch in tracks.chunks(UPSERT_BATCH) {
            let updates = batch
                .iter()
                .map(|t| {
                    Ok(doc! { "q": { "_id": t.id.as_str() }, "u": to_document(t)?, "upsert": true })
                })
                .collect::<Result<Vec<Document>>>()?;
            let reply = self
                .db
                .run_command(doc! { "update": COLLECTION, "updates": updates, "ordered": false })
                .await
                .map_err(map_err)?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                return Err(StoreError::Backend(format!(
                    "MongoDB rejected {} of {} writes: {:?}",
                    errors.len(),
                    batch.len(),
                    errors.first()
                )));
            }
            let upserted = reply.get_array("upserted").map_or(0, Vec::len);
            let matched = reply
                .get_i32("n")
                .map(|n| n as usize)
                .unwrap_or(batch.len());
            stats.inserted += upserted;
            stats.replaced += matched.saturating_sub(upserted);
        }
        Ok(stats)
    }

    async fn delete(&self, track_ids: &[TrackId]) -> Result<usize> {
        let result = self
            .tracks
            .delete_many(doc! { "_id": { "$in": ids(track_ids) } })
            .await
            .map_err(map_err)?;
        Ok(result.deleted_count as usize)
    }

    async fn get_many(&self, track_ids: &[TrackId]) -> Result<Vec<Track>> {
        let cursor = self
            .tracks
            .find(doc! { "_id": { "$in": ids(track_ids) } })
            .await
            .map_err(map_err)?;
        decode_all(cursor).await
    }

    async fn scan(&self, after: Option<TrackId>, limit: usize) -> Result<Vec<Track>> {
        let filter = match after {
            Some(id) => doc! { "_id": { "$gt": id.as_str() } },
            None => doc! {},
        };
        let cursor = self
            .tracks
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit as i64)
            .batch_size(limit.min(10_000) as u32)
            .await
            .map_err(map_err)?;
        decode_all(cursor).await
    }

    async fn count(&self) -> Result<u64> {
        self.tracks.count_documents(doc! {}).await.map_err(map_err)
    }

    async fn ping(&self) -> Result<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_signals(&self, signals: &[(UserId, TrackId, TrackSignal)]) -> Result<()> {
        for batch in signals.chunks(UPSERT_BATCH) {
            let updates: Vec<Document> = batch
                .iter()
                .map(|(user, track, s)| {
                    // `$max` keeps the later time, so a write never undoes a
                    // newer one and a replay changes nothing.
                    let mut later = Document::new();
                    for (field, at) in [
                        ("played", s.played),
                        ("liked", s.liked),
                        ("skipped", s.skipped),
                        ("disliked", s.disliked),
                    ] {
                        if let Some(at) = at {
                            later.insert(field, at);
                        }
                    }
                    let mut update = doc! {
                        "$setOnInsert": { "user": user.as_str(), "track": track.as_str() },
                    };
                    if !later.is_empty() {
                        update.insert("$max", later);
                    }
                    doc! {
                        "q": { "_id": format!("{user} {track}") },
                        "u": update,
                        "upsert": true,
                    }
                })
                .collect();
            let reply = self
                .db
                .run_command(doc! { "update": SIGNALS, "updates": updates, "ordered": false })
                .await
                .map_err(map_err)?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                return Err(StoreError::Backend(format!(
                    "MongoDB rejected {} of {} signal writes: {:?}",
                    errors.len(),
                    batch.len(),
                    errors.first()
                )));
            }
        }
        Ok(())
    }

    async fn profile(&self, user: &UserId) -> Result<ListenerProfile> {
        let mut cursor = self
            .signals
            .find(doc! { "user": user.as_str() })
            .await
            .map_err(map_err)?;
        let mut profile = ListenerProfile::default();
        while let Some(doc) = cursor.try_next().await.map_err(map_err)? {
            let corrupt = |reason: String| StoreError::Corrupt {
                id: doc.get_str("_id").unwrap_or("?").to_string(),
                reason,
            };
            let track = doc
                .get_str("track")
                .map_err(|e| corrupt(e.to_string()))
                .and_then(|t| TrackId::parse(t).map_err(|e| corrupt(e.to_string())))?;
            let at = |field: &str| doc.get(field).and_then(Bson::as_i64);
            profile.tracks.insert(
                track,
                TrackSignal {
                    played: at("played"),
                    liked: at("liked"),
                    skipped: at("skipped"),
                    disliked: at("disliked"),
                },
            );
        }
        Ok(profile)
    }

    async fn put_job(&self, job: &JobRecord) -> Result<()> {
        let mut doc = bson::to_document(job)
            .map_err(|e| StoreError::Backend(format!("encoding job {}: {e}", job.id)))?;
        doc.insert("_id", job.id.as_str());
        self.jobs
            .replace_one(doc! { "_id": job.id.as_str() }, doc)
            .upsert(true)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        let found = self
            .jobs
            .find_one(doc! { "_id": id })
            .await
            .map_err(map_err)?;
        found.map(decode_job).transpose()
    }

    async fn jobs(&self, filter: &JobFilter, limit: usize) -> Result<Vec<JobRecord>> {
        let mut query = Document::new();
        if let Some(kind) = filter.kind {
            query.insert("kind", kind.as_str());
        }
        if let Some(state) = filter.state {
            query.insert(
                "state",
                bson::to_bson(&state).map_err(|e| StoreError::Backend(e.to_string()))?,
            );
        }
        if let Some(before) = &filter.before {
            query.insert("_id", doc! { "$lt": before.as_str() });
        }
        let mut cursor = self
            .jobs
            .find(query)
            .sort(doc! { "_id": -1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(map_err)?;
        let mut jobs = Vec::new();
        while let Some(doc) = cursor.try_next().await.map_err(map_err)? {
            jobs.push(decode_job(doc)?);
        }
        Ok(jobs)
    }

    fn serves_metadata(&self) -> bool {
        true
    }

    async fn genre_profiles(&self, level: GenreLevel) -> Result<Option<Vec<GenreProfile>>> {
        self.aggregate_profiles(level).await.map(Some)
    }

    async fn genre_trends(&self, query: &TrendQuery) -> Result<Option<Vec<YearTrend>>> {
        self.aggregate_trends(query).await.map(Some)
    }
}
