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
//! The Rust types below (with the track record they carry,
//! [`TrackRecord`], which the `upsertTracks` mutation shares) are the
//! schema: `schema/track-message.schema.json` is generated from them
//! (`timbre schema --message`), with each feature's range taken from
//! [`Feature::range`], and a test keeps the checked-in file equal to the
//! generated one. Decoding goes through the same domain checks as a CSV
//! import ([`TrackRecord::into_domain`]), so a message is accepted exactly
//! when an import would accept the same track.

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

use crate::domain::bounds::clip;
use crate::domain::{DomainError, Feature, Track, TrackId};
use crate::ingest::TrackRecord;

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
        serde_json::from_slice(value).map_err(|e| Poison::Schema(clip(&e.to_string())))?;
    let change = match message {
        TrackMessage::Upsert { track } => Change::Upsert(Box::new(track.into_domain()?)),
        TrackMessage::Delete { id } => Change::Delete(TrackId::parse(&id)?),
    };
    match key {
        None => Err(Poison::Key(
            "the message has no key: the key must be the track id".into(),
        )),
        Some(key) if key != change.id().as_str() => Err(Poison::Key(format!(
            "the key {:?} differs from the track id {}",
            crate::domain::bounds::echo(key),
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

/// [`json_schema`] as checked in.
pub fn json_schema_text() -> String {
    schema_text(&json_schema())
}

/// A schema as the files under `schema/` hold it: pretty JSON with a final
/// newline.
pub(super) fn schema_text(schema: &Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
