//! The wire format of the tracks topic, and its JSON Schema.
//!
//! Key: the track id (22 base-62 characters). Value: a JSON object whose
//! `op` says what to do:
//!
//! ```json
//! {"op": "upsert", "track": {"id": "…", "name": "…", "artists": ["…"],
//!   "features": {"danceability": 0.7, "energy": 0.8, …}}}
//! {"op": "delete", "id": "…"}
//! ```
//!
//! An upsert carries the whole track and replaces what is stored under its
//! id; a delete removes it. A message with a key and no value (a Kafka
//! tombstone, as log compaction uses) is a delete too.
//!
//! The Rust types below are the schema: `schema/track-message.schema.json`
//! is generated from them (`timbre schema --message`), with each feature's
//! range taken from [`Feature::range`], and a test keeps the checked-in file
//! equal to the generated one. Decoding goes through the same domain checks
//! as a CSV import ([`AudioFeatures::parse`], [`TrackId::parse`]), so a
//! message is accepted exactly when an import would accept the same track.

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Album, AudioFeatures, DomainError, Feature, Playlist, RawFeatures, ReleaseDate, Track, TrackId,
};

/// One message value on the tracks topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
#[schemars(title = "timbre track message")]
pub enum TrackMessage {
    /// Insert the track, or replace the one stored under its id.
    Upsert {
        /// The whole track.
        track: Box<TrackRecord>,
    },
    /// Remove the track with this id.
    Delete {
        /// Spotify track id; must equal the message key.
        id: String,
    },
}

/// A track as it travels on the topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRecord {
    /// Spotify track id (22 characters of 0-9, a-z, A-Z); must equal the
    /// message key.
    #[schemars(regex(pattern = r"^[0-9A-Za-z]{22}$"))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Artist names, main artist first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subgenres: Vec<String>,
    /// Playlists that hold the track.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub playlists: Vec<PlaylistRecord>,
    pub features: FeatureRecord,
}

/// The album a track appears on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbumRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subgenre: Option<String>,
}

/// Audio features in the units of Spotify's Web API. Key, tempo and time
/// signature may be absent (or Spotify's "not detected" values -1, 0, 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureRecord {
    pub danceability: f64,
    pub energy: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<f64>,
    pub loudness: f64,
    pub mode: f64,
    pub speechiness: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub valence: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo: Option<f64>,
    pub duration_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_signature: Option<f64>,
}

/// What a valid message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Upsert(Box<Track>),
    Delete(TrackId),
}

impl Change {
    /// The id of the track the change is about.
    pub fn id(&self) -> TrackId {
        match self {
            Change::Upsert(track) => track.id,
            Change::Delete(id) => *id,
        }
    }
}

/// Why a message cannot be applied; it goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Poison {
    /// The value is not JSON, or not JSON of the schema's shape.
    #[error("does not match the message schema: {0}")]
    Schema(String),
    /// The JSON has the right shape but a value is invalid.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The key is missing, or differs from the id in the value.
    #[error("{0}")]
    Key(String),
}

impl Poison {
    /// A short, stable label of the reason, for counters and headers.
    pub fn kind(&self) -> &'static str {
        match self {
            Poison::Schema(_) => "schema",
            Poison::Invalid(e) => e.kind(),
            Poison::Key(_) => "key",
        }
    }
}

/// Decodes a message from its key and value.
///
/// # Errors
/// [`Poison`] with the reason the message cannot be applied.
pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Change, Poison> {
    let key = key
        .map(|k| std::str::from_utf8(k).map_err(|_| Poison::Key("the key is not UTF-8".into())))
        .transpose()?;
    let Some(value) = value else {
        // A tombstone: the key alone says which track to delete.
        let key = key.ok_or_else(|| Poison::Key("a message with neither key nor value".into()))?;
        return Ok(Change::Delete(TrackId::parse(key)?));
    };
    let message: TrackMessage =
        serde_json::from_slice(value).map_err(|e| Poison::Schema(e.to_string()))?;
    let change = match message {
        TrackMessage::Upsert { track } => Change::Upsert(Box::new(track.into_domain()?)),
        TrackMessage::Delete { id } => Change::Delete(TrackId::parse(&id)?),
    };
    match key {
        None => Err(Poison::Key(
            "the message has no key: the key must be the track id".into(),
        )),
        Some(key) if key != change.id().as_str() => Err(Poison::Key(format!(
            "the key {key:?} differs from the track id {}",
            change.id()
        ))),
        Some(_) => Ok(change),
    }
}

/// The key and value of an upsert message for `track`.
pub fn encode_upsert(track: &Track) -> (String, Vec<u8>) {
    let message = TrackMessage::Upsert {
        track: Box::new(TrackRecord::from_domain(track)),
    };
    (track.id.to_string(), to_json(&message))
}

/// The key and value of a delete message for `id`.
pub fn encode_delete(id: TrackId) -> (String, Vec<u8>) {
    let message = TrackMessage::Delete { id: id.to_string() };
    (id.to_string(), to_json(&message))
}

fn to_json(message: &TrackMessage) -> Vec<u8> {
    // Serialising these plain structs to a Vec cannot fail: no maps with
    // non-string keys, no I/O.
    serde_json::to_vec(message).expect("a track message serialises")
}

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
        track.normalise();
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

impl FeatureRecord {
    fn raw(&self) -> RawFeatures {
        let mut raw = RawFeatures::default();
        for feature in Feature::ALL {
            if let Some(value) = self.get(feature) {
                raw.set(feature, value);
            }
        }
        raw
    }

    fn get(&self, feature: Feature) -> Option<f64> {
        match feature {
            Feature::Danceability => Some(self.danceability),
            Feature::Energy => Some(self.energy),
            Feature::Key => self.key,
            Feature::Loudness => Some(self.loudness),
            Feature::Mode => Some(self.mode),
            Feature::Speechiness => Some(self.speechiness),
            Feature::Acousticness => Some(self.acousticness),
            Feature::Instrumentalness => Some(self.instrumentalness),
            Feature::Liveness => Some(self.liveness),
            Feature::Valence => Some(self.valence),
            Feature::Tempo => self.tempo,
            Feature::DurationMs => Some(self.duration_ms),
            Feature::TimeSignature => self.time_signature,
        }
    }

    fn from_domain(f: &AudioFeatures) -> Self {
        let v = |feature: Feature| f.get(feature);
        let required = |feature: Feature| v(feature).unwrap_or_default();
        FeatureRecord {
            danceability: required(Feature::Danceability),
            energy: required(Feature::Energy),
            key: v(Feature::Key),
            loudness: required(Feature::Loudness),
            mode: required(Feature::Mode),
            speechiness: required(Feature::Speechiness),
            acousticness: required(Feature::Acousticness),
            instrumentalness: required(Feature::Instrumentalness),
            liveness: required(Feature::Liveness),
            valence: required(Feature::Valence),
            tempo: v(Feature::Tempo),
            duration_ms: required(Feature::DurationMs),
            time_signature: v(Feature::TimeSignature),
        }
    }
}

/// The JSON Schema of a message value, as checked in at
/// `schema/track-message.schema.json`: generated from [`TrackMessage`],
/// with every feature's documented range and unit added from the domain.
pub fn json_schema() -> Schema {
    let mut schema = schemars::schema_for!(TrackMessage);
    schema.insert(
        "$id".into(),
        "https://github.com/timbre-music/timbre/schema/track-message.schema.json".into(),
    );
    schema.insert(
        "description".into(),
        "The value of a message on timbre's tracks topic (default `timbre.tracks`). \
         The message key is the track id. A message with a key and no value deletes the track."
            .into(),
    );
    if let Some(props) = schema
        .pointer_mut("/$defs/FeatureRecord/properties")
        .and_then(|p| p.as_object_mut())
    {
        for feature in Feature::ALL {
            let (min, max) = feature.range();
            if let Some(prop) = props
                .get_mut(feature.column())
                .and_then(|p| p.as_object_mut())
            {
                prop.insert("description".into(), feature.unit().into());
                let sentinel = match feature {
                    Feature::Key => Some(-1.0),
                    Feature::Tempo | Feature::TimeSignature => Some(0.0),
                    _ => None,
                };
                match sentinel {
                    // Spotify's "not detected" value is accepted as well.
                    Some(s) => {
                        prop.insert(
                            "anyOf".into(),
                            serde_json::json!([
                                { "minimum": min, "maximum": max },
                                { "const": s },
                                { "type": "null" }
                            ]),
                        );
                    }
                    None => {
                        prop.insert("minimum".into(), min.into());
                        prop.insert("maximum".into(), max.into());
                    }
                }
            }
        }
    }
    schema
}

/// [`json_schema`] as pretty JSON with a final newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
