//! The Spark adapter: timbre's jobs on an Apache Spark cluster through
//! Spark Connect (`[jobs] spark = "sc://host:15002"`).
//!
//! A job runs in a Spark session of its own: the lake's tables become
//! temporary views of the session (the statements come from the lake's
//! table definitions, handed over by the application), one SQL statement
//! (`sql.rs`) computes the job and writes its rows as JSON lines into
//! `[jobs] spark_results/<job id>/`, and the engine reads them back into the
//! job's typed result and removes the directory. A cancel or a time-out
//! interrupts the session's work on the cluster.
//!
//! The results directory must be one that the cluster's driver writes and
//! this server reads: on one machine any directory; with a remote cluster
//! a shared file system.

mod client;
mod listener_sql;
mod proto;
mod sql;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

pub use client::SparkConnect;

use crate::domain::job::failure;
use crate::domain::{EngineKind, JobFailure, JobKind, JobRecord};
use crate::service::engine::{Engine, JobOutput, Progress};

/// What can go wrong talking to Spark.
#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    /// The settings cannot work (a URL that is not Spark Connect's).
    #[error("{0}")]
    Config(String),
    /// The server cannot be reached.
    #[error("Spark is unavailable at {0}")]
    Unavailable(String),
    /// Spark ran the statement and failed; its message.
    #[error("Spark: {0}")]
    Query(String),
    /// The statement was interrupted.
    #[error("interrupted")]
    Interrupted,
    /// The results Spark wrote cannot be read.
    #[error("reading Spark's results: {0}")]
    Results(String),
}

impl SparkError {
    fn into_failure(self) -> JobFailure {
        let code = match &self {
            SparkError::Config(_) | SparkError::Unavailable(_) => failure::ENGINE_UNAVAILABLE,
            SparkError::Query(_) | SparkError::Results(_) => failure::ENGINE_ERROR,
            SparkError::Interrupted => failure::JOB_CANCELLED,
        };
        JobFailure::new(code, self.to_string())
    }
}

/// Jobs on Spark.
pub struct SparkEngine {
    client: SparkConnect,
    /// Statements making the lake's tables views of a session.
    views: Vec<String>,
    /// Where Spark writes results, as both sides see it.
    results: PathBuf,
}

impl SparkEngine {
    /// An engine on the cluster at `url`, reading the lake through `views`
    /// and leaving results in `results`.
    ///
    /// # Errors
    /// [`SparkError::Config`] for a bad URL.
    pub fn new(url: &str, views: Vec<String>, results: PathBuf) -> Result<Self, SparkError> {
        Ok(SparkEngine {
            client: SparkConnect::new(url)?,
            views,
            results,
        })
    }

    /// Runs the job's statements in `session` and reads its rows,
    /// reporting a unit of progress per statement.
    async fn compute(
        &self,
        job: &JobRecord,
        session: &str,
        progress: &Progress,
    ) -> Result<JobOutput, SparkError> {
        let out = self.results.join(&job.id);
        let statements = sql::statements(job, &out.to_string_lossy());
        let total = (self.views.len() + statements.len() + 1) as u64;
        let mut done = 0;
        for view in &self.views {
            progress.report("opening the lake's tables on Spark", done, total);
            self.client.sql(session, view).await?;
            done += 1;
        }
        let mut written = Ok(());
        for (i, statement) in statements.iter().enumerate() {
            let stage = format!("statement {} of {} on Spark", i + 1, statements.len());
            progress.report(&stage, done, total);
            written = self.client.sql(session, statement).await;
            if written.is_err() {
                break;
            }
            done += 1;
        }
        progress.report("reading Spark's results", done, total);
        // Reading and parsing (a hundred million rows for a model at 1M
        // tracks) is blocking work: off the async threads.
        let output = match written {
            Ok(()) => {
                let (job, dir) = (job.clone(), out.clone());
                tokio::task::spawn_blocking(move || read_output(&job, &dir))
                    .await
                    .map_err(|e| SparkError::Results(e.to_string()))
                    .and_then(|r| r)
            }
            Err(e) => Err(e),
        };
        // Whatever Spark left (all of it, or part of a failed write) has
        // served its purpose: the result goes to the store.
        let _ = tokio::fs::remove_dir_all(&out).await;
        output
    }
}

/// The `part-*` files Spark wrote into `dir`.
fn parts(dir: &Path) -> Result<Vec<PathBuf>, SparkError> {
    let bad = |e: std::io::Error| SparkError::Results(format!("{}: {e}", dir.display()));
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(bad)? {
        let path = entry.map_err(bad)?.path();
        let is_part = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("part-"));
        if is_part {
            parts.push(path);
        }
    }
    parts.sort();
    Ok(parts)
}

/// The job's output from the JSON lines in `dir`: a model's streamed line
/// by line (it can be gigabytes), any other's read whole (small).
fn read_output(job: &JobRecord, dir: &Path) -> Result<JobOutput, SparkError> {
    let files = parts(dir)?;
    if job.kind == JobKind::CoOccurrenceModel {
        let lines = files.into_iter().flat_map(|path| {
            let opened = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()));
            let lines: Box<dyn Iterator<Item = Result<String, String>>> = match opened {
                Ok(file) => Box::new(
                    BufReader::with_capacity(1 << 20, file)
                        .lines()
                        .map(move |l| l.map_err(|e| format!("{}: {e}", path.display()))),
                ),
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            lines
        });
        return sql::model_output(job, lines).map_err(SparkError::Results);
    }
    let mut lines = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SparkError::Results(format!("{}: {e}", path.display())))?;
        lines.extend(text.lines().map(str::to_string));
    }
    sql::output(job, &lines).map_err(SparkError::Results)
}

#[async_trait]
impl Engine for SparkEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Spark
    }

    async fn run(
        &self,
        job: &JobRecord,
        progress: Progress,
        cancel: CancellationToken,
    ) -> Result<JobOutput, JobFailure> {
        let session = uuid::Uuid::new_v4().to_string();
        let outcome = tokio::select! {
            outcome = self.compute(job, &session, &progress) => outcome,
            () = cancel.cancelled() => {
                if let Err(e) = self.client.interrupt(&session).await {
                    tracing::warn!(job = job.id.as_str(), error = %e, "interrupting the job on Spark failed");
                }
                Err(SparkError::Interrupted)
            }
        };
        // The session's views go with it; a server that is gone has none.
        let release = self.client.release(&session);
        let _ = tokio::time::timeout(Duration::from_secs(5), release).await;
        outcome.map_err(SparkError::into_failure)
    }
}
