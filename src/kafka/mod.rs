//! The Kafka adapter: new and changed tracks, and listeners' interactions,
//! arrive on topics and become searchable (or part of a profile) within a
//! second.
//!
//! - [`message`], [`interaction_message`]: the wire formats and their JSON
//!   Schemas. No I/O. (The track record itself, shared with GraphQL, is
//!   [`crate::ingest::TrackRecord`].)
//! - `client`: librdkafka settings shared by consumers, producers and
//!   admin, topic creation, and the context that reports broker health and
//!   lag to [`crate::ingest::IngestStatus`].
//! - `consumer`: the one consumer loop both topics run (batching,
//!   at-least-once offsets, close); `tracks` and `interactions` are the two
//!   topics' handlers, which apply batches through
//!   [`crate::service::TrackService`].
//! - `dead_letter`: poison messages go to a dead-letter topic with the
//!   reason and their origin in headers; `retry`: backoff for writes.
//! - [`producer`]: `timbre produce`, publishing a dataset file to the topic.
//!
//! [`run`] is what the application starts: topics, then both consumers.

mod client;
mod consumer;
mod dead_letter;
pub mod interaction_message;
mod interactions;
mod lake;
pub mod message;
mod partitions;
pub mod producer;
mod retry;
mod tracks;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use client::ensure_topics;
pub use lake::LakeFeed;

use crate::config::KafkaSettings;
use crate::ingest::IngestStatus;
use crate::service::TrackService;
use consumer::{BatchConsumer, Subscription};
use dead_letter::DeadLetters;
use interactions::InteractionHandler;
use lake::{Feed, LakeHandler};
use tracks::TrackHandler;

/// What can go wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be created from the settings.
    #[error("Kafka client settings: {0}")]
    Settings(String),
    /// The broker refused or did not answer.
    #[error("Kafka: {0}")]
    Broker(#[from] rdkafka::error::KafkaError),
}

/// Consumes both topics into `service` until `shutdown`: creates the topics
/// first when asked to (retrying while the broker is unreachable, which
/// `/readyz` reports through `status`), then runs the tracks and the
/// interactions consumers side by side, and with `lake` the lake's own
/// consumers of both. Meant to be spawned beside the HTTP server; returns
/// once every consumer has committed and closed.
pub async fn run(
    settings: KafkaSettings,
    service: Arc<TrackService>,
    status: Arc<IngestStatus>,
    lake: Option<LakeFeed>,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    let mut created = !settings.create_topics;
    while !created {
        match ensure_topics(&settings).await {
            Ok(()) => created = true,
            Err(e) => {
                status.broker_down(e.to_string());
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    let lake = match lake
        .map(|feed| lake_consumers(&settings, &status, feed))
        .transpose()
    {
        Ok(lake) => lake,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the lake's Kafka consumers");
            None
        }
    };
    match consumers(&settings, service, &status) {
        Ok((tracks, interactions)) => match lake {
            Some((lake_tracks, lake_interactions)) => {
                tokio::join!(
                    tracks.run(shutdown.clone()),
                    interactions.run(shutdown.clone()),
                    lake_tracks.run(shutdown.clone()),
                    lake_interactions.run(shutdown)
                );
            }
            None => {
                tokio::join!(tracks.run(shutdown.clone()), interactions.run(shutdown));
            }
        },
        Err(e) => {
            // Bad client settings (e.g. an unknown `[kafka.properties]` key):
            // nothing will be consumed, so say so where operators look.
            tracing::error!(error = %e, "cannot start the Kafka consumer");
            status.broker_down(format!("the consumer cannot start: {e}"));
        }
    }
}

/// The two topics' consumers.
fn consumers(
    settings: &KafkaSettings,
    service: Arc<TrackService>,
    status: &Arc<IngestStatus>,
) -> Result<
    (
        BatchConsumer<TrackHandler>,
        BatchConsumer<InteractionHandler>,
    ),
    KafkaError,
> {
    let tracks = BatchConsumer::new(
        settings,
        Subscription {
            what: "tracks",
            topic: &settings.topic,
            group: &settings.group_id,
            client_id: "timbre",
            reports_lag: true,
            commit_each_batch: false,
        },
        Arc::clone(status),
        TrackHandler {
            service: Arc::clone(&service),
            status: Arc::clone(status),
            dead_letters: DeadLetters::to(settings, &settings.dead_letter_topic)?,
        },
    )?;
    let group = format!("{}.interactions", settings.group_id);
    let interactions = BatchConsumer::new(
        settings,
        Subscription {
            what: "listener interactions",
            topic: &settings.interactions_topic,
            group: &group,
            // Its own client id, so broker logs and metrics tell the two
            // consumers apart.
            client_id: "timbre-interactions",
            reports_lag: false,
            commit_each_batch: false,
        },
        Arc::clone(status),
        InteractionHandler {
            service,
            status: Arc::clone(status),
            dead_letters: DeadLetters::to(settings, &settings.interactions_dead_letter_topic)?,
        },
    )?;
    Ok((tracks, interactions))
}

/// The lake's consumers of both topics, in the groups `<group_id>.lake` and
/// `<group_id>.lake.interactions`, batching as the lake wants files (see
/// `lake.rs`). One group per topic, as for the catalog's consumers, so that
/// each consumer's committed offsets are its own.
fn lake_consumers(
    settings: &KafkaSettings,
    status: &Arc<IngestStatus>,
    feed: LakeFeed,
) -> Result<(BatchConsumer<LakeHandler>, BatchConsumer<LakeHandler>), KafkaError> {
    let batching = KafkaSettings {
        batch_max: feed.max_rows,
        batch_wait_ms: feed.wait_ms,
        ..settings.clone()
    };
    let consumer = |topic: &str, group: String, client_id: &str, kind: Feed| {
        BatchConsumer::new(
            &batching,
            Subscription {
                what: "changes for the lake",
                topic,
                group: &group,
                client_id,
                reports_lag: false,
                commit_each_batch: true,
            },
            Arc::clone(status),
            LakeHandler {
                feed: feed.clone(),
                kind,
            },
        )
    };
    Ok((
        consumer(
            &settings.topic,
            format!("{}.lake", settings.group_id),
            "timbre-lake",
            Feed::Tracks,
        )?,
        consumer(
            &settings.interactions_topic,
            format!("{}.lake.interactions", settings.group_id),
            "timbre-lake-interactions",
            Feed::Interactions,
        )?,
    ))
}
