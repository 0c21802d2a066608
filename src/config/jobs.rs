//! The `[jobs]` section: how analytics jobs run, and where Spark is.

use serde::{Deserialize, Serialize};

use crate::domain::EngineKind;

/// Settings of analytics jobs (`[jobs]`, `TIMBRE_JOBS__*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// The engine a job runs on when its request names none: `embedded`
    /// (default) or `spark`.
    pub default_engine: EngineKind,
    /// Spark Connect URL of a Spark cluster, e.g. `sc://spark-host:15002`.
    /// Unset: jobs run only on the embedded engine.
    pub spark: Option<String>,
    /// The lake's location as the Spark cluster reads it (a path or an
    /// `s3a://` URL). Default: `[lake] location` (else `<data_dir>/lake`).
    pub spark_lake: Option<String>,
    /// A directory that both the Spark cluster and this server can read
    /// and write, where Spark leaves results for the server to load.
    /// Default: `<data_dir>/spark-results` (right for a cluster on this
    /// machine, `local[*]`).
    pub spark_results: Option<String>,
    /// Jobs running at once; more wait in the queue. Default 2.
    pub max_running: usize,
    /// Jobs waiting at most; more are refused with `TOO_MANY_JOBS`.
    /// Default 16.
    pub max_queued: usize,
    /// The longest a job may run, in seconds, before it fails with
    /// `JOB_TIMEOUT`. Default 900.
    pub timeout_s: u64,
    /// The largest result kept, in bytes of JSON; larger ones fail with
    /// `RESULT_TOO_LARGE` (MongoDB keeps at most 16 MiB per document).
    /// Default 8 MiB.
    pub max_result_bytes: usize,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            default_engine: EngineKind::Embedded,
            spark: None,
            spark_lake: None,
            spark_results: None,
            max_running: 2,
            max_queued: 16,
            timeout_s: 900,
            max_result_bytes: 8 << 20,
        }
    }
}

impl JobSettings {
    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.spark {
            if !url.starts_with("sc://") {
                return Err(format!(
                    "jobs.spark {url:?} is not a Spark Connect URL (sc://host:port)"
                ));
            }
        }
        if self.default_engine == EngineKind::Spark && self.spark.is_none() {
            return Err("jobs.default_engine is spark but jobs.spark is not set".into());
        }
        if self.max_running == 0 || self.timeout_s == 0 || self.max_result_bytes == 0 {
            return Err(
                "jobs.max_running, jobs.timeout_s and jobs.max_result_bytes must be positive"
                    .into(),
            );
        }
        Ok(())
    }
}
