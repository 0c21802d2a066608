//! [`TrackId`]: a Spotify track id, valid by construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::bounds::echo;
use super::{DomainError, Result};

/// A Spotify track id: exactly 22 base-62 characters. A value of this type
/// is always valid ("parse, don't validate"), and it is `Copy`, so the
/// catalog and the index can use it as a key without allocating.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackId([u8; 22]);

impl TrackId {
    /// Parses a track id, accepting surrounding white space.
    ///
    /// # Errors
    /// [`DomainError::InvalidTrackId`] unless the text is 22 base-62
    /// characters (an empty text is [`DomainError::Missing`]).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::Missing("track id"));
        }
        let bytes: [u8; 22] = text
            .as_bytes()
            .try_into()
            .map_err(|_| DomainError::InvalidTrackId(echo(text)))?;
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(DomainError::InvalidTrackId(echo(text)));
        }
        Ok(TrackId(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics get past `parse`.
        std::str::from_utf8(&self.0).expect("track ids are ASCII")
    }
}

impl FromStr for TrackId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        TrackId::parse(s)
    }
}

impl TryFrom<String> for TrackId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self> {
        TrackId::parse(&s)
    }
}

impl From<TrackId> for String {
    fn from(id: TrackId) -> String {
        id.as_str().to_string()
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn track_ids_are_22_base62_characters() {
        let id = TrackId::parse(" 6f807x0ima9a1j3VPbc7VN ").unwrap();
        assert_eq!(id.as_str(), "6f807x0ima9a1j3VPbc7VN");
        assert!(matches!(
            TrackId::parse("short"),
            Err(DomainError::InvalidTrackId(_))
        ));
        assert!(matches!(
            TrackId::parse("6f807x0ima9a1j3VPbc7V!"),
            Err(DomainError::InvalidTrackId(_))
        ));
        assert_eq!(TrackId::parse(""), Err(DomainError::Missing("track id")));
    }

    proptest! {
        #[test]
        fn track_id_text_round_trips(s in "[0-9a-zA-Z]{22}") {
            let id = TrackId::parse(&s).unwrap();
            prop_assert_eq!(id.to_string(), s.clone());
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<TrackId>(&json).unwrap(), id);
        }
    }
}
