//! Analytics jobs: started over the API, run on an [`Engine`] (the embedded
//! one here, over the in-memory catalogue; Spark in `crate::spark`), kept
//! in the store from the moment they are accepted, so a job's state and
//! result outlive the process, and a restart finds what it interrupted.
//!
//! The runner never lets a job touch serving: the embedded engine reads
//! the catalogue on the blocking pool as `genreTrends` does, a remote
//! engine's outage or error ends only its job (with a coded error), and
//! the queue is bounded (`[jobs] max_running`, `max_queued`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::{broadcast, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::TrackService;
use crate::config::JobSettings;
use crate::domain::job::{failure, run_in_memory};
use crate::domain::{
    EngineKind, JobFailure, JobFilter, JobKind, JobParams, JobRecord, JobResult, JobState,
};
use crate::error::{Error, Result};
use crate::ingest::changes::now_ms;
use crate::store::TrackStore;

/// How long an engine has to stop after a cancel or a time-out, and the
/// server's jobs to stop at shutdown.
const GRACE: Duration = Duration::from_secs(15);

/// Job updates kept for slow subscribers.
const UPDATE_BUFFER: usize = 256;

/// Most jobs one listing returns.
pub const MAX_LISTED: usize = 100;

/// Something that runs jobs.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    fn kind(&self) -> EngineKind;

    /// Runs `job` to its result. When `cancel` fires (a `cancelJob`, a
    /// time-out, shutdown) it stops its work, remote work included, and
    /// returns soon; the runner then records why.
    async fn run(
        &self,
        job: &JobRecord,
        cancel: CancellationToken,
    ) -> std::result::Result<JobResult, JobFailure>;
}

/// The embedded engine: the domain's analytics over the in-memory
/// catalogue, on the blocking pool.
pub struct EmbeddedEngine(pub Arc<TrackService>);

#[async_trait]
impl Engine for EmbeddedEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Embedded
    }

    async fn run(
        &self,
        job: &JobRecord,
        cancel: CancellationToken,
    ) -> std::result::Result<JobResult, JobFailure> {
        let (kind, params) = (job.kind, job.params.clone());
        let work = self
            .0
            .read(move |catalog| run_in_memory(kind, &params, catalog.rows()));
        tokio::select! {
            result = work => result.map_err(|e| JobFailure::new(failure::INTERNAL, e.to_string())),
            // The scan finishes on its own (seconds at most); nobody waits.
            () = cancel.cancelled() => Err(JobFailure::new(failure::JOB_CANCELLED, "stopped")),
        }
    }
}

/// A job being run: how to stop it, and why it was stopped.
struct Running {
    cancel: CancellationToken,
    stop: Arc<Mutex<Option<JobFailure>>>,
    task: Option<JoinHandle<()>>,
}

/// The job runner.
pub struct Jobs {
    store: Arc<dyn TrackStore>,
    engines: HashMap<EngineKind, Arc<dyn Engine>>,
    settings: JobSettings,
    slots: Arc<Semaphore>,
    /// Jobs accepted and not finished (queued or running).
    active: AtomicUsize,
    running: Mutex<HashMap<String, Running>>,
    updates: broadcast::Sender<JobRecord>,
    nonce: AtomicU32,
}

impl Jobs {
    /// A runner over `store` with these engines.
    pub fn new(
        store: Arc<dyn TrackStore>,
        engines: Vec<Arc<dyn Engine>>,
        settings: JobSettings,
    ) -> Arc<Self> {
        Arc::new(Jobs {
            store,
            engines: engines.into_iter().map(|e| (e.kind(), e)).collect(),
            slots: Arc::new(Semaphore::new(settings.max_running)),
            settings,
            active: AtomicUsize::new(0),
            running: Mutex::new(HashMap::new()),
            updates: broadcast::channel(UPDATE_BUFFER).0,
            nonce: AtomicU32::new(rand::random()),
        })
    }

    /// A runner for `service`'s store with the embedded engine and `others`.
    pub fn for_service(
        service: &Arc<TrackService>,
        others: Vec<Arc<dyn Engine>>,
        settings: JobSettings,
    ) -> Arc<Self> {
        let mut engines: Vec<Arc<dyn Engine>> = vec![Arc::new(EmbeddedEngine(Arc::clone(service)))];
        engines.extend(others);
        Jobs::new(Arc::clone(&service.store), engines, settings)
    }

    /// The engines jobs may run on.
    pub fn engines(&self) -> Vec<EngineKind> {
        let mut kinds: Vec<EngineKind> = self.engines.keys().copied().collect();
        kinds.sort_by_key(|k| k.as_str());
        kinds
    }

    /// Marks the jobs a previous process left queued or running as
    /// interrupted; returns how many. Called once at start.
    ///
    /// # Errors
    /// The store failed.
    pub async fn recover(&self) -> Result<usize> {
        let mut recovered = 0;
        for state in [JobState::Running, JobState::Queued] {
            let filter = JobFilter {
                state: Some(state),
                ..JobFilter::default()
            };
            loop {
                let left = self.store.jobs(&filter, MAX_LISTED).await?;
                if left.is_empty() {
                    break;
                }
                for mut job in left {
                    job.finish(
                        Err(JobFailure::new(
                            failure::JOB_INTERRUPTED,
                            "the server stopped while the job was queued or running; start it again",
                        )),
                        now_ms(),
                    );
                    self.store.put_job(&job).await?;
                    recovered += 1;
                }
            }
        }
        if recovered > 0 {
            tracing::warn!(recovered, "jobs interrupted by the last shutdown");
        }
        Ok(recovered)
    }

    /// Accepts a job and starts it in the background; returns it queued.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad parameters, [`Error::NotConfigured`] for
    /// an engine the server does not have, [`Error::TooManyJobs`] when the
    /// queue is full, a store error when the record cannot be kept.
    pub async fn start(
        self: &Arc<Self>,
        kind: JobKind,
        params: JobParams,
        engine: Option<EngineKind>,
        requested_by: &str,
    ) -> Result<JobRecord> {
        let params = params.validate(kind)?;
        let engine_kind = engine.unwrap_or(self.settings.default_engine);
        let engine = self.engines.get(&engine_kind).cloned().ok_or_else(|| {
            Error::NotConfigured(format!(
                "the {} engine is not configured (set [jobs] spark to a Spark Connect URL)",
                engine_kind.as_str()
            ))
        })?;
        let limit = self.settings.max_running + self.settings.max_queued;
        if self.active.fetch_add(1, Ordering::SeqCst) >= limit {
            self.active.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::TooManyJobs(format!(
                "{limit} jobs are queued or running; wait for one to finish"
            )));
        }
        let nonce = self.nonce.fetch_add(1, Ordering::Relaxed);
        let job = JobRecord::new(
            kind,
            params,
            engine_kind,
            requested_by.to_string(),
            now_ms(),
            nonce,
        );
        if let Err(e) = self.store.put_job(&job).await {
            self.active.fetch_sub(1, Ordering::SeqCst);
            return Err(e.into());
        }
        let _ = self.updates.send(job.clone());
        let cancel = CancellationToken::new();
        let stop = Arc::new(Mutex::new(None));
        // Registered before the task runs, so a cancel finds it.
        self.running.lock().insert(
            job.id.clone(),
            Running {
                cancel: cancel.clone(),
                stop: Arc::clone(&stop),
                task: None,
            },
        );
        let task = tokio::spawn(Arc::clone(self).run(job.clone(), engine, cancel, stop));
        if let Some(running) = self.running.lock().get_mut(&job.id) {
            running.task = Some(task);
        }
        tracing::info!(
            job = job.id.as_str(),
            kind = kind.as_str(),
            engine = engine_kind.as_str(),
            "job accepted"
        );
        Ok(job)
    }

    /// Runs one job to its final state.
    async fn run(
        self: Arc<Self>,
        mut job: JobRecord,
        engine: Arc<dyn Engine>,
        cancel: CancellationToken,
        stop: Arc<Mutex<Option<JobFailure>>>,
    ) {
        let permit = tokio::select! {
            permit = Arc::clone(&self.slots).acquire_owned() => permit.ok(),
            () = cancel.cancelled() => None,
        };
        let outcome = if permit.is_some() {
            job.state = JobState::Running;
            job.started_ms = Some(now_ms());
            self.save(&job).await;
            let run = engine.run(&job, cancel.clone());
            tokio::pin!(run);
            let limit = Duration::from_secs(self.settings.timeout_s);
            let outcome = tokio::select! {
                outcome = &mut run => outcome,
                () = tokio::time::sleep(limit) => {
                    stop.lock().get_or_insert_with(|| JobFailure::new(
                        failure::JOB_TIMEOUT,
                        format!("the job ran longer than {} s ([jobs] timeout_s)", limit.as_secs()),
                    ));
                    cancel.cancel();
                    let _ = tokio::time::timeout(GRACE, run).await;
                    Err(JobFailure::new(failure::INTERNAL, "stopped"))
                }
            };
            outcome.and_then(|result| self.within_limit(result))
        } else {
            Err(JobFailure::new(failure::INTERNAL, "stopped before it ran"))
        };
        // Why it was stopped, if it was, says more than what the engine
        // returned while stopping.
        let outcome = match stop.lock().take() {
            Some(why) => Err(why),
            None => outcome,
        };
        if let Err(f) = &outcome {
            tracing::warn!(
                job = job.id.as_str(),
                code = f.code.as_str(),
                error = f.message.as_str(),
                "job failed"
            );
        }
        job.finish(outcome, now_ms());
        self.save(&job).await;
        self.running.lock().remove(&job.id);
        self.active.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
    }

    /// The result, unless it is larger than `[jobs] max_result_bytes`.
    fn within_limit(&self, result: JobResult) -> std::result::Result<JobResult, JobFailure> {
        let size = serde_json::to_vec(&result).map_or(usize::MAX, |v| v.len());
        if size > self.settings.max_result_bytes {
            return Err(JobFailure::new(
                failure::RESULT_TOO_LARGE,
                format!(
                    "the result has {size} bytes, over [jobs] max_result_bytes ({}); narrow the parameters",
                    self.settings.max_result_bytes
                ),
            ));
        }
        Ok(result)
    }

    /// Keeps the record and tells subscribers. A store that fails here is
    /// retried a few times; after that the record in the store stays
    /// behind (a restart marks it interrupted).
    async fn save(&self, job: &JobRecord) {
        for attempt in 1..=3 {
            match self.store.put_job(job).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(job = job.id.as_str(), attempt, error = %e, "storing a job's state failed");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
            }
        }
        let _ = self.updates.send(job.clone());
    }

    /// The job with this id.
    ///
    /// # Errors
    /// [`Error::JobNotFound`], or a store error.
    pub async fn get(&self, id: &str) -> Result<JobRecord> {
        if !JobRecord::is_id(id) {
            // Echo only a prefix of what is not an id at all.
            let shown: String = id.chars().take(40).collect();
            return Err(Error::JobNotFound(shown));
        }
        self.store
            .job(id)
            .await?
            .ok_or_else(|| Error::JobNotFound(id.to_string()))
    }

    /// Up to `first` (at most [`MAX_LISTED`]) jobs matching `filter`,
    /// newest first.
    ///
    /// # Errors
    /// [`Error::Invalid`] for `first` out of range, or a store error.
    pub async fn list(&self, filter: &JobFilter, first: usize) -> Result<Vec<JobRecord>> {
        if first == 0 || first > MAX_LISTED {
            return Err(Error::invalid(format!(
                "first must be 1 to {MAX_LISTED}, got {first}"
            )));
        }
        Ok(self.store.jobs(filter, first).await?)
    }

    /// The newest succeeded job of `kind`, whose result dashboards show.
    ///
    /// # Errors
    /// A store error.
    pub async fn latest(&self, kind: JobKind) -> Result<Option<JobRecord>> {
        let filter = JobFilter {
            kind: Some(kind),
            state: Some(JobState::Succeeded),
            before: None,
        };
        Ok(self.store.jobs(&filter, 1).await?.pop())
    }

    /// Stops a queued or running job and returns it once it has stopped
    /// (or after [`GRACE`], still stopping). A job already final is
    /// returned as it is.
    ///
    /// # Errors
    /// [`Error::JobNotFound`], or a store error.
    pub async fn cancel(&self, id: &str, by: &str) -> Result<JobRecord> {
        let mut updates = self.updates.subscribe();
        let found = {
            let running = self.running.lock();
            running.get(id).map(|r| {
                r.stop.lock().get_or_insert_with(|| {
                    JobFailure::new(failure::JOB_CANCELLED, format!("cancelled by {by}"))
                });
                r.cancel.cancel();
            })
        };
        if found.is_some() {
            let _ = tokio::time::timeout(GRACE, async {
                while let Ok(job) = updates.recv().await {
                    if job.id == id && job.state.is_final() {
                        break;
                    }
                }
            })
            .await;
        }
        self.get(id).await
    }

    /// Every change of a job's state, from now on.
    pub fn updates(&self) -> broadcast::Receiver<JobRecord> {
        self.updates.subscribe()
    }

    /// Stops every job (they end `interrupted`) and waits for them, at
    /// most [`GRACE`].
    pub async fn shutdown(&self) {
        let tasks: Vec<JoinHandle<()>> = {
            let mut running = self.running.lock();
            running
                .values_mut()
                .filter_map(|r| {
                    r.stop.lock().get_or_insert_with(|| {
                        JobFailure::new(
                            failure::JOB_INTERRUPTED,
                            "the server stopped while the job ran; start it again",
                        )
                    });
                    r.cancel.cancel();
                    r.task.take()
                })
                .collect()
        };
        if tasks.is_empty() {
            return;
        }
        tracing::info!(jobs = tasks.len(), "stopping running jobs");
        let _ = tokio::time::timeout(GRACE, futures_util::future::join_all(tasks)).await;
    }
}
