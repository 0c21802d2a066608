//! Genre agreement@k of `similar`: the share of a track's k nearest
//! neighbours that share a genre with it, averaged over seed tracks.
//!
//! Genres are not in the feature space, so agreement measures how well
//! the space groups tracks the way playlist curators did. A track may have
//! several genres (it sits in playlists of several); a neighbour agrees
//! when it shares any of them. Seeds without a genre are skipped. The same
//! is reported for subgenres, a finer and harder target.

use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, Seed};
use crate::domain::{Track, TrackFields, TrackFilter, TrackId};
use crate::error::Result;

use super::parallel;

/// Neighbours per seed.
pub const K: usize = 10;

/// Mean agreement of neighbours with their seeds, 0..=1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Agreement {
    pub genre: f64,
    pub subgenre: f64,
}

/// Whether two sorted lists share an element.
fn shares_any(a: &[String], b: &[String]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Mean of the `Some` shares; 0 when there are none.
fn mean(shares: impl Iterator<Item = Option<f64>>) -> f64 {
    let (sum, n) = shares
        .flatten()
        .fold((0.0, 0usize), |(sum, n), s| (sum + s, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Agreement@[`K`] of [`Catalog::similar`] (no filter) over `seeds`.
///
/// # Errors
/// A seed that is not in the catalogue, or an index error.
pub fn of_similar(catalog: &Catalog, seeds: &[TrackId]) -> Result<Agreement> {
    let per_seed = parallel::map(seeds, |_, id| -> Result<(Option<f64>, Option<f64>)> {
        let seed = catalog
            .get(id)
            .expect("seeds come from the catalogue")
            .to_track();
        let neighbours = catalog.similar(&Seed::Track(*id), K, &TrackFilter::default())?;
        let share = |labels: fn(&Track) -> &[String]| {
            if labels(&seed).is_empty() || neighbours.is_empty() {
                return None;
            }
            let agreeing = neighbours
                .iter()
                .filter(|n| shares_any(labels(&seed), labels(&n.track)))
                .count();
            Some(agreeing as f64 / neighbours.len() as f64)
        };
        Ok((share(|t| &t.genres), share(|t| &t.subgenres)))
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    Ok(Agreement {
        genre: mean(per_seed.iter().map(|s| s.0)),
        subgenre: mean(per_seed.iter().map(|s| s.1)),
    })
}

/// The agreement expected of neighbours drawn uniformly at random from the
/// other tracks, computed exactly: for each seed, the share of the other
/// tracks that share a label with it. Tracks are grouped by label set, so
/// the cost is the square of the number of distinct sets, not of tracks.
pub fn by_chance(tracks: &[Track]) -> Agreement {
    fn chance(tracks: &[Track], labels: fn(&Track) -> &[String]) -> f64 {
        let mut sets: FxHashMap<&[String], usize> = FxHashMap::default();
        for t in tracks {
            *sets.entry(labels(t)).or_default() += 1;
        }
        let others = tracks.len().saturating_sub(1).max(1) as f64;
        let shares = sets
            .iter()
            .filter(|(set, _)| !set.is_empty())
            .map(|(set, &count)| {
                let sharing: usize = sets
                    .iter()
                    .filter(|(other, _)| shares_any(set, other))
                    .map(|(_, n)| n)
                    .sum();
                // Every seed with this set shares it with the others of
                // the set, not with itself.
                (count, (sharing - 1) as f64 / others)
            })
            .flat_map(|(count, share)| std::iter::repeat_n(Some(share), count));
        mean(shares)
    }
    Agreement {
        genre: chance(tracks, |t| &t.genres),
        subgenre: chance(tracks, |t| &t.subgenres),
    }
}

#[cfg(test)]
mod tests {
    use super::super::split::tests::track;
    use super::*;
    use crate::domain::feature::Feature;
    use timbre_index::IndexParams;

    fn labelled(n: usize, genre: &str, energy: f64) -> Track {
        let mut t = track(n, &[]);
        t.genres = vec![genre.to_string()];
        t.subgenres = vec![format!("{genre} sub")];
        let mut raw = crate::domain::feature::tests::raw_sample();
        raw.set(Feature::Energy, energy);
        t.features = crate::domain::AudioFeatures::parse(&raw).unwrap();
        t
    }

    #[test]
    fn shares_any_walks_sorted_lists() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(shares_any(
            &s(&["edm", "pop", "rock"]),
            &s(&["latin", "rock"])
        ));
        assert!(!shares_any(&s(&["edm", "pop"]), &s(&["latin", "rock"])));
        assert!(!shares_any(&s(&[]), &s(&["rock"])));
    }

    #[test]
    fn neighbours_in_a_space_that_separates_genres_agree() {
        // Two genres far apart in energy, eleven tracks each: every
        // track's ten nearest neighbours are its own genre.
        let mut tracks: Vec<Track> = (0..11).map(|n| labelled(n, "rock", 0.1)).collect();
        tracks.extend((11..22).map(|n| labelled(n, "pop", 0.9)));
        let catalog = Catalog::build(tracks.clone(), IndexParams::default().exact_only()).unwrap();
        let seeds: Vec<TrackId> = tracks.iter().map(|t| t.id).collect();
        let agreement = of_similar(&catalog, &seeds).unwrap();
        assert_eq!(
            agreement,
            Agreement {
                genre: 1.0,
                subgenre: 1.0
            }
        );
        // Chance: 10 of the 21 others share each seed's genre.
        let chance = by_chance(&tracks);
        assert!((chance.genre - 10.0 / 21.0).abs() < 1e-12);
    }
}
