//! GraphQL types of the Kafka ingest status: what the consumer has applied,
//! how fresh and how far behind it is, and whether the broker answers.

use std::time::{Duration, SystemTime};

use async_graphql::SimpleObject;

use crate::ingest::status::{Freshness, IngestSnapshot, PartitionStatus};

/// The state of streaming ingest from Kafka.
#[derive(SimpleObject)]
pub struct IngestStatusObject {
    /// Whether this server consumes a Kafka topic at all.
    enabled: bool,
    /// The tracks topic.
    topic: Option<String>,
    /// The consumer group.
    group_id: Option<String>,
    /// Whether a broker answers (false while Kafka is not configured).
    broker_up: bool,
    /// Since when no broker answers (RFC 3339), while it is down.
    broker_down_since: Option<String>,
    /// The last broker error, while it is down.
    broker_error: Option<String>,
    /// Messages applied since start, poison ones included.
    messages: u64,
    /// Tracks inserted or replaced since start.
    upserts: u64,
    /// Tracks deleted since start.
    deletes: u64,
    /// Batches applied since start.
    batches: u64,
    /// Messages sent to the dead-letter topic since start.
    dead_lettered: u64,
    /// Dead-lettered messages by reason.
    dead_letters: Vec<DeadLetterCount>,
    /// Listener interactions stored from the interactions topic.
    interactions: u64,
    /// Interaction messages sent to the interactions' dead-letter topic.
    interaction_dead_letters: u64,
    /// When the last batch became searchable (RFC 3339).
    last_applied_at: Option<String>,
    /// Messages in the topic not yet searchable here, over all partitions;
    /// null until the client has learned the partitions' ends.
    lag: Option<i64>,
    /// From a message's timestamp to searchable, over the latest 10,000
    /// messages; null before the first.
    freshness: Option<FreshnessObject>,
    partitions: Vec<PartitionObject>,
}

/// Dead letters of one reason.
#[derive(SimpleObject)]
pub struct DeadLetterCount {
    /// A stable label: `schema`, `key`, `feature out of range`, ...
    reason: String,
    count: u64,
}

/// Time from a message's timestamp until its track is searchable.
#[derive(SimpleObject)]
pub struct FreshnessObject {
    samples: usize,
    median_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// One partition of the tracks topic.
#[derive(SimpleObject)]
pub struct PartitionObject {
    partition: i32,
    /// The offset after the last message applied by this server: a message
    /// at offset `o` is searchable once this is greater than `o`.
    next_offset: Option<i64>,
    /// Messages behind the end of the partition.
    lag: Option<i64>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

impl From<IngestSnapshot> for IngestStatusObject {
    fn from(s: IngestSnapshot) -> Self {
        IngestStatusObject {
            enabled: s.enabled,
            lag: s.total_lag(),
            dead_lettered: s.dead_lettered(),
            topic: s.enabled.then(|| s.topic.clone()),
            group_id: s.enabled.then(|| s.group_id.clone()),
            broker_up: s.broker_up,
            broker_down_since: s.broker_down_since.map(rfc3339),
            broker_error: s.broker_error,
            messages: s.messages,
            upserts: s.upserts,
            deletes: s.deletes,
            batches: s.batches,
            interactions: s.interactions,
            interaction_dead_letters: s.interaction_dead_letters,
            dead_letters: s
                .dead_letters
                .into_iter()
                .map(|(reason, count)| DeadLetterCount {
                    reason: reason.to_string(),
                    count,
                })
                .collect(),
            last_applied_at: s.last_applied_at.map(rfc3339),
            freshness: s.freshness.map(|f: Freshness| FreshnessObject {
                samples: f.samples,
                median_ms: millis(f.p50),
                p99_ms: millis(f.p99),
                max_ms: millis(f.max),
            }),
            partitions: s
                .partitions
                .into_iter()
                .map(|p: PartitionStatus| PartitionObject {
                    partition: p.partition,
                    next_offset: p.next_offset,
                    lag: p.lag,
                })
                .collect(),
        }
    }
}
