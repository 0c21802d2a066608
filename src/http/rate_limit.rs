//! Per-client rate limiting of `/graphql`: one token bucket (GCRA, from the
//! `governor` crate) per client, so that one busy client cannot starve the
//! others. A client is its API key's name when it sends a valid key, else
//! its IP address.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;

/// How often (in checks) buckets of clients gone quiet are dropped, so the
/// table does not grow with every address ever seen.
const SWEEP_EVERY: u64 = 10_000;

/// The limiter shared by every worker.
pub struct ClientLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

impl ClientLimiter {
    /// A limiter with `settings`; `per_second = 0` lets everything through.
    pub fn new(settings: RateLimit) -> Self {
        let limiter = NonZeroU32::new(settings.per_second).map(|rate| {
            let burst = NonZeroU32::new(settings.burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        ClientLimiter {
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes a token for `client`, or says how long until one is free.
    ///
    /// # Errors
    /// The time the client should wait before retrying.
    pub fn check(&self, client: String) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_own_bucket() {
        let limiter = ClientLimiter::new(RateLimit {
            per_second: 1,
            burst: 3,
        });
        for _ in 0..3 {
            assert!(limiter.check("a".into()).is_ok());
        }
        let wait = limiter.check("a".into()).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(
            limiter.check("b".into()).is_ok(),
            "another client is not held up"
        );
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = ClientLimiter::new(RateLimit {
            per_second: 0,
            burst: 0,
        });
        assert!((0..10_000).all(|_| limiter.check("a".into()).is_ok()));
    }
}
