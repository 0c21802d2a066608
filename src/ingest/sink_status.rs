//! The lake sink's health and counters, for `/readyz` and `/metrics`.
//! Plain data behind a mutex: the sink writes it, request handlers read it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use parking_lot::Mutex;

/// The sink's state, shared with readers.
#[derive(Default)]
pub struct SinkStatus {
    enabled: bool,
    location: String,
    inner: Mutex<Counters>,
}

#[derive(Default, Clone)]
struct Counters {
    down_since: Option<SystemTime>,
    last_error: Option<String>,
    rows: BTreeMap<&'static str, u64>,
    files: u64,
    pending: u64,
    dropped: u64,
    last_write_at: Option<SystemTime>,
}

/// A copy of the status at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SinkSnapshot {
    pub enabled: bool,
    /// Where the lake is (credentials never appear in it).
    pub location: String,
    pub down_since: Option<SystemTime>,
    pub last_error: Option<String>,
    /// Rows written, by table.
    pub rows: BTreeMap<&'static str, u64>,
    pub files: u64,
    /// Rows waiting in memory for the next write.
    pub pending: u64,
    /// Rows given up while the lake was unreachable too long.
    pub dropped: u64,
    pub last_write_at: Option<SystemTime>,
}

impl SinkStatus {
    /// The status of a sink writing to `location`.
    pub fn new(location: &str) -> Self {
        SinkStatus {
            enabled: true,
            location: location.to_string(),
            inner: Mutex::default(),
        }
    }

    /// The status of a server without a lake.
    pub fn disabled() -> Self {
        SinkStatus::default()
    }

    /// Whether a sink runs.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records a successful write of `files` files holding `rows` by table.
    pub fn wrote(&self, files: u64, rows: &[(&'static str, u64)]) {
        let mut c = self.inner.lock();
        if c.down_since.take().is_some() {
            tracing::info!(
                location = self.location.as_str(),
                "the lake is reachable again"
            );
        }
        c.last_error = None;
        c.files += files;
        for (table, n) in rows {
            *c.rows.entry(table).or_default() += n;
        }
        c.last_write_at = Some(SystemTime::now());
    }

    /// Records a failed write.
    pub fn failed(&self, error: &str) {
        let mut c = self.inner.lock();
        if c.down_since.is_none() {
            tracing::warn!(
                location = self.location.as_str(),
                error,
                "the lake is unreachable; holding changes and retrying"
            );
            c.down_since = Some(SystemTime::now());
        }
        c.last_error = Some(error.to_string());
    }

    /// Sets how many rows wait in memory.
    pub fn set_pending(&self, rows: u64) {
        self.inner.lock().pending = rows;
    }

    /// Counts rows given up.
    pub fn dropped(&self, rows: u64) {
        self.inner.lock().dropped += rows;
    }

    /// A copy of the status now.
    pub fn snapshot(&self) -> SinkSnapshot {
        let c = self.inner.lock().clone();
        SinkSnapshot {
            enabled: self.enabled,
            location: self.location.clone(),
            down_since: c.down_since,
            last_error: c.last_error,
            rows: c.rows,
            files: c.files,
            pending: c.pending,
            dropped: c.dropped,
            last_write_at: c.last_write_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_marks_the_sink_down_until_the_next_write() {
        let status = SinkStatus::new("lake");
        status.failed("connection refused");
        let down = status.snapshot();
        assert!(down.down_since.is_some());
        assert_eq!(down.last_error.as_deref(), Some("connection refused"));
        status.wrote(2, &[("track_changes", 10), ("ingest_events", 3)]);
        let up = status.snapshot();
        assert_eq!((up.down_since, up.files), (None, 2));
        assert_eq!(up.rows["track_changes"], 10);
    }
}
