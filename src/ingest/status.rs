//! What the consumer has done, for `/readyz`, GraphQL's `ingestStatus` and
//! clients waiting until their message is searchable.
//!
//! Plain data behind a mutex, written by the consumer task and read by
//! request handlers; nothing here talks to Kafka, so it exists (disabled)
//! on a server without a broker too.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::watch;

/// Freshness is summarised over this many of the latest applied messages.
const FRESHNESS_WINDOW: usize = 10_000;

/// The consumer's state, shared with readers.
pub struct IngestStatus {
    enabled: bool,
    topic: String,
    group_id: String,
    inner: Mutex<Counters>,
    /// Per partition, the offset after the last applied message: a message
    /// at offset `o` is searchable once this is greater than `o`.
    applied: watch::Sender<BTreeMap<i32, i64>>,
}

#[derive(Default)]
struct Counters {
    broker_down_since: Option<SystemTime>,
    broker_error: Option<String>,
    messages: u64,
    upserts: u64,
    deletes: u64,
    batches: u64,
    dead_letters: BTreeMap<&'static str, u64>,
    interactions: u64,
    interaction_dead_letters: u64,
    last_applied_at: Option<SystemTime>,
    /// Latest freshness samples, oldest first.
    freshness: VecDeque<Duration>,
    /// Per partition, the broker's end of log (high watermark) and the
    /// group's committed offset, from the client's statistics.
    ends: BTreeMap<i32, PartitionEnds>,
}

/// One applied batch, as the consumer reports it.
#[derive(Debug, Default)]
pub struct AppliedBatch {
    /// Messages in the batch, poison ones included.
    pub messages: u64,
    pub upserts: u64,
    pub deletes: u64,
    /// Per partition, the offset after the batch's last message.
    pub next_offsets: BTreeMap<i32, i64>,
    /// Per message with a timestamp: from that timestamp to searchable.
    pub freshness: Vec<Duration>,
}

/// A copy of the status at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSnapshot {
    pub enabled: bool,
    pub topic: String,
    pub group_id: String,
    pub broker_up: bool,
    pub broker_down_since: Option<SystemTime>,
    pub broker_error: Option<String>,
    pub messages: u64,
    pub upserts: u64,
    pub deletes: u64,
    pub batches: u64,
    /// Dead-lettered messages by reason.
    pub dead_letters: BTreeMap<&'static str, u64>,
    /// Listener interactions stored from the interactions topic.
    pub interactions: u64,
    /// Interaction messages sent to their dead-letter topic.
    pub interaction_dead_letters: u64,
    pub last_applied_at: Option<SystemTime>,
    pub freshness: Option<Freshness>,
    /// Per partition: the next offset to apply and the lag behind the end.
    pub partitions: Vec<PartitionStatus>,
}

/// Time from a message's timestamp to searchable, over recent messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Freshness {
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// What the client's statistics say of one partition; `-1` where unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionEnds {
    pub high_watermark: i64,
    pub committed: i64,
}

/// One partition of the topic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartitionStatus {
    pub partition: i32,
    pub next_offset: Option<i64>,
    pub lag: Option<i64>,
}

impl IngestSnapshot {
    /// Total consumer lag over all partitions, where known.
    pub fn total_lag(&self) -> Option<i64> {
        let lags: Vec<i64> = self.partitions.iter().filter_map(|p| p.lag).collect();
        (!lags.is_empty()).then(|| lags.iter().sum())
    }

    /// Dead-lettered messages over all reasons.
    pub fn dead_lettered(&self) -> u64 {
        self.dead_letters.values().sum()
    }
}

impl IngestStatus {
    /// The status of a server that consumes `topic` in group `group_id`.
    pub fn new(topic: &str, group_id: &str) -> Self {
        Self::with(true, topic, group_id)
    }

    /// The status of a server without a broker.
    pub fn disabled() -> Self {
        Self::with(false, "", "")
    }

    fn with(enabled: bool, topic: &str, group_id: &str) -> Self {
        IngestStatus {
            enabled,
            topic: topic.into(),
            group_id: group_id.into(),
            inner: Mutex::default(),
            applied: watch::Sender::new(BTreeMap::new()),
        }
    }

    /// Whether the server consumes a topic at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records a batch made searchable.
    pub fn record_batch(&self, batch: AppliedBatch) {
        {
            let mut c = self.inner.lock();
            c.messages += batch.messages;
            c.upserts += batch.upserts;
            c.deletes += batch.deletes;
            c.batches += 1;
            c.last_applied_at = Some(SystemTime::now());
            for f in batch.freshness {
                if c.freshness.len() == FRESHNESS_WINDOW {
                    c.freshness.pop_front();
                }
                c.freshness.push_back(f);
            }
        }
        self.applied.send_modify(|applied| {
            for (partition, next) in batch.next_offsets {
                let entry = applied.entry(partition).or_insert(next);
                *entry = (*entry).max(next);
            }
        });
    }

    /// Records a message sent to the dead-letter topic.
    pub fn record_dead_letter(&self, kind: &'static str) {
        *self.inner.lock().dead_letters.entry(kind).or_default() += 1;
    }

    /// Records interactions stored from the interactions topic.
    pub fn record_interactions(&self, stored: u64) {
        self.inner.lock().interactions += stored;
    }

    /// Records an interaction message sent to its dead-letter topic.
    pub fn record_interaction_dead_letter(&self) {
        self.inner.lock().interaction_dead_letters += 1;
    }

    /// Records that no broker can be reached (from the first failure on).
    pub fn broker_down(&self, error: String) {
        let mut c = self.inner.lock();
        if c.broker_down_since.is_none() {
            tracing::warn!(error = error.as_str(), "the Kafka broker is unreachable");
            c.broker_down_since = Some(SystemTime::now());
        }
        c.broker_error = Some(error);
    }

    /// Records that a broker answers again.
    pub fn broker_up(&self) {
        let mut c = self.inner.lock();
        if c.broker_down_since.take().is_some() {
            tracing::info!("the Kafka broker is reachable again");
        }
        c.broker_error = None;
    }

    /// Replaces what is known of the partitions' ends (from statistics).
    pub fn set_ends(&self, ends: BTreeMap<i32, PartitionEnds>) {
        self.inner.lock().ends = ends;
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> IngestSnapshot {
        let applied = self.applied.borrow().clone();
        let c = self.inner.lock();
        let known: std::collections::BTreeSet<i32> =
            applied.keys().chain(c.ends.keys()).copied().collect();
        let partitions = known
            .into_iter()
            .map(|partition| {
                let next_offset = applied.get(&partition).copied();
                // Lag counts what is not yet searchable: from what this
                // process applied, or else from the group's committed offset.
                let lag = c.ends.get(&partition).and_then(|ends| {
                    let done = next_offset.unwrap_or(ends.committed).max(ends.committed);
                    (ends.high_watermark >= 0 && done >= 0)
                        .then(|| (ends.high_watermark - done).max(0))
                });
                PartitionStatus {
                    partition,
                    next_offset,
                    lag,
                }
            })
            .collect();
        IngestSnapshot {
            enabled: self.enabled,
            topic: self.topic.clone(),
            group_id: self.group_id.clone(),
            broker_up: self.enabled && c.broker_down_since.is_none(),
            broker_down_since: c.broker_down_since,
            broker_error: c.broker_error.clone(),
            messages: c.messages,
            upserts: c.upserts,
            deletes: c.deletes,
            batches: c.batches,
            dead_letters: c.dead_letters.clone(),
            interactions: c.interactions,
            interaction_dead_letters: c.interaction_dead_letters,
            last_applied_at: c.last_applied_at,
            freshness: freshness(&c.freshness),
            partitions,
        }
    }

    /// Waits until the message at `offset` of `partition` has been applied
    /// (stored and searchable, or dead-lettered), at most `timeout`.
    /// Returns whether it has.
    pub async fn wait_applied(&self, partition: i32, offset: i64, timeout: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        let reached = |a: &BTreeMap<i32, i64>| a.get(&partition).is_some_and(|next| *next > offset);
        tokio::time::timeout(timeout, applied.wait_for(reached))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// Median, 99th percentile and maximum of the samples (nearest rank).
fn freshness(samples: &VecDeque<Duration>) -> Option<Freshness> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted: Vec<Duration> = samples.iter().copied().collect();
    sorted.sort_unstable();
    let at =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some(Freshness {
        samples: sorted.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: sorted[sorted.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(partition: i32, next: i64, millis: &[u64]) -> AppliedBatch {
        AppliedBatch {
            messages: millis.len() as u64,
            upserts: millis.len() as u64,
            next_offsets: BTreeMap::from([(partition, next)]),
            freshness: millis.iter().map(|m| Duration::from_millis(*m)).collect(),
            ..AppliedBatch::default()
        }
    }

    #[test]
    fn freshness_quantiles_are_nearest_rank() {
        let status = IngestStatus::new("t", "g");
        let millis: Vec<u64> = (1..=100).collect();
        status.record_batch(batch(0, 100, &millis));
        let f = status.snapshot().freshness.unwrap();
        assert_eq!(f.samples, 100);
        assert_eq!(f.p50, Duration::from_millis(50));
        assert_eq!(f.p99, Duration::from_millis(99));
        assert_eq!(f.max, Duration::from_millis(100));
    }

    #[test]
    fn the_window_keeps_only_recent_samples() {
        let status = IngestStatus::new("t", "g");
        status.record_batch(batch(0, 1, &vec![1_000; FRESHNESS_WINDOW]));
        status.record_batch(batch(0, 2, &[5; 10]));
        let f = status.snapshot().freshness.unwrap();
        assert_eq!(f.samples, FRESHNESS_WINDOW);
        assert_eq!(f.max, Duration::from_millis(1_000));
    }

    #[tokio::test]
    async fn waiting_ends_when_the_offset_is_applied_and_not_before() {
        let status = std::sync::Arc::new(IngestStatus::new("t", "g"));
        assert!(!status.wait_applied(0, 5, Duration::from_millis(20)).await);
        let waiter = {
            let status = status.clone();
            tokio::spawn(async move { status.wait_applied(0, 5, Duration::from_secs(5)).await })
        };
        status.record_batch(batch(0, 5, &[1]));
        status.record_batch(batch(1, 9, &[1]));
        assert!(!status.wait_applied(0, 5, Duration::from_millis(20)).await);
        status.record_batch(batch(0, 6, &[1]));
        assert!(waiter.await.unwrap());
        let snapshot = status.snapshot();
        assert_eq!(snapshot.partitions.len(), 2);
        assert_eq!(snapshot.partitions[0].next_offset, Some(6));
    }

    #[test]
    fn broker_health_remembers_when_it_went_down() {
        let status = IngestStatus::new("t", "g");
        assert!(status.snapshot().broker_up);
        status.broker_down("refused".into());
        let since = status.snapshot().broker_down_since;
        status.broker_down("still refused".into());
        let s = status.snapshot();
        assert!(!s.broker_up);
        assert_eq!(s.broker_down_since, since);
        assert_eq!(s.broker_error.as_deref(), Some("still refused"));
        status.broker_up();
        assert!(status.snapshot().broker_up);
        assert!(!IngestStatus::disabled().snapshot().broker_up);
    }
}
