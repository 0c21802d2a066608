//! The `[spotify]` section: the Web API app `timbre extract` signs in as,
//! and where audio features come from.

use serde::{Deserialize, Serialize};

use super::Secret;

/// Settings of the Spotify Web API client (`[spotify]`,
/// `TIMBRE_SPOTIFY__*`). The app's id and secret may also come from
/// `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET`; the secret is never
/// logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpotifySettings {
    /// The app's client id (client-credentials flow).
    pub client_id: Option<String>,
    /// The app's client secret.
    pub client_secret: Option<Secret>,
    /// The Web API's base URL. Default `https://api.spotify.com/v1`.
    pub api_url: String,
    /// The token endpoint. Default `https://accounts.spotify.com/api/token`.
    pub token_url: String,
    /// A provider of audio features keyed by Spotify id, answering
    /// `GET {features_url}/{id}` with the Web API's audio-features object:
    /// for apps made after 27 Nov 2024, which the Web API refuses
    /// audio features. Unset: only the Web API is asked.
    pub features_url: Option<String>,
    /// Market (ISO 3166-1 alpha-2) for album and playlist tracks, e.g. `US`.
    pub market: Option<String>,
    /// Attempts of a request answered 5xx (or not at all) before the
    /// extract stops. Default 5.
    pub max_attempts: u32,
    /// Longest `Retry-After` the client honours, in seconds; a longer one
    /// stops the run with a clear message (rerun later: it resumes).
    /// Default 120.
    pub max_retry_after_secs: u64,
}

impl Default for SpotifySettings {
    fn default() -> Self {
        SpotifySettings {
            client_id: None,
            client_secret: None,
            api_url: "https://api.spotify.com/v1".into(),
            token_url: "https://accounts.spotify.com/api/token".into(),
            features_url: None,
            market: None,
            max_attempts: 5,
            max_retry_after_secs: 120,
        }
    }
}

impl SpotifySettings {
    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn validate(&self) -> Result<(), String> {
        for (name, url) in [
            ("spotify.api_url", Some(&self.api_url)),
            ("spotify.token_url", Some(&self.token_url)),
            ("spotify.features_url", self.features_url.as_ref()),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("{name} = {url:?} is not an http(s) URL"));
                }
            }
        }
        if self.max_attempts == 0 {
            return Err("spotify.max_attempts must be at least 1".into());
        }
        Ok(())
    }

    /// The client id and secret: from the settings, else from
    /// `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET`.
    pub fn credentials(&self) -> Option<(String, Secret)> {
        let id = self
            .client_id
            .clone()
            .or_else(|| std::env::var("SPOTIFY_CLIENT_ID").ok())?;
        let secret = self
            .client_secret
            .clone()
            .or_else(|| std::env::var("SPOTIFY_CLIENT_SECRET").ok().map(Secret))?;
        Some((id, secret))
    }
}
