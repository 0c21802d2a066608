//! The raw zone: responses of outside APIs kept as received, one JSON line
//! each, so that what the curated tables hold can be traced back and
//! rebuilt.

use super::{Lake, LakeError};
use crate::ingest::changes::now_ms;

/// A run's writer into `raw/<source>/<endpoint>/fetch_date=…/`.
pub struct RawZone {
    lake: Lake,
    source: &'static str,
    run: String,
    files: u64,
}

/// One response as received.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RawResponse<'a> {
    pub url: &'a str,
    pub status: u16,
    /// When it was received, RFC 3339.
    pub fetched_at: String,
    /// The body, as JSON when it parsed, else as text.
    pub body: serde_json::Value,
}

impl RawZone {
    /// A new run writing for `source` (e.g. `spotify`).
    pub fn new(lake: Lake, source: &'static str) -> Self {
        RawZone {
            lake,
            source,
            run: format!("{}-{}", now_ms(), uuid::Uuid::new_v4().simple()),
            files: 0,
        }
    }

    /// Writes `responses` of `endpoint` (e.g. `tracks`) as one JSON-lines
    /// file.
    ///
    /// # Errors
    /// The lake's storage failed.
    pub async fn write(
        &mut self,
        endpoint: &str,
        responses: &[RawResponse<'_>],
    ) -> Result<(), LakeError> {
        if responses.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for r in responses {
            text.push_str(&serde_json::to_string(r).expect("a response serialises"));
            text.push('\n');
        }
        let path = format!(
            "raw/{}/{}/fetch_date={}/{}-{:05}.jsonl",
            self.source,
            endpoint,
            super::rows::day(now_ms()),
            self.run,
            self.files
        );
        self.files += 1;
        self.lake.put(&path, text.into_bytes()).await
    }
}
