//! The one consumer loop behind both topics: gather a batch, hand it to the
//! topic's [`BatchHandler`], and store the batch's offsets for commit only
//! once the handler has applied it.
//!
//! # Delivery
//! At-least-once. The client commits automatically, but only offsets this
//! loop has *stored*, and it stores a batch's offsets only after the
//! handler succeeded (its writes done, poison messages dead-lettered). A
//! crash or a new assignment in between replays the batch, which the handlers
//! make harmless: an upsert replaces a track under its id with the same
//! value, a delete of an absent track is a no-op, folding a listener's
//! event twice changes nothing.
//!
//! A broker outage is librdkafka's to ride out (it reconnects by itself);
//! the client context reports it on `/readyz` meanwhile.
//!
//! # Partitions
//! Every partition of the topic, assigned by the consumer itself
//! ([`super::partitions`]): each group has one member, and the broker's
//! group protocol only delayed restarts.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::client::{client_config, IngestContext};
use super::KafkaError;
use crate::config::KafkaSettings;
use crate::ingest::IngestStatus;

/// Longest wait for the final commit and the client's close at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a topic does with its messages.
pub(super) trait BatchHandler: Send + 'static {
    /// Applies `batch`, whose offsets end (per partition) before
    /// `next_offsets`. Returns `false` when shutdown interrupted it; then
    /// nothing of the batch is committed and it is replayed after the
    /// restart.
    fn apply(
        &mut self,
        batch: &[OwnedMessage],
        next_offsets: &BTreeMap<i32, i64>,
        shutdown: &CancellationToken,
    ) -> impl Future<Output = bool> + Send;
}

/// Which topic a consumer reads, and as whom.
pub(super) struct Subscription<'a> {
    /// What the topic holds, for the log.
    pub what: &'static str,
    pub topic: &'a str,
    pub group: &'a str,
    /// The client id brokers' logs and metrics know the consumer by.
    pub client_id: &'a str,
    /// Whether the consumer reports its partitions' ends (the lag that
    /// `ingestStatus` shows) from the client's statistics.
    pub reports_lag: bool,
    /// Whether each batch's offsets are committed (synchronously) before
    /// the next batch is read, rather than in the background: for a
    /// handler whose output is named after a batch's first offset (the
    /// lake), so that a replay starts exactly where a batch did; such a
    /// consumer also never hands its handler a message this process has
    /// applied already (see [`BatchConsumer::unseen`]).
    pub commit_each_batch: bool,
}

/// A consumer of one topic, applying batches through its handler.
pub(super) struct BatchConsumer<H> {
    /// Shared with the task that keeps every partition assigned.
    consumer: Arc<StreamConsumer<IngestContext>>,
    handler: H,
    what: &'static str,
    topic: String,
    commit_each_batch: bool,
    batch_max: usize,
    batch_wait: Duration,
    /// Per partition, the offset after the last applied message.
    applied: BTreeMap<i32, i64>,
}

impl<H: BatchHandler> BatchConsumer<H> {
    /// Creates the consumer; [`BatchConsumer::run`] assigns it the topic's
    /// partitions. Connecting happens in the background: an unreachable
    /// broker is not an error here.
    ///
    /// # Errors
    /// Invalid client settings.
    pub fn new(
        settings: &KafkaSettings,
        subscription: Subscription<'_>,
        status: Arc<IngestStatus>,
        handler: H,
    ) -> Result<Self, KafkaError> {
        let context = IngestContext {
            status,
            lag_of: subscription
                .reports_lag
                .then(|| subscription.topic.to_string()),
        };
        let statistics = if subscription.reports_lag {
            "1000"
        } else {
            "0"
        };
        let tuning = [
            ("client.id", subscription.client_id),
            ("group.id", subscription.group),
            // A new group (a new replica) reads the topic from its start.
            ("auto.offset.reset", "earliest"),
            // Commit in the background, but only what `store_offsets` says
            // has been applied.
            ("enable.auto.commit", "true"),
            ("enable.auto.offset.store", "false"),
            ("auto.commit.interval.ms", "1000"),
            ("statistics.interval.ms", statistics),
            // A broker may hold a fetch this long when the partition has
            // nothing new; Kafka answers as soon as data arrives, but not
            // every Kafka-API broker does, and freshness is the point here.
            ("fetch.wait.max.ms", "100"),
        ];
        let consumer: StreamConsumer<IngestContext> =
            client_config(settings, &tuning)?.create_with_context(context)?;
        Ok(BatchConsumer {
            consumer: Arc::new(consumer),
            handler,
            what: subscription.what,
            topic: subscription.topic.to_string(),
            commit_each_batch: subscription.commit_each_batch,
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
        tracing::info!(
            topic = self.topic.as_str(),
            "consuming {} from Kafka",
            self.what
        );
        let assigning = CancellationToken::new();
        let assigner = tokio::spawn(super::partitions::keep_assigned(
            Arc::clone(&self.consumer),
            self.topic.clone(),
            assigning.clone(),
        ));
        loop {
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                batch = next_batch(&self.consumer, self.batch_max, self.batch_wait) => batch,
            };
            let batch = self.unseen(batch);
            if batch.is_empty() {
                continue;
            }
            let next_offsets = next_offsets(&batch);
            if !self.handler.apply(&batch, &next_offsets, &shutdown).await {
                break;
            }
            self.store_offsets(&next_offsets);
            if self.commit_each_batch && !self.commit_now(&shutdown).await {
                break;
            }
        }
        // The assigner's copy goes first, so that `close` holds the last.
        assigning.cancel();
        let _ = assigner.await;
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

    /// Drops the messages a batch holds twice, and with `commit_each_batch`
    /// those this process has already applied.
    ///
    /// A new assignment (partitions added to the topic, see
    /// [`super::partitions`]) makes the client fetch again from the last
    /// *committed* offset: messages already fetched come a second time, in
    /// the same batch or the next. The catalog's handlers
    /// take a replay as a no-op, but the lake names a file after its
    /// batch's first offset, and a batch holding a message twice would
    /// write it twice. Offsets only grow within a partition, so a message
    /// at or below one already seen is a replay. Only within a batch for
    /// the catalog: across batches a topic deleted and created again also
    /// starts its offsets over, and the catalog must not skip those.
    fn unseen(&self, batch: Vec<OwnedMessage>) -> Vec<OwnedMessage> {
        let mut next: BTreeMap<i32, i64> = if self.commit_each_batch {
            self.applied.clone()
        } else {
            BTreeMap::new()
        };
        let before = batch.len();
        let fresh: Vec<OwnedMessage> = batch
            .into_iter()
            .filter(|m| {
                let floor = next.entry(m.partition()).or_insert(0);
                let keep = m.offset() >= *floor;
                if keep {
                    *floor = m.offset() + 1;
                }
                keep
            })
            .collect();
        if fresh.len() < before {
            tracing::debug!(
                topic = self.topic.as_str(),
                replayed = before - fresh.len(),
                "dropped messages fetched again"
            );
        }
        fresh
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

    /// Commits the stored offsets now, retrying until the broker takes
    /// them; returns `false` on shutdown.
    async fn commit_now(&self, shutdown: &CancellationToken) -> bool {
        let mut backoff = super::retry::Backoff::default();
        loop {
            match self.consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => return true,
                // Nothing stored since the last commit.
                Err(rdkafka::error::KafkaError::ConsumerCommit(
                    rdkafka::types::RDKafkaErrorCode::NoOffset,
                )) => return true,
                Err(e) => {
                    tracing::warn!(error = %e, topic = self.topic.as_str(), "committing offsets failed; retrying");
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
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
            Ok(()) => tracing::info!(
                topic = self.topic.as_str(),
                partitions = tpl.count(),
                "committed applied offsets"
            ),
            Err(e) => tracing::warn!(error = %e, "committing offsets at shutdown failed"),
        }
    }
}

/// Per partition, the offset after the batch's last message.
fn next_offsets(batch: &[OwnedMessage]) -> BTreeMap<i32, i64> {
    let mut next_offsets = BTreeMap::new();
    for message in batch {
        let next = next_offsets.entry(message.partition()).or_insert(0);
        *next = (message.offset() + 1).max(*next);
    }
    next_offsets
}

/// Waits for a first message, then gathers more for up to `wait` or until
/// the batch holds `max`.
async fn next_batch<C: rdkafka::consumer::ConsumerContext + 'static>(
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
