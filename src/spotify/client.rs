//! A small client of the Spotify Web API: the client-credentials flow, and
//! GETs that ride out rate limits and server errors and keep every
//! response as received.
//!
//! - 429: waits for `Retry-After` (up to `max_retry_after_secs`, past
//!   which the run stops with a message saying when to resume);
//! - 5xx and network errors: retried with exponential backoff, up to
//!   `max_attempts`;
//! - 401 on a call: the token has expired, so a new one is fetched once;
//!   401 on the token request: the app's id or secret is wrong;
//! - 403, 404 and other client errors: an error naming the URL and status,
//!   with Spotify's message.
//!
//! Blocking (ureq): run it off the async runtime.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use serde_json::Value;

use crate::config::{Secret, SpotifySettings};

/// What can go wrong talking to the Web API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpotifyError {
    /// No client id and secret were configured.
    #[error("no Spotify app credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET (or [spotify] client_id and client_secret)")]
    NoCredentials,
    /// The token endpoint refused the app's credentials.
    #[error("Spotify refused the app's credentials ({status} from {url}): {message}")]
    BadCredentials {
        url: String,
        status: u16,
        message: String,
    },
    /// The API answered with an error status.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// The API asked to wait longer than the run may.
    #[error("{url}: rate limited; Spotify asks to wait {retry_after_secs} s, more than spotify.max_retry_after_secs: rerun later, the extract resumes")]
    RateLimited { url: String, retry_after_secs: u64 },
    /// The body is not the JSON the endpoint documents.
    #[error("{url}: HTTP {status}: the body is not the JSON Spotify documents: {reason}")]
    Malformed {
        url: String,
        status: u16,
        reason: String,
    },
    /// No answer after every attempt.
    #[error("{url}: no answer after {attempts} attempts: {reason}")]
    Unreachable {
        url: String,
        attempts: u32,
        reason: String,
    },
}

impl SpotifyError {
    /// Whether the rest of the run can go on (a missing album does not
    /// stop the others; bad credentials or a long rate limit stop all).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SpotifyError::NoCredentials
                | SpotifyError::BadCredentials { .. }
                | SpotifyError::RateLimited { .. }
                | SpotifyError::Unreachable { .. }
        )
    }

    /// The HTTP status, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            SpotifyError::BadCredentials { status, .. }
            | SpotifyError::Status { status, .. }
            | SpotifyError::Malformed { status, .. } => Some(*status),
            SpotifyError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }
}

/// One response as received, for the raw zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub url: String,
    pub status: u16,
    pub at: SystemTime,
    pub body: String,
}

/// A signed-in client.
pub struct Client {
    agent: ureq::Agent,
    settings: SpotifySettings,
    id: String,
    secret: Secret,
    token: Option<(String, Instant)>,
    /// Every response received, in order (the caller drains it).
    pub received: Vec<Received>,
    /// Times a 429 was waited out.
    pub rate_limited: u32,
}

/// Most 429s waited out for one request before it counts as failing.
const MAX_RATE_LIMITS: u32 = 20;

impl Client {
    /// A client for the app in `settings` (or the environment).
    ///
    /// # Errors
    /// [`SpotifyError::NoCredentials`].
    pub fn new(settings: &SpotifySettings) -> Result<Self, SpotifyError> {
        let (id, secret) = settings.credentials().ok_or(SpotifyError::NoCredentials)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(Client {
            agent,
            settings: settings.clone(),
            id,
            secret,
            token: None,
            received: Vec::new(),
            rate_limited: 0,
        })
    }

    /// The API's base URL.
    pub fn api_url(&self) -> &str {
        self.settings.api_url.trim_end_matches('/')
    }

    /// The features provider's base URL, if one is configured.
    pub fn features_url(&self) -> Option<&str> {
        self.settings
            .features_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
    }

    /// The market parameter, if set.
    pub fn market(&self) -> Option<&str> {
        self.settings.market.as_deref()
    }

    /// A bearer token: the current one, or a new one.
    fn token(&mut self) -> Result<String, SpotifyError> {
        if let Some((token, until)) = &self.token {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let url = self.settings.token_url.clone();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.id, self.secret.0));
        let (status, body) = self.send(&url, |agent| {
            agent
                .post(&url)
                .header("Authorization", &format!("Basic {basic}"))
                .send_form([("grant_type", "client_credentials")])
        })?;
        if status == 400 || status == 401 {
            return Err(SpotifyError::BadCredentials {
                url,
                status,
                message: error_message(&body),
            });
        }
        if status != 200 {
            return Err(SpotifyError::Status {
                url,
                status,
                message: error_message(&body),
            });
        }
        let json: Value = serde_json::from_str(&body).map_err(|e| SpotifyError::Malformed {
            url: url.clone(),
            status,
            reason: e.to_string(),
        })?;
        let token = json["access_token"]
            .as_str()
            .ok_or_else(|| SpotifyError::Malformed {
                url: url.clone(),
                status,
                reason: "no access_token".into(),
            })?;
        let lifetime = json["expires_in"].as_u64().unwrap_or(3600);
        // Renew a minute early, so a token never expires mid-request.
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        self.token = Some((token.to_string(), until));
        Ok(token.to_string())
    }

    /// GETs `url` with the app's token and parses the JSON answer.
    ///
    /// # Errors
    /// As the module documents.
    pub fn get(&mut self, url: &str) -> Result<Value, SpotifyError> {
        let mut renewed = false;
        loop {
            let token = self.token()?;
            let (status, body) = self.send(url, |agent| {
                agent
                    .get(url)
                    .header("Authorization", &format!("Bearer {token}"))
                    .call()
            })?;
            self.received.push(Received {
                url: url.to_string(),
                status,
                at: SystemTime::now(),
                body: body.clone(),
            });
            match status {
                200 => {
                    return serde_json::from_str(&body).map_err(|e| SpotifyError::Malformed {
                        url: url.to_string(),
                        status,
                        reason: e.to_string(),
                    })
                }
                401 if !renewed => {
                    self.token = None;
                    renewed = true;
                }
                _ => {
                    return Err(SpotifyError::Status {
                        url: url.to_string(),
                        status,
                        message: error_message(&body),
                    })
                }
            }
        }
    }

    /// Sends a request, waiting out 429s and retrying 5xx and network
    /// errors; returns the final status and body.
    fn send(
        &mut self,
        url: &str,
        request: impl Fn(&ureq::Agent) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, String), SpotifyError> {
        let mut attempts = 0;
        let mut waits = 0;
        let mut backoff = Duration::from_millis(250);
        loop {
            attempts += 1;
            let failure = match request(&self.agent) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let body = response.body_mut().read_to_string().unwrap_or_default();
                    if status == 429 || status >= 500 {
                        // Answers waited out or retried are kept too: the
                        // raw zone holds every response as received (an
                        // error body carries no token).
                        self.received.push(Received {
                            url: url.to_string(),
                            status,
                            at: SystemTime::now(),
                            body: body.clone(),
                        });
                    }
                    if status == 429 && waits < MAX_RATE_LIMITS {
                        let secs = retry_after.unwrap_or(1);
                        if secs > self.settings.max_retry_after_secs {
                            return Err(SpotifyError::RateLimited {
                                url: url.to_string(),
                                retry_after_secs: secs,
                            });
                        }
                        tracing::info!(url, secs, "rate limited by Spotify; waiting");
                        waits += 1;
                        self.rate_limited += 1;
                        attempts -= 1;
                        std::thread::sleep(Duration::from_secs(secs));
                        continue;
                    }
                    if status < 500 {
                        return Ok((status, body));
                    }
                    format!("HTTP {status}: {}", error_message(&body))
                }
                Err(e) => e.to_string(),
            };
            if attempts >= self.settings.max_attempts {
                return Err(SpotifyError::Unreachable {
                    url: url.to_string(),
                    attempts,
                    reason: failure,
                });
            }
            tracing::warn!(
                url,
                attempt = attempts,
                reason = failure.as_str(),
                "retrying a Spotify request"
            );
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// Spotify's error message in a body (`{"error": {"message": …}}` or
/// `{"error": "…", "error_description": "…"}`), or a prefix of the body.
fn error_message(body: &str) -> String {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        if let Some(m) = json["error"]["message"].as_str() {
            return m.to_string();
        }
        if let Some(m) = json["error_description"].as_str() {
            return m.to_string();
        }
        if let Some(m) = json["error"].as_str() {
            return m.to_string();
        }
    }
    let prefix: String = body.chars().take(120).collect();
    if prefix.is_empty() {
        "no body".into()
    } else {
        prefix
    }
}
