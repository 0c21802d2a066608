//! Accepted changes as sinks record them, and the port a sink implements.
//!
//! The service publishes every write it accepts from imports and the API
//! as a [`ChangeBatch`]; the Kafka adapter builds batches from the topics
//! it reads (with each message's partition and offset). Both hand them to
//! a [`ChangeSink`] (the lake), which neither adapter knows more of than
//! this trait: adapters do not import each other.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::domain::{Interaction, Track, TrackId};

/// Where an accepted change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// `timbre import` or `serve --import`.
    Import,
    /// `timbre extract` (the Spotify Web API).
    Extract,
    /// A GraphQL mutation.
    Api,
    /// A Kafka topic.
    Stream,
}

impl Origin {
    /// The origin's name in the lake's `source` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Import => "import",
            Origin::Extract => "extract",
            Origin::Api => "api",
            Origin::Stream => "kafka",
        }
    }
}

/// One change of one track: an upsert carries the whole track, a delete
/// only its id.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackChange {
    pub id: TrackId,
    /// The track's new state; `None` for a delete.
    pub track: Option<Arc<Track>>,
    /// When the change was accepted (a message's timestamp, for Kafka), ms
    /// since the epoch.
    pub at_ms: i64,
    /// The Kafka partition and offset it came from.
    pub position: Option<(i32, i64)>,
}

/// What became of one arriving record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Decoded and applied.
    Applied,
    /// Sent to a dead-letter topic.
    DeadLettered,
    /// Refused by an import (reported with its line).
    Rejected,
}

impl Outcome {
    /// The outcome's name in the lake.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One record's arrival, for the lake's ingest events.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestEvent {
    pub at_ms: i64,
    /// The topic, or the import's source.
    pub source: String,
    pub outcome: Outcome,
    /// A stable label of the reason (`schema`, `key`, …), when not applied.
    pub kind: Option<String>,
    /// The reason, for people (at most a short prefix of the record).
    pub reason: Option<String>,
    /// The track or listener the record was about, where known.
    pub subject: Option<String>,
    /// The Kafka partition and offset, for messages.
    pub position: Option<(i32, i64)>,
}

/// Changes written together.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    /// Names the batch's files. The same records replayed (a Kafka
    /// partition re-read from its committed offset) get the same key, so
    /// a rewrite replaces a file instead of adding a duplicate; `None`
    /// gets a fresh unique name.
    pub key: Option<String>,
    pub origin: Origin,
    pub tracks: Vec<TrackChange>,
    pub interactions: Vec<Interaction>,
    /// The Kafka partition and offset of each interaction, when they came
    /// from the topic (else empty).
    pub interaction_positions: Vec<(i32, i64)>,
    pub events: Vec<IngestEvent>,
}

impl ChangeBatch {
    /// An empty batch.
    pub fn new(origin: Origin, key: Option<String>) -> Self {
        ChangeBatch {
            key,
            origin,
            tracks: Vec::new(),
            interactions: Vec::new(),
            interaction_positions: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Rows the batch holds, over every kind.
    pub fn len(&self) -> usize {
        self.tracks.len() + self.interactions.len() + self.events.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A sink could not take a batch (its storage is unreachable, say); the
/// caller keeps the batch and tries again.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// What a sink wrote for one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    pub files: u64,
    /// Rows by table.
    pub rows: Vec<(&'static str, u64)>,
}

/// Where accepted changes are recorded beside the store: the lake.
#[async_trait]
pub trait ChangeSink: Send + Sync {
    /// Writes the batch durably: when this returns `Ok`, every row is in
    /// files a reader can see, and the caller may commit what it read.
    ///
    /// # Errors
    /// [`SinkError`] when the storage failed; nothing a reader sees was
    /// half-written, and writing the same batch (same key) again is safe.
    async fn write(&self, batch: &ChangeBatch) -> Result<Written, SinkError>;
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
