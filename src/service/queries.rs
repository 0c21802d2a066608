//! The read facade: every query an adapter answers is one method here. Each
//! picks where it runs (see [`TrackService::read_sized`]), reads memory or
//! the store, and gives back domain results.
//!
//! When the store serves metadata (MongoDB, the system of record), results
//! carry the store's version of their tracks, fetched for the whole answer
//! in one batched round trip ([`TrackService::tracks_by_ids`]); the search
//! itself always runs over the in-memory catalog. This file is the only
//! place that rule is applied.

use std::collections::HashMap;
use std::sync::Arc;

use super::TrackService;
use crate::catalog::{
    Continuation, GenreSuggestion, Neighbour, PlaylistSeed, Recommendation, Seed,
};
use crate::domain::text_search::TextQuery;
use crate::domain::{
    genre, GenreLevel, GenreProfile, Interaction, RecommendQuery, Seeds, Track, TrackFilter,
    TrackId, TrackParts, TrendQuery, UserId, YearTrend,
};
use crate::error::{Error, Result};
use crate::store::StoreError;

/// The size of the catalog and the state of its vector index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogInfo {
    /// Tracks in the catalog.
    pub tracks: usize,
    /// Live vectors in the index (equals `tracks`).
    pub indexed: usize,
    /// Deleted or replaced vectors awaiting compaction.
    pub tombstones: usize,
    /// Vectors not yet in the HNSW graph (the pending tail, scanned
    /// exactly by every search until a catch-up inserts them).
    pub pending: usize,
    /// Dimensions of the feature space.
    pub dimensions: usize,
    /// Version of the feature space the vectors were made with.
    pub feature_space_version: u32,
    /// Graph catch-ups and compactions since start.
    pub work: crate::catalog::IndexWork,
}

/// One page of a track listing.
#[derive(Debug, Clone)]
pub struct TrackPage {
    /// The page's tracks, in id order.
    pub tracks: Vec<Arc<Track>>,
    /// Whether more tracks follow.
    pub more: bool,
    /// Tracks matching the filter, over all pages.
    pub total: usize,
}

impl TrackService {
    /// Tracks in the catalog.
    pub fn len(&self) -> usize {
        self.read_now(|c| c.len())
    }

    /// Whether the catalog holds no track.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The catalog's size and the state of its index.
    pub fn catalog_info(&self) -> CatalogInfo {
        self.read_now(|c| CatalogInfo {
            tracks: c.len(),
            indexed: c.index().len(),
            tombstones: c.index().dead_count(),
            pending: c.index().pending(),
            dimensions: c.index().dim(),
            feature_space_version: c.space().version,
            work: c.work(),
        })
    }

    /// Whether tracks' metadata comes from the store (one round trip per
    /// lookup, worth batching) rather than from memory (microseconds).
    pub fn metadata_from_store(&self) -> bool {
        self.store.serves_metadata()
    }

    /// The in-memory track with this id (for events about tracks that have
    /// just become searchable).
    pub fn track_in_memory(&self, id: &TrackId) -> Option<Arc<Track>> {
        self.read_now(|c| c.get_owned(id))
    }

    /// The tracks with these ids that exist, from memory.
    pub fn tracks_in_memory(&self, ids: &[TrackId]) -> HashMap<TrackId, Arc<Track>> {
        self.read_now(|c| {
            ids.iter()
                .filter_map(|id| c.get_owned(id).map(|t| (*id, t)))
                .collect()
        })
    }

    /// Tracks by id, from the system of record when the store serves
    /// metadata (one batched round trip), from memory otherwise or while the
    /// store is unavailable.
    ///
    /// # Errors
    /// A store error other than unavailability.
    pub async fn tracks_by_ids(&self, ids: &[TrackId]) -> Result<Vec<Arc<Track>>> {
        if self.store.serves_metadata() && self.store_worth_asking() {
            let outcome = self.store.get_many(ids).await;
            self.note(&outcome);
            match outcome {
                Ok(tracks) => return Ok(tracks.into_iter().map(Arc::new).collect()),
                Err(StoreError::Unavailable(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.read_now(|c| ids.iter().filter_map(|id| c.get_owned(id)).collect()))
    }

    /// Genre profiles, computed by the store when it can (MongoDB
    /// aggregations), by the domain code over the catalog otherwise or while
    /// the store is unavailable.
    ///
    /// # Errors
    /// A store error other than unavailability.
    pub async fn genre_profiles(&self, level: GenreLevel) -> Result<Arc<Vec<GenreProfile>>> {
        let outcome = if self.store_worth_asking() {
            let outcome = self.store.genre_profiles(level).await;
            self.note(&outcome);
            outcome
        } else {
            Ok(None)
        };
        match outcome {
            Ok(Some(profiles)) => return Ok(Arc::new(profiles)),
            Ok(None) | Err(StoreError::Unavailable(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.read(move |c| c.genres(level)).await
    }

    /// Genre trends by release year, computed like [`Self::genre_profiles`].
    ///
    /// # Errors
    /// A store error other than unavailability.
    pub async fn genre_trends(&self, query: TrendQuery) -> Result<Vec<YearTrend>> {
        let outcome = if self.store_worth_asking() {
            let outcome = self.store.genre_trends(&query).await;
            self.note(&outcome);
            outcome
        } else {
            Ok(None)
        };
        match outcome {
            Ok(Some(trends)) => return Ok(trends),
            Ok(None) | Err(StoreError::Unavailable(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.read(move |c| genre::trends(c.rows(), &query)).await
    }

    /// Up to `first` tracks matching `filter`, in id order, after the track
    /// `after`, with the count of all matches.
    ///
    /// # Errors
    /// [`Error::Internal`] when the blocking task failed.
    pub async fn page(
        &self,
        filter: TrackFilter,
        after: Option<TrackId>,
        first: usize,
    ) -> Result<TrackPage> {
        self.read(move |c| {
            let (tracks, more) = c.page(&filter, after, first);
            TrackPage {
                tracks,
                more,
                total: c.count(&filter),
            }
        })
        .await
    }

    /// Up to `first` tracks whose title or an artist's name contains `text`
    /// (case-insensitive), best match first (see
    /// [`crate::domain::text_search`]), with the store's metadata when it
    /// serves it.
    ///
    /// # Errors
    /// [`Error::Invalid`] for blank or over-long text, or a store error.
    pub async fn search_tracks(&self, text: &str, first: usize) -> Result<Vec<Arc<Track>>> {
        let query = TextQuery::new(text)?;
        let found = self.read(move |c| c.search_text(&query, first)).await?;
        self.with_stored(found).await
    }

    /// One genre (or subgenre) by name, case-insensitive.
    ///
    /// # Errors
    /// [`Error::GenreNotFound`] for a name no track carries.
    pub async fn genre(&self, name: &str, level: GenreLevel) -> Result<GenreProfile> {
        let wanted = name.to_string();
        self.read(move |c| c.genre(&wanted, level))
            .await?
            .ok_or_else(|| Error::GenreNotFound(name.trim().to_lowercase()))
    }

    /// The `first` tracks nearest `seed` that pass `filter`, nearest first,
    /// copying only the `parts` of each track the caller reads. Unfiltered,
    /// a search is a graph walk (or a scan of a small catalogue) and runs
    /// here; a filter can turn it into a scan of every track, which runs on
    /// the blocking pool.
    ///
    /// # Errors
    /// [`Error::TrackNotFound`] for an unknown seed track, or a store error.
    pub async fn similar(
        &self,
        seed: Seed,
        first: usize,
        filter: TrackFilter,
        parts: TrackParts,
    ) -> Result<Vec<Neighbour>> {
        let cheap = filter.is_empty();
        let found = self
            .read_sized(cheap, move |c| {
                c.similar_parts(&seed, first, &filter, parts)
            })
            .await??;
        self.with_stored(found).await
    }

    /// Genres the seed does not contain yet, best first, each argued by its
    /// `evidence` tracks nearest the seed's taste.
    ///
    /// # Errors
    /// An invalid or unknown seed entry, or a store error.
    pub async fn discover_genres(
        &self,
        seed: Seeds,
        first: usize,
        level: GenreLevel,
        evidence: usize,
    ) -> Result<Vec<GenreSuggestion>> {
        let mut found = self
            .read(move |c| c.discover_genres(&seed, first, level, evidence))
            .await??;
        let ids: Vec<TrackId> = found
            .iter()
            .flat_map(|s| &s.tracks)
            .map(|n| n.track.id)
            .collect();
        if let Some(stored) = self.stored(ids).await? {
            for suggestion in &mut found {
                let tracks = std::mem::take(&mut suggestion.tracks);
                suggestion.tracks = replace(&stored, tracks);
            }
        }
        Ok(found)
    }

    /// Recommendations for `query`, copying only the `parts` of each track
    /// the caller reads. Cheap queries (no filter, seeds whose centroids
    /// are known) run here under one read lock; the others on the pool.
    ///
    /// # Errors
    /// An invalid or unknown seed entry, or a store error.
    pub async fn recommend(
        &self,
        query: RecommendQuery,
        parts: TrackParts,
    ) -> Result<Vec<Recommendation>> {
        let here = self.read_now(|c| {
            c.recommend_is_cheap(&query)
                .then(|| c.recommend_parts(&query, parts))
        });
        let found = match here {
            Some(found) => found?,
            None => {
                self.read(move |c| c.recommend_parts(&query, parts))
                    .await??
            }
        };
        self.with_stored(found).await
    }

    /// Tracks to add to a playlist (or any set of tracks), blending
    /// co-occurrence with audio similarity by `[recommend] blend_weight`.
    ///
    /// # Errors
    /// [`Error::PlaylistNotFound`] for an unknown playlist, or a store
    /// error.
    pub async fn continue_playlist(
        &self,
        seeds: PlaylistSeed,
        first: usize,
        filter: TrackFilter,
    ) -> Result<Vec<Continuation>> {
        let weight = self.options.recommend.blend_weight;
        let found = self
            .read(move |c| c.continue_playlist(&seeds, first, weight, &filter))
            .await??;
        self.with_stored(found).await
    }

    /// Tracks for a listener, from their profile in the store.
    ///
    /// # Errors
    /// A store error (an unavailable store means no profile).
    pub async fn recommend_for_user(
        &self,
        user: &UserId,
        first: usize,
        include_played: bool,
        filter: TrackFilter,
    ) -> Result<Vec<Continuation>> {
        let profile = self.profile(user).await?;
        let weight = self.options.recommend.blend_weight;
        let found = self
            .read(move |c| {
                c.recommend_for_listener(&profile, first, weight, include_played, &filter)
            })
            .await??;
        self.with_stored(found).await
    }

    /// One interaction an API caller reports; unlike the stream's (which may
    /// run ahead of the tracks topic), its track must exist.
    ///
    /// # Errors
    /// [`Error::TrackNotFound`], or a store error.
    pub async fn record_interaction(&self, event: Interaction) -> Result<()> {
        if self.read_now(|c| c.get(&event.track).is_none()) {
            return Err(Error::TrackNotFound(event.track));
        }
        self.record_interactions(&[event]).await.map(|_| ())
    }

    /// Gives each result its stored track when the store serves metadata,
    /// dropping results the store no longer holds (deleted since the
    /// search).
    async fn with_stored<R: Resolved>(&self, results: Vec<R>) -> Result<Vec<R>> {
        let ids: Vec<TrackId> = results.iter().map(|r| r.track().id).collect();
        Ok(match self.stored(ids).await? {
            Some(stored) => replace(&stored, results),
            None => results,
        })
    }

    /// The stored versions of these tracks, in one lookup, when the store
    /// serves metadata and answers; `None` when memory holds the truth (or
    /// the store is down). One lookup per response, whatever the machine's
    /// load: per-field DataLoader batching splits a list whenever resolving
    /// it outlasts the loader's 1 ms window.
    async fn stored(&self, mut ids: Vec<TrackId>) -> Result<Option<HashMap<TrackId, Arc<Track>>>> {
        if !self.metadata_from_store() || ids.is_empty() {
            return Ok(None);
        }
        ids.sort_unstable();
        ids.dedup();
        match self.tracks_by_ids(&ids).await {
            Ok(tracks) => Ok(Some(tracks.into_iter().map(|t| (t.id, t)).collect())),
            Err(Error::Store(StoreError::Unavailable(_))) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A search result that names a track.
trait Resolved {
    fn track(&self) -> &Arc<Track>;
    fn track_mut(&mut self) -> &mut Arc<Track>;
}

/// A track found by text (`search_tracks`).
impl Resolved for Arc<Track> {
    fn track(&self) -> &Arc<Track> {
        self
    }
    fn track_mut(&mut self) -> &mut Arc<Track> {
        self
    }
}

impl Resolved for Neighbour {
    fn track(&self) -> &Arc<Track> {
        &self.track
    }
    fn track_mut(&mut self) -> &mut Arc<Track> {
        &mut self.track
    }
}

impl Resolved for Recommendation {
    fn track(&self) -> &Arc<Track> {
        &self.neighbour.track
    }
    fn track_mut(&mut self) -> &mut Arc<Track> {
        &mut self.neighbour.track
    }
}

impl Resolved for Continuation {
    fn track(&self) -> &Arc<Track> {
        &self.track
    }
    fn track_mut(&mut self) -> &mut Arc<Track> {
        &mut self.track
    }
}

/// `results` with their stored tracks; those the store lacks are dropped.
fn replace<R: Resolved>(stored: &HashMap<TrackId, Arc<Track>>, results: Vec<R>) -> Vec<R> {
    results
        .into_iter()
        .filter_map(|mut r| {
            let track = Arc::clone(stored.get(&r.track().id)?);
            *r.track_mut() = track;
            Some(r)
        })
        .collect()
}
