//! The dead-letter topic: where a message goes that can never be applied,
//! so that it neither stops the partition behind it nor disappears.
//!
//! The dead letter keeps the original key and value byte for byte and adds
//! headers an operator can act on:
//!
//! | header | value |
//! |---|---|
//! | `timbre.error` | the reason, for people |
//! | `timbre.error.kind` | a stable label (`schema`, `key`, `feature out of range`, …) |
//! | `timbre.source.topic` / `.partition` / `.offset` | where the message was |
//! | `timbre.source.timestamp` | its timestamp, ms since the epoch, when it had one |

use std::time::Duration;

use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::client::client_config;
use super::retry::Backoff;
use super::KafkaError;
use crate::config::KafkaSettings;

/// Sends poison messages to the dead-letter topic.
pub(super) struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

/// Why a message became a dead letter.
pub(super) struct Reason<'a> {
    pub kind: &'static str,
    pub message: &'a str,
}

impl DeadLetters {
    /// A producer for the dead-letter topic `topic`.
    ///
    /// # Errors
    /// The client cannot be created from the settings.
    pub fn to(settings: &KafkaSettings, topic: &str) -> Result<Self, KafkaError> {
        // Every dead letter must be written exactly where it was asked for:
        // no duplicates from retries, no reordering.
        let producer = client_config(settings, &[("enable.idempotence", "true"), ("acks", "all")])?
            .create()?;
        Ok(DeadLetters {
            producer,
            topic: topic.to_string(),
        })
    }

    /// Writes `message` to the dead-letter topic with the reason in its
    /// headers, and waits for the broker to acknowledge it.
    ///
    /// # Errors
    /// The broker did not take it within 10 seconds; the caller retries
    /// (the message's offset must not be committed before it is taken).
    pub async fn send(
        &self,
        message: &OwnedMessage,
        reason: &Reason<'_>,
    ) -> Result<(), KafkaError> {
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let timestamp = message.timestamp().to_millis().map(|t| t.to_string());
        let mut headers = OwnedHeaders::new()
            .insert(header("timbre.error", reason.message))
            .insert(header("timbre.error.kind", reason.kind))
            .insert(header("timbre.source.topic", message.topic()))
            .insert(header("timbre.source.partition", &partition))
            .insert(header("timbre.source.offset", &offset));
        if let Some(t) = &timestamp {
            headers = headers.insert(header("timbre.source.timestamp", t));
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map(|_| ())
            .map_err(|(e, _)| KafkaError::Broker(e))
    }
}

impl DeadLetters {
    /// Sends `message` with `reason`, logging it, and retries with backoff
    /// until the broker takes it: a dead letter must not be lost, and the
    /// message's offset must not be committed before it is taken. Returns
    /// `false` when shutdown came first.
    pub async fn deliver(
        &self,
        message: &OwnedMessage,
        reason: &Reason<'_>,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> bool {
        tracing::warn!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            reason = reason.message,
            "poison message sent to the dead-letter topic"
        );
        let mut backoff = Backoff::default();
        loop {
            match self.send(message, reason).await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(error = %e, "writing a dead letter failed; retrying");
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
