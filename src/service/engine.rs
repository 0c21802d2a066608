//! What runs a job: the [`Engine`] port, its output, and the embedded
//! engine, which computes every kind in the server's process: catalogue
//! jobs over the in-memory catalogue, listener jobs over the interaction
//! log the lake keeps ([`InteractionLog`], read file by file).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::TrackService;
use crate::domain::behaviour::BehaviourCounts;
use crate::domain::cooccurrence::playlists_of;
use crate::domain::job::{failure, run_in_memory};
use crate::domain::{
    CoOccurrence, EngineKind, Interaction, InteractionKind, JobFailure, JobKind, JobParams,
    JobProgress, JobRecord, JobResult, Neighbours, TrackId, UserId,
};

/// What an engine gives for a job.
#[derive(Debug)]
pub enum JobOutput {
    /// The result, kept with the job.
    Result(JobResult),
    /// A co-occurrence model: the runner keeps the table beside the store,
    /// loads it and records a summary as the result.
    Model {
        table: Neighbours,
        neighbours: usize,
    },
}

/// Where an engine says how far a job has come. Cheap to call between
/// units of work: the runner keeps only the latest report and stores it at
/// most every so often.
#[derive(Clone)]
pub struct Progress(Arc<watch::Sender<Option<JobProgress>>>);

impl Progress {
    /// A reporter and the receiver the runner watches.
    pub fn channel() -> (Self, watch::Receiver<Option<JobProgress>>) {
        let (sender, receiver) = watch::channel(None);
        (Progress(Arc::new(sender)), receiver)
    }

    /// Says the job is at `done` of `total` units, doing `stage`.
    pub fn report(&self, stage: &str, done: u64, total: u64) {
        self.0
            .send_replace(Some(JobProgress::new(stage, done, total)));
    }
}

/// Something that runs jobs.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    fn kind(&self) -> EngineKind;

    /// Runs `job` to its output, reporting how far it has come to
    /// `progress`. When `cancel` fires (a `cancelJob`, a time-out,
    /// shutdown) it stops its work, remote work included, and returns
    /// soon; the runner then records why.
    async fn run(
        &self,
        job: &JobRecord,
        progress: Progress,
        cancel: CancellationToken,
    ) -> std::result::Result<JobOutput, JobFailure>;
}

/// The listeners' interaction log, as files (the lake's `interactions`
/// table): the embedded engine reads one file at a time, so the log never
/// has to fit in memory.
#[async_trait]
pub trait InteractionLog: Send + Sync + 'static {
    /// The log's files.
    async fn parts(&self) -> std::result::Result<Vec<String>, String>;
    /// Every interaction of one file.
    async fn read(&self, part: &str) -> std::result::Result<Vec<Interaction>, String>;
}

/// The stage of a listener job that reads the log.
const READING_LOG: &str = "reading the interaction log";

/// The embedded engine.
pub struct EmbeddedEngine {
    service: Arc<TrackService>,
    log: Option<Arc<dyn InteractionLog>>,
}

impl EmbeddedEngine {
    /// An engine over `service`'s catalogue and, for listener jobs, `log`.
    pub fn new(service: Arc<TrackService>, log: Option<Arc<dyn InteractionLog>>) -> Self {
        EmbeddedEngine { service, log }
    }

    /// Reads the whole log, passing each file's interactions to `fold` on
    /// the blocking pool, and reporting one unit of progress per file; the
    /// total counts one more unit for what the job does after the scan,
    /// the stage `then`.
    async fn scan<S: Send + 'static>(
        &self,
        state: S,
        progress: &Progress,
        then: &str,
        fold: impl Fn(&mut S, &[Interaction]) + Send + Sync + Copy + 'static,
    ) -> std::result::Result<S, JobFailure> {
        let Some(log) = &self.log else {
            return Ok(state);
        };
        let engine_error = |e: String| JobFailure::new(failure::ENGINE_ERROR, e);
        let mut state = state;
        let parts = log.parts().await.map_err(engine_error)?;
        let total = parts.len() as u64 + 1;
        for (done, part) in parts.iter().enumerate() {
            progress.report(READING_LOG, done as u64, total);
            let rows = log.read(part).await.map_err(engine_error)?;
            state = tokio::task::spawn_blocking(move || {
                fold(&mut state, &rows);
                state
            })
            .await
            .map_err(|e| JobFailure::new(failure::INTERNAL, e.to_string()))?;
        }
        progress.report(then, total - 1, total);
        Ok(state)
    }

    async fn compute(
        &self,
        kind: JobKind,
        params: JobParams,
        progress: &Progress,
    ) -> Result<JobOutput, JobFailure> {
        let internal = |e: crate::error::Error| JobFailure::new(failure::INTERNAL, e.to_string());
        let window = params
            .window()
            .map_err(|e| JobFailure::new(failure::INTERNAL, e.to_string()))?;
        match kind {
            JobKind::GenreTrends | JobKind::GenreFingerprints => {
                progress.report("summarising the catalogue", 0, 1);
                let result = self
                    .service
                    .read(move |catalog| run_in_memory(kind, &params, catalog.rows()))
                    .await
                    .map_err(internal)?;
                result
                    .map(JobOutput::Result)
                    .ok_or_else(|| JobFailure::new(failure::INTERNAL, "not a catalogue job"))
            }
            JobKind::ListenerBehaviour => {
                if self.log.is_none() {
                    return Err(JobFailure::new(
                        failure::ENGINE_UNAVAILABLE,
                        "listener behaviour reads the interaction log in the lake; set [lake] location",
                    ));
                }
                let counts = self
                    .scan(
                        BehaviourCounts::new(window),
                        progress,
                        "counting",
                        |counts, rows| {
                            rows.iter().for_each(|i| counts.add(i));
                        },
                    )
                    .await?;
                let behaviour = self
                    .service
                    .read(move |catalog| {
                        counts.finish(params.level, &params.genres, params.top(), |id| {
                            catalog.get(id)
                        })
                    })
                    .await
                    .map_err(internal)?;
                Ok(JobOutput::Result(JobResult::ListenerBehaviour(behaviour)))
            }
            JobKind::CoOccurrenceModel => {
                // Listeners' sessions: the tracks each played or liked.
                let sessions = self
                    .scan(
                        rustc_hash::FxHashMap::<UserId, Vec<TrackId>>::default(),
                        progress,
                        "ranking each track's neighbours",
                        move |sessions, rows| {
                            for i in rows {
                                let positive =
                                    matches!(i.kind, InteractionKind::Play | InteractionKind::Like);
                                if positive && window.holds(i.at_ms) {
                                    sessions.entry(i.user.clone()).or_default().push(i.track);
                                }
                            }
                        },
                    )
                    .await?;
                let k = params.neighbours();
                let table = self
                    .service
                    .read(move |catalog| {
                        let known = |id: &TrackId| catalog.get(id).is_some();
                        let playlists = playlists_of(catalog.rows()).into_iter().map(|(_, l)| l);
                        let listeners = sessions
                            .into_values()
                            .map(|l| l.into_iter().filter(known).collect::<Vec<_>>());
                        Neighbours::train(&CoOccurrence::new(playlists.chain(listeners)), k)
                    })
                    .await
                    .map_err(internal)?;
                Ok(JobOutput::Model {
                    table,
                    neighbours: k,
                })
            }
        }
    }
}

#[async_trait]
impl Engine for EmbeddedEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Embedded
    }

    async fn run(
        &self,
        job: &JobRecord,
        progress: Progress,
        cancel: CancellationToken,
    ) -> std::result::Result<JobOutput, JobFailure> {
        tokio::select! {
            output = self.compute(job.kind, job.params.clone(), &progress) => output,
            // A scan in progress finishes on its own; nobody waits for it.
            () = cancel.cancelled() => Err(JobFailure::new(failure::JOB_CANCELLED, "stopped")),
        }
    }
}
