//! Genre discovery: which genres a listener has not tried yet would suit
//! their taste.
//!
//! The taste is the centroid of the seed in the feature space (each kind of
//! seed — tracks, artists, genres — weighs the same, so one prolific artist
//! does not drown three hand-picked tracks). A candidate genre is scored by
//! the mean similarity of its few tracks nearest to that centroid: a genre
//! ranks high when some of its tracks sound like the seed, however large or
//! varied the genre is otherwise.

use std::collections::BTreeSet;

use crate::domain::feature::FEATURE_COUNT;
use crate::domain::{FeatureValues, GenreLevel, Track, TrackFilter, TrackId};
use crate::error::{Error, Result};

use super::{Catalog, Neighbour};

/// What the listener already likes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TasteSeed {
    pub track_ids: Vec<TrackId>,
    /// Artist names (case-insensitive).
    pub artists: Vec<String>,
    /// Genre names at the level asked for (case-insensitive).
    pub genres: Vec<String>,
}

/// A genre suggested to the listener.
#[derive(Debug, Clone)]
pub struct GenreSuggestion {
    pub genre: String,
    /// Mean similarity, in (0, 1], of the genre's tracks nearest the taste.
    pub score: f32,
    /// One sentence on why, for people.
    pub reason: String,
    /// The genre's tracks nearest the taste: the case for it.
    pub tracks: Vec<Neighbour>,
}

impl Catalog {
    /// Up to `first` genres (or subgenres) absent from the seed, best first,
    /// each argued by its `evidence` tracks nearest the seed's taste.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty seed or an artist without tracks,
    /// [`Error::TrackNotFound`] and [`Error::GenreNotFound`] for unknown
    /// seed entries.
    pub fn discover_genres(
        &self,
        seed: &TasteSeed,
        first: usize,
        level: GenreLevel,
        evidence: usize,
    ) -> Result<Vec<GenreSuggestion>> {
        if seed.track_ids.is_empty() && seed.artists.is_empty() && seed.genres.is_empty() {
            return Err(Error::invalid(
                "the seed needs at least one track id, artist or genre",
            ));
        }
        let mut sources: Vec<Vec<&Track>> = Vec::new();
        let mut known: BTreeSet<String> = BTreeSet::new();

        let by_id = seed
            .track_ids
            .iter()
            .map(|id| {
                self.get(id)
                    .map(|t| t.as_ref())
                    .ok_or(Error::TrackNotFound(*id))
            })
            .collect::<Result<Vec<_>>>()?;
        sources.push(by_id);

        let mut by_artist = Vec::new();
        for artist in &seed.artists {
            let filter = TrackFilter {
                artists: vec![artist.clone()],
                ..Default::default()
            }
            .new()?;
            let before = by_artist.len();
            by_artist.extend(
                self.tracks()
                    .filter(|t| filter.matches(t))
                    .map(|t| t.as_ref()),
            );
            if by_artist.len() == before {
                return Err(Error::invalid(format!(
                    "no track by artist {artist:?} in the catalog"
                )));
            }
        }
        sources.push(by_artist);

        let profiles = self.genres(level);
        let mut by_genre = Vec::new();
        for name in &seed.genres {
            let name = name.trim().to_lowercase();
            if !profiles.iter().any(|g| g.name == name) {
                return Err(Error::GenreNotFound(name));
            }
            by_genre.extend(
                self.tracks()
                    .filter(|t| level.of(t).contains(&name))
                    .map(|t| t.as_ref()),
            );
            known.insert(name);
        }
        sources.push(by_genre);

        for track in sources[0].iter().chain(&sources[1]) {
            known.extend(level.of(track).iter().cloned());
        }
        let sources: Vec<&Vec<&Track>> = sources.iter().filter(|s| !s.is_empty()).collect();
        let taste = mean(sources.iter().map(|s| self.centroid(s)));
        let taste_values = mean_values(
            sources
                .iter()
                .map(|s| mean_values(s.iter().map(|t| t.features.values()))),
        );

        let mut suggestions = Vec::new();
        for genre in profiles.iter().filter(|g| !known.contains(&g.name)) {
            let filter = match level {
                GenreLevel::Genre => TrackFilter {
                    genres: vec![genre.name.clone()],
                    ..Default::default()
                },
                GenreLevel::Subgenre => TrackFilter {
                    subgenres: vec![genre.name.clone()],
                    ..Default::default()
                },
            };
            let tracks = self.nearest(&taste, &taste_values, evidence, &filter, &seed.track_ids)?;
            if tracks.is_empty() {
                continue;
            }
            let score = tracks.iter().map(|n| n.score).sum::<f32>() / tracks.len() as f32;
            suggestions.push(GenreSuggestion {
                reason: reason(score, &tracks),
                genre: genre.name.clone(),
                score,
                tracks,
            });
        }
        suggestions.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.genre.cmp(&b.genre))
        });
        suggestions.truncate(first);
        Ok(suggestions)
    }

    fn centroid(&self, tracks: &[&Track]) -> Vec<f32> {
        mean(tracks.iter().map(|t| {
            self.index
                .get(&t.id)
                .map(<[f32]>::to_vec)
                .unwrap_or_else(|| self.space.encode(&t.features.values()))
        }))
    }
}

fn reason(score: f32, tracks: &[Neighbour]) -> String {
    let best = &tracks[0];
    let name = best.track.name.as_deref().unwrap_or("an untitled track");
    let by = best
        .track
        .artists
        .first()
        .map(|a| format!(" by {a}"))
        .unwrap_or_default();
    let alike: Vec<String> = best
        .explanation
        .closest(2)
        .iter()
        .map(|c| c.feature.to_string())
        .collect();
    format!(
        "{} of its tracks lie close to your taste (mean similarity {score:.2}); the nearest, \"{name}\"{by}, matches you most in {}",
        tracks.len(),
        alike.join(" and ")
    )
}

/// Element-wise mean of equally long vectors (empty input: empty vector).
fn mean(vectors: impl Iterator<Item = Vec<f32>>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    let mut n = 0;
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
        n += 1;
    }
    sum.iter_mut().for_each(|s| *s /= n.max(1) as f32);
    sum
}

/// Per-feature mean of the values known in each set.
fn mean_values(values: impl Iterator<Item = FeatureValues>) -> FeatureValues {
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
mod tests {
    use super::super::tests::catalog_of;
    use super::*;

    #[test]
    fn suggests_unknown_genres_nearest_first_with_their_case() {
        let catalog = catalog_of(&[
            (0.10, "ambient"),
            (0.15, "folk"),
            (0.20, "folk"),
            (0.80, "metal"),
            (0.90, "metal"),
        ]);
        let ambient = catalog
            .tracks()
            .find(|t| t.genres == ["ambient"])
            .unwrap()
            .id;
        let seed = TasteSeed {
            track_ids: vec![ambient],
            ..Default::default()
        };
        let found = catalog
            .discover_genres(&seed, 5, GenreLevel::Genre, 2)
            .unwrap();
        let names: Vec<&str> = found.iter().map(|g| g.genre.as_str()).collect();
        assert_eq!(names, ["folk", "metal"]);
        assert!(found[0].score > found[1].score);
        assert_eq!(found[0].tracks.len(), 2);
        assert!(found[0].reason.contains("energy") || found[0].reason.contains("close"));
    }

    #[test]
    fn seed_genres_are_excluded_and_bad_seeds_are_errors() {
        let catalog = catalog_of(&[(0.10, "ambient"), (0.15, "folk"), (0.80, "metal")]);
        let seed = TasteSeed {
            genres: vec!["Folk".into()],
            ..Default::default()
        };
        let found = catalog
            .discover_genres(&seed, 5, GenreLevel::Genre, 2)
            .unwrap();
        assert!(found.iter().all(|g| g.genre != "folk"));
        assert_eq!(found.len(), 2);

        let empty = catalog.discover_genres(&TasteSeed::default(), 5, GenreLevel::Genre, 2);
        assert!(matches!(empty, Err(Error::Invalid(_))));
        let unknown = TasteSeed {
            genres: vec!["polka".into()],
            ..Default::default()
        };
        assert!(matches!(
            catalog.discover_genres(&unknown, 5, GenreLevel::Genre, 2),
            Err(Error::GenreNotFound(g)) if g == "polka"
        ));
        let nobody = TasteSeed {
            artists: vec!["Nobody".into()],
            ..Default::default()
        };
        assert!(matches!(
            catalog.discover_genres(&nobody, 5, GenreLevel::Genre, 2),
            Err(Error::Invalid(_))
        ));
    }
}
