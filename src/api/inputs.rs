//! GraphQL input objects and their conversion into domain values. Invalid
//! input becomes an `INVALID_ARGUMENT` error here, once.

use async_graphql::{Context, InputObject, ID};

use super::features::FeaturesInput;
use crate::domain::{Seeds, TrackFilter, TrackId};
use crate::error::{Error, Result};

/// An inclusive range of whole numbers; either end may be left open.
#[derive(InputObject, Clone, Copy, Default)]
pub struct IntRange {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// Conditions on tracks. Within a list any entry may match; all given
/// conditions must hold. Names compare case-insensitively.
#[derive(InputObject, Clone, Default)]
#[graphql(name = "TrackFilter")]
pub struct TrackFilterInput {
    pub genres: Option<Vec<String>>,
    pub subgenres: Option<Vec<String>>,
    pub artists: Option<Vec<String>>,
    /// Album names or Spotify album ids.
    pub albums: Option<Vec<String>>,
    /// Popularity, 0 to 100.
    pub popularity: Option<IntRange>,
    /// Album release year.
    pub release_year: Option<IntRange>,
    /// Artists no returned track may credit.
    pub exclude_artists: Option<Vec<String>>,
    /// `false`: leave out tracks known to be explicit; `true`: only tracks
    /// known to be explicit. Tracks whose flag is unknown (the whole shared
    /// dataset) count as clean.
    pub explicit: Option<bool>,
    /// Tracks never to return.
    pub exclude_track_ids: Option<Vec<ID>>,
}

impl TrackFilterInput {
    /// The domain filter.
    ///
    /// # Errors
    /// [`Error::Invalid`] for out-of-range or empty ranges.
    pub fn into_domain(self) -> Result<TrackFilter> {
        let popularity = self.popularity.unwrap_or_default();
        let year = self.release_year.unwrap_or_default();
        TrackFilter {
            genres: self.genres.unwrap_or_default(),
            subgenres: self.subgenres.unwrap_or_default(),
            artists: self.artists.unwrap_or_default(),
            albums: self.albums.unwrap_or_default(),
            min_popularity: bounded("popularity", popularity.min, 0, 100)?,
            max_popularity: bounded("popularity", popularity.max, 0, 100)?,
            min_year: bounded("releaseYear", year.min, 0, 9999)?,
            max_year: bounded("releaseYear", year.max, 0, 9999)?,
            exclude_artists: self.exclude_artists.unwrap_or_default(),
            explicit: self.explicit,
            exclude_ids: parse_ids(self.exclude_track_ids.unwrap_or_default())?
                .into_iter()
                .collect(),
            features: Default::default(),
        }
        .new()
        .map_err(Error::from)
    }
}

fn bounded<T: TryFrom<i32>>(
    field: &str,
    value: Option<i32>,
    min: i32,
    max: i32,
) -> Result<Option<T>> {
    value
        .map(|v| {
            if (min..=max).contains(&v) {
                T::try_from(v).map_err(|_| Error::invalid(format!("{field} {v} is out of range")))
            } else {
                Err(Error::invalid(format!(
                    "{field} must lie within {min}..={max}, got {v}"
                )))
            }
        })
        .transpose()
}

/// Seeds: any mix of tracks, albums, artists, genres and sets of feature
/// values. Each entry weighs the same.
#[derive(InputObject, Clone, Default)]
#[graphql(name = "TasteSeed")]
pub struct TasteSeedInput {
    pub track_ids: Option<Vec<ID>>,
    /// Album names or Spotify album ids (case-insensitive).
    pub albums: Option<Vec<String>>,
    /// Artist names (case-insensitive).
    pub artists: Option<Vec<String>>,
    /// Genre or subgenre names (case-insensitive): the centroid of their
    /// tracks.
    pub genres: Option<Vec<String>>,
    /// Sets of feature values, each one seed.
    pub features: Option<Vec<FeaturesInput>>,
}

impl TasteSeedInput {
    /// The domain seeds.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a malformed track id or feature value.
    pub fn into_domain(self) -> Result<Seeds> {
        Ok(Seeds {
            track_ids: parse_ids(self.track_ids.unwrap_or_default())?,
            albums: self.albums.unwrap_or_default(),
            artists: self.artists.unwrap_or_default(),
            genres: self.genres.unwrap_or_default(),
            features: self
                .features
                .unwrap_or_default()
                .into_iter()
                .map(FeaturesInput::into_domain)
                .collect::<Result<_>>()?,
        })
    }
}

/// Parses GraphQL ids into track ids.
///
/// # Errors
/// [`Error::Invalid`] naming the first malformed id.
pub fn parse_ids(ids: Vec<ID>) -> Result<Vec<TrackId>> {
    ids.iter()
        .map(|id| TrackId::parse(id).map_err(Error::from))
        .collect()
}

/// Parses one GraphQL id into a track id.
///
/// # Errors
/// [`Error::Invalid`] for a malformed id.
pub fn parse_id(id: &ID) -> Result<TrackId> {
    Ok(TrackId::parse(id)?)
}

/// Checks a page size (`first`) against 1..=`limits.max_page_size`.
///
/// # Errors
/// `INVALID_ARGUMENT` naming the argument and the allowed range.
pub fn page_size(ctx: &Context<'_>, first: i32, name: &str) -> async_graphql::Result<usize> {
    let max = super::limits(ctx).max_page_size;
    if first < 1 || first as usize > max {
        return Err(super::error::invalid(format!(
            "{name} must lie within 1..={max}, got {first}"
        )));
    }
    Ok(first as usize)
}
