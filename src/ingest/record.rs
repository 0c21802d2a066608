//! Tracks as they travel on the wire: the record that the Kafka track
//! messages, the `upsertTracks` mutation and the lake's rows share. One
//! record, one check ([`TrackRecord::into_domain`], the same domain checks
//! as a CSV import), so a track is accepted exactly when every other path
//! would accept it.
//!
//! The types are also the schema: `schema/track-message.schema.json` is
//! generated from them (`kafka::message::json_schema`), bounds included
//! (`domain::bounds`: `maxLength`, `maxItems`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::bounds;
use crate::domain::feature::for_each_feature;
use crate::domain::{
    Album, AudioFeatures, DomainError, Feature, Playlist, RawFeatures, ReleaseDate, Track, TrackId,
};

/// A track as it travels on the topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRecord {
    /// Spotify track id (22 characters of 0-9, a-z, A-Z); must equal the
    /// message key.
    #[schemars(regex(pattern = r"^[0-9A-Za-z]{22}$"))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::MAX_NAME_CHARS))]
    pub name: Option<String>,
    /// Artist names, main artist first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::MAX_ARTISTS), inner(length(min = 1, max = bounds::MAX_NAME_CHARS)))]
    pub artists: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<AlbumRecord>,
    /// Spotify popularity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub popularity: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::MAX_GENRES), inner(length(min = 1, max = bounds::MAX_GENRE_CHARS)))]
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::MAX_GENRES), inner(length(min = 1, max = bounds::MAX_GENRE_CHARS)))]
    pub subgenres: Vec<String>,
    /// Playlists that hold the track.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::MAX_PLAYLISTS))]
    pub playlists: Vec<PlaylistRecord>,
    pub features: FeatureRecord,
}

/// The album a track appears on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbumRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::MAX_ID_CHARS))]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::MAX_NAME_CHARS))]
    pub name: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"))]
    pub release_date: Option<String>,
}

/// A playlist holding the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaylistRecord {
    #[schemars(length(min = 1, max = bounds::MAX_ID_CHARS))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::MAX_NAME_CHARS))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::MAX_GENRE_CHARS))]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::MAX_GENRE_CHARS))]
    pub subgenre: Option<String>,
}

/// Builds [`FeatureRecord`] from the feature table: required features are
/// numbers, optional ones may be absent.
macro_rules! feature_record {
    (@fields [$($done:tt)*]) => {
        /// Audio features in the units of Spotify's Web API. Key, tempo and time
        /// signature may be absent (or Spotify's "not detected" values -1, 0, 0).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct FeatureRecord {
            $($done)*
        }
    };
    (@fields [$($done:tt)*] $field:ident required, $($rest:tt)*) => {
        feature_record!(@fields [$($done)* pub $field: f64,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident optional, $($rest:tt)*) => {
        feature_record!(@fields [$($done)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $field: Option<f64>,
        ] $($rest)*);
    };
    // One feature's value as a record holds it, and back.
    (@get required $value:expr) => { Some($value) };
    (@get optional $value:expr) => { $value };
    (@put required $value:expr) => { $value.unwrap_or_default() };
    (@put optional $value:expr) => { $value };
    ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
        feature_record!(@fields [] $($field $presence,)*);

        impl FeatureRecord {
            /// The values as they came, for the domain's checks.
            pub fn raw(&self) -> RawFeatures {
                let mut raw = RawFeatures::default();
                $(if let Some(value) = feature_record!(@get $presence self.$field) {
                    raw.set(Feature::$variant, value);
                })*
                raw
            }

            /// The record of checked features.
            pub fn from_domain(f: &AudioFeatures) -> Self {
                FeatureRecord {
                    $($field: feature_record!(@put $presence f.get(Feature::$variant)),)*
                }
            }
        }
    };
}
for_each_feature!(feature_record);

impl TrackRecord {
    /// The domain track, checked like an imported row.
    ///
    /// # Errors
    /// An invalid id, release date, popularity or feature value.
    pub fn into_domain(self) -> Result<Track, DomainError> {
        let id = TrackId::parse(&self.id)?;
        if let Some(p) = self.popularity.filter(|p| *p > 100) {
            return Err(DomainError::InvalidArgument(format!(
                "popularity = {p} is outside 0..=100"
            )));
        }
        let features = AudioFeatures::parse(&self.features.raw())?;
        let album = match self.album {
            None => Album::default(),
            Some(a) => Album {
                id: a.id,
                name: a.name,
                release_date: a
                    .release_date
                    .as_deref()
                    .map(ReleaseDate::parse)
                    .transpose()?,
            },
        };
        let mut track = Track {
            id,
            name: self.name,
            artists: self.artists,
            album,
            popularity: self.popularity,
            explicit: self.explicit,
            genres: self.genres,
            subgenres: self.subgenres,
            playlists: self
                .playlists
                .into_iter()
                .map(|p| Playlist {
                    id: p.id,
                    name: p.name,
                    genre: p.genre,
                    subgenre: p.subgenre,
                })
                .collect(),
            features,
        };
        track.admit()?;
        Ok(track)
    }

    /// The record of a domain track.
    pub fn from_domain(track: &Track) -> Self {
        let album = &track.album;
        let has_album = album.id.is_some() || album.name.is_some() || album.release_date.is_some();
        TrackRecord {
            id: track.id.to_string(),
            name: track.name.clone(),
            artists: track.artists.clone(),
            album: has_album.then(|| AlbumRecord {
                id: album.id.clone(),
                name: album.name.clone(),
                release_date: album.release_date.map(|d| d.to_string()),
            }),
            popularity: track.popularity,
            explicit: track.explicit,
            genres: track.genres.clone(),
            subgenres: track.subgenres.clone(),
            playlists: track
                .playlists
                .iter()
                .map(|p| PlaylistRecord {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    genre: p.genre.clone(),
                    subgenre: p.subgenre.clone(),
                })
                .collect(),
            features: FeatureRecord::from_domain(&track.features),
        }
    }
}
