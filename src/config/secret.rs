//! [`Secret`]: a setting that may hold a password, and the redaction that
//! keeps it out of logs.

use serde::{Deserialize, Serialize};

/// A setting that may hold a password. Its `Debug` form is redacted, so a
/// logged configuration never shows it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// A URI with any password replaced by `***`, for messages and logs; any
/// other text (an API key, say) entirely replaced.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &uri[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &uri[..scheme + 3],
                    &credentials[..colon],
                    &uri[at..]
                ),
                None => uri.to_string(),
            }
        }
        (Some(_), _) => uri.to_string(),
        _ => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_uris_are_hidden_and_other_secrets_entirely() {
        assert_eq!(
            redact("mongodb://app:s3cret@db:27017/x"),
            "mongodb://app:***@db:27017/x"
        );
        assert_eq!(redact("mongodb://db:27017"), "mongodb://db:27017");
        assert_eq!(redact("mongodb+srv://u@h"), "mongodb+srv://u@h");
        assert_eq!(format!("{:?}", Secret("0123456789abcdef".into())), "***");
    }
}
