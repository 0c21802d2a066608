//! The tracks topic's handler: batches of upserts and deletes applied
//! through the [`TrackService`], so a track is stored before it is
//! searchable and searchable before its offset is committed.
//!
//! # Failures
//! - A poison message (not JSON, off-schema, out-of-range features, key and
//!   id differing) goes to the dead-letter topic; the batch goes on.
//! - The store being unavailable is retried with backoff for as long as it
//!   lasts; nothing is committed meanwhile.
//! - Any other write error is retried a few times, then the batch is
//!   applied track by track and a track the store keeps refusing becomes a
//!   dead letter, so one bad record cannot stop its partition for ever.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::message::{Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use super::consumer::BatchHandler;
use super::dead_letter::{DeadLetters, Reason};
use super::message::{decode, Change};
use super::retry::{retry, until_done, Outcome};
use crate::domain::{Track, TrackId};
use crate::ingest::status::{AppliedBatch, IngestStatus};
use crate::ingest::Origin;
use crate::service::TrackService;

/// Applies the tracks topic's messages.
pub(super) struct TrackHandler {
    pub service: Arc<TrackService>,
    pub status: Arc<IngestStatus>,
    pub dead_letters: DeadLetters,
}

impl BatchHandler for TrackHandler {
    async fn apply(
        &mut self,
        batch: &[OwnedMessage],
        next_offsets: &BTreeMap<i32, i64>,
        shutdown: &CancellationToken,
    ) -> bool {
        // The last change per track wins: a partition keeps a key's
        // messages in order, and only the final state must be applied.
        let mut changes: HashMap<TrackId, Change> = HashMap::with_capacity(batch.len());
        for message in batch {
            match decode(message.key(), message.payload()) {
                Ok(change) => {
                    changes.insert(change.id(), change);
                }
                Err(poison) => {
                    let reason = Reason {
                        kind: poison.kind(),
                        message: &poison.to_string(),
                    };
                    if !self.dead_letter(message, &reason, shutdown).await {
                        return false;
                    }
                }
            }
        }
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for change in changes.into_values() {
            match change {
                Change::Upsert(track) => upserts.push(*track),
                Change::Delete(id) => deletes.push(id),
            }
        }
        let (upserted, deleted) = (upserts.len() as u64, deletes.len() as u64);
        if !upserts.is_empty() && !self.write_upserts(upserts, batch, shutdown).await {
            return false;
        }
        let service = &self.service;
        if !deletes.is_empty()
            && !until_done(shutdown, "deleting tracks", || {
                service.delete_from(deletes.clone(), Origin::Stream)
            })
            .await
        {
            return false;
        }
        let searchable = SystemTime::now();
        let freshness = batch
            .iter()
            .filter_map(|m| m.timestamp().to_millis())
            .map(|millis| {
                let sent = UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64);
                searchable.duration_since(sent).unwrap_or_default()
            })
            .collect();
        self.status.record_batch(AppliedBatch {
            messages: batch.len() as u64,
            upserts: upserted,
            deletes: deleted,
            next_offsets: next_offsets.clone(),
            freshness,
        });
        true
    }
}

impl TrackHandler {
    /// Writes upserts, retrying as the module documents. Returns `false` on
    /// shutdown.
    async fn write_upserts(
        &self,
        tracks: Vec<Track>,
        batch: &[OwnedMessage],
        shutdown: &CancellationToken,
    ) -> bool {
        let service = &self.service;
        match retry(shutdown, "writing tracks", || {
            service.upsert_from(tracks.clone(), Origin::Stream)
        })
        .await
        {
            Outcome::Done => true,
            Outcome::Shutdown => false,
            Outcome::Refused(_) => {
                // One record spoils the batch: find it by writing one by one.
                for track in tracks {
                    let id = track.id;
                    let one = || service.upsert_from(vec![track.clone()], Origin::Stream);
                    match retry(shutdown, "writing a track", one).await {
                        Outcome::Done => {}
                        Outcome::Shutdown => return false,
                        Outcome::Refused(e) => {
                            let Some(message) = batch
                                .iter()
                                .rev()
                                .find(|m| m.key().is_some_and(|k| k == id.as_str().as_bytes()))
                            else {
                                continue;
                            };
                            let reason = Reason {
                                kind: "store refused",
                                message: &format!("the store refused the track: {e}"),
                            };
                            if !self.dead_letter(message, &reason, shutdown).await {
                                return false;
                            }
                        }
                    }
                }
                true
            }
        }
    }

    /// Sends a message to the dead-letter topic, retrying until the broker
    /// takes it. Returns `false` on shutdown.
    async fn dead_letter(
        &self,
        message: &OwnedMessage,
        reason: &Reason<'_>,
        shutdown: &CancellationToken,
    ) -> bool {
        let taken = self.dead_letters.deliver(message, reason, shutdown).await;
        if taken {
            self.status.record_dead_letter(reason.kind);
        }
        taken
    }
}
