//! `recommend`: from any mix of seeds, targets and filters to a ranked,
//! explained, optionally diversified list of tracks.
//!
//! 1. Every seed entry (a track, an album, an artist, a genre, a set of
//!    feature values) becomes one point in the feature space: a track's
//!    vector, or the centroid of the album's, artist's or genre's tracks.
//!    Each entry weighs the same, so a prolific artist does not drown a
//!    hand-picked track.
//! 2. The taste is the mean of the points, pushed away from the mean of the
//!    negative seeds by [`AVOID_PUSH`] times their difference (Rocchio's
//!    relevance feedback), then shifted (`shift`) and pinned (`target`) on
//!    the features the request names.
//! 3. The index returns the nearest tracks that pass the filter (checked
//!    during the walk, so a selective filter still fills the list), a pool
//!    larger than the list when re-ranking needs a choice.
//! 4. Candidates close to a negative seed lose relevance, then maximal
//!    marginal relevance and the per-artist cap pick the list (see
//!    [`crate::domain::recommend`]).
//! 5. Each result names the seed it lies closest to and compares its
//!    features with that seed's (after shift and target), in their units.

use std::sync::Arc;

use crate::domain::feature::FEATURE_COUNT;
use crate::domain::feature_space::{distance, score};
use crate::domain::recommend::{rerank, Candidate};
use crate::domain::{Feature, RecommendQuery, TrackFields, TrackFilter, TrackParts};
use crate::error::{Error, Result};
use timbre_index::SearchMode;

use super::seeds::{mean, mean_values, SeedKind, SeedPoint, SeedRef};
use super::{Catalog, Neighbour, TrackRef};

/// How far the taste moves away from the negative seeds, as a share of its
/// distance to their mean.
pub const AVOID_PUSH: f32 = 0.5;

/// How much a candidate's similarity to its nearest negative seed lowers its
/// relevance.
pub const AVOID_PENALTY: f32 = 0.5;

/// Candidates fetched per result when re-ranking has to choose.
const POOL_FACTOR: usize = 4;

/// A recommended track and why.
#[derive(Debug, Clone)]
pub struct Recommendation {
    /// The track, its distance to the taste and the feature comparison
    /// with `because`.
    pub neighbour: Neighbour,
    pub because: SeedRef,
}

/// The query vector and the points it came from, ready to search.
#[derive(Debug, Clone)]
pub struct Taste {
    pub vector: Vec<f32>,
    /// Positive points, each with the values the results should have
    /// (shift and target applied), to explain results against.
    pub points: Vec<SeedPoint>,
    /// Negative points.
    pub avoid: Vec<SeedPoint>,
}

impl Catalog {
    /// Whether [`Catalog::recommend`] will be a graph walk from known seed
    /// points, a few hundred microseconds: no filter (which can turn the
    /// search into a scan of every track) and no album, artist or genre
    /// seed whose centroid is not cached yet (finding its tracks scans the
    /// catalog). The API runs cheap calls on the calling thread and the
    /// others on the blocking pool.
    pub fn recommend_is_cheap(&self, query: &RecommendQuery) -> bool {
        let groups = self.groups.lock();
        let cached = |kind: SeedKind, names: &[String]| {
            names
                .iter()
                .all(|n| groups.contains_key(&(kind, n.trim().to_lowercase())))
        };
        query.filter.is_empty()
            && [&query.seeds, &query.avoid].iter().all(|s| {
                cached(SeedKind::Album, &s.albums)
                    && cached(SeedKind::Artist, &s.artists)
                    && cached(SeedKind::Genre, &s.genres)
            })
    }

    /// Recommendations for a request; see the module documentation.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an invalid request or a seed that matches no
    /// track, [`Error::TrackNotFound`] and [`Error::GenreNotFound`] for
    /// unknown seeds.
    pub fn recommend(&self, query: &RecommendQuery) -> Result<Vec<Recommendation>> {
        self.recommend_parts(query, TrackParts::ALL)
    }

    /// [`Catalog::recommend`] with only `parts` of each result's text
    /// copied (see [`TrackParts`]).
    ///
    /// # Errors
    /// As [`Catalog::recommend`].
    pub fn recommend_parts(
        &self,
        query: &RecommendQuery,
        parts: TrackParts,
    ) -> Result<Vec<Recommendation>> {
        query.validate()?;
        let taste = self.taste(query)?;
        let mut filter = query.filter.clone();
        for p in taste.points.iter().chain(&taste.avoid) {
            filter.exclude_ids.extend(p.track);
        }
        self.search_taste(
            &taste,
            &filter,
            query.first,
            query.diversity,
            query.max_per_artist,
            parts,
        )
    }

    /// The query vector of a request.
    ///
    /// # Errors
    /// As [`Catalog::recommend`].
    pub fn taste(&self, query: &RecommendQuery) -> Result<Taste> {
        let mut points = self.seed_points(&query.seeds)?;
        let avoid = self.seed_points(&query.avoid)?;
        let mut vector = if points.is_empty() {
            vec![0.0; self.space.dim()]
        } else {
            mean(points.iter().map(|p| p.vector.as_slice()))
        };
        if !avoid.is_empty() {
            let away = mean(avoid.iter().map(|p| p.vector.as_slice()));
            for (q, a) in vector.iter_mut().zip(&away) {
                *q += AVOID_PUSH * (*q - a);
            }
        }
        if points.is_empty() {
            points.push(SeedPoint {
                seed: SeedRef {
                    kind: SeedKind::Target,
                    name: "the target values".into(),
                    id: None,
                },
                vector: vector.clone(),
                values: [None; FEATURE_COUNT],
                track: None,
            });
        }
        let seed_means = mean_values(points.iter().map(|p| &p.values));
        for feature in Feature::ALL {
            let i = feature as usize;
            let wanted = match (query.target[i], query.shift[i]) {
                (Some(t), _) => Some(t),
                (None, Some(delta)) => {
                    let base = seed_means[i].ok_or_else(|| {
                        Error::invalid(format!(
                            "cannot shift {feature}: no seed has a value for it"
                        ))
                    })?;
                    let (lo, hi) = feature.range();
                    for p in &mut points {
                        if let Some(v) = &mut p.values[i] {
                            *v = (*v + delta).clamp(lo, hi);
                        }
                    }
                    Some((base + delta).clamp(lo, hi))
                }
                (None, None) => None,
            };
            if let Some(value) = wanted {
                self.space.assign(&mut vector, feature, value);
                for p in &mut points {
                    if query.target[i].is_some() || p.values[i].is_none() {
                        p.values[i] = Some(value);
                    }
                    // Results name the seed nearest them as explained: after
                    // shift and target, not before.
                    if let Some(v) = p.values[i] {
                        self.space.assign(&mut p.vector, feature, v);
                    }
                }
            }
        }
        Ok(Taste {
            vector,
            points,
            avoid,
        })
    }

    /// Searches near a taste; see steps 3 to 5 of the module documentation.
    /// Returns fewer than `first` only when fewer tracks pass the filter and
    /// the per-artist cap.
    ///
    /// # Errors
    /// [`Error::Index`] for a taste the index refuses (a bug: tastes are made
    /// in the catalogue's space from checked values).
    pub fn search_taste(
        &self,
        taste: &Taste,
        filter: &TrackFilter,
        first: usize,
        diversity: f32,
        max_per_artist: Option<usize>,
        parts: TrackParts,
    ) -> Result<Vec<Recommendation>> {
        let plain = diversity == 0.0 && max_per_artist.is_none() && taste.avoid.is_empty();
        let mut pool = if plain {
            first
        } else {
            first.saturating_mul(POOL_FACTOR).max(first + 20)
        };
        let accept = |id: u32| filter.matches(&self.row(id));
        let accept = (!filter.is_empty()).then_some(&accept as &dyn Fn(u32) -> bool);
        loop {
            let hits =
                self.index
                    .search_ids(&taste.vector, pool, accept, SearchMode::Auto, None)?;
            let found: Vec<(TrackRef<'_>, f32, &[f32])> = hits
                .iter()
                .map(|&(id, d)| (self.row(id), d, self.index.vector_of(id)))
                .collect();
            let candidates: Vec<Candidate<'_>> = found
                .iter()
                .map(|(track, d, v)| {
                    let penalty = taste
                        .avoid
                        .iter()
                        .map(|a| score(distance(v, &a.vector)))
                        .fold(0.0f32, f32::max);
                    Candidate {
                        relevance: score(*d) - AVOID_PENALTY * penalty,
                        vector: v,
                        artist: track.artists().first().map(String::as_str),
                    }
                })
                .collect();
            let picked = rerank(&candidates, first, diversity, max_per_artist, score);
            let exhausted = hits.len() < pool || pool >= self.len();
            if picked.len() >= first || exhausted {
                return Ok(picked
                    .into_iter()
                    .map(|i| {
                        let (track, d, v) = &found[i];
                        self.explain(taste, track, *d, v, parts)
                    })
                    .collect());
            }
            pool = pool.saturating_mul(POOL_FACTOR);
        }
    }

    fn explain(
        &self,
        taste: &Taste,
        track: &TrackRef<'_>,
        d: f32,
        vector: &[f32],
        parts: TrackParts,
    ) -> Recommendation {
        let nearest = taste
            .points
            .iter()
            .min_by(|a, b| distance(vector, &a.vector).total_cmp(&distance(vector, &b.vector)))
            .expect("a taste has at least one point");
        Recommendation {
            neighbour: Neighbour {
                track: Arc::new(track.to_track_parts(parts)),
                distance: d,
                score: score(d),
                seed: nearest.values,
                space: Arc::clone(&self.space),
            },
            because: nearest.seed.clone(),
        }
    }
}

#[cfg(test)]
#[path = "recommend_tests.rs"]
mod tests;
