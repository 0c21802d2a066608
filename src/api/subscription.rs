//! The subscription root, served over WebSocket (`graphql-transport-ws`,
//! and the older `graphql-ws` protocol) at `/graphql`. Every stream ends
//! when the server shuts down, so open subscriptions never hold a graceful
//! shutdown up.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, Subscription, ID};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::error::invalid;
use super::ingest::IngestStatusObject;
use super::jobs::JobObject;
use super::track::TrackObject;
use crate::service::CatalogEvent;

/// Cancelled when the server begins to shut down; ends every subscription.
#[derive(Clone, Default)]
pub struct Shutdown(pub CancellationToken);

/// Shortest and longest `intervalMs` of `ingestStats`.
const INTERVAL_MS: std::ops::RangeInclusive<i32> = 100..=60_000;

/// Live updates for apps and dashboards.
pub struct SubscriptionRoot;

fn shutdown(ctx: &Context<'_>) -> CancellationToken {
    ctx.data_opt::<Shutdown>()
        .map(|s| s.0.clone())
        .unwrap_or_default()
}

/// The catalog's events from now on, until shutdown. A subscriber that falls
/// more than a few thousand events behind skips the ones it missed rather
/// than slowing writers down.
fn events(ctx: &Context<'_>) -> impl Stream<Item = CatalogEvent> {
    let service = Arc::clone(super::service(ctx));
    let receiver = service.subscribe();
    let events = stream::unfold(receiver, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind and skipped events");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    events.take_until(shutdown(ctx).cancelled_owned())
}

#[Subscription]
impl SubscriptionRoot {
    /// Tracks as they become searchable: from imports, `upsertTracks` and
    /// the Kafka topic.
    async fn track_indexed(&self, ctx: &Context<'_>) -> impl Stream<Item = TrackObject> {
        let service = Arc::clone(super::service(ctx));
        events(ctx).filter_map(move |event| {
            let found = match event {
                CatalogEvent::Indexed(id) => service.track_in_memory(&id),
                CatalogEvent::Removed(_) => None,
            };
            async move { found.map(TrackObject) }
        })
    }

    /// Ids of tracks as they are deleted.
    async fn track_removed(&self, ctx: &Context<'_>) -> impl Stream<Item = ID> {
        events(ctx).filter_map(|event| async move {
            match event {
                CatalogEvent::Removed(id) => Some(ID(id.to_string())),
                CatalogEvent::Indexed(_) => None,
            }
        })
    }

    /// The Kafka ingest's statistics every `intervalMs` milliseconds
    /// (100 to 60,000; default 1,000), the first at once: for dashboards.
    async fn ingest_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 1000)] interval_ms: i32,
    ) -> async_graphql::Result<impl Stream<Item = IngestStatusObject>> {
        if !INTERVAL_MS.contains(&interval_ms) {
            return Err(invalid(format!(
                "intervalMs must lie within {}..={}, got {interval_ms}",
                INTERVAL_MS.start(),
                INTERVAL_MS.end()
            )));
        }
        let status = Arc::clone(super::ingest_status(ctx));
        let mut ticks = tokio::time::interval(Duration::from_millis(interval_ms as u64));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ticks = stream::unfold(ticks, |mut ticks| async move {
            ticks.tick().await;
            Some(((), ticks))
        });
        Ok(ticks
            .map(move |()| IngestStatusObject::from(status.snapshot()))
            .take_until(shutdown(ctx).cancelled_owned()))
    }

    /// Every change of a job's state (queued, running, finished), from
    /// now on; with `id`, only that job's, ending once it is final.
    async fn job_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> impl Stream<Item = JobObject> {
        let receiver = super::jobs::jobs(ctx).updates();
        let updates = stream::unfold(receiver, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(job) => return Some((job, rx)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a job subscriber fell behind and skipped updates");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        });
        let wanted = id.map(|id| id.0);
        // Only a subscription to one job ends (after its final update);
        // one to every job goes on for as long as the client listens.
        let one_job = wanted.is_some();
        let mut ended = false;
        updates
            .filter(move |job| {
                let keep = wanted.as_ref().is_none_or(|id| *id == job.id);
                async move { keep }
            })
            .take_while(move |job| {
                // With an id: the final update is the last one sent.
                let go_on = !ended;
                ended |= one_job && job.state.is_final();
                async move { go_on }
            })
            .map(JobObject)
            .take_until(shutdown(ctx).cancelled_owned())
    }
}
