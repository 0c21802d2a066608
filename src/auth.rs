//! Who is calling: API keys checked against the configured ones, and the
//! roles they grant. Every adapter that takes requests (GraphQL over HTTP
//! and WebSocket, the HTTP/JSON routes) identifies its caller here, so a
//! key means the same everywhere.
//!
//! Keys are compared as SHA-256 digests in constant time, so neither the
//! comparison's timing nor a heap dump of the lookup table gives a key away.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthSettings, Role};
use crate::error::{Error, Result};

/// The configured keys, ready for lookups.
#[derive(Clone, Default)]
pub struct Keyring {
    entries: Vec<([u8; 32], String, Role)>,
}

impl Keyring {
    /// Digests the configured keys.
    pub fn new(settings: &AuthSettings) -> Self {
        Keyring {
            entries: settings
                .keys
                .iter()
                .map(|k| (digest(&k.key.0), k.name.clone(), k.role))
                .collect(),
        }
    }

    /// Who presents `key`: a known key's holder, or `Caller::Invalid`.
    pub fn identify(&self, key: &str) -> Caller {
        let presented = digest(key);
        let mut found = None;
        // Look at every entry, so the time taken does not tell which matched.
        for (d, name, role) in &self.entries {
            if bool::from(d.ct_eq(&presented)) {
                found = Some((name.clone(), *role));
            }
        }
        match found {
            Some((name, role)) => Caller::Key { name, role },
            None => Caller::Invalid,
        }
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Who sent a request, attached to it as request data by the adapter that
/// received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No key was presented.
    Anonymous,
    /// A key was presented that this server does not know.
    Invalid,
    /// A configured key.
    Key { name: String, role: Role },
}

impl Caller {
    /// Checks that the caller may perform an operation needing `role`.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] without a valid key, [`Error::Forbidden`]
    /// for a key whose role is too low.
    pub fn require(&self, role: Role) -> Result<()> {
        match self {
            Caller::Anonymous => Err(Error::Unauthenticated(
                "this operation needs an API key: send it as `Authorization: Bearer KEY`".into(),
            )),
            Caller::Invalid => Err(Error::Unauthenticated("the API key is not valid".into())),
            Caller::Key { role: held, name } if *held < role => Err(Error::Forbidden(format!(
                "the API key {name:?} has the role {}; this operation needs {}",
                held.as_str(),
                role.as_str()
            ))),
            Caller::Key { .. } => Ok(()),
        }
    }

    /// The name rate limits and logs know the caller by: the key's name,
    /// or `None` for a caller without a valid key.
    pub fn key_name(&self) -> Option<&str> {
        match self {
            Caller::Key { name, .. } => Some(name),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::auth::tests::settings;

    #[test]
    fn keys_are_identified_by_their_value() {
        let ring = Keyring::new(&settings());
        assert_eq!(
            ring.identify("0123456789abcdef-a"),
            Caller::Key {
                name: "ops".into(),
                role: Role::Admin
            }
        );
        assert_eq!(ring.identify("0123456789abcdef-x"), Caller::Invalid);
        assert_eq!(Keyring::default().identify("anything"), Caller::Invalid);
    }

    #[test]
    fn roles_are_checked_in_order() {
        let ring = Keyring::new(&settings());
        let writer = ring.identify("0123456789abcdef-w");
        assert!(writer.require(Role::Write).is_ok());
        assert!(matches!(
            writer.require(Role::Admin),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            Caller::Anonymous.require(Role::Write),
            Err(Error::Unauthenticated(_))
        ));
    }
}
