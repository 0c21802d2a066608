//! What runs a job: the [`Engine`] port, its output, and the embedded
//! engine, which computes every kind in the server's process: catalogue
//! jobs over the in-memory catalogue, listener jobs over the interaction
//! log the lake keeps ([`InteractionLog`], read file by file).

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::TrackService;
use crate::domain::behaviour::BehaviourCounts;
use crate::domain::cooccurrence::playlists_of;
use crate::domain::job::{failure, run_in_memory};
use crate::domain::{
    CoOccurrence, EngineKind, Interaction, InteractionKind, JobFailure, JobKind, JobParams,
    JobRecord, JobResult, Neighbours, TrackId, UserId,
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

/// Something that runs jobs.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    fn kind(&self) -> EngineKind;

    /// Runs `job` to its output. When `cancel` fires (a `cancelJob`, a
    /// time-out, shutdown) it stops its work, remote work included, and
    /// returns soon; the runner then records why.
    async fn run(
        &self,
        job: &JobRecord,
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
    /// the blocking pool.
    async fn scan<S: Send + 'static>(
        &self,
        state: S,
        fold: impl Fn(&mut S, &[Interaction]) + Send + Sync + Copy + 'static,
    ) -> std::result::Result<S, JobFailure> {
        let Some(log) = &self.log else {
            return Ok(state);
        };
        let engine_error = |e: String| JobFailure::new(failure::ENGINE_ERROR, e);
        let mut state = state;
        for part in log.parts().await.map_err(engine_error)? {
            let rows = log.read(&part).await.map_err(engine_error)?;
            state = tokio::task::spawn_blocking(move || {
                fold(&mut state, &rows);
                state
            })
            .await
            .map_err(|e| JobFailure::new(failure::INTERNAL, e.to_string()))?;
        }
        Ok(state)
    }

    async fn compute(&self, kind: JobKind, params: JobParams) -> Result<JobOutput, JobFailure> {
        let internal = |e: crate::error::Error| JobFailure::new(failure::INTERNAL, e.to_string());
        let window = params
            .window()
            .map_err(|e| JobFailure::new(failure::INTERNAL, e.to_string()))?;
        match kind {
            JobKind::GenreTrends | JobKind::GenreFingerprints => {
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
                    .scan(BehaviourCounts::new(window), |counts, rows| {
                        rows.iter().for_each(|i| counts.add(i));
                    })
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
        cancel: CancellationToken,
    ) -> std::result::Result<JobOutput, JobFailure> {
        tokio::select! {
            output = self.compute(job.kind, job.params.clone()) => output,
            // A scan in progress finishes on its own; nobody waits for it.
            () = cancel.cancelled() => Err(JobFailure::new(failure::JOB_CANCELLED, "stopped")),
        }
    }
}
