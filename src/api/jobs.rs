//! Analytics jobs in GraphQL: `startJob`, `cancelJob`, `job`, `jobs`,
//! `latestJob`, and the `jobUpdated` subscription. Reads are public like
//! every read; starting and cancelling need a `write` key (`admin` to train
//! a model). Results are in `job_results.rs`.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

use super::auth::require;
use super::error::ApiResult;
use super::genre::GenreLevel;
use super::job_results::JobResultUnion;
use crate::auth::Caller;
use crate::config::Role;
use crate::domain::job as domain;
use crate::domain::{JobFilter, JobRecord};
use crate::service::jobs::Jobs;

/// What a job computes.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::JobKind")]
pub enum JobKind {
    /// Per genre and release year: track count, popularity and the mean of
    /// each audio feature.
    GenreTrends,
    /// Per genre: count, mean, spread and range of popularity and of each
    /// audio feature.
    GenreFingerprints,
    /// From the lake's interaction log: interactions per day by kind and
    /// genre, the most played tracks and artists, skip rates by genre.
    ListenerBehaviour,
    /// Trains the item-to-item model behind `recommendForPlaylist` and
    /// `recommendForUser` from playlists and listeners' plays and likes;
    /// the server uses it once the job succeeds. Needs an `admin` key.
    CoOccurrenceModel,
}

/// Where a job runs.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::EngineKind")]
pub enum JobEngine {
    /// In the server, over the in-memory catalogue.
    Embedded,
    /// On the Spark cluster of `[jobs] spark`, over the lake.
    Spark,
}

/// Where a job stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::JobState")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The server stopped while it ran; start it again.
    Interrupted,
}

/// A job's parameters; each kind says which it uses.
#[derive(InputObject, Default)]
pub struct JobParamsInput {
    /// Genres (default) or subgenres.
    #[graphql(default)]
    level: GenreLevel,
    /// Only these (lower-case) names; all when empty. At most 100.
    #[graphql(default)]
    genres: Vec<String>,
    /// Earliest release year (genre trends only).
    from: Option<u16>,
    /// Latest release year (genre trends only).
    to: Option<u16>,
    /// First UTC day (`YYYY-MM-DD`) of interactions counted (listener
    /// behaviour, co-occurrence model).
    since: Option<String>,
    /// Last UTC day (`YYYY-MM-DD`, inclusive) of interactions counted.
    until: Option<String>,
    /// Entries per top list, 1 to 100 (listener behaviour; default 10).
    top: Option<u32>,
    /// Neighbours kept per track, 1 to 10000 (co-occurrence model; default
    /// 1000, at which `timbre evaluate` scores the trained model as the
    /// in-process one on the shared dataset).
    neighbours: Option<u32>,
}

impl From<JobParamsInput> for domain::JobParams {
    fn from(input: JobParamsInput) -> Self {
        domain::JobParams {
            level: input.level.into(),
            genres: input.genres,
            from: input.from,
            to: input.to,
            since: input.since,
            until: input.until,
            top: input.top,
            neighbours: input.neighbours,
        }
    }
}

/// Why a job did not succeed.
#[derive(SimpleObject)]
pub struct JobError {
    /// `ENGINE_UNAVAILABLE`, `ENGINE_ERROR`, `JOB_TIMEOUT`,
    /// `JOB_CANCELLED`, `JOB_INTERRUPTED`, `RESULT_TOO_LARGE` or `INTERNAL`.
    code: String,
    message: String,
}

/// How far a job has come: `done` of `total` units of its engine's work
/// (a file of the interaction log, a Spark statement), and what it is
/// doing. Units differ in size: a sign of life, not a time estimate.
#[derive(SimpleObject)]
pub struct JobProgress {
    stage: String,
    done: u64,
    total: u64,
    /// `done / total`, 0 to 1.
    fraction: f64,
}

/// Milliseconds since the epoch as RFC 3339, as the API writes times.
fn rfc3339(ms: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

/// An analytics job.
pub struct JobObject(pub JobRecord);

#[Object(name = "Job")]
impl JobObject {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn kind(&self) -> JobKind {
        self.0.kind.into()
    }
    async fn engine(&self) -> JobEngine {
        self.0.engine.into()
    }
    async fn state(&self) -> JobState {
        self.0.state.into()
    }
    /// The name of the API key that started it.
    async fn requested_by(&self) -> &str {
        &self.0.requested_by
    }
    /// The parameters, as the job normalised them.
    async fn genres(&self) -> &[String] {
        &self.0.params.genres
    }
    /// When it was accepted (RFC 3339, UTC).
    async fn created_at(&self) -> String {
        rfc3339(self.0.created_ms)
    }
    /// When it began to run.
    async fn started_at(&self) -> Option<String> {
        self.0.started_ms.map(rfc3339)
    }
    /// When it ended.
    async fn finished_at(&self) -> Option<String> {
        self.0.finished_ms.map(rfc3339)
    }
    /// How long it ran, in milliseconds (once finished).
    async fn duration_ms(&self) -> Option<i64> {
        Some(self.0.finished_ms? - self.0.started_ms?)
    }
    /// How far it has come, once running (the last report is kept).
    async fn progress(&self) -> Option<JobProgress> {
        self.0.progress.as_ref().map(|p| JobProgress {
            stage: p.stage.clone(),
            done: p.done,
            total: p.total,
            fraction: p.fraction(),
        })
    }
    /// Why it failed, was cancelled or interrupted.
    async fn error(&self) -> Option<JobError> {
        self.0.error.as_ref().map(|e| JobError {
            code: e.code.clone(),
            message: e.message.clone(),
        })
    }
    /// What it gave, once succeeded.
    async fn result(&self) -> Option<JobResultUnion> {
        self.0.result.clone().map(JobResultUnion::from)
    }
}

pub(crate) fn jobs<'a>(ctx: &Context<'a>) -> &'a Arc<Jobs> {
    ctx.data_unchecked::<Arc<Jobs>>()
}

/// The name of the calling key, for `requestedBy`.
fn caller_name(ctx: &Context<'_>) -> String {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Key { name, .. }) => name.clone(),
        _ => "anonymous".into(),
    }
}

/// Job queries.
#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// One job. Unknown ids give `JOB_NOT_FOUND`.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<JobObject> {
        jobs(ctx).get(&id).await.map(JobObject).api()
    }

    /// Jobs, newest first, optionally of one kind or state; `before` is the
    /// id of the last job of the previous page. `first` is 1 to 100.
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        kind: Option<JobKind>,
        state: Option<JobState>,
        before: Option<ID>,
        #[graphql(default = 20)] first: usize,
    ) -> async_graphql::Result<Vec<JobObject>> {
        let filter = JobFilter {
            kind: kind.map(Into::into),
            state: state.map(Into::into),
            before: before.map(|b| b.0),
        };
        let found = jobs(ctx).list(&filter, first).await.api()?;
        Ok(found.into_iter().map(JobObject).collect())
    }

    /// The newest succeeded job of a kind: what dashboards show.
    async fn latest_job(
        &self,
        ctx: &Context<'_>,
        kind: JobKind,
    ) -> async_graphql::Result<Option<JobObject>> {
        Ok(jobs(ctx).latest(kind.into()).await.api()?.map(JobObject))
    }

    /// The latest succeeded result of each kind of job.
    async fn analytics(&self) -> super::job_results::Analytics {
        super::job_results::Analytics
    }

    /// The engines jobs may run on here.
    async fn job_engines(&self, ctx: &Context<'_>) -> Vec<JobEngine> {
        jobs(ctx).engines().into_iter().map(Into::into).collect()
    }
}

/// Job mutations; each needs a `write` key.
#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// Starts a job and returns it queued; follow it with `job(id)` or the
    /// `jobUpdated` subscription. Bad parameters give `INVALID_ARGUMENT`
    /// before anything runs, an engine this server lacks `NOT_CONFIGURED`,
    /// a full queue `TOO_MANY_JOBS`. `engine` defaults to
    /// `[jobs] default_engine`. Needs a `write` key (`admin` to train the
    /// co-occurrence model).
    async fn start_job(
        &self,
        ctx: &Context<'_>,
        kind: JobKind,
        #[graphql(default)] params: JobParamsInput,
        engine: Option<JobEngine>,
    ) -> async_graphql::Result<JobObject> {
        let kind: domain::JobKind = kind.into();
        require(
            ctx,
            if kind.needs_admin() {
                Role::Admin
            } else {
                Role::Write
            },
        )?;
        jobs(ctx)
            .start(
                kind,
                params.into(),
                engine.map(Into::into),
                &caller_name(ctx),
            )
            .await
            .map(JobObject)
            .api()
    }

    /// Stops a queued or running job (on Spark too) and returns it stopped;
    /// a finished job is returned as it is.
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<JobObject> {
        require(ctx, Role::Write)?;
        jobs(ctx)
            .cancel(&id, &caller_name(ctx))
            .await
            .map(JobObject)
            .api()
    }
}
