//! The consumer task: reads the tracks topic in batches and applies them
//! through the [`TrackService`], so a track is stored before it is
//! searchable and searchable before its offset is committed.
//!
//! # Delivery
//! At-least-once. The client commits automatically, but only offsets this
//! task has *stored*, and it stores a batch's offsets only after the store
//! write and the index insert both succeeded (or the message went to the
//! dead-letter topic). A crash or a rebalance in between replays the batch,
//! which changes nothing: an upsert replaces the track under its id with
//! the same value, a delete of an absent track is a no-op.
//!
//! # Failures
//! - A poison message (not JSON, off-schema, out-of-range features, key and
//!   id differing) goes to the dead-letter topic; the batch goes on.
//! - The store being unavailable is retried with exponential backoff (up to
//!   [`MAX_BACKOFF`]) for as long as it lasts; nothing is committed
//!   meanwhile.
//! - Any other write error is retried a few times, then the batch is
//!   applied track by track and a track the store keeps refusing becomes a
//!   dead letter, so one bad record cannot stop its partition for ever.
//! - A broker outage is librdkafka's to ride out (it reconnects by itself);
//!   the client context reports it on `/readyz` meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::client::{client_config, IngestContext};
use super::dead_letter::{DeadLetters, Reason};
use super::message::{decode, Change};
use super::status::{AppliedBatch, IngestStatus};
use super::{KafkaError, KafkaSettings};
use crate::domain::{Track, TrackId};
use crate::error::Error;
use crate::service::TrackService;
use crate::store::StoreError;

/// Longest wait between two attempts of a failing write.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Longest wait for the final commit and the client's close at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts of a batch write failing with an error other than
/// unavailability before its tracks are written one by one.
const ATTEMPTS: u32 = 3;

/// Consumes the tracks topic into the service.
pub struct TrackConsumer {
    consumer: StreamConsumer<IngestContext>,
    dead_letters: DeadLetters,
    service: Arc<TrackService>,
    status: Arc<IngestStatus>,
    topic: String,
    batch_max: usize,
    batch_wait: Duration,
    /// Per partition, the offset after the last applied message.
    applied: BTreeMap<i32, i64>,
}

impl TrackConsumer {
    /// Creates the consumer and subscribes to the topic. Connecting happens
    /// in the background: an unreachable broker is not an error here.
    ///
    /// # Errors
    /// Invalid client settings.
    pub fn new(
        settings: &KafkaSettings,
        service: Arc<TrackService>,
        status: Arc<IngestStatus>,
    ) -> Result<Self, KafkaError> {
        let context = IngestContext {
            status: Arc::clone(&status),
            topic: settings.topic.clone(),
        };
        let tuning = [
            ("group.id", settings.group_id.as_str()),
            // A new group (a new replica) reads the topic from its start.
            ("auto.offset.reset", "earliest"),
            // Commit in the background, but only what `store_offsets` says
            // has been applied.
            ("enable.auto.commit", "true"),
            ("enable.auto.offset.store", "false"),
            ("auto.commit.interval.ms", "1000"),
            ("statistics.interval.ms", "1000"),
            // A broker may hold a fetch this long when the partition has
            // nothing new; Kafka answers as soon as data arrives, but not
            // every Kafka-API broker does, and freshness is the point here.
            ("fetch.wait.max.ms", "100"),
        ];
        let consumer: StreamConsumer<IngestContext> =
            client_config(settings, &tuning)?.create_with_context(context)?;
        consumer.subscribe(&[&settings.topic])?;
        Ok(TrackConsumer {
            consumer,
            dead_letters: DeadLetters::new(settings)?,
            service,
            status,
            topic: settings.topic.clone(),
            batch_max: settings.batch_max,
            batch_wait: Duration::from_millis(settings.batch_wait_ms),
            applied: BTreeMap::new(),
        })
    }

    /// Consumes until `shutdown` is cancelled, then commits what was
    /// applied. A batch being applied when shutdown comes is finished first
    /// unless it is waiting on an unavailable store (then it is replayed
    /// after the restart).
    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::info!(topic = self.topic.as_str(), "consuming tracks from Kafka");
        loop {
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                batch = self.next_batch() => batch,
            };
            if !self.apply(batch, &shutdown).await {
                break;
            }
        }
        self.close().await;
    }

    /// Commits the applied offsets and closes the client (leaving the
    /// group), on a thread of its own: both block inside librdkafka, and
    /// with the broker gone they can block for long. Waits up to
    /// [`CLOSE_TIMEOUT`]; after that the thread is left to finish alone, and
    /// what was not committed is replayed at the next start.
    async fn close(self) {
        let (done, closed) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("kafka-close".into())
            .spawn(move || {
                self.commit_applied();
                drop(self);
                let _ = done.send(());
            });
        if spawned.is_ok() && tokio::time::timeout(CLOSE_TIMEOUT, closed).await.is_err() {
            tracing::warn!("closing the Kafka consumer takes too long; leaving it behind");
        }
    }

    async fn next_batch(&self) -> Vec<OwnedMessage> {
        next_batch(&self.consumer, self.batch_max, self.batch_wait).await
    }

    /// Applies a batch and stores its offsets for commit. Returns `false`
    /// when shutdown interrupted it (then nothing of it is committed).
    async fn apply(&mut self, batch: Vec<OwnedMessage>, shutdown: &CancellationToken) -> bool {
        // The last change per track wins: a partition keeps a key's
        // messages in order, and only the final state must be applied.
        let mut changes: HashMap<TrackId, Change> = HashMap::with_capacity(batch.len());
        for message in &batch {
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
        if !upserts.is_empty() && !self.write_upserts(upserts, &batch, shutdown).await {
            return false;
        }
        if !deletes.is_empty() && !self.write_deletes(deletes, shutdown).await {
            return false;
        }
        let searchable = SystemTime::now();
        let mut next_offsets = BTreeMap::new();
        let mut freshness = Vec::with_capacity(batch.len());
        for message in &batch {
            let next = next_offsets.entry(message.partition()).or_insert(0);
            *next = (message.offset() + 1).max(*next);
            if let Some(millis) = message.timestamp().to_millis() {
                let sent = UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64);
                freshness.push(searchable.duration_since(sent).unwrap_or_default());
            }
        }
        self.store_offsets(&next_offsets);
        self.status.record_batch(AppliedBatch {
            messages: batch.len() as u64,
            upserts: upserted,
            deletes: deleted,
            next_offsets,
            freshness,
        });
        true
    }

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
            service.upsert(tracks.clone())
        })
        .await
        {
            Outcome::Done => true,
            Outcome::Shutdown => false,
            Outcome::Refused(_) => {
                // One record spoils the batch: find it by writing one by one.
                for track in tracks {
                    let id = track.id;
                    let one = || service.upsert(vec![track.clone()]);
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

    /// Writes deletes, retrying as the module documents. Returns `false` on
    /// shutdown.
    async fn write_deletes(&self, ids: Vec<TrackId>, shutdown: &CancellationToken) -> bool {
        let service = &self.service;
        loop {
            match retry(shutdown, "deleting tracks", || service.delete(ids.clone())).await {
                Outcome::Done => return true,
                Outcome::Shutdown => return false,
                // A delete carries nothing that a store could refuse; keep
                // trying rather than lose it.
                Outcome::Refused(_) => {}
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

    /// Marks offsets as applied, for the client's next automatic commit.
    fn store_offsets(&mut self, next_offsets: &BTreeMap<i32, i64>) {
        let mut tpl = TopicPartitionList::new();
        for (&partition, &next) in next_offsets {
            self.applied.insert(partition, next);
            if let Err(e) = tpl.add_partition_offset(&self.topic, partition, Offset::Offset(next)) {
                tracing::warn!(error = %e, partition, "bad offset");
            }
        }
        if let Err(e) = self.consumer.store_offsets(&tpl) {
            // The partition was revoked meanwhile: its new owner replays
            // from the last commit, which changes nothing.
            tracing::debug!(error = %e, "storing offsets failed");
        }
    }

    /// Commits the applied offsets of the partitions still assigned, and
    /// waits for the broker's answer.
    fn commit_applied(&self) {
        let assigned = self.consumer.assignment().unwrap_or_default();
        let mut tpl = TopicPartitionList::new();
        for e in assigned.elements() {
            if let Some(&next) = self.applied.get(&e.partition()) {
                let _ = tpl.add_partition_offset(e.topic(), e.partition(), Offset::Offset(next));
            }
        }
        if tpl.count() == 0 {
            return;
        }
        match self.consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => tracing::info!(partitions = tpl.count(), "committed applied offsets"),
            Err(e) => tracing::warn!(error = %e, "committing offsets at shutdown failed"),
        }
    }
}

/// Waits for a first message, then gathers more for up to `wait` or until
/// the batch holds `max`.
pub(super) async fn next_batch<C: rdkafka::consumer::ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    max: usize,
    wait: Duration,
) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    while batch.is_empty() {
        match consumer.recv().await {
            Ok(message) => batch.push(message.detach()),
            Err(e) => {
                tracing::warn!(error = %e, "receiving from Kafka failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let deadline = tokio::time::Instant::now() + wait;
    while batch.len() < max {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message.detach()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "receiving from Kafka failed");
                break;
            }
            Err(_) => break,
        }
    }
    batch
}

/// How a retried write ended.
pub(super) enum Outcome {
    Done,
    Shutdown,
    /// A non-transient error persisted through [`ATTEMPTS`] attempts.
    Refused(Error),
}

/// Runs `write` until it succeeds: for ever (with backoff) while the store
/// is unavailable, [`ATTEMPTS`] times for other errors.
pub(super) async fn retry<T, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut write: F,
) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::error::Result<T>>,
{
    let mut backoff = Backoff::default();
    let mut failures = 0;
    loop {
        match write().await {
            Ok(_) => return Outcome::Done,
            Err(e) => {
                let transient = matches!(e, Error::Store(StoreError::Unavailable(_)));
                if !transient {
                    failures += 1;
                    if failures >= ATTEMPTS {
                        return Outcome::Refused(e);
                    }
                }
                tracing::warn!(error = %e, "{what} failed; retrying");
                if !backoff.wait(shutdown).await {
                    return Outcome::Shutdown;
                }
            }
        }
    }
}

/// Exponential backoff from 100 ms to [`MAX_BACKOFF`].
pub(super) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(100))
    }
}

impl Backoff {
    /// Sleeps for the current delay and doubles it; returns `false` when
    /// shutdown came first.
    pub(super) async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}
