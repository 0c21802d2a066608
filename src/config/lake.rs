//! The `[lake]` section: where the open data lake lives and how the server
//! keeps it current.

use serde::{Deserialize, Serialize};

/// Settings of the data lake (`[lake]`, `TIMBRE_LAKE__*`).
///
/// S3 credentials come from the usual AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION`, `AWS_ENDPOINT_URL`), never from this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LakeSettings {
    /// A directory, or `s3://bucket/prefix` on any S3-compatible storage.
    /// Unset: the server keeps no lake, and `timbre export` writes to
    /// `<data_dir>/lake`.
    pub location: Option<String>,
    /// S3 endpoint of an S3-compatible server (MinIO, Ceph, moto, …);
    /// unset: `AWS_ENDPOINT_URL`, else AWS itself.
    pub s3_endpoint: Option<String>,
    /// Allow plain `http://` S3 endpoints. Default off.
    pub s3_allow_http: bool,
    /// Keep the lake current from the server: tracks, playlist memberships,
    /// interactions and ingest events from every source. Default on (when
    /// a location is set).
    pub sink: bool,
    /// The longest a change waits in memory before it is written, in
    /// milliseconds: a micro-batch per interval, so files stay large
    /// enough for engines. Default 5,000.
    pub flush_interval_ms: u64,
    /// Most rows per Parquet file. Default 200,000.
    pub max_rows_per_file: usize,
    /// Rows the server's sink holds while the lake is unreachable before it
    /// drops the oldest (counted in `/metrics`; `timbre export` restores
    /// the tracks). Changes from Kafka are not held here: their consumer
    /// waits for the lake instead. Default 1,000,000.
    pub max_pending_rows: usize,
}

impl Default for LakeSettings {
    fn default() -> Self {
        LakeSettings {
            location: None,
            s3_endpoint: None,
            s3_allow_http: false,
            sink: true,
            flush_interval_ms: 5_000,
            max_rows_per_file: 200_000,
            max_pending_rows: 1_000_000,
        }
    }
}

impl LakeSettings {
    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(location) = &self.location {
            if location.trim().is_empty() {
                return Err("lake.location is empty; leave it unset to run without a lake".into());
            }
            if let Some(rest) = location.strip_prefix("s3://") {
                if rest.split('/').next().unwrap_or_default().is_empty() {
                    return Err(format!(
                        "lake.location {location:?} names no bucket: use s3://bucket/prefix"
                    ));
                }
            } else if location.contains("://") {
                return Err(format!(
                    "lake.location {location:?}: only directories and s3://bucket/prefix are supported"
                ));
            }
        }
        if self.flush_interval_ms == 0 || self.max_rows_per_file == 0 {
            return Err(
                "lake.flush_interval_ms and lake.max_rows_per_file must be positive".into(),
            );
        }
        Ok(())
    }
}
