//! The `[kafka]` section: brokers, topics, groups and batching of the
//! streaming ingest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kafka settings (`[kafka]` in the configuration file, `TIMBRE_KAFKA__*`
/// in the environment).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap brokers, `host:port[,host:port…]`. Unset: no consumer.
    pub brokers: Option<String>,
    /// Consumer group. Every timbre instance is a full replica of the
    /// catalog, so give each instance its own group id; instances sharing a
    /// group would split the partitions and each see only part of the
    /// stream. Default `timbre`.
    pub group_id: String,
    /// The tracks topic. Default `timbre.tracks`.
    pub topic: String,
    /// Where poison messages go. Default `timbre.tracks.dlq`.
    pub dead_letter_topic: String,
    /// Listeners' interactions (play, like, skip, dislike), consumed in the
    /// group `<group_id>.interactions`. Default `timbre.interactions`.
    pub interactions_topic: String,
    /// Where poison interaction messages go. Default
    /// `timbre.interactions.dlq`.
    pub interactions_dead_letter_topic: String,
    /// Create the two topics at start when they do not exist. Default on.
    pub create_topics: bool,
    /// Partitions of topics timbre creates. Default 3.
    pub partitions: i32,
    /// Replication factor of topics timbre creates. Default 1.
    pub replication_factor: i32,
    /// Most messages applied in one batch. Default 2,000.
    pub batch_max: usize,
    /// How long a batch waits for more messages after its first, in
    /// milliseconds: the price in freshness paid for throughput. Default 20.
    pub batch_wait_ms: u64,
    /// Extra librdkafka settings, e.g. `"security.protocol" = "SASL_SSL"`.
    /// Values of keys that mention passwords or secrets are never logged.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: None,
            group_id: "timbre".into(),
            topic: "timbre.tracks".into(),
            dead_letter_topic: "timbre.tracks.dlq".into(),
            interactions_topic: "timbre.interactions".into(),
            interactions_dead_letter_topic: "timbre.interactions.dlq".into(),
            create_topics: true,
            partitions: 3,
            replication_factor: 1,
            batch_max: 2_000,
            batch_wait_ms: 20,
            properties: BTreeMap::new(),
        }
    }
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let properties: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret(k) { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("group_id", &self.group_id)
            .field("topic", &self.topic)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("interactions_topic", &self.interactions_topic)
            .field(
                "interactions_dead_letter_topic",
                &self.interactions_dead_letter_topic,
            )
            .field("create_topics", &self.create_topics)
            .field("partitions", &self.partitions)
            .field("replication_factor", &self.replication_factor)
            .field("batch_max", &self.batch_max)
            .field("batch_wait_ms", &self.batch_wait_ms)
            .field("properties", &properties)
            .finish()
    }
}

/// Whether a librdkafka setting holds a credential.
fn is_secret(key: &str) -> bool {
    ["password", "secret", "key.pem", "token"]
        .iter()
        .any(|s| key.contains(s))
}

impl KafkaSettings {
    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// A message naming the first bad value.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.as_deref().is_some_and(|b| b.trim().is_empty()) {
            return Err("kafka.brokers is empty; leave it unset to run without Kafka".into());
        }
        for (name, value) in [
            ("kafka.group_id", &self.group_id),
            ("kafka.topic", &self.topic),
            ("kafka.dead_letter_topic", &self.dead_letter_topic),
            ("kafka.interactions_topic", &self.interactions_topic),
            (
                "kafka.interactions_dead_letter_topic",
                &self.interactions_dead_letter_topic,
            ),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{name} must not be empty"));
            }
        }
        let topics = [
            &self.topic,
            &self.dead_letter_topic,
            &self.interactions_topic,
            &self.interactions_dead_letter_topic,
        ];
        let distinct: std::collections::BTreeSet<&String> = topics.iter().copied().collect();
        if distinct.len() < topics.len() {
            return Err("kafka.dead_letter_topic must differ from kafka.topic, and the four topics (tracks, interactions and their dead-letter topics) must all differ".into());
        }
        if self.partitions < 1 || self.replication_factor < 1 {
            return Err("kafka.partitions and kafka.replication_factor must be at least 1".into());
        }
        if self.batch_max == 0 {
            return Err("kafka.batch_max must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_named() {
        assert!(KafkaSettings::default().validate().is_ok());
        let same = KafkaSettings {
            dead_letter_topic: "timbre.tracks".into(),
            ..KafkaSettings::default()
        };
        assert!(same.validate().unwrap_err().contains("dead_letter_topic"));
        let empty = KafkaSettings {
            brokers: Some(" ".into()),
            ..KafkaSettings::default()
        };
        assert!(empty.validate().unwrap_err().contains("kafka.brokers"));
        let none = KafkaSettings {
            batch_max: 0,
            ..KafkaSettings::default()
        };
        assert!(none.validate().unwrap_err().contains("batch_max"));
    }

    #[test]
    fn credentials_in_properties_are_never_shown() {
        let settings = KafkaSettings {
            properties: BTreeMap::from([
                ("sasl.password".to_string(), "hunter2".to_string()),
                ("security.protocol".to_string(), "SASL_SSL".to_string()),
            ]),
            ..KafkaSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("SASL_SSL"),
            "{shown}"
        );
    }
}
