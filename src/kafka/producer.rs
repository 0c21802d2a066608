//! `timbre produce`: publishes tracks to the tracks topic, so an operator
//! can load a catalogue through the stream (and every replica consuming it
//! gets the same tracks).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::client::client_config;
use super::message::encode_upsert;
use super::KafkaError;
use crate::config::KafkaSettings;
use crate::domain::Track;

/// Messages in flight at once: enough to keep librdkafka's batches full.
const IN_FLIGHT: usize = 10_000;

/// What publishing did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProduceReport {
    pub topic: String,
    /// Messages the broker acknowledged.
    pub produced: u64,
    /// Messages the broker did not take, with the first error.
    pub failed: u64,
    pub first_error: Option<String>,
    /// Per partition, the offset of the last acknowledged message: a client
    /// can wait on these (GraphQL `ingested`) to know all are searchable.
    pub last_offsets: BTreeMap<i32, i64>,
    pub elapsed: Duration,
}

impl fmt::Display for ProduceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self.produced as f64 / self.elapsed.as_secs_f64().max(1e-9);
        writeln!(f, "{}:", self.topic)?;
        writeln!(f, "  messages produced  {} ({rate:.0}/s)", self.produced)?;
        write!(f, "  messages failed    {}", self.failed)?;
        if let Some(e) = &self.first_error {
            write!(f, " (first error: {e})")?;
        }
        for (partition, offset) in &self.last_offsets {
            write!(f, "\n  partition {partition:<8} last offset {offset}")?;
        }
        Ok(())
    }
}

/// Publishes an upsert message per track, keyed by track id, and waits for
/// every acknowledgement. The producer is idempotent, so retries inside
/// librdkafka never duplicate or reorder a message.
///
/// # Errors
/// The producer cannot be created from the settings. Messages the broker
/// refuses are counted in the report, not returned as an error.
pub async fn produce(
    settings: &KafkaSettings,
    tracks: &[Track],
) -> Result<ProduceReport, KafkaError> {
    let producer: FutureProducer = client_config(
        settings,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "10"),
            ("message.timeout.ms", "60000"),
        ],
    )?
    .create()?;
    let started = Instant::now();
    let progress = progress_bar(tracks.len() as u64);
    let mut report = ProduceReport {
        topic: settings.topic.clone(),
        ..ProduceReport::default()
    };
    let mut deliveries = futures_util::stream::iter(tracks)
        .map(|track| {
            let producer = &producer;
            async move {
                let (key, value) = encode_upsert(track);
                let record = FutureRecord::to(&settings.topic).key(&key).payload(&value);
                // Waits while librdkafka's queue is full.
                producer.send(record, rdkafka::util::Timeout::Never).await
            }
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some(delivery) = deliveries.next().await {
        match delivery {
            Ok(d) => {
                report.produced += 1;
                let last = report.last_offsets.entry(d.partition).or_insert(d.offset);
                *last = (*last).max(d.offset);
            }
            Err((e, _)) => {
                report.failed += 1;
                report.first_error.get_or_insert_with(|| e.to_string());
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    report.elapsed = started.elapsed();
    Ok(report)
}

fn progress_bar(len: u64) -> ProgressBar {
    // indicatif draws only when stderr is a terminal.
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(
            "{spinner} producing {pos}/{len} [{wide_bar}] {per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}
