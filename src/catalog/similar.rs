//! Nearest tracks to a seed, with an explanation of each.

use std::sync::Arc;

use crate::domain::feature_space::{score, FeatureSpace};
use crate::domain::{
    Explanation, FeatureValues, Track, TrackFields, TrackFilter, TrackId, TrackParts,
};
use crate::error::{Error, Result};
use timbre_index::SearchMode;

use super::Catalog;

/// What "similar to" means for a search.
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    /// Tracks like this catalog track (which is itself never returned).
    Track(TrackId),
    /// Tracks with features near these values; unknown values count as the
    /// catalog average and are left out of explanations.
    Features(FeatureValues),
}

/// A track found near a seed.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub track: Arc<Track>,
    /// Distance in the feature space (0 = identical features).
    pub distance: f32,
    /// Similarity in (0, 1], see [`score`].
    pub score: f32,
    /// The values the track is explained against: the seed's, or for a
    /// recommendation the nearest seed's after `shift` and `target`.
    pub seed: FeatureValues,
    /// The space the search ran in, for [`Neighbour::explanation`].
    pub space: Arc<FeatureSpace>,
}

impl Neighbour {
    /// Which features lie closest to and farthest from the seed. Computed
    /// when asked for, not with every search: few clients select it, and
    /// comparing every result with its seed took about a tenth of an
    /// unfiltered `similar` under HTTP load.
    pub fn explanation(&self) -> Explanation {
        self.space
            .compare(&self.seed, &self.track.features.values())
    }
}

impl Catalog {
    /// The `first` tracks nearest to `seed` that pass `filter`, nearest first.
    ///
    /// # Errors
    /// [`Error::TrackNotFound`] for an unknown seed track.
    pub fn similar(
        &self,
        seed: &Seed,
        first: usize,
        filter: &TrackFilter,
    ) -> Result<Vec<Neighbour>> {
        self.similar_parts(seed, first, filter, TrackParts::ALL)
    }

    /// [`Catalog::similar`] with only `parts` of each result's text copied
    /// (see [`TrackParts`]).
    ///
    /// # Errors
    /// As [`Catalog::similar`].
    pub fn similar_parts(
        &self,
        seed: &Seed,
        first: usize,
        filter: &TrackFilter,
        parts: TrackParts,
    ) -> Result<Vec<Neighbour>> {
        match seed {
            Seed::Track(id) => {
                let track = self.get(id).ok_or(Error::TrackNotFound(*id))?;
                let values = track.features().values();
                let vector = self
                    .index
                    .get(id)
                    .map(<[f32]>::to_vec)
                    .unwrap_or_else(|| self.space.encode(&values));
                self.nearest(&vector, &values, first, filter, &[*id], parts)
            }
            Seed::Features(values) => {
                let vector = self.space.encode(values);
                self.nearest(&vector, values, first, filter, &[], parts)
            }
        }
    }

    /// The `first` tracks nearest to `vector` that pass `filter` and are not
    /// in `exclude`, explained against `seed_values`. The filter runs inside
    /// the index search, so a selective filter still yields `first` results
    /// when that many tracks match.
    pub(crate) fn nearest(
        &self,
        vector: &[f32],
        seed_values: &FeatureValues,
        first: usize,
        filter: &TrackFilter,
        exclude: &[TrackId],
        parts: TrackParts,
    ) -> Result<Vec<Neighbour>> {
        let excluded = |id: u32| exclude.contains(self.index.key_of(id));
        let hits = if filter.is_empty() {
            // Excluding a few seeds needs no filter: ask for that many more
            // and drop them, which keeps the index on its fastest path.
            let mut hits = self.index.search_ids(
                vector,
                first + exclude.len(),
                None,
                SearchMode::Auto,
                None,
            )?;
            hits.retain(|&(id, _)| !excluded(id));
            hits.truncate(first);
            hits
        } else {
            let accept = |id: u32| !excluded(id) && filter.matches(&self.row(id));
            self.index
                .search_ids(vector, first, Some(&accept), SearchMode::Auto, None)?
        };
        Ok(hits
            .into_iter()
            .map(|(id, distance)| Neighbour {
                seed: *seed_values,
                space: Arc::clone(&self.space),
                score: score(distance),
                distance,
                track: Arc::new(self.row(id).to_track_parts(parts)),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::catalog_of;
    use super::*;
    use crate::domain::Feature;

    #[test]
    fn the_seed_is_excluded_and_the_nearest_comes_first() {
        let catalog = catalog_of(&[(0.10, "pop"), (0.12, "pop"), (0.50, "rock"), (0.90, "rock")]);
        let seed = catalog.tracks().next().unwrap().id;
        let found = catalog
            .similar(&Seed::Track(seed), 2, &TrackFilter::default())
            .unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|n| n.track.id != seed));
        assert_eq!(found[0].track.features.energy, 0.12);
        assert!(found[0].score > found[1].score && found[0].score <= 1.0);
        assert_eq!(
            found[0].explanation().farthest(1)[0].feature,
            Feature::Energy
        );
    }

    #[test]
    fn a_filter_restricts_results_without_shortening_them() {
        let catalog = catalog_of(&[(0.10, "pop"), (0.12, "pop"), (0.50, "rock"), (0.90, "rock")]);
        let mut values = [None; 13];
        values[Feature::Energy as usize] = Some(0.1);
        let filter = TrackFilter {
            genres: vec!["rock".into()],
            ..Default::default()
        };
        let found = catalog
            .similar(&Seed::Features(values), 2, &filter)
            .unwrap();
        let energies: Vec<f32> = found.iter().map(|n| n.track.features.energy).collect();
        assert_eq!(energies, vec![0.5, 0.9]);
        // Only the given feature is explained.
        assert_eq!(found[0].explanation().comparisons.len(), 1);
    }

    #[test]
    fn an_unknown_seed_is_not_found() {
        let catalog = catalog_of(&[(0.10, "pop")]);
        let missing = TrackId::parse("zzzzzzzzzzzzzzzzzzzzzz").unwrap();
        let err = catalog
            .similar(&Seed::Track(missing), 2, &TrackFilter::default())
            .unwrap_err();
        assert!(matches!(err, Error::TrackNotFound(id) if id == missing));
    }
}
