//! librdkafka settings shared by every client timbre makes, the context
//! that turns the client's callbacks into [`IngestStatus`] updates, and
//! topic creation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, TopicPartitionList};

use super::KafkaError;
use crate::config::KafkaSettings;
use crate::ingest::status::{IngestStatus, PartitionEnds};

/// The settings every client shares: brokers and client id, then `tuning`
/// (the client's own defaults), then the operator's extra properties, which
/// win over both.
///
/// # Errors
/// [`KafkaError::Settings`] when no brokers are configured.
pub(super) fn client_config(
    settings: &KafkaSettings,
    tuning: &[(&str, &str)],
) -> Result<ClientConfig, KafkaError> {
    let brokers = settings
        .brokers
        .as_deref()
        .ok_or_else(|| KafkaError::Settings("no brokers configured (kafka.brokers)".into()))?;
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "timbre");
    for (key, value) in tuning {
        config.set(*key, *value);
    }
    for (key, value) in &settings.properties {
        config.set(key, value);
    }
    Ok(config)
}

/// Creates timbre's four topics (tracks, interactions and their dead-letter
/// topics) where they do not exist yet (Kafka deployments often disable
/// automatic creation, and the test broker has none). Existing topics are
/// left as they are.
///
/// It asks the cluster's metadata first and creates only what is missing:
/// a metadata request answers in a millisecond or two on loopback, while a
/// create request for topics that all exist took 100 ms of every start
/// (`bench/ingest.sh`, which times a consumer from its start).
///
/// # Errors
/// The broker cannot be reached or refuses to create a topic.
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let names = [
        settings.topic.clone(),
        settings.dead_letter_topic.clone(),
        settings.interactions_topic.clone(),
        settings.interactions_dead_letter_topic.clone(),
    ];
    let missing = missing_topics(settings, names).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = client_config(settings, &[])?.create()?;
    let topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().request_timeout(Some(METADATA_TIMEOUT));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(topic = topic.as_str(), "created Kafka topic"),
            // Another replica created it since the metadata was read.
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::Settings(format!(
                    "cannot create topic {topic:?}: {code}"
                )))
            }
        }
    }
    Ok(())
}

/// How long the topic checks at start wait for the broker.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The names in `names` the cluster's metadata does not list. librdkafka's
/// metadata call blocks, so it runs on the blocking pool.
async fn missing_topics(
    settings: &KafkaSettings,
    names: [String; 4],
) -> Result<Vec<String>, KafkaError> {
    let client: BaseConsumer = client_config(settings, &[])?.create()?;
    let metadata =
        tokio::task::spawn_blocking(move || client.fetch_metadata(None, METADATA_TIMEOUT))
            .await
            // Only a panic in librdkafka's call, or a runtime shutting down, ends
            // the task early.
            .map_err(|e| {
                KafkaError::Settings(format!("the metadata request did not finish: {e}"))
            })??;
    // A topic being deleted or not yet ready comes with an error; leave it
    // to the create request to sort out.
    let listed = |name: &String| {
        metadata
            .topics()
            .iter()
            .any(|t| t.name() == name && t.error().is_none())
    };
    Ok(names.into_iter().filter(|n| !listed(n)).collect())
}

/// The consumers' context: forwards the client's statistics (partition
/// ends, broker states) and errors to the shared [`IngestStatus`].
pub(super) struct IngestContext {
    pub status: Arc<IngestStatus>,
    /// The topic whose partitions' ends (the lag) this client reports.
    pub lag_of: Option<String>,
}

impl ClientContext for IngestContext {
    fn stats(&self, statistics: Statistics) {
        let up = statistics
            .brokers
            .values()
            .any(|b| b.state == "UP" && b.nodeid >= 0);
        if up {
            self.status.broker_up();
        }
        let topic = self.lag_of.as_ref().and_then(|t| statistics.topics.get(t));
        if let Some(topic) = topic {
            let ends: BTreeMap<i32, PartitionEnds> = topic
                .partitions
                .values()
                // Partition -1 is librdkafka's internal "unassigned" queue.
                .filter(|p| p.partition >= 0 && p.desired)
                .map(|p| {
                    (
                        p.partition,
                        PartitionEnds {
                            high_watermark: p.hi_offset,
                            committed: p.committed_offset,
                        },
                    )
                })
                .collect();
            self.status.set_ends(ends);
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => self.status.broker_down(reason.to_string()),
            _ => tracing::warn!(error = %error, reason, "Kafka client error"),
        }
    }
}

impl ConsumerContext for IngestContext {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            // Not fatal: offsets stay stored and the next commit carries them;
            // at worst a restart replays a batch, which changes nothing.
            tracing::warn!(error = %e, "committing offsets failed");
        }
    }
}
