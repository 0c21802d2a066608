//! Retrying writes that fail: for ever (with backoff) while the store is
//! unavailable, a few times for anything else. Shared by both topics'
//! handlers and the dead-letter producer.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::store::StoreError;

/// Longest wait between two attempts of a failing write.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Attempts of a write failing with an error other than unavailability
/// before it is given up.
const ATTEMPTS: u32 = 3;

/// How a retried write ended.
pub(super) enum Outcome {
    Done,
    Shutdown,
    /// A non-transient error persisted through [`ATTEMPTS`] attempts.
    Refused(Error),
}

/// Runs `write` until it succeeds: for ever (with backoff) while the store
/// is unavailable, [`ATTEMPTS`] times for other errors.
pub(super) async fn retry<T, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut write: F,
) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::error::Result<T>>,
{
    let mut backoff = Backoff::default();
    let mut failures = 0;
    loop {
        match write().await {
            Ok(_) => return Outcome::Done,
            Err(e) => {
                let transient = matches!(e, Error::Store(StoreError::Unavailable(_)));
                if !transient {
                    failures += 1;
                    if failures >= ATTEMPTS {
                        return Outcome::Refused(e);
                    }
                }
                tracing::warn!(error = %e, "{what} failed; retrying");
                if !backoff.wait(shutdown).await {
                    return Outcome::Shutdown;
                }
            }
        }
    }
}

/// Runs `write` until it succeeds, however it fails: for writes that carry
/// nothing a store could refuse for good (deletes, listener signals), where
/// giving up would lose data. Returns `false` on shutdown.
pub(super) async fn until_done<T, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut write: F,
) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::error::Result<T>>,
{
    loop {
        match retry(shutdown, what, &mut write).await {
            Outcome::Done => return true,
            Outcome::Shutdown => return false,
            Outcome::Refused(_) => {}
        }
    }
}

/// Exponential backoff from 100 ms to [`MAX_BACKOFF`].
pub(super) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(100))
    }
}

impl Backoff {
    /// Sleeps for the current delay and doubles it; returns `false` when
    /// shutdown came first.
    pub(super) async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}
