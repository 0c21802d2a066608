//! Genre analytics: how many tracks a genre has, its subgenres, its
//! popularity and the profile of each audio feature.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Feature, TrackFields};

/// Which genre names a query speaks of: the broad genres (e.g. "rock") or
/// the finer subgenres (e.g. "hard rock").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenreLevel {
    #[default]
    Genre,
    Subgenre,
}

impl GenreLevel {
    /// The names of this level a track belongs to.
    pub fn of(self, track: &impl TrackFields) -> &[String] {
        match self {
            GenreLevel::Genre => track.genres(),
            GenreLevel::Subgenre => track.subgenres(),
        }
    }
}

/// Count, mean, spread and extremes of a set of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    /// Population standard deviation.
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
}

/// Running sums behind a [`Summary`].
#[derive(Debug, Clone, Copy, Default)]
struct Accumulator {
    n: usize,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Accumulator {
    fn add(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        }
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn summary(&self) -> Option<Summary> {
        (self.n > 0).then(|| {
            let mean = self.sum / self.n as f64;
            Summary {
                count: self.n,
                mean,
                std_dev: (self.sum_sq / self.n as f64 - mean * mean).max(0.0).sqrt(),
                min: self.min,
                max: self.max,
            }
        })
    }
}

/// What the catalog knows about one genre.
#[derive(Debug, Clone, PartialEq)]
pub struct GenreProfile {
    pub name: String,
    pub level: GenreLevel,
    pub track_count: usize,
    /// Subgenres of the genre's tracks with their track counts, largest
    /// first (empty for a subgenre).
    pub subgenres: Vec<(String, usize)>,
    /// Popularity of the tracks that have one.
    pub popularity: Option<Summary>,
    /// One summary per feature that any track of the genre knows.
    pub features: Vec<(Feature, Summary)>,
}

#[derive(Default)]
struct GenreAccumulator {
    tracks: usize,
    subgenres: BTreeMap<String, usize>,
    popularity: Accumulator,
    features: [Accumulator; Feature::ALL.len()],
}

impl GenreAccumulator {
    /// Counts a track and adds its popularity and features.
    fn add(&mut self, track: &impl TrackFields) {
        self.tracks += 1;
        if let Some(p) = track.popularity() {
            self.popularity.add(f64::from(p));
        }
        for feature in Feature::ALL {
            if let Some(x) = track.features().get(feature) {
                self.features[feature as usize].add(x);
            }
        }
    }
}

/// The value of `key` in `map`, inserted as the default when absent; the
/// key is copied only then (a million tracks name a few dozen genres).
fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

/// Profiles of every genre (or subgenre) of `tracks`, sorted by name.
pub fn profiles(
    tracks: impl IntoIterator<Item = impl TrackFields>,
    level: GenreLevel,
) -> Vec<GenreProfile> {
    let mut genres: BTreeMap<String, GenreAccumulator> = BTreeMap::new();
    for track in tracks {
        for name in level.of(&track) {
            let acc = entry(&mut genres, name);
            acc.add(&track);
            if level == GenreLevel::Genre {
                for sub in track.subgenres() {
                    *entry(&mut acc.subgenres, sub) += 1;
                }
            }
        }
    }
    genres
        .into_iter()
        .map(|(name, acc)| {
            let mut subgenres: Vec<(String, usize)> = acc.subgenres.into_iter().collect();
            subgenres.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            GenreProfile {
                name,
                level,
                track_count: acc.tracks,
                subgenres,
                popularity: acc.popularity.summary(),
                features: Feature::ALL
                    .into_iter()
                    .filter_map(|f| acc.features[f as usize].summary().map(|s| (f, s)))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::track::tests_support::track;
    use super::*;

    #[test]
    fn profiles_count_tracks_and_summarise_features() {
        let mut a = track("0000000000000000000001", &["pop"], "A", 40, 2000);
        a.subgenres = vec!["dance pop".into()];
        a.features.energy = 0.2;
        let mut b = track("0000000000000000000002", &["pop", "rock"], "B", 60, 2001);
        b.features.energy = 0.6;
        let all = profiles([&a, &b], GenreLevel::Genre);
        assert_eq!(all.len(), 2);
        let pop = &all[0];
        assert_eq!((pop.name.as_str(), pop.track_count), ("pop", 2));
        assert_eq!(pop.subgenres, vec![("dance pop".to_string(), 1)]);
        assert_eq!(pop.popularity.unwrap().mean, 50.0);
        let energy = pop
            .features
            .iter()
            .find(|(f, _)| *f == Feature::Energy)
            .unwrap()
            .1;
        assert!((energy.mean - 0.4).abs() < 1e-6 && (energy.std_dev - 0.2).abs() < 1e-6);
        assert_eq!((energy.min as f32, energy.max as f32), (0.2, 0.6));
        assert_eq!(all[1].track_count, 1);
        let subs = profiles([&a, &b], GenreLevel::Subgenre);
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].name, "dance pop");
    }
}

/// One genre in one release year: how many tracks, how popular, and the
/// mean of each audio feature. The unit of genre-trend dashboards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearTrend {
    pub genre: String,
    pub year: u16,
    pub track_count: usize,
    /// Mean popularity of the tracks that have one.
    pub popularity: Option<f64>,
    /// Mean of every feature any of the tracks knows.
    pub features: Vec<(Feature, f64)>,
}

/// Which trends to compute: genres (all when empty) and an inclusive range
/// of release years (open ends allowed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendQuery {
    pub level: GenreLevel,
    /// Lower-case names.
    pub genres: Vec<String>,
    pub from: Option<u16>,
    pub to: Option<u16>,
}

impl TrendQuery {
    fn wants_year(&self, year: u16) -> bool {
        self.from.is_none_or(|f| year >= f) && self.to.is_none_or(|t| year <= t)
    }
}

/// Trends per genre and release year over `tracks`, sorted by genre, then
/// year. Tracks without a release year are left out.
pub fn trends(
    tracks: impl IntoIterator<Item = impl TrackFields>,
    query: &TrendQuery,
) -> Vec<YearTrend> {
    let mut groups: BTreeMap<(String, u16), GenreAccumulator> = BTreeMap::new();
    for track in tracks {
        let Some(year) = track.release_year().filter(|y| query.wants_year(*y)) else {
            continue;
        };
        for name in query.level.of(&track) {
            if !query.genres.is_empty() && !query.genres.contains(name) {
                continue;
            }
            groups.entry((name.clone(), year)).or_default().add(&track);
        }
    }
    groups
        .into_iter()
        .map(|((genre, year), acc)| YearTrend {
            genre,
            year,
            track_count: acc.tracks,
            popularity: acc.popularity.summary().map(|s| s.mean),
            features: Feature::ALL
                .into_iter()
                .filter_map(|f| acc.features[f as usize].summary().map(|s| (f, s.mean)))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod trend_tests {
    use super::super::track::tests_support::track;
    use super::*;

    #[test]
    fn trends_group_by_genre_and_year_within_the_range() {
        let mut a = track("0000000000000000000001", &["pop"], "A", 40, 2000);
        a.features.energy = 0.2;
        let mut b = track("0000000000000000000002", &["pop"], "B", 60, 2000);
        b.features.energy = 0.4;
        let c = track("0000000000000000000003", &["pop", "rock"], "C", 10, 2010);
        let query = TrendQuery {
            genres: vec!["pop".into()],
            to: Some(2005),
            ..Default::default()
        };
        let found = trends([&a, &b, &c], &query);
        assert_eq!(found.len(), 1);
        let t = &found[0];
        assert_eq!((t.genre.as_str(), t.year, t.track_count), ("pop", 2000, 2));
        assert_eq!(t.popularity, Some(50.0));
        let energy = t
            .features
            .iter()
            .find(|(f, _)| *f == Feature::Energy)
            .unwrap()
            .1;
        assert!((energy - 0.3).abs() < 1e-6);
        assert_eq!(trends([&a, &b, &c], &TrendQuery::default()).len(), 3);
    }
}
