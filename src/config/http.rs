//! The `[http]` section of the configuration: what the HTTP layer serves
//! and how it protects itself.

use serde::{Deserialize, Serialize};

/// Settings of the HTTP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Answer GraphQL introspection (`__schema`, `__type`). Default on;
    /// GraphiQL and code generators need it.
    pub introspection: bool,
    /// Automatic persisted queries remembered (LRU); 0 turns APQ off.
    /// Default 1,000.
    pub apq_cache_size: usize,
    /// Parsed documents kept by their text (LRU), so repeated queries skip
    /// the parser; 0 turns the cache off. Default 1,000.
    pub document_cache_size: usize,
    /// Origins allowed to call the API from a browser, e.g.
    /// `["https://app.example.com"]`; `["*"]` allows any. Default none
    /// (same-origin only).
    pub cors_origins: Vec<String>,
    /// Serve Prometheus metrics at `/metrics`. Default on.
    pub metrics: bool,
    /// Seconds a graceful shutdown waits for requests in flight. Default 10.
    pub shutdown_timeout_secs: u64,
    /// Per-client request rate on `/graphql`.
    pub rate_limit: RateLimit,
}

/// A token bucket per client: an API key's name when a valid key is sent,
/// else the client's IP address.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second per client; 0 turns the limit off.
    /// Default 100.
    pub per_second: u32,
    /// Requests a client may send at once above the sustained rate.
    /// Default 200.
    pub burst: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            introspection: true,
            apq_cache_size: 1_000,
            document_cache_size: 1_000,
            cors_origins: Vec::new(),
            metrics: true,
            shutdown_timeout_secs: 10,
            rate_limit: RateLimit::default(),
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 100,
            burst: 200,
        }
    }
}

impl HttpSettings {
    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn validate(&self) -> Result<(), String> {
        if self.rate_limit.per_second > 0 && self.rate_limit.burst == 0 {
            return Err("http.rate_limit.burst must be at least 1 when per_second is set".into());
        }
        if self.shutdown_timeout_secs == 0 || self.shutdown_timeout_secs > 300 {
            return Err(format!(
                "http.shutdown_timeout_secs must lie within 1..=300, got {}",
                self.shutdown_timeout_secs
            ));
        }
        for origin in &self.cors_origins {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/'));
            if !ok {
                return Err(format!(
                    "http.cors_origins: {origin:?} is not an origin like https://app.example.com (no path, no trailing slash) or \"*\""
                ));
            }
        }
        Ok(())
    }
}
