//! Playlist continuation: which tracks to add to a set of tracks, from
//! co-occurrence ("playlists holding these also hold …") blended with audio
//! similarity to the set.
//!
//! Candidates are every track sharing a list with a seed, plus the tracks
//! nearest the seeds' centroid in the feature space. Each gets
//! - a co-occurrence score, the sum of its cosine similarities to the seeds
//!   ([`CoOccurrence::scores`]), divided by the best candidate's;
//! - a content score, its similarity to the centroid, min-max scaled over
//!   the candidates so that both scores span 0..1;
//!
//! and ranks by `weight * co-occurrence + (1 - weight) * content`. The
//! evaluation (`timbre evaluate`) chose the default weight. A result says
//! which of the two terms gave it more.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::domain::feature_space::{distance, score};
use crate::domain::{CoOccurrence, Track, TrackFields, TrackFilter, TrackId};
use crate::error::{Error, Result};

use super::seeds::mean;
use super::{Catalog, TrackRef};

/// Content candidates fetched per result wanted.
const CONTENT_POOL_FACTOR: usize = 5;

/// Which signal recommended a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Audio features close to the seeds.
    Content,
    /// Playlists (or listeners) that hold the seeds also hold it.
    CoOccurrence,
    /// Popular in the catalog: the fallback when nothing is known.
    Popularity,
}

/// A track recommended to continue a set of seeds.
#[derive(Debug, Clone)]
pub struct Continuation {
    pub track: Arc<Track>,
    /// The blended score, 0..=1 for candidates with positive evidence.
    pub score: f32,
    /// Co-occurrence term before weighting, 0..=1.
    pub co_occurrence: f32,
    /// Content term before weighting, 0..=1.
    pub content: f32,
    pub source: Source,
}

/// What a playlist continuation starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaylistSeed {
    /// A playlist of the catalog, by id.
    Playlist(String),
    /// Any set of tracks.
    Tracks(Vec<TrackId>),
}

impl Catalog {
    /// Tracks to add to a playlist, blending co-occurrence (share `weight`)
    /// with audio similarity; the most popular tracks when none of the
    /// playlist's tracks is in the catalog.
    ///
    /// # Errors
    /// [`Error::PlaylistNotFound`] for a playlist id no track belongs to.
    pub fn continue_playlist(
        &self,
        seed: &PlaylistSeed,
        first: usize,
        weight: f32,
        filter: &TrackFilter,
    ) -> Result<Vec<Continuation>> {
        let model = self.playlist_model();
        let tracks = match seed {
            PlaylistSeed::Playlist(id) => {
                let id = id.trim();
                // The model knows every playlist of two tracks or more; a
                // scan finds the rest.
                let tracks = match model.playlist(id) {
                    Some(tracks) => tracks.to_vec(),
                    None => self.playlist_tracks(id),
                };
                if tracks.is_empty() {
                    return Err(Error::PlaylistNotFound(id.to_string()));
                }
                tracks
            }
            PlaylistSeed::Tracks(ids) => ids.clone(),
        };
        let seeds: Vec<(TrackId, f32)> = tracks.iter().map(|id| (*id, 1.0)).collect();
        let found = self.continue_tracks(&model, &seeds, first, weight, filter)?;
        if !found.is_empty() {
            return Ok(found);
        }
        let mut filter = filter.clone();
        filter.exclude_ids.extend(tracks);
        Ok(self.most_popular(&model, first, &filter))
    }

    /// The `first` best tracks to continue `seeds` (track, weight; negative
    /// weights count against their neighbours), never a seed and never a
    /// track failing `filter`. `weight` is the share of co-occurrence in
    /// the blend, 0..=1. Empty when no seed with a positive weight is in
    /// the catalog.
    pub fn continue_tracks(
        &self,
        model: &CoOccurrence,
        seeds: &[(TrackId, f32)],
        first: usize,
        weight: f32,
        filter: &TrackFilter,
    ) -> Result<Vec<Continuation>> {
        self.blend(model, seeds, first, weight, filter, true)
    }

    /// [`Catalog::continue_tracks`], with the choice of returning seeds
    /// (a listener may ask for tracks they played before).
    pub(crate) fn blend(
        &self,
        model: &CoOccurrence,
        seeds: &[(TrackId, f32)],
        first: usize,
        weight: f32,
        filter: &TrackFilter,
        exclude_seeds: bool,
    ) -> Result<Vec<Continuation>> {
        let seed_ids: FxHashSet<TrackId> = if exclude_seeds {
            seeds.iter().map(|(id, _)| *id).collect()
        } else {
            FxHashSet::default()
        };
        let positive: Vec<(Vec<f32>, f32)> = seeds
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .filter_map(|(id, w)| Some((self.vector_of(&self.get(id)?), *w)))
            .collect();
        if positive.is_empty() {
            return Ok(Vec::new());
        }
        let centroid = weighted_mean(&positive);
        let allowed = |id: &TrackId| {
            !seed_ids.contains(id) && self.get(id).is_some_and(|t| filter.matches(&t))
        };

        let mut co = model.scores(seeds);
        co.retain(|id, _| allowed(id));
        let pool = first.saturating_mul(CONTENT_POOL_FACTOR).max(50);
        let content_hits = self.index.search_ids(
            &centroid,
            pool,
            Some(&|id| allowed(self.index.key_of(id))),
            timbre_index::SearchMode::Auto,
            None,
        )?;
        let mut candidates: FxHashMap<TrackId, (f32, f32)> =
            co.iter().map(|(id, s)| (*id, (*s, 0.0))).collect();
        for &(id, _) in &content_hits {
            candidates
                .entry(*self.index.key_of(id))
                .or_insert((0.0, 0.0));
        }
        for (id, (_, content)) in candidates.iter_mut() {
            *content = match self.index.get(id) {
                Some(v) => score(distance(&centroid, v)),
                None => 0.0,
            };
        }
        let best_co = candidates.values().map(|c| c.0).fold(0.0f32, f32::max);
        let (lo, hi) = candidates
            .values()
            .map(|c| c.1)
            .fold((f32::MAX, f32::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
        let mut ranked: Vec<Continuation> = candidates
            .into_iter()
            .filter_map(|(id, (co, content))| {
                let co = if best_co > 0.0 { co / best_co } else { 0.0 };
                let content = if hi > lo {
                    (content - lo) / (hi - lo)
                } else {
                    1.0
                };
                let (a, b) = (weight * co, (1.0 - weight) * content);
                Some(Continuation {
                    track: self.get_owned(&id)?,
                    score: a + b,
                    co_occurrence: co,
                    content,
                    source: if a > b {
                        Source::CoOccurrence
                    } else {
                        Source::Content
                    },
                })
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.track.id.cmp(&b.track.id))
        });
        ranked.truncate(first);
        Ok(ranked)
    }

    /// The `first` most popular tracks passing `filter` (Spotify popularity,
    /// then the number of playlists holding them, then id): the fallback
    /// for a listener or playlist nothing is known of.
    pub fn most_popular(
        &self,
        model: &CoOccurrence,
        first: usize,
        filter: &TrackFilter,
    ) -> Vec<Continuation> {
        let mut all: Vec<TrackRef<'_>> = self.rows().filter(|t| filter.matches(t)).collect();
        let key = |t: &TrackRef<'_>| (t.popularity().unwrap_or(0), model.lists_holding(&t.id));
        all.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| a.id.cmp(&b.id)));
        all.into_iter()
            .take(first)
            .map(|t| Continuation {
                track: Arc::new(t.to_track()),
                score: f32::from(t.popularity().unwrap_or(0)) / 100.0,
                co_occurrence: 0.0,
                content: 0.0,
                source: Source::Popularity,
            })
            .collect()
    }
}

/// Weighted mean of vectors (weights positive).
fn weighted_mean(vectors: &[(Vec<f32>, f32)]) -> Vec<f32> {
    let total: f32 = vectors.iter().map(|(_, w)| w).sum();
    let scaled: Vec<Vec<f32>> = vectors
        .iter()
        .map(|(v, w)| {
            v.iter()
                .map(|x| x * w * vectors.len() as f32 / total)
                .collect()
        })
        .collect();
    mean(scaled.iter().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::super::tests::catalog_of;
    use super::*;

    #[test]
    fn seeds_are_never_returned_and_co_occurrence_outranks_sound_at_weight_one() {
        let catalog = catalog_of(&[(0.10, "a"), (0.11, "a"), (0.50, "b"), (0.90, "c")]);
        let ids: Vec<TrackId> = catalog.tracks().map(|t| t.id).collect();
        // Track 0 shares a playlist with track 3, the farthest in sound.
        let model = CoOccurrence::new([vec![ids[0], ids[3]]]);
        let seeds = [(ids[0], 1.0)];
        let by_co = catalog
            .continue_tracks(&model, &seeds, 2, 1.0, &TrackFilter::default())
            .unwrap();
        assert_eq!(by_co[0].track.id, ids[3]);
        assert_eq!(by_co[0].source, Source::CoOccurrence);
        let by_sound = catalog
            .continue_tracks(&model, &seeds, 2, 0.0, &TrackFilter::default())
            .unwrap();
        assert_eq!(by_sound[0].track.id, ids[1]);
        assert_eq!(by_sound[0].source, Source::Content);
        assert!(by_co.iter().chain(&by_sound).all(|c| c.track.id != ids[0]));
    }

    #[test]
    fn popularity_is_the_fallback_order() {
        let catalog = catalog_of(&[(0.1, "a"), (0.2, "a")]);
        let top = catalog.most_popular(&CoOccurrence::default(), 5, &TrackFilter::default());
        assert_eq!(top.len(), 2);
        assert!(top.iter().all(|c| c.source == Source::Popularity));
    }
}
