//! API keys: who may write. Reads are open; every mutation needs a key with
//! the `write` role, and admin operations (e.g. writing the index snapshot)
//! the `admin` role. Keys come from the configuration (`[[auth.keys]]`) and
//! travel as `Authorization: Bearer KEY` or `X-Api-Key: KEY`.
//!
//! Keys are compared as SHA-256 digests in constant time, so neither the
//! comparison's timing nor a heap dump of the lookup table gives a key away.

use async_graphql::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::Code;
use crate::config::Secret;

/// What a key may do. `admin` includes `write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Mutations that change the catalog.
    Write,
    /// Operations on the server itself, and everything `write` may do.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// One configured API key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// A name for logs, metrics and rate limiting (never the key itself).
    pub name: String,
    /// The key clients send; at least 16 characters.
    pub key: Secret,
    /// What the key may do.
    pub role: Role,
}

/// The `[auth]` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// API keys accepted by this server. None by default: then no mutation
    /// can be made, and reads are open as always.
    pub keys: Vec<ApiKey>,
}

/// Shortest key accepted, so that a key cannot be guessed by trying.
const MIN_KEY_LEN: usize = 16;

impl AuthSettings {
    /// Checks key lengths and that names and keys are unique.
    ///
    /// # Errors
    /// A message naming the offending key by its name.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for k in &self.keys {
            if k.name.is_empty() {
                return Err("auth.keys: every key needs a name".into());
            }
            if k.key.0.len() < MIN_KEY_LEN {
                return Err(format!(
                    "auth.keys: the key named {:?} is shorter than {MIN_KEY_LEN} characters",
                    k.name
                ));
            }
            if !names.insert(&k.name) {
                return Err(format!("auth.keys: the name {:?} is used twice", k.name));
            }
            if !keys.insert(&k.key.0) {
                return Err(format!(
                    "auth.keys: the key named {:?} repeats another key",
                    k.name
                ));
            }
        }
        Ok(())
    }
}

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

/// Who sent a request, attached to it as request data by the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No key was presented.
    Anonymous,
    /// A key was presented that this server does not know.
    Invalid,
    /// A configured key.
    Key { name: String, role: Role },
}

/// How a GraphQL request arrived. Mutations are refused over GET, so that a
/// link or an image tag can never change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Get,
    Post,
    WebSocket,
}

/// Checks that the request may perform an operation needing `role`.
///
/// # Errors
/// `UNAUTHENTICATED` without a valid key, `FORBIDDEN` for a key whose role
/// is too low, `METHOD_NOT_ALLOWED` for a mutation sent over GET.
pub fn require(ctx: &Context<'_>, role: Role) -> async_graphql::Result<()> {
    if ctx.data_opt::<Transport>() == Some(&Transport::Get) {
        return Err(Code::MethodNotAllowed.error("mutations must be sent with POST, not GET"));
    }
    match ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous) {
        Caller::Anonymous => Err(Code::Unauthenticated
            .error("this operation needs an API key: send it as `Authorization: Bearer KEY`")),
        Caller::Invalid => Err(Code::Unauthenticated.error("the API key is not valid")),
        Caller::Key { role: held, name } if *held < role => Err(Code::Forbidden.error(format!(
            "the API key {name:?} has the role {}; this operation needs {}",
            held.as_str(),
            role.as_str()
        ))),
        Caller::Key { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings {
            keys: vec![
                ApiKey {
                    name: "ingest".into(),
                    key: Secret("0123456789abcdef-w".into()),
                    role: Role::Write,
                },
                ApiKey {
                    name: "ops".into(),
                    key: Secret("0123456789abcdef-a".into()),
                    role: Role::Admin,
                },
            ],
        }
    }

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
    fn short_or_repeated_keys_are_refused_by_name() {
        let mut s = settings();
        assert!(s.validate().is_ok());
        s.keys[1].key = Secret("short".into());
        assert!(s.validate().unwrap_err().contains("\"ops\""));
        s.keys[1].key = s.keys[0].key.clone();
        assert!(s.validate().unwrap_err().contains("repeats"));
    }

    #[test]
    fn admin_ranks_above_write() {
        assert!(Role::Admin > Role::Write);
    }
}
