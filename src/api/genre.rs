//! GraphQL objects for genre profiles.

use async_graphql::{Enum, Object, SimpleObject};

use super::features::FeatureName;
use crate::domain::{Feature, GenreProfile, Summary};

/// Broad genres ("rock") or finer subgenres ("hard rock").
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "crate::domain::GenreLevel")]
pub enum GenreLevel {
    #[default]
    Genre,
    Subgenre,
}

/// A genre (or subgenre) and what its tracks are like.
pub struct GenreObject(pub GenreProfile);

#[Object(name = "Genre")]
impl GenreObject {
    /// Lower-case name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Whether this is a genre or a subgenre.
    async fn level(&self) -> GenreLevel {
        self.0.level.into()
    }
    /// Number of tracks in the genre.
    async fn track_count(&self) -> usize {
        self.0.track_count
    }
    /// Subgenres of the genre's tracks, most tracks first (empty for a subgenre).
    async fn subgenres(&self) -> Vec<GenreCount> {
        self.0
            .subgenres
            .iter()
            .map(|(name, n)| GenreCount {
                name: name.clone(),
                track_count: *n,
            })
            .collect()
    }
    /// Popularity (0 to 100) of the genre's tracks.
    async fn popularity(&self) -> Option<SummaryObject> {
        self.0.popularity.map(SummaryObject)
    }
    /// Mean, spread and range of every audio feature over the genre's tracks.
    async fn features(&self) -> Vec<FeatureSummary> {
        self.0
            .features
            .iter()
            .map(|(f, s)| FeatureSummary::new(*f, *s))
            .collect()
    }
    /// The summary of one feature.
    async fn feature(&self, name: FeatureName) -> Option<FeatureSummary> {
        let wanted: Feature = name.into();
        self.0
            .features
            .iter()
            .find(|(f, _)| *f == wanted)
            .map(|(f, s)| FeatureSummary::new(*f, *s))
    }
}

/// A subgenre and how many tracks it has.
#[derive(SimpleObject)]
pub struct GenreCount {
    name: String,
    track_count: usize,
}

/// Count, mean, standard deviation and range of a set of values.
pub struct SummaryObject(pub Summary);

#[Object(name = "Summary")]
impl SummaryObject {
    /// Number of values summarised.
    async fn count(&self) -> usize {
        self.0.count
    }
    async fn mean(&self) -> f64 {
        self.0.mean
    }
    /// Population standard deviation.
    async fn std_dev(&self) -> f64 {
        self.0.std_dev
    }
    async fn min(&self) -> f64 {
        self.0.min
    }
    async fn max(&self) -> f64 {
        self.0.max
    }
}

/// The distribution of one feature over a genre, in the feature's units.
#[derive(SimpleObject)]
pub struct FeatureSummary {
    feature: FeatureName,
    /// The unit of the values, e.g. "BPM" or "dB".
    unit: &'static str,
    count: usize,
    mean: f64,
    std_dev: f64,
    min: f64,
    max: f64,
}

impl FeatureSummary {
    pub(super) fn new(feature: Feature, s: Summary) -> Self {
        FeatureSummary {
            feature: feature.into(),
            unit: feature.unit(),
            count: s.count,
            mean: s.mean,
            std_dev: s.std_dev,
            min: s.min,
            max: s.max,
        }
    }
}
