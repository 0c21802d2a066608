//! The Spark adapter: timbre's jobs on an Apache Spark cluster through
//! Spark Connect (`[jobs] spark = "sc://host:15002"`).
//!
//! A job runs in a Spark session of its own: the lake's tables become
//! temporary views of the session (the statements come from the lake's
//! table definitions, handed over by the application), a few SQL
//! statements (`sql.rs`, `listener_sql.rs`) compute the job, and the last
//! answers its rows over the same connection, as Arrow batches of JSON text
//! (`arrow.rs`), read into the job's typed result as they come. So the
//! cluster needs to read the lake and nothing else: no directory shared
//! with this server. A cancel or a time-out interrupts the session's work
//! on the cluster.

mod arrow;
mod client;
mod listener_sql;
mod proto;
mod sql;

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
    /// The rows Spark answered cannot be read.
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
}

impl SparkEngine {
    /// An engine on the cluster at `url`, reading the lake through `views`.
    ///
    /// # Errors
    /// [`SparkError::Config`] for a bad URL.
    pub fn new(url: &str, views: Vec<String>) -> Result<Self, SparkError> {
        Ok(SparkEngine {
            client: SparkConnect::new(url)?,
            views,
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
        let statements = sql::statements(job);
        let (query, prepare) = statements
            .split_last()
            .expect("every job has a statement answering its rows");
        let total = (self.views.len() + statements.len()) as u64;
        let mut done = 0;
        for view in &self.views {
            progress.report("opening the lake's tables on Spark", done, total);
            self.client.sql(session, view).await?;
            done += 1;
        }
        let count = statements.len();
        for (i, statement) in prepare.iter().enumerate() {
            progress.report(
                &format!("statement {} of {count} on Spark", i + 1),
                done,
                total,
            );
            self.client.sql(session, statement).await?;
            done += 1;
        }
        let stage = format!("statement {count} of {count} on Spark, reading its rows");
        progress.report(&stage, done, total);
        let mut rows = self.client.rows(session, query).await?;
        if job.kind == JobKind::CoOccurrenceModel {
            return model(job, rows).await;
        }
        let mut lines = Vec::new();
        while let Some(batch) = rows.next_batch().await? {
            lines.extend(batch);
        }
        sql::output(job, &lines).map_err(SparkError::Results)
    }
}

/// A model job's output from its rows: a hundred million at 1M tracks,
/// so they are never held at once. Batches go to a blocking thread that
/// builds the table as they come, at most [`MODEL_BATCHES_IN_FLIGHT`]
/// ahead of it.
async fn model(job: &JobRecord, mut rows: client::Rows) -> Result<JobOutput, SparkError> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<String>>(MODEL_BATCHES_IN_FLIGHT);
    let owned = job.clone();
    let builder = tokio::task::spawn_blocking(move || {
        let lines = std::iter::from_fn(move || receiver.blocking_recv())
            .flatten()
            .map(Ok);
        sql::model_output(&owned, lines)
    });
    let mut read = Ok(());
    loop {
        match rows.next_batch().await {
            Ok(Some(batch)) => {
                // The builder stopped early (a bad row): its error says why.
                if sender.send(batch).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                read = Err(e);
                break;
            }
        }
    }
    drop(sender);
    let built = builder
        .await
        .map_err(|e| SparkError::Results(e.to_string()))?;
    // A failed read ends the rows early and the builder with part of the
    // table: the read's error is the job's.
    read?;
    built.map_err(SparkError::Results)
}

/// Batches of model rows (up to 4 MiB each) waiting for the table builder.
const MODEL_BATCHES_IN_FLIGHT: usize = 4;

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
