//! Writes: tracks into the store, then the catalog and index, under one
//! writer lock; deletes; listeners' interactions, folded per listener and
//! track.

use std::sync::Arc;

use super::{blocking, CatalogEvent, TrackService};
use crate::catalog::Catalog;
use crate::domain::{
    Interaction, ListenerProfile, Track, TrackFields, TrackId, TrackSignal, UserId,
};
use crate::error::Result;
use crate::ingest::changes::now_ms;
use crate::ingest::{ChangeBatch, IngestEvent, Origin, TrackChange};
use crate::store::UpsertStats;

/// Tracks are written to the store in batches of this many.
const WRITE_BATCH: usize = 5_000;

/// Batches smaller than this are always inserted one by one.
const REBUILD_MIN: usize = 1_000;

impl TrackService {
    /// Stores tracks and makes them searchable. A batch of at least a
    /// quarter of the catalog (a first import, a re-import) rebuilds the
    /// catalog instead: building the graph on every core is faster than
    /// inserting that many nodes one by one, and it refits the feature space
    /// to the new data.
    ///
    /// # Errors
    /// A store or index error. Tracks of batches already stored stay stored
    /// and searchable.
    pub async fn upsert(&self, tracks: Vec<Track>) -> Result<UpsertStats> {
        self.upsert_from(tracks, Origin::Api).await
    }

    /// [`Self::upsert`], saying where the tracks came from (for the lake).
    ///
    /// # Errors
    /// As [`Self::upsert`].
    pub async fn upsert_from(&self, tracks: Vec<Track>, origin: Origin) -> Result<UpsertStats> {
        let _writer = self.writer.lock().await;
        let mut stats = UpsertStats::default();
        let mut stored = 0;
        let mut failure = None;
        for batch in tracks.chunks(WRITE_BATCH) {
            let outcome = self.store.upsert(batch).await;
            self.note(&outcome);
            match outcome {
                Ok(s) => {
                    stats.inserted += s.inserted;
                    stats.replaced += s.replaced;
                    stored += batch.len();
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // What the store accepted becomes searchable even when a later batch
        // failed: the catalog never lags the store by a failed write.
        let mut tracks = tracks;
        tracks.truncate(stored);
        let indexed: Vec<TrackId> = if self.events.receiver_count() > 0 {
            tracks.iter().map(|t| t.id).collect()
        } else {
            Vec::new()
        };
        let changed = self.changes.receiver_count() > 0 && !tracks.is_empty();
        let mut change = ChangeBatch::new(origin, None);
        if changed {
            let at_ms = now_ms();
            change.tracks = tracks
                .iter()
                .map(|t| TrackChange {
                    id: t.id,
                    track: Some(Arc::new(t.clone())),
                    at_ms,
                    position: None,
                })
                .collect();
        }
        let catalog = Arc::clone(&self.catalog);
        let params = self.options.index;
        blocking(move || {
            let rebuild = tracks.len() >= REBUILD_MIN.max(catalog.read().len() / 4);
            if rebuild {
                let mut all: Vec<Track> = {
                    let current = catalog.read();
                    let incoming: std::collections::HashSet<TrackId> =
                        tracks.iter().map(|t| t.id).collect();
                    current
                        .tracks()
                        .filter(|t| !incoming.contains(&t.id))
                        .map(|t| t.to_track())
                        .collect()
                };
                all.extend(tracks);
                let fresh = Catalog::build_deferred(all, params)?;
                fresh.set_trained(catalog.read().trained());
                *catalog.write() = fresh;
                Ok(())
            } else {
                catalog.write().upsert(tracks)
            }
        })
        .await??;
        self.catch_up_graph();
        self.publish(indexed.into_iter().map(CatalogEvent::Indexed));
        if changed {
            self.publish_change(change);
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(stats),
        }
    }

    /// Deletes tracks from the store, the catalog and the index; returns how
    /// many existed.
    ///
    /// # Errors
    /// A store error (then nothing was removed from the catalog).
    pub async fn delete(&self, ids: Vec<TrackId>) -> Result<usize> {
        self.delete_from(ids, Origin::Api).await
    }

    /// [`Self::delete`], saying where the deletes came from (for the lake).
    ///
    /// # Errors
    /// As [`Self::delete`].
    pub async fn delete_from(&self, ids: Vec<TrackId>, origin: Origin) -> Result<usize> {
        let _writer = self.writer.lock().await;
        let outcome = self.store.delete(&ids).await;
        self.note(&outcome);
        let removed = outcome?;
        let catalog = Arc::clone(&self.catalog);
        let gone = ids.clone();
        blocking(move || catalog.write().remove(&ids)).await?;
        if self.changes.receiver_count() > 0 {
            let at_ms = now_ms();
            let mut change = ChangeBatch::new(origin, None);
            change.tracks = gone
                .iter()
                .map(|&id| TrackChange {
                    id,
                    track: None,
                    at_ms,
                    position: None,
                })
                .collect();
            self.publish_change(change);
        }
        self.publish(gone.into_iter().map(CatalogEvent::Removed));
        Ok(removed)
    }

    /// Stores listeners' interactions, folded per listener and track (see
    /// [`crate::domain::listener`]); returns how many signals were written.
    /// Profiles live in the store only, so every instance behind a load
    /// balancer sees the same listener.
    ///
    /// # Errors
    /// A store error; retrying is safe (the writes are idempotent).
    pub async fn record_interactions(&self, events: &[Interaction]) -> Result<usize> {
        self.record_interactions_from(events, Origin::Api).await
    }

    /// [`Self::record_interactions`], saying where the events came from
    /// (for the lake).
    ///
    /// # Errors
    /// As [`Self::record_interactions`].
    pub async fn record_interactions_from(
        &self,
        events: &[Interaction],
        origin: Origin,
    ) -> Result<usize> {
        let mut folded: std::collections::BTreeMap<(UserId, TrackId), TrackSignal> =
            Default::default();
        for e in events {
            folded
                .entry((e.user.clone(), e.track))
                .or_default()
                .apply(e.kind, e.at_ms);
        }
        let signals: Vec<(UserId, TrackId, TrackSignal)> = folded
            .into_iter()
            .map(|((user, track), signal)| (user, track, signal))
            .collect();
        let outcome = self.store.record_signals(&signals).await;
        self.note(&outcome);
        outcome?;
        if self.changes.receiver_count() > 0 && !events.is_empty() {
            let mut change = ChangeBatch::new(origin, None);
            change.interactions = events.to_vec();
            self.publish_change(change);
        }
        Ok(signals.len())
    }

    /// Whether any sink (the lake) takes the service's changes: when none
    /// does, callers need not build what they would report.
    pub fn has_change_sinks(&self) -> bool {
        self.changes.receiver_count() > 0
    }

    /// Tells sinks what became of records that did not become changes
    /// (rows an import rejected, say).
    pub fn report_events(&self, origin: Origin, events: Vec<IngestEvent>) {
        if self.changes.receiver_count() > 0 && !events.is_empty() {
            let mut change = ChangeBatch::new(origin, None);
            change.events = events;
            self.publish_change(change);
        }
    }

    /// One listener's profile, from the store.
    ///
    /// # Errors
    /// A store error (an unavailable store means no profile: `UNAVAILABLE`).
    pub async fn profile(&self, user: &UserId) -> Result<ListenerProfile> {
        let outcome = self.store.profile(user).await;
        self.note(&outcome);
        Ok(outcome?)
    }
}
