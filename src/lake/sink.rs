//! The server's lake sink: every change the service accepts from imports,
//! extracts and the API, written in micro-batches (one file per table and
//! day per interval, not a file per change).
//!
//! Changes from Kafka do not pass here: the Kafka adapter's own lake
//! consumer writes them, and commits its offsets only once their files are
//! written, so none is lost however the server stops. Here, changes wait in
//! memory for at most `flush_interval_ms`; a crash loses at most that much
//! of the API's writes from the lake (the store keeps them, and
//! `timbre export` writes the whole catalogue again).
//!
//! While the lake is unreachable the sink keeps its rows, retries with
//! backoff and reports itself on `/readyz` and in `/metrics`; it never
//! slows a write. Past `max_pending_rows` it drops the oldest, counted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio_util::sync::CancellationToken;

use super::Lake;
use crate::config::LakeSettings;
use crate::ingest::{ChangeBatch, ChangeSink, Origin, SinkStatus};

/// Longest wait between two attempts while the lake is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long the final write at shutdown may take.
const LAST_WRITE: Duration = Duration::from_secs(10);

/// Changes waiting for the next write, per origin, each under the key its
/// files will have (kept across retries, so a retried write replaces what
/// a failed one left).
struct Pending {
    batches: BTreeMap<Origin, (String, ChangeBatch)>,
}

impl Pending {
    fn rows(&self) -> usize {
        self.batches.values().map(|(_, b)| b.len()).sum()
    }

    fn add(&mut self, change: &ChangeBatch) {
        let (_, batch) = self.batches.entry(change.origin).or_insert_with(|| {
            let key = format!(
                "{}-{}-{}",
                change.origin.as_str(),
                crate::ingest::changes::now_ms(),
                uuid::Uuid::new_v4().simple()
            );
            (key.clone(), ChangeBatch::new(change.origin, Some(key)))
        });
        batch.tracks.extend(change.tracks.iter().cloned());
        batch
            .interactions
            .extend(change.interactions.iter().cloned());
        batch.events.extend(change.events.iter().cloned());
    }

    /// Drops the oldest rows until at most `limit` remain; returns how many
    /// went.
    fn shed(&mut self, limit: usize) -> usize {
        let mut over = self.rows().saturating_sub(limit);
        let dropped = over;
        for (_, batch) in self.batches.values_mut() {
            let take = over.min(batch.tracks.len());
            batch.tracks.drain(..take);
            over -= take;
            let take = over.min(batch.interactions.len());
            batch.interactions.drain(..take);
            over -= take;
            let take = over.min(batch.events.len());
            batch.events.drain(..take);
            over -= take;
        }
        dropped
    }
}

/// Runs the sink over `changes` (the service's, subscribed to before the
/// first write it must see: a start-up import comes before this task runs)
/// until `shutdown`, then writes what is pending (for at most
/// [`LAST_WRITE`]).
pub async fn run_sink(
    lake: Lake,
    settings: LakeSettings,
    mut changes: Receiver<Arc<ChangeBatch>>,
    status: Arc<SinkStatus>,
    shutdown: CancellationToken,
) {
    tracing::info!(location = lake.location(), "keeping the lake current");
    let mut pending = Pending {
        batches: BTreeMap::new(),
    };
    let interval = Duration::from_millis(settings.flush_interval_ms);
    let mut next_write = tokio::time::Instant::now() + interval;
    let mut backoff = interval;
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            received = changes.recv() => match received {
                Ok(change) if change.origin == Origin::Stream => {}
                Ok(change) => {
                    pending.add(&change);
                    if pending.rows() >= settings.max_rows_per_file {
                        next_write = tokio::time::Instant::now();
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::error!(missed, "the lake sink fell behind the service's writes and lost some; run `timbre export` to write the catalogue again");
                    status.dropped(missed);
                }
                Err(RecvError::Closed) => break,
            },
            () = tokio::time::sleep_until(next_write) => {
                if write(&lake, &mut pending, &status).await {
                    backoff = interval;
                } else {
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    let dropped = pending.shed(settings.max_pending_rows);
                    if dropped > 0 {
                        tracing::error!(dropped, "the lake has been unreachable too long: dropping the oldest changes held for it");
                        status.dropped(dropped as u64);
                    }
                }
                next_write = tokio::time::Instant::now() + backoff;
            }
        }
        status.set_pending(pending.rows() as u64);
    }
    if pending.rows() > 0
        && tokio::time::timeout(LAST_WRITE, write(&lake, &mut pending, &status))
            .await
            .is_err()
    {
        tracing::warn!(
            rows = pending.rows(),
            "the lake did not take the last changes before shutdown"
        );
    }
}

/// Writes every pending batch; returns whether all were written (those
/// that were leave the queue).
async fn write(lake: &Lake, pending: &mut Pending, status: &SinkStatus) -> bool {
    let mut all = true;
    let origins: Vec<Origin> = pending.batches.keys().copied().collect();
    for origin in origins {
        let Some((_, batch)) = pending.batches.get(&origin) else {
            continue;
        };
        if batch.is_empty() {
            pending.batches.remove(&origin);
            continue;
        }
        match lake.write(batch).await {
            Ok(written) => {
                status.wrote(written.files, &written.rows);
                pending.batches.remove(&origin);
            }
            Err(e) => {
                status.failed(&e.to_string());
                all = false;
            }
        }
    }
    all
}
