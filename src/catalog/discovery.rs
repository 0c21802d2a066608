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

use crate::domain::{GenreLevel, Seeds, TrackFields, TrackFilter, TrackParts};
use crate::error::{Error, Result};

use super::seeds::{mean, mean_values};
use super::{Catalog, Neighbour};

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
    /// each argued by its `evidence` tracks nearest the seed's taste. The
    /// seed takes the same entries as `recommend`'s, placed in the feature
    /// space the same way.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty seed or an album or artist without
    /// tracks, [`Error::TrackNotFound`] and [`Error::GenreNotFound`] for
    /// unknown seed entries.
    pub fn discover_genres(
        &self,
        seed: &Seeds,
        first: usize,
        level: GenreLevel,
        evidence: usize,
    ) -> Result<Vec<GenreSuggestion>> {
        if seed.is_empty() {
            return Err(Error::invalid(
                "the seed needs at least one track id, album, artist, genre or set of features",
            ));
        }
        let points = self.seed_points(seed)?;
        let taste = mean(points.iter().map(|p| p.vector.as_slice()));
        let taste_values = mean_values(points.iter().map(|p| &p.values));
        let known = self.known_genres(seed, level);

        let profiles = self.genres(level);
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
            let tracks = self.nearest(
                &taste,
                &taste_values,
                evidence,
                &filter,
                &seed.track_ids,
                TrackParts::ALL,
            )?;
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

    /// Genres (at `level`) the seed already holds: those named, and those of
    /// the seed's tracks, albums and artists.
    fn known_genres(&self, seed: &Seeds, level: GenreLevel) -> BTreeSet<String> {
        let mut known: BTreeSet<String> = seed
            .genres
            .iter()
            .map(|g| g.trim().to_lowercase())
            .collect();
        for id in &seed.track_ids {
            if let Some(t) = self.get(id) {
                known.extend(level.of(&t).iter().cloned());
            }
        }
        if !seed.albums.is_empty() || !seed.artists.is_empty() {
            for t in self.rows() {
                let by_artist = seed.artists.iter().any(|a| t.credits(a.trim()));
                let on_album = seed.albums.iter().any(|a| t.on_album(a.trim()));
                if by_artist || on_album {
                    known.extend(level.of(&t).iter().cloned());
                }
            }
        }
        known
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
        .explanation()
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
            .find(|t| t.genres() == ["ambient"])
            .unwrap()
            .id;
        let seed = Seeds {
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
        let seed = Seeds {
            genres: vec!["Folk".into()],
            ..Default::default()
        };
        let found = catalog
            .discover_genres(&seed, 5, GenreLevel::Genre, 2)
            .unwrap();
        assert!(found.iter().all(|g| g.genre != "folk"));
        assert_eq!(found.len(), 2);

        let empty = catalog.discover_genres(&Seeds::default(), 5, GenreLevel::Genre, 2);
        assert!(matches!(empty, Err(Error::Invalid(_))));
        let unknown = Seeds {
            genres: vec!["polka".into()],
            ..Default::default()
        };
        assert!(matches!(
            catalog.discover_genres(&unknown, 5, GenreLevel::Genre, 2),
            Err(Error::GenreNotFound(g)) if g == "polka"
        ));
        let nobody = Seeds {
            artists: vec!["Nobody".into()],
            ..Default::default()
        };
        assert!(matches!(
            catalog.discover_genres(&nobody, 5, GenreLevel::Genre, 2),
            Err(Error::Invalid(_))
        ));
    }
}
