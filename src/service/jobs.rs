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

use parking_lot::Mutex;
use tokio::sync::{broadcast, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::engine::{EmbeddedEngine, Engine, InteractionLog, JobOutput, Progress};
use super::models::{ModelShelf, Models};
use super::TrackService;
use crate::config::JobSettings;
use crate::domain::job::failure;
use crate::domain::{
    EngineKind, JobFailure, JobFilter, JobKind, JobParams, JobRecord, JobResult, JobState,
};
use crate::error::{Error, Result};
use crate::ingest::changes::now_ms;
use crate::store::TrackStore;

/// How long an engine has to stop after a cancel or a time-out, and the
/// server's jobs to stop at shutdown.
const GRACE: Duration = Duration::from_secs(15);

/// Progress is stored (and sent to subscribers) at most this often: a
/// store write per file of the log would be one too many.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Job updates kept for slow subscribers.
const UPDATE_BUFFER: usize = 256;

/// `requestedBy` of the jobs schedules start.
pub const SCHEDULE: &str = "schedule";

/// Most jobs one listing returns.
pub const MAX_LISTED: usize = 100;

/// A job being run: how to stop it, and why it was stopped.
struct Running {
    kind: JobKind,
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
    /// Where trained models go; without it a model job fails.
    models: Option<Models>,
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
            models: None,
        })
    }

    /// A runner for `service`'s store with the embedded engine and `others`.
    /// The embedded engine reads listener jobs from `log`; trained models
    /// are kept on `shelf`.
    pub fn for_service(
        service: &Arc<TrackService>,
        log: Option<Arc<dyn InteractionLog>>,
        others: Vec<Arc<dyn Engine>>,
        settings: JobSettings,
        shelf: Arc<dyn ModelShelf>,
    ) -> Arc<Self> {
        let mut engines: Vec<Arc<dyn Engine>> =
            vec![Arc::new(EmbeddedEngine::new(Arc::clone(service), log))];
        engines.extend(others);
        let mut jobs = Jobs::new(Arc::clone(&service.store), engines, settings);
        Arc::get_mut(&mut jobs)
            .expect("a runner just made has one owner")
            .models = Some(Models::new(shelf, Arc::clone(service)));
        jobs
    }

    /// Loads the newest trained co-occurrence model unless it is in use;
    /// returns the job id of the model in use. Called at start and by
    /// [`Jobs::refresh_models`].
    pub async fn load_model(&self) -> Option<String> {
        self.models.as_ref()?.load_latest().await
    }

    /// The job whose model this server scores with, if any.
    pub fn model_in_use(&self) -> Option<String> {
        self.models.as_ref()?.in_use()
    }

    /// Loads a newer model whenever one has been trained (by this server
    /// or by another replica on the same store and lake), every `[jobs]
    /// model_refresh_s` until `shutdown`; never when that is 0.
    pub async fn refresh_models(self: Arc<Self>, shutdown: CancellationToken) {
        if self.settings.model_refresh_s == 0 || self.models.is_none() {
            return;
        }
        let mut every = tokio::time::interval(Duration::from_secs(self.settings.model_refresh_s));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            self.load_model().await;
        }
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
                kind,
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
            // The runner keeps a reporter itself, so the receiver never
            // sees the channel close while the engine runs.
            let (progress, mut reports) = Progress::channel();
            // The engine reads its own copy; this one takes the progress.
            let given = job.clone();
            let run = engine.run(&given, progress.clone(), cancel.clone());
            tokio::pin!(run);
            let limit = tokio::time::sleep(Duration::from_secs(self.settings.timeout_s));
            tokio::pin!(limit);
            // A report is stored at once unless one was stored within
            // PROGRESS_EVERY; then when that time is up.
            let mut saved: Option<tokio::time::Instant> = None;
            let mut pending = false;
            let outcome = loop {
                let due = saved.map_or_else(tokio::time::Instant::now, |at| at + PROGRESS_EVERY);
                tokio::select! {
                    outcome = &mut run => break outcome,
                    () = &mut limit => {
                        stop.lock().get_or_insert_with(|| JobFailure::new(
                            failure::JOB_TIMEOUT,
                            format!(
                                "the job ran longer than {} s ([jobs] timeout_s)",
                                self.settings.timeout_s
                            ),
                        ));
                        cancel.cancel();
                        let _ = tokio::time::timeout(GRACE, &mut run).await;
                        break Err(JobFailure::new(failure::INTERNAL, "stopped"));
                    }
                    Ok(()) = reports.changed() => {
                        job.progress = reports.borrow_and_update().clone();
                        pending = true;
                    }
                    () = tokio::time::sleep_until(due), if pending => {
                        self.save(&job).await;
                        saved = Some(tokio::time::Instant::now());
                        pending = false;
                    }
                }
            };
            job.progress = reports.borrow().clone();
            drop(progress);
            match outcome {
                Ok(output) => self.keep(&job, output).await,
                Err(failure) => Err(failure),
            }
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

    /// The job's result from an engine's output: a model is kept and
    /// loaded first.
    async fn keep(
        &self,
        job: &JobRecord,
        output: JobOutput,
    ) -> std::result::Result<JobResult, JobFailure> {
        let result = match output {
            JobOutput::Result(result) => result,
            JobOutput::Model { table, neighbours } => {
                let models = self.models.as_ref().ok_or_else(|| {
                    JobFailure::new(failure::INTERNAL, "this runner keeps no models")
                })?;
                models
                    .install(job, table, neighbours)
                    .await
                    .map_err(|e| JobFailure::new(failure::INTERNAL, e.to_string()))?
            }
        };
        self.within_limit(result)
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

    /// Whether a job of `kind` is queued or running here.
    pub fn is_active(&self, kind: JobKind) -> bool {
        self.running.lock().values().any(|r| r.kind == kind)
    }

    /// Starts the configured schedules' jobs until `shutdown`: each at its
    /// interval (and at start when asked), skipped while the previous job
    /// of its kind is still queued or running.
    pub async fn run_schedules(self: Arc<Self>, shutdown: CancellationToken) {
        let tasks: Vec<JoinHandle<()>> = self
            .settings
            .schedule
            .iter()
            .filter_map(|s| Some((s.clone(), s.interval().ok()?)))
            .map(|(schedule, every)| {
                let (jobs, shutdown) = (Arc::clone(&self), shutdown.clone());
                tokio::spawn(async move {
                    let start = if schedule.at_start {
                        tokio::time::Instant::now()
                    } else {
                        tokio::time::Instant::now() + every
                    };
                    let mut ticks = tokio::time::interval_at(start, every);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        tokio::select! {
                            _ = ticks.tick() => jobs.start_scheduled(&schedule).await,
                            () = shutdown.cancelled() => break,
                        }
                    }
                })
            })
            .collect();
        futures_util::future::join_all(tasks).await;
    }

    async fn start_scheduled(self: &Arc<Self>, schedule: &crate::config::Schedule) {
        let kind = schedule.kind.as_str();
        if self.is_active(schedule.kind) {
            tracing::info!(
                kind,
                "scheduled job skipped: the previous one is still going"
            );
            return;
        }
        let started = self
            .start(
                schedule.kind,
                schedule.params.clone(),
                schedule.engine,
                SCHEDULE,
            )
            .await;
        if let Err(e) = started {
            tracing::warn!(kind, error = %e, "a scheduled job could not start");
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobProgress;
    use crate::store::EmbeddedStore;
    use async_trait::async_trait;

    /// An engine that runs until the test lets it finish or it is
    /// cancelled, giving `result`.
    struct Gated {
        open: Arc<tokio::sync::Notify>,
        started: Arc<tokio::sync::Notify>,
        result: JobResult,
    }

    #[async_trait]
    impl Engine for Gated {
        fn kind(&self) -> EngineKind {
            EngineKind::Embedded
        }

        async fn run(
            &self,
            _job: &JobRecord,
            progress: Progress,
            cancel: CancellationToken,
        ) -> std::result::Result<JobOutput, JobFailure> {
            progress.report("waiting for the test", 1, 3);
            self.started.notify_one();
            tokio::select! {
                () = self.open.notified() => Ok(JobOutput::Result(self.result.clone())),
                () = cancel.cancelled() => Err(JobFailure::new(failure::ENGINE_ERROR, "stopped")),
            }
        }
    }

    struct Fixture {
        jobs: Arc<Jobs>,
        open: Arc<tokio::sync::Notify>,
        started: Arc<tokio::sync::Notify>,
        _dir: tempfile::TempDir,
    }

    fn fixture(settings: JobSettings, result: JobResult) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let open = Arc::new(tokio::sync::Notify::new());
        let started = Arc::new(tokio::sync::Notify::new());
        let engine = Gated {
            open: Arc::clone(&open),
            started: Arc::clone(&started),
            result,
        };
        Fixture {
            jobs: Jobs::new(store, vec![Arc::new(engine)], settings),
            open,
            started,
            _dir: dir,
        }
    }

    fn empty() -> JobResult {
        JobResult::GenreTrends(vec![])
    }

    async fn start(jobs: &Arc<Jobs>) -> Result<JobRecord> {
        jobs.start(JobKind::GenreTrends, JobParams::default(), None, "tester")
            .await
    }

    /// Waits (on the runner's own updates, no clock) for `id` to be final.
    async fn finished(jobs: &Jobs, id: &str) -> JobRecord {
        let mut updates = jobs.updates();
        loop {
            let job = jobs.get(id).await.unwrap();
            if job.state.is_final() {
                return job;
            }
            let _ = updates.recv().await;
        }
    }

    #[tokio::test]
    async fn a_job_runs_to_its_result_and_is_kept() {
        let f = fixture(JobSettings::default(), empty());
        let job = start(&f.jobs).await.unwrap();
        assert_eq!(job.state, JobState::Queued);
        let mut updates = f.jobs.updates();
        f.started.notified().await;
        assert_eq!(f.jobs.get(&job.id).await.unwrap().state, JobState::Running);
        // The engine's first report is stored and sent at once.
        let reported = loop {
            let update = updates.recv().await.unwrap();
            if let Some(p) = update.progress {
                break p;
            }
        };
        assert_eq!(reported, JobProgress::new("waiting for the test", 1, 3));
        assert_eq!(f.jobs.get(&job.id).await.unwrap().progress, Some(reported));
        f.open.notify_one();
        let done = finished(&f.jobs, &job.id).await;
        assert_eq!(done.state, JobState::Succeeded);
        // Complete once succeeded.
        let last = done.progress.clone().unwrap();
        assert_eq!((last.done, last.total, last.fraction()), (3, 3, 1.0));
        assert_eq!(done.result, Some(empty()));
        assert!(done.started_ms.is_some() && done.finished_ms.is_some());
        assert_eq!(
            f.jobs.latest(JobKind::GenreTrends).await.unwrap(),
            Some(done)
        );
        assert!(matches!(
            f.jobs.get("job-0000000000000-00000000").await,
            Err(Error::JobNotFound(_))
        ));
        assert!(
            matches!(f.jobs.get(&"x".repeat(10_000)).await, Err(Error::JobNotFound(id)) if id.len() == 40)
        );
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_a_cancel_stops_queued_and_running_jobs() {
        let settings = JobSettings {
            max_running: 1,
            max_queued: 1,
            ..JobSettings::default()
        };
        let f = fixture(settings, empty());
        let running = start(&f.jobs).await.unwrap();
        f.started.notified().await;
        let queued = start(&f.jobs).await.unwrap();
        assert!(matches!(start(&f.jobs).await, Err(Error::TooManyJobs(_))));

        let cancelled = f.jobs.cancel(&queued.id, "tester").await.unwrap();
        assert_eq!(cancelled.state, JobState::Cancelled);
        let cancelled = f.jobs.cancel(&running.id, "tester").await.unwrap();
        assert_eq!(cancelled.state, JobState::Cancelled);
        let error = cancelled.error.unwrap();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            (failure::JOB_CANCELLED, "cancelled by tester")
        );
        // A slot is free again, and cancelling a finished job changes nothing.
        let again = start(&f.jobs).await.unwrap();
        f.started.notified().await;
        f.open.notify_one();
        assert_eq!(
            finished(&f.jobs, &again.id).await.state,
            JobState::Succeeded
        );
        assert_eq!(
            f.jobs.cancel(&again.id, "tester").await.unwrap().state,
            JobState::Succeeded
        );
    }

    #[tokio::test]
    async fn a_job_past_its_time_limit_fails_with_job_timeout() {
        // The gate never opens: the only way out is the time limit.
        let settings = JobSettings {
            timeout_s: 1,
            ..JobSettings::default()
        };
        let f = fixture(settings, empty());
        let job = start(&f.jobs).await.unwrap();
        let done = finished(&f.jobs, &job.id).await;
        assert_eq!(done.state, JobState::Failed);
        assert_eq!(done.error.unwrap().code, failure::JOB_TIMEOUT);
    }

    #[tokio::test]
    async fn a_result_over_the_limit_fails_with_result_too_large() {
        let big = JobResult::GenreTrends(vec![
            crate::domain::YearTrend {
                genre: "g".repeat(64),
                year: 2000,
                track_count: 1,
                popularity: None,
                features: vec![],
            };
            100
        ]);
        let settings = JobSettings {
            max_result_bytes: 1_000,
            ..JobSettings::default()
        };
        let f = fixture(settings, big);
        let job = start(&f.jobs).await.unwrap();
        f.started.notified().await;
        f.open.notify_one();
        let done = finished(&f.jobs, &job.id).await;
        assert_eq!(done.error.unwrap().code, failure::RESULT_TOO_LARGE);
        assert_eq!(done.result, None);
    }

    #[tokio::test]
    async fn shutdown_interrupts_and_a_restart_finds_what_it_left() {
        let f = fixture(JobSettings::default(), empty());
        let job = start(&f.jobs).await.unwrap();
        f.started.notified().await;
        f.jobs.shutdown().await;
        let stopped = f.jobs.get(&job.id).await.unwrap();
        assert_eq!(stopped.state, JobState::Interrupted);
        assert_eq!(stopped.error.unwrap().code, failure::JOB_INTERRUPTED);

        // A record a crashed process left running is marked at start.
        let mut left = JobRecord::new(
            JobKind::GenreFingerprints,
            JobParams::default(),
            EngineKind::Embedded,
            "tester".into(),
            now_ms(),
            1,
        );
        left.state = JobState::Running;
        f.jobs.store.put_job(&left).await.unwrap();
        assert_eq!(f.jobs.recover().await.unwrap(), 1);
        assert_eq!(
            f.jobs.get(&left.id).await.unwrap().state,
            JobState::Interrupted
        );
    }

    #[tokio::test]
    async fn bad_parameters_and_absent_engines_are_refused_before_anything_runs() {
        let f = fixture(JobSettings::default(), empty());
        let bad = JobParams {
            from: Some(2000),
            to: Some(1990),
            ..JobParams::default()
        };
        assert!(matches!(
            f.jobs.start(JobKind::GenreTrends, bad, None, "t").await,
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            f.jobs
                .start(
                    JobKind::GenreTrends,
                    JobParams::default(),
                    Some(EngineKind::Spark),
                    "t"
                )
                .await,
            Err(Error::NotConfigured(_))
        ));
        let none = f.jobs.list(&JobFilter::default(), 10).await.unwrap();
        assert!(none.is_empty(), "nothing was recorded: {none:?}");
        assert!(matches!(
            f.jobs.list(&JobFilter::default(), 0).await,
            Err(Error::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_schedule_skips_its_run_while_the_previous_job_is_going() {
        let settings = JobSettings {
            schedule: vec![crate::config::Schedule {
                kind: JobKind::GenreTrends,
                every: "1s".into(),
                at_start: true,
                engine: None,
                params: JobParams::default(),
            }],
            ..JobSettings::default()
        };
        let f = fixture(settings, empty());
        let stop = CancellationToken::new();
        let schedules = tokio::spawn(Arc::clone(&f.jobs).run_schedules(stop.clone()));
        // The run at start holds the engine until the gate opens.
        f.started.notified().await;
        let scheduled = |jobs: &Arc<Jobs>| {
            let jobs = Arc::clone(jobs);
            async move { jobs.list(&JobFilter::default(), 100).await.unwrap() }
        };
        // Three intervals pass while it runs: none starts another.
        tokio::time::sleep(Duration::from_millis(3_200)).await;
        let while_running = scheduled(&f.jobs).await;
        assert_eq!(while_running.len(), 1, "{while_running:?}");
        assert_eq!(while_running[0].requested_by, SCHEDULE);
        f.open.notify_one();
        // Once it has finished, the next interval starts the next run.
        f.started.notified().await;
        let after = scheduled(&f.jobs).await;
        assert_eq!(after.len(), 2, "{after:?}");
        assert_eq!(after[1].state, JobState::Succeeded);
        stop.cancel();
        schedules.await.unwrap();
        f.jobs.shutdown().await;
    }
}
