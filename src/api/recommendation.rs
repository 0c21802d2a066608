//! GraphQL objects for search results: similar tracks with explanations,
//! and genre suggestions.

use std::sync::Arc;

use async_graphql::{Object, SimpleObject};

use super::features::FeatureName;
use super::track::TrackObject;
use crate::catalog::{GenreSuggestion, Neighbour};
use crate::domain::FeatureComparison;

/// A track near the seed.
pub struct SimilarTrack(pub Neighbour);

#[Object]
impl SimilarTrack {
    /// The track (its metadata as MongoDB holds it when MongoDB is the
    /// store, fetched for the whole list in one lookup).
    async fn track(&self) -> TrackObject {
        TrackObject(Arc::clone(&self.0.track))
    }
    /// Similarity in (0, 1]: 1 / (1 + distance). 1 means identical features,
    /// 0.5 a distance of one standard deviation on one feature.
    async fn score(&self) -> f32 {
        self.0.score
    }
    /// Euclidean distance in timbre's feature space (weighted standard
    /// deviations; see the README's "Feature space").
    async fn distance(&self) -> f32 {
        self.0.distance
    }
    /// Why the track is close: per feature, seed and track values in the
    /// feature's own units.
    async fn explanation(&self) -> Explanation {
        Explanation::of(&self.0)
    }
}

impl Explanation {
    /// The explanation of a search result.
    pub fn of(n: &Neighbour) -> Self {
        let e = &n.explanation();
        Explanation {
            closest: e.closest(3).iter().map(Comparison::from).collect(),
            farthest: e.farthest(3).iter().map(Comparison::from).collect(),
            all: e.comparisons.iter().map(Comparison::from).collect(),
        }
    }
}

/// Which features made a track close to its seed.
#[derive(SimpleObject)]
pub struct Explanation {
    /// The three features that lie closest to the seed, closest first.
    closest: Vec<Comparison>,
    /// The three features that lie farthest from the seed, farthest first.
    farthest: Vec<Comparison>,
    /// Every feature both sides know, closest first.
    all: Vec<Comparison>,
}

/// One feature of a result compared with the seed.
#[derive(SimpleObject)]
#[graphql(name = "FeatureComparison")]
pub struct Comparison {
    feature: FeatureName,
    /// Unit of the values, e.g. "BPM".
    unit: &'static str,
    /// The seed's value.
    seed_value: f64,
    /// The result's value.
    value: f64,
    /// value - seedValue, in the feature's unit.
    difference: f64,
    /// This feature's share of the squared distance, 0 to 1.
    share: f64,
}

impl From<&FeatureComparison> for Comparison {
    fn from(c: &FeatureComparison) -> Self {
        Comparison {
            feature: c.feature.into(),
            unit: c.feature.unit(),
            seed_value: c.seed_value,
            value: c.value,
            difference: c.difference,
            share: c.share,
        }
    }
}

/// A genre the listener has not tried yet, with its evidence tracks.
pub struct GenreSuggestionObject(pub GenreSuggestion, pub Vec<SimilarTrack>);

impl From<GenreSuggestion> for GenreSuggestionObject {
    fn from(mut s: GenreSuggestion) -> Self {
        let tracks = std::mem::take(&mut s.tracks);
        GenreSuggestionObject(s, tracks.into_iter().map(SimilarTrack).collect())
    }
}

#[Object(name = "GenreSuggestion")]
impl GenreSuggestionObject {
    /// The genre (or subgenre) name.
    async fn genre(&self) -> &str {
        &self.0.genre
    }
    /// Mean similarity, in (0, 1], of the genre's tracks nearest the seed's taste.
    async fn score(&self) -> f32 {
        self.0.score
    }
    /// Why, in a sentence.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// The genre's tracks nearest the seed's taste: the case for it.
    async fn tracks(&self) -> &[SimilarTrack] {
        &self.1
    }
}
