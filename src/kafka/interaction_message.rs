//! The wire format of the interactions topic (`timbre.interactions`): one
//! JSON object per event. The key should be the user id, so that one
//! listener's events stay in order on one partition (folding does not need
//! the order, but consumers reading the topic for other purposes may).
//!
//! The Rust type below is the schema: `schema/interaction-message.schema.json`
//! is generated from it (`timbre schema --interaction-message`) and a test
//! keeps the two equal.

use std::time::UNIX_EPOCH;

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

use super::message::Poison;
use crate::domain::bounds::clip;
use crate::domain::{Interaction, InteractionKind, TrackId, UserId};

/// One listener interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "timbre interaction message")]
pub struct InteractionMessage {
    /// The listener, as the client application knows them: 1 to 128
    /// printable characters without white space.
    pub user_id: String,
    /// Spotify track id (22 characters of 0-9, a-z, A-Z).
    pub track_id: String,
    /// What the listener did.
    pub kind: KindRecord,
    /// When, RFC 3339 (e.g. `2026-11-22T10:00:00Z`); the message's Kafka
    /// timestamp when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// `PLAY`, `LIKE`, `SKIP` or `DISLIKE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KindRecord {
    Play,
    Like,
    Skip,
    Dislike,
}

impl From<KindRecord> for InteractionKind {
    fn from(k: KindRecord) -> Self {
        match k {
            KindRecord::Play => InteractionKind::Play,
            KindRecord::Like => InteractionKind::Like,
            KindRecord::Skip => InteractionKind::Skip,
            KindRecord::Dislike => InteractionKind::Dislike,
        }
    }
}

/// Decodes an interaction; `timestamp_ms` is the message's Kafka timestamp.
///
/// # Errors
/// [`Poison`] with the reason: not JSON of the schema's shape, an invalid
/// user or track id, a malformed time, or no time at all.
pub fn decode(value: Option<&[u8]>, timestamp_ms: Option<i64>) -> Result<Interaction, Poison> {
    let value = value.ok_or_else(|| Poison::Schema("an interaction needs a value".into()))?;
    let message: InteractionMessage =
        serde_json::from_slice(value).map_err(|e| Poison::Schema(clip(&e.to_string())))?;
    let at_ms = match &message.at {
        Some(text) => {
            let at = humantime::parse_rfc3339_weak(text)
                .map_err(|e| Poison::Schema(format!("at {text:?} is not an RFC 3339 time: {e}")))?;
            at.duration_since(UNIX_EPOCH)
                .map_err(|_| Poison::Schema(format!("at {text:?} precedes 1970")))?
                .as_millis() as i64
        }
        None => {
            timestamp_ms.ok_or_else(|| Poison::Schema("no `at` and no message timestamp".into()))?
        }
    };
    Ok(Interaction {
        user: UserId::parse(&message.user_id)?,
        track: TrackId::parse(&message.track_id)?,
        kind: message.kind.into(),
        at_ms,
    })
}

/// The message for an interaction, as `recordInteraction` clients would
/// send it (used by tests and tools).
pub fn encode(interaction: &Interaction) -> Vec<u8> {
    let at = UNIX_EPOCH + std::time::Duration::from_millis(interaction.at_ms.max(0) as u64);
    let message = InteractionMessage {
        user_id: interaction.user.to_string(),
        track_id: interaction.track.to_string(),
        kind: match interaction.kind {
            InteractionKind::Play => KindRecord::Play,
            InteractionKind::Like => KindRecord::Like,
            InteractionKind::Skip => KindRecord::Skip,
            InteractionKind::Dislike => KindRecord::Dislike,
        },
        at: Some(humantime::format_rfc3339_millis(at).to_string()),
    };
    serde_json::to_vec(&message).expect("an interaction serialises")
}

/// `schema/interaction-message.schema.json`: generated from
/// [`InteractionMessage`].
pub fn json_schema() -> Schema {
    let mut schema = schemars::schema_for!(InteractionMessage);
    schema.insert(
        "$id".into(),
        "https://github.com/timbre-music/timbre/schema/interaction-message.schema.json".into(),
    );
    schema
}

/// The schema as checked in: pretty JSON with a final newline.
pub fn json_schema_text() -> String {
    super::message::schema_text(&json_schema())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACK: &str = "6f807x0ima9a1j3VPbc7VN";

    #[test]
    fn an_event_round_trips_and_takes_the_kafka_time_when_it_has_none() {
        let event = decode(
            Some(format!(r#"{{"user_id":"ada","track_id":"{TRACK}","kind":"LIKE","at":"2026-11-22T10:00:00Z"}}"#).as_bytes()),
            Some(5),
        )
        .unwrap();
        assert_eq!(event.kind, InteractionKind::Like);
        assert_eq!(event.at_ms, 1_795_341_600_000);
        assert_eq!(decode(Some(&encode(&event)), None).unwrap(), event);
        let untimed = format!(r#"{{"user_id":"ada","track_id":"{TRACK}","kind":"PLAY"}}"#);
        assert_eq!(decode(Some(untimed.as_bytes()), Some(7)).unwrap().at_ms, 7);
    }

    #[test]
    fn poison_is_named() {
        for (value, kind) in [
            ("not json".to_string(), "schema"),
            (
                format!(r#"{{"user_id":"ada","track_id":"{TRACK}","kind":"LOVE"}}"#),
                "schema",
            ),
            (
                format!(r#"{{"user_id":"a b","track_id":"{TRACK}","kind":"PLAY"}}"#),
                "invalid value",
            ),
            (
                r#"{"user_id":"ada","track_id":"short","kind":"PLAY"}"#.to_string(),
                "invalid track id",
            ),
            (
                format!(
                    r#"{{"user_id":"ada","track_id":"{TRACK}","kind":"PLAY","at":"yesterday"}}"#
                ),
                "schema",
            ),
        ] {
            let err = decode(Some(value.as_bytes()), Some(1)).unwrap_err();
            assert_eq!(err.kind(), kind, "{value}: {err}");
        }
        assert!(decode(None, Some(1)).is_err());
    }
}
