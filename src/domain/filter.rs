//! [`TrackFilter`]: which tracks a listing or a search may return.

use rustc_hash::FxHashSet;

use super::feature::FEATURE_COUNT;
use super::{DomainError, Feature, Result, TrackFields, TrackId};

/// Conditions on a track. Within one list any entry may match; across
/// fields all conditions must hold. Names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackFilter {
    /// Lower-case genre names.
    pub genres: Vec<String>,
    /// Lower-case subgenre names.
    pub subgenres: Vec<String>,
    /// Lower-case artist names.
    pub artists: Vec<String>,
    /// Lower-case album names or album ids.
    pub albums: Vec<String>,
    pub min_popularity: Option<u8>,
    pub max_popularity: Option<u8>,
    pub min_year: Option<u16>,
    pub max_year: Option<u16>,
    /// Lower-case artist names no returned track may credit.
    pub exclude_artists: Vec<String>,
    /// `Some(false)`: no track known to be explicit; `Some(true)`: only
    /// tracks known to be explicit. Tracks whose flag is unknown pass
    /// `Some(false)` (the shared dataset has no flag at all).
    pub explicit: Option<bool>,
    /// Tracks never to return.
    pub exclude_ids: FxHashSet<TrackId>,
    /// Inclusive bounds per feature, in the feature's own units (Spotify's
    /// `min_*` and `max_*`); a track whose value is unknown fails a bound.
    pub features: [(Option<f64>, Option<f64>); FEATURE_COUNT],
}

impl TrackFilter {
    /// Builds a filter, lower-casing names and checking that ranges are not
    /// empty.
    ///
    /// # Errors
    /// [`DomainError::InvalidArgument`] for a range whose minimum exceeds its
    /// maximum, or a popularity above 100.
    pub fn new(mut self) -> Result<Self> {
        for list in [
            &mut self.genres,
            &mut self.subgenres,
            &mut self.artists,
            &mut self.albums,
            &mut self.exclude_artists,
        ] {
            for name in list.iter_mut() {
                *name = name.trim().to_lowercase();
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_popularity, self.max_popularity) {
            if lo > hi {
                return Err(DomainError::InvalidArgument(format!(
                    "popularity range {lo}..{hi} is empty"
                )));
            }
        }
        if self.min_popularity.max(self.max_popularity) > Some(100) {
            return Err(DomainError::InvalidArgument(
                "popularity lies within 0..=100".into(),
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min_year, self.max_year) {
            if lo > hi {
                return Err(DomainError::InvalidArgument(format!(
                    "release year range {lo}..{hi} is empty"
                )));
            }
        }
        for feature in Feature::ALL {
            if let (Some(lo), Some(hi)) = self.features[feature as usize] {
                if lo > hi {
                    return Err(DomainError::InvalidArgument(format!(
                        "{feature} range {lo}..{hi} is empty"
                    )));
                }
            }
        }
        Ok(self)
    }

    /// Whether the filter lets every track through.
    pub fn is_empty(&self) -> bool {
        self.genres.is_empty()
            && self.subgenres.is_empty()
            && self.artists.is_empty()
            && self.albums.is_empty()
            && self.min_popularity.is_none()
            && self.max_popularity.is_none()
            && self.min_year.is_none()
            && self.max_year.is_none()
            && self.exclude_artists.is_empty()
            && self.explicit.is_none()
            && self.exclude_ids.is_empty()
            && self.features.iter().all(|b| *b == (None, None))
    }

    /// Whether `track` satisfies every condition.
    pub fn matches(&self, track: &impl TrackFields) -> bool {
        let album = track.album();
        let artists = track.artists();
        any_of(&self.genres, track.genres())
            && any_of(&self.subgenres, track.subgenres())
            && any_of(&self.artists, artists)
            && any_of(&self.albums, album.name.iter().chain(&album.id))
            && in_range(track.popularity(), self.min_popularity, self.max_popularity)
            && in_range(track.release_year(), self.min_year, self.max_year)
            && !self.exclude_ids.contains(&track.id())
            && (self.exclude_artists.is_empty() || !any_of(&self.exclude_artists, artists))
            && match (self.explicit, track.explicit()) {
                (Some(false), Some(true)) => false,
                (Some(true), flag) => flag == Some(true),
                _ => true,
            }
            && Feature::ALL.iter().all(|f| {
                // Tracks hold features as f32: round the bounds the same way,
                // so that `max: 0.6` keeps a track whose 0.6 reads back as
                // 0.6000000238.
                let f32_precision = |x: Option<f64>| x.map(|x| f64::from(x as f32));
                let (lo, hi) = self.features[*f as usize];
                in_range(
                    track.features().get(*f),
                    f32_precision(lo),
                    f32_precision(hi),
                )
            })
    }
}

/// Whether `wanted` is empty or one of `have` equals one of `wanted`,
/// ignoring case.
fn any_of<'a>(wanted: &[String], have: impl IntoIterator<Item = &'a String>) -> bool {
    wanted.is_empty()
        || have
            .into_iter()
            .any(|h| wanted.iter().any(|w| h.eq_ignore_ascii_case(w)))
}

/// A value within optional bounds; an unknown value fails any bound.
fn in_range<T: PartialOrd + Copy>(value: Option<T>, min: Option<T>, max: Option<T>) -> bool {
    if min.is_none() && max.is_none() {
        return true;
    }
    value.is_some_and(|v| min.is_none_or(|lo| v >= lo) && max.is_none_or(|hi| v <= hi))
}

#[cfg(test)]
mod tests {
    use super::super::track::tests_support::track;
    use super::*;

    #[test]
    fn conditions_combine_with_and_and_lists_with_or() {
        let t = track(
            "0000000000000000000001",
            &["pop", "rock"],
            "Queen",
            80,
            1975,
        );
        let f = |f: TrackFilter| f.new().unwrap().matches(&t);
        assert!(f(TrackFilter::default()));
        assert!(f(TrackFilter {
            genres: vec!["ROCK".into(), "jazz".into()],
            ..Default::default()
        }));
        assert!(!f(TrackFilter {
            genres: vec!["jazz".into()],
            ..Default::default()
        }));
        assert!(f(TrackFilter {
            artists: vec!["queen".into()],
            min_year: Some(1970),
            ..Default::default()
        }));
        assert!(!f(TrackFilter {
            artists: vec!["queen".into()],
            min_year: Some(1980),
            ..Default::default()
        }));
        assert!(f(TrackFilter {
            min_popularity: Some(80),
            max_popularity: Some(80),
            ..Default::default()
        }));
    }

    #[test]
    fn empty_ranges_are_invalid_arguments() {
        let err = TrackFilter {
            min_year: Some(2000),
            max_year: Some(1990),
            ..Default::default()
        }
        .new()
        .unwrap_err();
        assert!(err.to_string().contains("empty"));
        assert!(TrackFilter {
            max_popularity: Some(101),
            ..Default::default()
        }
        .new()
        .is_err());
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod condition_tests;
