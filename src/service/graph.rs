//! The graph's background work: new vectors join the HNSW graph on a
//! lower-priority thread while the tail's exact scan serves them, and the
//! index is written to its snapshot once the graph holds everything.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{blocking, TrackService};
use crate::error::Result;

impl TrackService {
    /// Starts inserting into the graph, in the background, the vectors
    /// writes appended to the index's tail, unless that already runs.
    /// Writers never wait for the graph: a new track is searchable through
    /// the tail's exact scan at once, and joins the graph walk once this
    /// has caught up. Needs a tokio runtime (every caller has one).
    pub(super) fn catch_up_graph(&self) {
        if self
            .catching_up
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let catalog = Arc::clone(&self.catalog);
        let running = Arc::clone(&self.catching_up);
        let serving = Arc::clone(&self.serving);
        tokio::spawn(async move {
            loop {
                let job = catalog.write().graph_catch_up();
                let Some(job) = job else {
                    running.store(false, Ordering::Release);
                    // A write may have appended after the check above and
                    // seen the flag still set: look once more.
                    let more = catalog.read().index().unclaimed() > 0;
                    if more
                        && running
                            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                    {
                        continue;
                    }
                    return;
                };
                let started = Instant::now();
                let inserted = job.len();
                let spare_a_core = serving.load(Ordering::Acquire);
                let run = crate::background::spawn("timbre-graph", move || {
                    let mut job = job;
                    job.run(spare_a_core);
                    job
                });
                let done = match run {
                    Ok(receiver) => receiver.await.map_err(|_| "it panicked".to_string()),
                    Err(e) => Err(format!("no thread for it: {e}")),
                };
                match done {
                    Ok(job) => {
                        catalog.write().graph_caught_up(job);
                        tracing::debug!(
                            inserted,
                            took_ms = started.elapsed().as_millis() as u64,
                            "graph caught up"
                        );
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the graph catch-up failed");
                        catalog.write().graph_catch_up_lost();
                        running.store(false, Ordering::Release);
                        return;
                    }
                }
            }
        });
    }

    /// Waits until every vector is in the graph and the walkable copy is
    /// fresh (before a snapshot, and for benchmarks that measure the walk).
    pub async fn flush_graph(&self) {
        loop {
            let flushed = {
                let catalog = Arc::clone(&self.catalog);
                blocking(move || catalog.write().flush_graph())
                    .await
                    .unwrap_or(false)
            };
            if flushed {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writes the index snapshot (no-op without a snapshot directory),
    /// after putting every vector into the graph.
    ///
    /// # Errors
    /// The snapshot cannot be written.
    pub async fn save_snapshot(&self) -> Result<()> {
        let Some(dir) = self.options.snapshot_dir.clone() else {
            return Ok(());
        };
        loop {
            self.flush_graph().await;
            let catalog = Arc::clone(&self.catalog);
            let dir = dir.clone();
            // A write may have appended since the flush: then flush again.
            let saved = blocking(move || {
                let catalog = catalog.read();
                if !catalog.index().is_graphed() {
                    return Ok(false);
                }
                catalog.index().save(&dir, catalog.space()).map(|()| true)
            })
            .await??;
            if saved {
                return Ok(());
            }
        }
    }
}
