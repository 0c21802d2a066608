//! The lake's own consumers of both topics: every message read becomes
//! rows (a track change or an interaction, and an ingest event saying
//! whether it was applied or dead-lettered and why), written through the
//! [`ChangeSink`] before its offset is committed.
//!
//! This is what makes the lake complete however the server stops: the
//! offsets of the lake's groups (`<group_id>.lake`, `<group_id>.lake.interactions`) advance only past
//! messages whose files exist. A replay after a crash starts at the
//! committed offset, and each file is named after its partition and first
//! offset, so the replay rewrites the same files instead of adding
//! duplicates. The commit is synchronous after every batch, so a file's
//! first offset is always where a replay starts.
//!
//! A lake outage stops only this consumer (it retries the batch with
//! backoff and reports on `/readyz`): the catalog's consumers, and so
//! ingest and queries, go on.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::message::{Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use super::consumer::BatchHandler;
use super::retry::Backoff;
use super::{interaction_message, message};
use crate::ingest::changes::{now_ms, Outcome};
use crate::ingest::{ChangeBatch, ChangeSink, IngestEvent, Origin, SinkStatus, TrackChange};

/// Which topic a lake consumer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feed {
    Tracks,
    Interactions,
}

/// Where the lake consumers write, and how they batch.
#[derive(Clone)]
pub struct LakeFeed {
    pub sink: Arc<dyn ChangeSink>,
    pub status: Arc<SinkStatus>,
    /// Most messages per batch (and so per file and partition).
    pub max_rows: usize,
    /// How long a batch gathers messages, in milliseconds.
    pub wait_ms: u64,
}

/// Writes a topic's messages to the lake.
pub(super) struct LakeHandler {
    pub feed: LakeFeed,
    pub kind: Feed,
}

impl BatchHandler for LakeHandler {
    async fn apply(
        &mut self,
        batch: &[OwnedMessage],
        _next_offsets: &BTreeMap<i32, i64>,
        shutdown: &CancellationToken,
    ) -> bool {
        let batches = self.rows(batch);
        let mut backoff = Backoff::default();
        for change in &batches {
            loop {
                match self.feed.sink.write(change).await {
                    Ok(written) => {
                        self.feed.status.wrote(written.files, &written.rows);
                        break;
                    }
                    Err(e) => {
                        self.feed.status.failed(&e.to_string());
                        if !backoff.wait(shutdown).await {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }
}

impl LakeHandler {
    /// One batch of rows per partition, keyed by the partition and its
    /// first offset.
    fn rows(&self, batch: &[OwnedMessage]) -> Vec<ChangeBatch> {
        let mut by_partition: BTreeMap<i32, ChangeBatch> = BTreeMap::new();
        for m in batch {
            let out = by_partition.entry(m.partition()).or_insert_with(|| {
                let key = format!("kafka-{}-p{}-o{:020}", m.topic(), m.partition(), m.offset());
                ChangeBatch::new(Origin::Stream, Some(key))
            });
            let at_ms = m.timestamp().to_millis().unwrap_or_else(now_ms);
            let position = Some((m.partition(), m.offset()));
            let mut event = IngestEvent {
                at_ms,
                source: m.topic().to_string(),
                outcome: Outcome::Applied,
                kind: None,
                reason: None,
                subject: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                position,
            };
            let refused = match self.kind {
                Feed::Tracks => match message::decode(m.key(), m.payload()) {
                    Ok(change) => {
                        let (id, track) = match change {
                            message::Change::Upsert(track) => (track.id, Some(Arc::new(*track))),
                            message::Change::Delete(id) => (id, None),
                        };
                        out.tracks.push(TrackChange {
                            id,
                            track,
                            at_ms,
                            position,
                        });
                        None
                    }
                    Err(poison) => Some((poison.kind(), poison.to_string())),
                },
                Feed::Interactions => {
                    match interaction_message::decode(m.payload(), m.timestamp().to_millis()) {
                        Ok(interaction) => {
                            event.subject = Some(interaction.user.to_string());
                            out.interactions.push(interaction);
                            out.interaction_positions.push((m.partition(), m.offset()));
                            None
                        }
                        Err(poison) => Some((poison.kind(), poison.to_string())),
                    }
                }
            };
            if let Some((kind, reason)) = refused {
                event.outcome = Outcome::DeadLettered;
                event.kind = Some(kind.to_string());
                event.reason = Some(reason);
            }
            out.events.push(event);
        }
        by_partition.into_values().collect()
    }
}
