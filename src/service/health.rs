//! The store's health as the service sees it, and the circuit breaker built
//! on it: while the store is down, reads go straight to memory and ask the
//! store again only every [`RETRY_EVERY`], so a dead store costs a query no
//! time-out (availability over consistency, DESIGN.md).

use std::time::{Duration, Instant, SystemTime};

use super::TrackService;
use crate::store::{self, StoreError};

/// Whether the store answered its last call, and since when it has not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreHealth {
    /// When the store stopped answering; `None` while it answers.
    pub down_since: Option<SystemTime>,
    /// The last error, while down.
    pub error: Option<String>,
    /// When a call last failed: while down, reads go straight to memory and
    /// try the store again only every [`RETRY_EVERY`].
    last_failure: Option<Instant>,
}

/// While the store is down, reads retry it this often.
const RETRY_EVERY: Duration = Duration::from_secs(2);

impl TrackService {
    /// Records the outcome of a store call: an unavailable store marks the
    /// service degraded (from the first failure on), any success clears it.
    pub(super) fn note<T>(&self, outcome: &store::Result<T>) {
        let mut health = self.health.lock();
        match outcome {
            Err(StoreError::Unavailable(e)) => {
                if health.down_since.is_none() {
                    tracing::warn!(
                        error = e.as_str(),
                        "the store became unavailable; serving from memory"
                    );
                    health.down_since = Some(SystemTime::now());
                }
                health.error = Some(e.clone());
                health.last_failure = Some(Instant::now());
            }
            Err(_) => {}
            Ok(_) => {
                if health.down_since.take().is_some() {
                    tracing::info!("the store is available again");
                }
                health.error = None;
                health.last_failure = None;
            }
        }
    }

    /// The store's health as of its last call (no new call is made).
    pub fn store_health(&self) -> StoreHealth {
        self.health.lock().clone()
    }

    /// Whether reads should ask the store: always while it is up, every
    /// [`RETRY_EVERY`] while it is down, so a dead store costs a query no
    /// time-out.
    pub(super) fn store_worth_asking(&self) -> bool {
        self.health
            .lock()
            .last_failure
            .is_none_or(|at| at.elapsed() >= RETRY_EVERY)
    }

    /// Pings the store (within `timeout`) and returns its health.
    pub async fn check_store(&self, timeout: Duration) -> StoreHealth {
        let outcome = match tokio::time::timeout(timeout, self.store.ping()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {timeout:?}"
            ))),
        };
        self.note(&outcome);
        self.health.lock().clone()
    }

    /// The kind of store behind the service (`embedded`, `mongodb`).
    pub fn store_name(&self) -> &'static str {
        self.store.name()
    }
}
