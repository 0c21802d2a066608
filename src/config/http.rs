//! The `[http]` section of the configuration: what the HTTP layer serves
//! and how it protects itself.

use std::net::IpAddr;

use ipnet::IpNet;
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
    /// Reverse proxies and load balancers (CIDRs like `10.0.0.0/8`, or
    /// single addresses) whose `Forwarded` / `X-Forwarded-For` headers name
    /// the client for the rate limit. From any other peer those headers
    /// are ignored. Default none.
    pub trusted_proxies: Vec<String>,
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
            trusted_proxies: Vec::new(),
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
        parse_proxies(&self.trusted_proxies)?;
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

/// `[http] trusted_proxies` as networks: CIDRs (`10.0.0.0/8`) and single
/// addresses (`192.0.2.7`, one host).
///
/// # Errors
/// A message naming the first entry that is neither.
pub fn parse_proxies(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            let e = e.trim();
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "http.trusted_proxies: {e:?} is neither a CIDR (10.0.0.0/8) nor an address"
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_take_cidrs_and_addresses_and_name_a_bad_entry() {
        let nets =
            parse_proxies(&["10.0.0.0/8".into(), " 192.0.2.7 ".into(), "::1".into()]).unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"192.0.2.7".parse::<IpAddr>().unwrap()));
        assert!(!nets[1].contains(&"192.0.2.8".parse::<IpAddr>().unwrap()));
        let bad = parse_proxies(&["10.0.0.0/8".into(), "ten".into()]).unwrap_err();
        assert!(bad.contains("\"ten\""), "{bad}");
        assert!(parse_proxies(&["10.0.0.0/33".into()]).is_err());
        let settings = HttpSettings {
            trusted_proxies: vec!["nope".into()],
            ..HttpSettings::default()
        };
        assert!(settings.validate().is_err());
    }
}
