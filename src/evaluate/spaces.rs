//! The feature spaces `timbre evaluate` compares with version 1: what
//! happens to neighbours without the weights, without the log and circle
//! encodings, or without the features that describe a recording's key and
//! length more than its sound.

use crate::catalog::Catalog;
use crate::domain::feature_space::{Column, Encoding};
use crate::domain::{Feature, FeatureSpace, Track};
use crate::error::Result;

/// A candidate feature space.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    /// Its name in the table.
    pub name: &'static str,
    /// (feature, encoding, weight) per dimension; `None` for version 1
    /// exactly as the server builds it ([`Catalog::build`]).
    pub columns: Option<Vec<(Feature, Encoding, f64)>>,
}

/// The encoded features, in version 1's order, that a "plain" space
/// standardises linearly: every feature the shared dataset has.
const PLAIN: [Feature; 12] = [
    Feature::Danceability,
    Feature::Energy,
    Feature::Valence,
    Feature::Acousticness,
    Feature::Instrumentalness,
    Feature::Speechiness,
    Feature::Loudness,
    Feature::Liveness,
    Feature::Tempo,
    Feature::Mode,
    Feature::DurationMs,
    Feature::Key,
];

/// Version 1's (feature, encoding, weight) columns.
fn v1() -> Vec<(Feature, Encoding, f64)> {
    FeatureSpace::default()
        .columns
        .iter()
        .map(|c: &Column| (c.feature, c.encoding, c.weight))
        .collect()
}

/// Version 1 and the variants compared with it.
pub fn candidates() -> Vec<Space> {
    let unweighted = |cols: Vec<(Feature, Encoding, f64)>| {
        cols.into_iter()
            .map(|(f, e, _)| (f, e, 1.0))
            .collect::<Vec<_>>()
    };
    let without_key_mode_duration = |cols: Vec<(Feature, Encoding, f64)>| {
        cols.into_iter()
            .filter(|(f, _, _)| !matches!(f, Feature::Key | Feature::Mode | Feature::DurationMs))
            .collect::<Vec<_>>()
    };
    vec![
        Space {
            name: "v1 (weighted; log tempo and duration, fifths key)",
            columns: None,
        },
        Space {
            name: "v1 encodings, every weight 1",
            columns: Some(unweighted(v1())),
        },
        Space {
            name: "plain: linear z-scores, every weight 1",
            columns: Some(
                PLAIN
                    .iter()
                    .map(|&f| (f, Encoding::Standard, 1.0))
                    .collect(),
            ),
        },
        Space {
            name: "v1 without key, mode, duration",
            columns: Some(without_key_mode_duration(v1())),
        },
        Space {
            name: "v1 encodings, weight 1, no key/mode/duration",
            columns: Some(without_key_mode_duration(unweighted(v1()))),
        },
    ]
}

impl Space {
    /// A catalogue of `tracks` whose index is made in this space, built
    /// with `params`. Version 1 goes
    /// through [`Catalog::build`]; a variant is fitted with
    /// [`FeatureSpace::with_columns`] and assembled around its own index,
    /// so that [`Catalog::similar`] and [`Catalog::continue_tracks`] search
    /// it exactly as they search the server's.
    ///
    /// # Errors
    /// An index error (invalid parameters or a non-finite vector).
    pub fn catalog(&self, tracks: &[Track], params: timbre_index::IndexParams) -> Result<Catalog> {
        let Some(columns) = &self.columns else {
            return Catalog::build(tracks.to_vec(), params);
        };
        let values: Vec<_> = tracks.iter().map(|t| t.features.values()).collect();
        let space = FeatureSpace::with_columns(columns.iter().copied(), &values);
        let vectors = tracks
            .iter()
            .zip(&values)
            .map(|(t, v)| (t.id, space.encode(v)));
        let index = timbre_index::VectorIndex::build(space.dim(), params, vectors)?;
        let (catalog, _) = Catalog::from_snapshot(tracks.to_vec(), index, space)?;
        Ok(catalog)
    }
}
