//! The interactions consumer: listeners' events from `timbre.interactions`
//! into the store, where `recommendForUser` reads profiles.
//!
//! Delivery is at-least-once, like the tracks topic: a batch's offsets are
//! stored for commit only after the store took the batch (or a poison
//! message went to `timbre.interactions.dlq`). Replays are harmless because
//! folding an event into a profile is idempotent (see
//! [`crate::domain::listener`]). The consumer uses its own group,
//! `<group_id>.interactions`, so that the tracks topic's partitions are
//! never rebalanced because of this one.
//!
//! Events for tracks the catalog does not hold (yet) are stored all the
//! same: the two topics are not ordered with each other, and a profile
//! entry for an unknown track is simply ignored until the track arrives.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, DefaultConsumerContext, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use super::client::client_config;
use super::consumer::{next_batch, retry, Outcome};
use super::dead_letter::{DeadLetters, Reason};
use super::interaction_message::decode;
use super::status::IngestStatus;
use super::{KafkaError, KafkaSettings};
use crate::domain::Interaction;
use crate::service::TrackService;

/// Consumes the interactions topic into the store.
pub struct InteractionConsumer {
    consumer: StreamConsumer<DefaultConsumerContext>,
    dead_letters: DeadLetters,
    service: Arc<TrackService>,
    status: Arc<IngestStatus>,
    topic: String,
    batch_max: usize,
    batch_wait: Duration,
}

impl InteractionConsumer {
    /// Creates the consumer and subscribes to the interactions topic.
    ///
    /// # Errors
    /// Invalid client settings.
    pub fn new(
        settings: &KafkaSettings,
        service: Arc<TrackService>,
        status: Arc<IngestStatus>,
    ) -> Result<Self, KafkaError> {
        let group = format!("{}.interactions", settings.group_id);
        let tuning = [
            // Its own client id, so broker logs and metrics tell the two
            // consumers apart.
            ("client.id", "timbre-interactions"),
            ("group.id", group.as_str()),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "true"),
            ("enable.auto.offset.store", "false"),
            ("auto.commit.interval.ms", "1000"),
            ("fetch.wait.max.ms", "100"),
        ];
        let consumer: StreamConsumer<DefaultConsumerContext> =
            client_config(settings, &tuning)?.create()?;
        consumer.subscribe(&[&settings.interactions_topic])?;
        Ok(InteractionConsumer {
            consumer,
            dead_letters: DeadLetters::to(settings, &settings.interactions_dead_letter_topic)?,
            service,
            status,
            topic: settings.interactions_topic.clone(),
            batch_max: settings.batch_max,
            batch_wait: Duration::from_millis(settings.batch_wait_ms),
        })
    }

    /// Consumes until `shutdown`, then commits what was applied.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(
            topic = self.topic.as_str(),
            "consuming listener interactions from Kafka"
        );
        loop {
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                batch = next_batch(&self.consumer, self.batch_max, self.batch_wait) => batch,
            };
            if !self.apply(&batch, &shutdown).await {
                break;
            }
        }
        // Commit on a thread of its own: it blocks inside librdkafka.
        let consumer = self.consumer;
        let closing = tokio::task::spawn_blocking(move || {
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(error = %e, "committing interaction offsets at shutdown");
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(10), closing).await;
    }

    /// Stores a batch's events and its offsets. Returns `false` when
    /// shutdown interrupted it (then nothing of it is committed).
    async fn apply(&self, batch: &[OwnedMessage], shutdown: &CancellationToken) -> bool {
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
                    if !self.dead_letter(message, &reason, shutdown).await {
                        return false;
                    }
                }
            }
        }
        if !events.is_empty() {
            let service = &self.service;
            let write = || service.record_interactions(&events);
            loop {
                match retry(shutdown, "storing interactions", write).await {
                    Outcome::Done => break,
                    Outcome::Shutdown => return false,
                    // Signals carry nothing a store could refuse for good;
                    // keep trying rather than lose listeners' events.
                    Outcome::Refused(_) => {}
                }
            }
        }
        for message in batch {
            if let Err(e) = self.consumer.store_offset(
                message.topic(),
                message.partition(),
                message.offset() + 1,
            ) {
                tracing::debug!(error = %e, "storing an interaction offset failed");
            }
        }
        self.status.record_interactions(events.len() as u64);
        true
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
            self.status.record_interaction_dead_letter();
        }
        taken
    }
}
