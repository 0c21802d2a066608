//! The `[auth]` section: API keys and their roles. Checking a presented key
//! is [`crate::auth`]'s work; this is only what the operator configures.

use serde::{Deserialize, Serialize};

use super::Secret;

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
    /// The role's name, as configured.
    pub fn as_str(self) -> &'static str {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A write key named "ingest" and an admin key named "ops".
    pub(crate) fn settings() -> AuthSettings {
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
