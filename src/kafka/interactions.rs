//! The interactions topic's handler: listeners' events from
//! `timbre.interactions` into the store, where `recommendForUser` reads
//! profiles.
//!
//! Replays are harmless because folding an event into a profile is
//! idempotent (see [`crate::domain::listener`]). The consumer commits in a
//! group of its own, `<group_id>.interactions`, apart from the tracks
//! topic's.
//!
//! Events for tracks the catalog does not hold (yet) are stored all the
//! same: the two topics are not ordered with each other, and a profile
//! entry for an unknown track is simply ignored until the track arrives.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::message::{Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use super::consumer::BatchHandler;
use super::dead_letter::{DeadLetters, Reason};
use super::interaction_message::decode;
use super::retry::until_done;
use crate::domain::Interaction;
use crate::ingest::{IngestStatus, Origin};
use crate::service::TrackService;

/// Applies the interactions topic's messages.
pub(super) struct InteractionHandler {
    pub service: Arc<TrackService>,
    pub status: Arc<IngestStatus>,
    pub dead_letters: DeadLetters,
}

impl BatchHandler for InteractionHandler {
    async fn apply(
        &mut self,
        batch: &[OwnedMessage],
        _next_offsets: &BTreeMap<i32, i64>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut events: Vec<Interaction> = Vec::with_capacity(batch.len());
        for message in batch {
            match decode(message.payload(), message.timestamp().to_millis()) {
                Ok(event) => events.push(event),
                Err(poison) => {
                    let text = poison.to_string();
                    let reason = Reason {
                        kind: poison.kind(),
                        message: &text,
                    };
                    if !self.dead_letters.deliver(message, &reason, shutdown).await {
                        return false;
                    }
                    self.status.record_interaction_dead_letter();
                }
            }
        }
        let service = &self.service;
        // Signals carry nothing a store could refuse for good; keep trying
        // rather than lose listeners' events.
        if !events.is_empty()
            && !until_done(shutdown, "storing interactions", || {
                service.record_interactions_from(&events, Origin::Stream)
            })
            .await
        {
            return false;
        }
        self.status.record_interactions(events.len() as u64);
        true
    }
}
