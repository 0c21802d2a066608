//! The `[jobs]` section: how analytics jobs run, and where Spark is.

use serde::{Deserialize, Serialize};

use crate::domain::{EngineKind, JobKind, JobParams};

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
    /// Jobs running at once; more wait in the queue. Default 2.
    pub max_running: usize,
    /// How often the server looks for a newer trained co-occurrence model
    /// (one trained by another replica on the same store and lake), in
    /// seconds; 0: only at start and when this server trains one.
    /// Default 30.
    pub model_refresh_s: u64,
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
    /// Jobs the server starts by itself, e.g. genre trends every hour
    /// (`[[jobs.schedule]]`). A run is skipped while the previous job of
    /// the same kind is still queued or running.
    pub schedule: Vec<Schedule>,
}

impl Schedule {
    /// How often the job runs.
    ///
    /// # Errors
    /// `every` is not a duration of at least a second.
    pub fn interval(&self) -> Result<std::time::Duration, String> {
        match humantime::parse_duration(&self.every) {
            Ok(d) if d >= std::time::Duration::from_secs(1) => Ok(d),
            Ok(_) => Err("every must be at least 1s".into()),
            Err(e) => Err(format!("every {:?}: {e}", self.every)),
        }
    }
}

/// A job started on a schedule (`[[jobs.schedule]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `genre_trends`, `genre_fingerprints`, `listener_behaviour` or
    /// `co_occurrence_model`.
    pub kind: JobKind,
    /// How often, e.g. `"1h"` or `"15m"` (at least a second).
    pub every: String,
    /// Also run once when the server starts (else first after `every`).
    #[serde(default)]
    pub at_start: bool,
    /// The engine; default `[jobs] default_engine`.
    #[serde(default)]
    pub engine: Option<EngineKind>,
    /// The job's parameters, as `startJob` takes them (snake_case).
    #[serde(default)]
    pub params: JobParams,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            default_engine: EngineKind::Embedded,
            spark: None,
            spark_lake: None,
            max_running: 2,
            model_refresh_s: 30,
            max_queued: 16,
            timeout_s: 900,
            max_result_bytes: 8 << 20,
            schedule: Vec::new(),
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
        for (i, schedule) in self.schedule.iter().enumerate() {
            let name = format!("jobs.schedule[{i}] ({})", schedule.kind.as_str());
            schedule.interval().map_err(|e| format!("{name}: {e}"))?;
            if schedule.engine == Some(EngineKind::Spark) && self.spark.is_none() {
                return Err(format!("{name}: the spark engine needs jobs.spark"));
            }
            schedule
                .params
                .clone()
                .validate(schedule.kind)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }
}
