//! Ranking metrics of one recommendation list against the tracks hidden
//! from its playlist, and their averages over playlists.
//!
//! Definitions (the ones `docs/EVALUATION.md` states):
//! - HR@k, the hit rate: 1 when at least one hidden track is in the top k,
//!   else 0; averaged, the share of playlists with a hit.
//! - recall@k: the share of the hidden tracks found in the top k.
//! - NDCG@k with binary relevance: DCG = Σ 1 / log2(rank + 1) over the
//!   hidden tracks in the top k (ranks from 1), divided by the DCG of the
//!   ideal list, which puts min(k, hidden) hidden tracks first.
//! - coverage@k: distinct tracks recommended in any playlist's top k,
//!   divided by the catalogue size.
//! - ILD@k, intra-list diversity: the mean pairwise distance between the
//!   top k in the feature space.

use rustc_hash::FxHashSet;

use crate::domain::feature_space::distance;
use crate::domain::TrackId;

/// Whether any hidden track is among the first `k` of `ranked`.
pub fn hit(ranked: &[TrackId], hidden: &FxHashSet<TrackId>, k: usize) -> bool {
    ranked.iter().take(k).any(|id| hidden.contains(id))
}

/// Share of `hidden` among the first `k` of `ranked`; 0 when nothing is
/// hidden.
pub fn recall(ranked: &[TrackId], hidden: &FxHashSet<TrackId>, k: usize) -> f64 {
    if hidden.is_empty() {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|id| hidden.contains(id))
        .count();
    found as f64 / hidden.len() as f64
}

/// NDCG of the first `k` of `ranked` with the hidden tracks relevant (1)
/// and every other track not (0); 0 when nothing is hidden.
pub fn ndcg(ranked: &[TrackId], hidden: &FxHashSet<TrackId>, k: usize) -> f64 {
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, id)| hidden.contains(id))
        .map(|(rank, _)| gain(rank))
        .sum();
    let ideal: f64 = (0..k.min(hidden.len())).map(gain).sum();
    if ideal > 0.0 {
        dcg / ideal
    } else {
        0.0
    }
}

/// Mean Euclidean distance over every pair of `vectors`; 0 for fewer than
/// two.
pub fn intra_list_distance(vectors: &[&[f32]]) -> f64 {
    let mut sum = 0.0f64;
    let mut pairs = 0usize;
    for (i, a) in vectors.iter().enumerate() {
        for b in &vectors[i + 1..] {
            sum += f64::from(distance(a, b));
            pairs += 1;
        }
    }
    if pairs == 0 {
        0.0
    } else {
        sum / pairs as f64
    }
}

/// The averaged scores of one method.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub hr10: f64,
    pub hr50: f64,
    pub ndcg50: f64,
    pub recall50: f64,
    /// Distinct tracks in any top 10 / catalogue size.
    pub coverage10: f64,
    /// Mean pairwise feature-space distance within a top 10.
    pub ild10: f64,
}

/// Sums of per-playlist metrics, for [`Scores`].
#[derive(Debug, Default)]
pub struct Totals {
    playlists: usize,
    hits10: usize,
    hits50: usize,
    ndcg50: f64,
    recall50: f64,
    ild10: f64,
    covered: FxHashSet<TrackId>,
}

impl Totals {
    /// Adds one playlist: its ranked recommendations, its hidden tracks,
    /// and the intra-list distance of the ranking's top 10.
    pub fn add(&mut self, ranked: &[TrackId], hidden: &FxHashSet<TrackId>, ild10: f64) {
        self.playlists += 1;
        self.hits10 += usize::from(hit(ranked, hidden, 10));
        self.hits50 += usize::from(hit(ranked, hidden, 50));
        self.ndcg50 += ndcg(ranked, hidden, 50);
        self.recall50 += recall(ranked, hidden, 50);
        self.ild10 += ild10;
        self.covered.extend(ranked.iter().take(10).copied());
    }

    /// The averages over the playlists added, coverage over a catalogue
    /// of `catalog_size` tracks.
    pub fn scores(&self, catalog_size: usize) -> Scores {
        let n = self.playlists.max(1) as f64;
        Scores {
            hr10: self.hits10 as f64 / n,
            hr50: self.hits50 as f64 / n,
            ndcg50: self.ndcg50 / n,
            recall50: self.recall50 / n,
            coverage10: self.covered.len() as f64 / catalog_size.max(1) as f64,
            ild10: self.ild10 / n,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::evaluate) fn id(n: usize) -> TrackId {
        TrackId::parse(&format!("{n:022}")).unwrap()
    }

    fn ids(ns: &[usize]) -> Vec<TrackId> {
        ns.iter().map(|&n| id(n)).collect()
    }

    fn set(ns: &[usize]) -> FxHashSet<TrackId> {
        ids(ns).into_iter().collect()
    }

    #[test]
    fn a_hit_needs_a_hidden_track_within_k() {
        let ranked = ids(&[1, 2, 3, 4]);
        assert!(!hit(&ranked, &set(&[4, 9]), 3));
        assert!(hit(&ranked, &set(&[4, 9]), 4));
        assert!(!hit(&ranked, &set(&[]), 4));
    }

    #[test]
    fn recall_is_the_share_of_hidden_tracks_found() {
        let ranked = ids(&[1, 2, 3, 4]);
        assert_eq!(recall(&ranked, &set(&[2, 4, 8, 9]), 4), 0.5);
        assert_eq!(recall(&ranked, &set(&[2, 4, 8, 9]), 2), 0.25);
        assert_eq!(recall(&ranked, &set(&[]), 4), 0.0);
    }

    #[test]
    fn ndcg_matches_a_hand_computed_case() {
        // Hidden {2, 4}: hits at ranks 2 and 4.
        // DCG = 1/log2(3) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3).
        let ranked = ids(&[1, 2, 3, 4]);
        let expected = (1.0 / 3f64.log2() + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg(&ranked, &set(&[2, 4]), 50) - expected).abs() < 1e-12);
        // The ideal ranking scores 1; no hit scores 0.
        assert!((ndcg(&ids(&[2, 4, 1]), &set(&[2, 4]), 50) - 1.0).abs() < 1e-12);
        assert_eq!(ndcg(&ranked, &set(&[7]), 50), 0.0);
        // More hidden tracks than k: the ideal has only k of them.
        assert!((ndcg(&ids(&[5, 6]), &set(&[5, 6, 7]), 2) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn intra_list_distance_is_the_mean_pairwise_distance() {
        let (a, b, c) = ([0.0f32, 0.0], [3.0f32, 4.0], [0.0f32, 4.0]);
        // Pairs: |ab| = 5, |ac| = 4, |bc| = 3.
        let ild = intra_list_distance(&[&a, &b, &c]);
        assert!((ild - 4.0).abs() < 1e-9);
        assert_eq!(intra_list_distance(&[&a]), 0.0);
    }

    #[test]
    fn totals_average_over_playlists_and_cover_distinct_top_tens() {
        let mut totals = Totals::default();
        let first: Vec<TrackId> = (0..50).map(id).collect();
        let second: Vec<TrackId> = (5..55).map(id).collect();
        // A hit at rank 1 of the first, a hit at rank 50 of the second.
        totals.add(&first, &set(&[0]), 1.0);
        totals.add(&second, &set(&[54]), 3.0);
        let s = totals.scores(100);
        assert_eq!((s.hr10, s.hr50, s.recall50), (0.5, 1.0, 1.0));
        assert!((s.ndcg50 - (1.0 + 1.0 / 51f64.log2()) / 2.0).abs() < 1e-12);
        // Top tens 0..10 and 5..15: 15 distinct tracks of 100.
        assert!((s.coverage10 - 0.15).abs() < 1e-12);
        assert_eq!(s.ild10, 2.0);
    }
}
