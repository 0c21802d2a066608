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
use crate::domain::{
    Feature, FeatureValues, RecommendQuery, Seeds, TrackFields, TrackFilter, TrackId, TrackParts,
};
use crate::error::{Error, Result};
use timbre_index::SearchMode;

use super::{Catalog, Neighbour, TrackRef};

/// How far the taste moves away from the negative seeds, as a share of its
/// distance to their mean.
pub const AVOID_PUSH: f32 = 0.5;

/// How much a candidate's similarity to its nearest negative seed lowers its
/// relevance.
pub const AVOID_PENALTY: f32 = 0.5;

/// Candidates fetched per result when re-ranking has to choose.
const POOL_FACTOR: usize = 4;

/// What kind of seed a point came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedKind {
    Track,
    Album,
    Artist,
    Genre,
    Features,
    /// No seed: the request's target values alone.
    Target,
}

/// The seed a result is closest to, as the request named it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRef {
    pub kind: SeedKind,
    /// A readable name: the track's title and artist, the album's or
    /// artist's name as the catalog spells it, the genre.
    pub name: String,
    /// The track or album id, where there is one.
    pub id: Option<String>,
}

/// One seed entry placed in the feature space.
#[derive(Debug, Clone)]
pub struct SeedPoint {
    pub seed: SeedRef,
    pub vector: Vec<f32>,
    /// Mean feature values of the seed's tracks (or the values given).
    pub values: FeatureValues,
    /// The seed's own track, for a track seed.
    pub track: Option<TrackId>,
}

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

    /// Places every seed entry in the feature space.
    ///
    /// # Errors
    /// [`Error::TrackNotFound`], [`Error::GenreNotFound`], or
    /// [`Error::Invalid`] for an album or artist without tracks.
    pub fn seed_points(&self, seeds: &Seeds) -> Result<Vec<SeedPoint>> {
        let mut points = Vec::with_capacity(seeds.len());
        for id in &seeds.track_ids {
            let track = self.get(id).ok_or(Error::TrackNotFound(*id))?;
            points.push(SeedPoint {
                seed: SeedRef {
                    kind: SeedKind::Track,
                    name: title(&track),
                    id: Some(id.to_string()),
                },
                vector: self.vector_of(&track),
                values: track.features().values(),
                track: Some(*id),
            });
        }
        for (kind, names) in [
            (SeedKind::Album, &seeds.albums),
            (SeedKind::Artist, &seeds.artists),
            (SeedKind::Genre, &seeds.genres),
        ] {
            for name in names {
                points.push(self.group_point(kind, name.trim())?);
            }
        }
        for values in &seeds.features {
            points.push(SeedPoint {
                seed: SeedRef {
                    kind: SeedKind::Features,
                    name: describe(values),
                    id: None,
                },
                vector: self.space.encode(values),
                values: *values,
                track: None,
            });
        }
        Ok(points)
    }

    /// The track's vector as indexed (or freshly encoded).
    pub(crate) fn vector_of(&self, track: &impl TrackFields) -> Vec<f32> {
        self.index
            .get(&track.id())
            .map(<[f32]>::to_vec)
            .unwrap_or_else(|| self.space.encode(&track.features().values()))
    }

    /// The centroid of an album's, artist's or genre's tracks, cached until
    /// the next write: finding the tracks scans the catalog, and the same
    /// artists and genres come back request after request. The cache holds
    /// at most one entry per album, artist and genre of the catalog.
    fn group_point(&self, kind: SeedKind, wanted: &str) -> Result<SeedPoint> {
        let key = (kind, wanted.to_lowercase());
        if let Some(point) = self.groups.lock().get(&key) {
            return Ok(point.clone());
        }
        let point = match kind {
            SeedKind::Album => {
                let tracks = self.matching(|t| t.on_album(wanted));
                let first = tracks.first().ok_or_else(|| {
                    Error::invalid(format!(
                        "no album named {wanted:?} (or with that id) in the catalog"
                    ))
                })?;
                let seed = SeedRef {
                    kind,
                    name: first.album().name.clone().unwrap_or_else(|| wanted.into()),
                    id: first.album().id.clone(),
                };
                self.centroid_point(seed, &tracks)
            }
            SeedKind::Artist => {
                let tracks = self.matching(|t| t.credits(wanted));
                let first = tracks.first().ok_or_else(|| {
                    Error::invalid(format!("no track by artist {wanted:?} in the catalog"))
                })?;
                let name = first
                    .artists()
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(wanted))
                    .cloned()
                    .unwrap_or_else(|| wanted.into());
                let seed = SeedRef {
                    kind,
                    name,
                    id: None,
                };
                self.centroid_point(seed, &tracks)
            }
            _ => {
                let name = key.1.clone();
                let tracks =
                    self.matching(|t| t.genres().contains(&name) || t.subgenres().contains(&name));
                if tracks.is_empty() {
                    return Err(Error::GenreNotFound(name));
                }
                let seed = SeedRef {
                    kind: SeedKind::Genre,
                    name,
                    id: None,
                };
                self.centroid_point(seed, &tracks)
            }
        };
        self.groups.lock().insert(key, point.clone());
        Ok(point)
    }

    /// The tracks `keep` accepts, in id order (so the first names the
    /// group the same way every time).
    fn matching(&self, keep: impl Fn(&TrackRef<'_>) -> bool) -> Vec<TrackRef<'_>> {
        self.tracks().filter(|t| keep(t)).collect()
    }

    fn centroid_point(&self, seed: SeedRef, tracks: &[TrackRef<'_>]) -> SeedPoint {
        let vectors: Vec<Vec<f32>> = tracks.iter().map(|t| self.vector_of(t)).collect();
        let values: Vec<FeatureValues> = tracks.iter().map(|t| t.features().values()).collect();
        SeedPoint {
            seed,
            vector: mean(vectors.iter().map(Vec::as_slice)),
            values: mean_values(values.iter()),
            track: None,
        }
    }
}

/// "Title by Artist", or the id for an untitled track.
fn title(track: &impl TrackFields) -> String {
    let name = track
        .name()
        .map_or_else(|| track.id().to_string(), str::to_string);
    match track.artists().first() {
        Some(a) => format!("{name} by {a}"),
        None => name,
    }
}

/// "energy 0.8, tempo 124": the values a feature seed gives.
fn describe(values: &FeatureValues) -> String {
    Feature::ALL
        .iter()
        .filter_map(|f| values[*f as usize].map(|v| format!("{f} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Element-wise mean of equally long vectors.
pub(crate) fn mean<'a>(vectors: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    let mut n = 0usize;
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        n += 1;
    }
    sum.iter_mut().for_each(|s| *s /= n.max(1) as f32);
    sum
}

/// Per-feature mean of the values known in each set.
pub(crate) fn mean_values<'a>(values: impl Iterator<Item = &'a FeatureValues>) -> FeatureValues {
    let mut sum = [(0.0, 0usize); FEATURE_COUNT];
    for v in values {
        for (s, x) in sum.iter_mut().zip(v) {
            if let Some(x) = x {
                s.0 += x;
                s.1 += 1;
            }
        }
    }
    sum.map(|(s, n)| (n > 0).then(|| s / n as f64))
}

#[cfg(test)]
#[path = "recommend_tests.rs"]
mod tests;
