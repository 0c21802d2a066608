//! Which partitions a consumer reads: all of its topic's, assigned by the
//! consumer itself rather than by the broker's group protocol.
//!
//! Every group timbre uses has one member by design (each replica is a full
//! copy with its own group; the lake's and the interactions' consumers have
//! groups of their own), so the group protocol's rebalancing buys nothing
//! and costs a lot: a replica killed with SIGKILL and started again joins a
//! group whose previous member the broker still counts until its session
//! times out, and the assignment then handed out could leave the new
//! member with no partition at all (seen with tansu: lag unknown for
//! minutes, issue 21). Assigning every partition directly, from the
//! committed offsets (`Offset::Stored`, or the start of the partition for a
//! new group), makes a restart resume at once. The group id still names
//! where offsets are committed.
//!
//! The topic's partitions are read from the broker's metadata: every second
//! until the topic is found (the broker may be down or the topic not yet
//! created), then every 30 s, so that partitions added later are read too.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// How often the partitions are looked up while none is assigned.
const UNTIL_FOUND: Duration = Duration::from_secs(1);
/// How often they are looked up afterwards, for partitions added later.
const AFTERWARDS: Duration = Duration::from_secs(30);
/// How long one metadata request may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// Keeps `consumer` assigned every partition of `topic` until `stop`.
pub(super) async fn keep_assigned<C: ConsumerContext + 'static>(
    consumer: Arc<StreamConsumer<C>>,
    topic: String,
    stop: CancellationToken,
) {
    let mut assigned = 0;
    loop {
        let lookup = {
            let (consumer, topic) = (Arc::clone(&consumer), topic.clone());
            tokio::task::spawn_blocking(move || partitions(&consumer, &topic)).await
        };
        match lookup {
            Ok(Ok(count)) if count > assigned => match assign_all(&consumer, &topic, count) {
                Ok(()) => {
                    tracing::info!(
                        topic = topic.as_str(),
                        partitions = count,
                        "partitions assigned"
                    );
                    assigned = count;
                }
                Err(e) => {
                    tracing::warn!(topic = topic.as_str(), error = %e, "assigning partitions failed")
                }
            },
            Ok(Ok(_)) => {}
            // The client reports an unreachable broker on /readyz itself.
            Ok(Err(e)) => tracing::debug!(topic = topic.as_str(), error = %e, "no partitions yet"),
            Err(e) => tracing::warn!(error = %e, "looking up partitions failed"),
        }
        let pause = if assigned == 0 {
            UNTIL_FOUND
        } else {
            AFTERWARDS
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// The number of partitions of `topic`, from the broker's metadata.
fn partitions<C: ConsumerContext>(
    consumer: &StreamConsumer<C>,
    topic: &str,
) -> Result<usize, String> {
    let metadata = consumer
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .map_err(|e| e.to_string())?;
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| format!("topic {topic} not in the metadata"))?;
    if let Some(e) = found.error() {
        return Err(format!("topic {topic}: {e:?}"));
    }
    Ok(found.partitions().len())
}

/// Assigns partitions `0..count` of `topic`, each from its committed
/// offset (or where `auto.offset.reset` says, for a new group).
fn assign_all<C: ConsumerContext>(
    consumer: &StreamConsumer<C>,
    topic: &str,
    count: usize,
) -> rdkafka::error::KafkaResult<()> {
    let mut tpl = TopicPartitionList::new();
    for partition in 0..count {
        let partition = i32::try_from(partition).unwrap_or(i32::MAX);
        tpl.add_partition_offset(topic, partition, Offset::Stored)?;
    }
    consumer.assign(&tpl)
}
