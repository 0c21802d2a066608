//! What a recommendation request asks for, and the re-ranking rules that
//! turn a list of candidates into the list a listener sees.
//!
//! The request follows Spotify's retired `/recommendations` endpoint, which
//! client developers know: seeds (here positive and negative), `target_*`
//! values, and `min_*` / `max_*` bounds, plus deltas ("like these, but more
//! energetic"), filters, a cap per artist and a diversity knob.
//!
//! Diversity is maximal marginal relevance (Carbonell and Goldstein, 1998):
//! results are picked one at a time, each maximising
//! `(1 - diversity) * relevance - diversity * (highest similarity to a
//! result already picked)`. `diversity = 0` is the relevance order;
//! `diversity = 1` only avoids repeating what is already in the list.

use super::feature::FeatureValues;
use super::{DomainError, Result, TrackFilter, TrackId};

/// Things a listener likes (or, as negative seeds, does not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seeds {
    pub track_ids: Vec<TrackId>,
    /// Album names or Spotify album ids (case-insensitive).
    pub albums: Vec<String>,
    /// Artist names (case-insensitive).
    pub artists: Vec<String>,
    /// Genre or subgenre names (case-insensitive); a genre seeds with the
    /// centroid of its tracks.
    pub genres: Vec<String>,
    /// Raw feature values, each set one seed.
    pub features: Vec<FeatureValues>,
}

impl Seeds {
    /// Whether no seed is given.
    pub fn is_empty(&self) -> bool {
        self.track_ids.is_empty()
            && self.albums.is_empty()
            && self.artists.is_empty()
            && self.genres.is_empty()
            && self.features.is_empty()
    }

    /// Number of seed entries.
    pub fn len(&self) -> usize {
        self.track_ids.len()
            + self.albums.len()
            + self.artists.len()
            + self.genres.len()
            + self.features.len()
    }
}

/// Most seed entries of one kind (positive or negative) a request may give.
pub const MAX_SEEDS: usize = 50;

/// A recommendation request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecommendQuery {
    /// What to recommend like.
    pub seeds: Seeds,
    /// What to steer away from.
    pub avoid: Seeds,
    /// Values the results should have (`target_*`): they replace what the
    /// seeds say about those features.
    pub target: FeatureValues,
    /// Changes to the seeds' mean values, in the features' units ("0.2 more
    /// energy"); applied before `target`.
    pub shift: FeatureValues,
    /// Which tracks may be returned, including `min_*` / `max_*` bounds,
    /// checked during the index search.
    pub filter: TrackFilter,
    /// Most results by one (main) artist; `None` for no cap.
    pub max_per_artist: Option<usize>,
    /// 0 (pure relevance) to 1, see the module documentation.
    pub diversity: f32,
    /// Number of results.
    pub first: usize,
}

impl RecommendQuery {
    /// Checks what types alone cannot.
    ///
    /// # Errors
    /// [`DomainError::InvalidArgument`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        let has_target = self.target.iter().any(Option::is_some);
        let has_shift = self.shift.iter().any(Option::is_some);
        if self.seeds.is_empty() && !has_target {
            return Err(DomainError::InvalidArgument(
                "give at least one seed (track ids, albums, artists, genres or features) or a target value".into(),
            ));
        }
        if self.seeds.is_empty() && has_shift {
            return Err(DomainError::InvalidArgument(
                "a shift changes the seeds' values: give seeds with it".into(),
            ));
        }
        for (what, seeds) in [("seeds", &self.seeds), ("avoid", &self.avoid)] {
            if seeds.len() > MAX_SEEDS {
                return Err(DomainError::InvalidArgument(format!(
                    "at most {MAX_SEEDS} {what} entries, got {}",
                    seeds.len()
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.diversity) {
            return Err(DomainError::InvalidArgument(format!(
                "diversity must lie within 0..=1, got {}",
                self.diversity
            )));
        }
        if self.max_per_artist == Some(0) {
            return Err(DomainError::InvalidArgument(
                "maxPerArtist must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// A candidate for re-ranking.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Relevance to the request, higher is better.
    pub relevance: f32,
    /// The candidate's vector in the feature space.
    pub vector: &'a [f32],
    /// The main artist, for the per-artist cap.
    pub artist: Option<&'a str>,
}

/// Picks up to `first` candidates by maximal marginal relevance, at most
/// `max_per_artist` per artist (case-insensitive), and returns their
/// positions in `candidates`, in the order picked. `similarity` maps a
/// distance in the feature space to (0, 1].
pub fn rerank(
    candidates: &[Candidate<'_>],
    first: usize,
    diversity: f32,
    max_per_artist: Option<usize>,
    similarity: impl Fn(f32) -> f32,
) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::with_capacity(first.min(candidates.len()));
    // Highest similarity of each candidate to anything picked so far.
    let mut nearest_picked = vec![0.0f32; candidates.len()];
    let mut taken = vec![false; candidates.len()];
    let mut per_artist: std::collections::HashMap<String, usize> = Default::default();
    let artist_key = |c: &Candidate<'_>| c.artist.map(str::to_lowercase);
    while picked.len() < first {
        let mut best: Option<(usize, f32)> = None;
        for (i, c) in candidates.iter().enumerate() {
            if taken[i] {
                continue;
            }
            if let (Some(cap), Some(a)) = (max_per_artist, artist_key(c)) {
                if per_artist.get(&a).copied().unwrap_or(0) >= cap {
                    continue;
                }
            }
            let value = (1.0 - diversity) * c.relevance - diversity * nearest_picked[i];
            // Ties keep the earlier (more relevant) candidate.
            if best.is_none_or(|(_, v)| value > v) {
                best = Some((i, value));
            }
        }
        let Some((chosen, _)) = best else { break };
        taken[chosen] = true;
        picked.push(chosen);
        if let Some(a) = artist_key(&candidates[chosen]) {
            *per_artist.entry(a).or_default() += 1;
        }
        if diversity > 0.0 {
            let v = candidates[chosen].vector;
            for (i, c) in candidates.iter().enumerate() {
                if !taken[i] {
                    let s = similarity(super::feature_space::distance(v, c.vector));
                    nearest_picked[i] = nearest_picked[i].max(s);
                }
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates<'a>(points: &'a [(f32, [f32; 1], &'a str)]) -> Vec<Candidate<'a>> {
        points
            .iter()
            .map(|(r, v, a)| Candidate {
                relevance: *r,
                vector: v,
                artist: Some(a),
            })
            .collect()
    }

    fn sim(d: f32) -> f32 {
        1.0 / (1.0 + d)
    }

    #[test]
    fn no_diversity_keeps_the_relevance_order() {
        let points = [(0.9, [0.0], "a"), (0.8, [0.01], "a"), (0.7, [5.0], "b")];
        assert_eq!(rerank(&candidates(&points), 3, 0.0, None, sim), [0, 1, 2]);
    }

    #[test]
    fn diversity_prefers_what_the_list_lacks() {
        // The second candidate nearly repeats the first.
        let points = [(0.9, [0.0], "a"), (0.85, [0.01], "b"), (0.7, [5.0], "c")];
        assert_eq!(rerank(&candidates(&points), 2, 0.5, None, sim), [0, 2]);
    }

    #[test]
    fn the_artist_cap_holds_and_may_shorten_the_list() {
        let points = [
            (0.9, [0.0], "Queen"),
            (0.8, [1.0], "queen"),
            (0.7, [2.0], "Abba"),
        ];
        assert_eq!(rerank(&candidates(&points), 3, 0.0, Some(1), sim), [0, 2]);
    }

    #[test]
    fn requests_without_seeds_or_targets_are_refused() {
        let mut q = RecommendQuery {
            first: 10,
            ..Default::default()
        };
        assert!(q.validate().unwrap_err().to_string().contains("seed"));
        q.target[0] = Some(0.5);
        assert!(q.validate().is_ok());
        q.shift[1] = Some(0.1);
        assert!(q.validate().unwrap_err().to_string().contains("shift"));
        q.shift[1] = None;
        q.diversity = 1.5;
        assert!(q.validate().is_err());
    }
}
