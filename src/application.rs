//! [`Application`]: builds every part of a running timbre from the
//! configuration, owns every task, and stops them in one order.
//!
//! `main` and the black-box tests build it the same way
//! (`Application::build(config)`, then `run_until_stopped`), so what the
//! tests run is what operators run. The parts:
//!
//! - the store (MongoDB when a URI is configured, else the embedded store
//!   in the data directory) and the [`TrackService`] over it, with the
//!   catalog brought up from the index snapshot or rebuilt;
//! - the HTTP server ([`crate::http`]), bound at build time so the port is
//!   known (port 0 picks a free one);
//! - the Kafka consumers ([`crate::kafka::run`]), when brokers are
//!   configured, with the lake's own consumers when a lake is;
//! - the lake sink ([`crate::lake::run_sink`]), when `[lake] location` is
//!   set: imports' and the API's changes in micro-batches;
//! - the analytics job runner ([`crate::service::jobs`]), with the embedded
//!   engine and, when `[jobs] spark` is set, Spark ([`crate::spark`]); at
//!   build it marks the jobs a previous run left unfinished interrupted;
//! - the graph catch-ups, which the service starts on a background thread
//!   as writes arrive.
//!
//! Shutdown (SIGINT, SIGTERM, or the token from [`Application::shutdown`])
//! goes: the HTTP server stops accepting and finishes requests in flight,
//! subscriptions end; running jobs stop and are recorded interrupted; the
//! consumers finish their batch and commit; then the index snapshot records
//! the final state.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::Receiver;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{self, ChangeBatch, ImportReport, IngestStatus, Origin, SinkStatus, Source};
use crate::kafka::LakeFeed;
use crate::lake::raw::RawResponse;
use crate::lake::{Lake, RawZone};
use crate::service::engine::{Engine, InteractionLog};
use crate::service::jobs::Jobs;
use crate::service::models::{LocalShelf, ModelShelf};
use crate::service::{ServiceOptions, Startup, TrackService};
use crate::spark::SparkEngine;
use crate::spotify::{Client, Extracted, FeatureSource, SpotifyError, Target};
use crate::store::{EmbeddedStore, MongoStore, TrackStore};

/// Longest wait for a background task to finish at shutdown.
const TASK_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A timbre server: its service, its bound HTTP listener and, once
/// running, every task.
pub struct Application {
    config: Config,
    service: Arc<TrackService>,
    startup: Startup,
    ingest: Arc<IngestStatus>,
    /// The lake, when `[lake] location` is set and its sink is on, with the
    /// sink's subscription to the service's changes.
    lake: Option<(Lake, Receiver<Arc<ChangeBatch>>)>,
    sink: Arc<SinkStatus>,
    jobs: Arc<Jobs>,
    listener: TcpListener,
    address: SocketAddr,
    shutdown: CancellationToken,
}

impl Application {
    /// Opens the store, brings up the catalog and binds `config.listen`.
    /// Nothing runs yet: import first if asked to, then
    /// [`Self::run_until_stopped`].
    ///
    /// # Errors
    /// The store cannot be opened or read, or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = open_store(&config).await?;
        Self::build_with_store(config, store).await
    }

    /// [`Self::build`] over a store made by the caller (one with its own
    /// client options or instrumentation, say) instead of the configured
    /// one.
    ///
    /// # Errors
    /// The store cannot be read, or the address cannot be bound.
    pub async fn build_with_store(
        config: Config,
        store: Arc<dyn TrackStore>,
    ) -> anyhow::Result<Self> {
        let (service, startup) = TrackService::open(store, service_options(&config)).await?;
        let service = Arc::new(service);
        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| anyhow::anyhow!("listening on {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        let ingest = Arc::new(match &config.kafka.brokers {
            Some(_) => IngestStatus::new(&config.kafka.topic, &config.kafka.group_id),
            None => IngestStatus::disabled(),
        });
        // Opening a lake checks its location only (S3 is not reached yet):
        // an outage later degrades readiness, it never stops a start.
        let opened = match &config.lake.location {
            Some(location) => Some(Lake::open(location, &config.lake)?),
            None => None,
        };
        // The sink writes the lake only when asked; jobs read it anyway.
        let lake = opened.clone().filter(|_| config.lake.sink);
        let sink = Arc::new(match &lake {
            Some(lake) => SinkStatus::new(lake.location()),
            None => SinkStatus::disabled(),
        });
        let jobs = job_runner(&config, &service, opened)?;
        if let Err(e) = jobs.recover().await {
            tracing::warn!(error = %e, "cannot mark the jobs the last run left as interrupted");
        }
        jobs.load_model().await;
        // Subscribed now, not when the sink's task first runs: a start-up
        // import happens in between, and the lake must see it.
        let lake = lake.map(|lake| (lake, service.changes()));
        Ok(Application {
            config,
            service,
            startup,
            ingest,
            lake,
            sink,
            jobs,
            listener,
            address,
            shutdown: CancellationToken::new(),
        })
    }

    /// The address the server listens on (with the port actually bound).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The service every adapter calls.
    pub fn service(&self) -> &Arc<TrackService> {
        &self.service
    }

    /// What bringing the catalog up did.
    pub fn startup(&self) -> &Startup {
        &self.startup
    }

    /// The streaming ingest's status (disabled without Kafka).
    pub fn ingest_status(&self) -> &Arc<IngestStatus> {
        &self.ingest
    }

    /// The analytics job runner.
    pub fn jobs(&self) -> &Arc<Jobs> {
        &self.jobs
    }

    /// The lake sink's status (disabled without a lake).
    pub fn sink_status(&self) -> &Arc<SinkStatus> {
        &self.sink
    }

    /// The token that stops the application when cancelled (as SIGINT and
    /// SIGTERM do).
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Imports `source` into the service (see [`import`]).
    ///
    /// # Errors
    /// The source cannot be read at all, or the store write fails.
    pub async fn import(
        &self,
        source: Source,
        audio_features: Option<Source>,
    ) -> anyhow::Result<ImportReport> {
        import(&self.service, source, audio_features).await
    }

    /// Starts every task and serves until SIGINT, SIGTERM or the shutdown
    /// token, then stops them in order (see the module documentation).
    ///
    /// # Errors
    /// The HTTP server failed, or the final snapshot could not be written.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            config,
            service,
            ingest,
            lake,
            sink,
            jobs,
            listener,
            shutdown,
            ..
        } = self;
        service.start_serving();
        let server = crate::http::server(
            listener,
            &config,
            Arc::clone(&service),
            Arc::clone(&ingest),
            Arc::clone(&sink),
            Arc::clone(&jobs),
            shutdown.clone(),
        )?;
        let mut tasks: Vec<(&'static str, JoinHandle<()>)> = Vec::new();
        // The sink subscribed to the service's changes in `build`, before
        // anything wrote: it misses none.
        let lake = lake.map(|(lake, changes)| {
            tasks.push((
                "the lake sink",
                tokio::spawn(crate::lake::run_sink(
                    lake.clone(),
                    config.lake.clone(),
                    changes,
                    Arc::clone(&sink),
                    shutdown.clone(),
                )),
            ));
            lake
        });
        if config.kafka.brokers.is_some() {
            let feed = lake.map(|lake| LakeFeed {
                sink: Arc::new(lake),
                status: Arc::clone(&sink),
                max_rows: config.lake.max_rows_per_file,
                wait_ms: config.lake.flush_interval_ms,
            });
            tasks.push((
                "the Kafka consumers",
                tokio::spawn(crate::kafka::run(
                    config.kafka.clone(),
                    Arc::clone(&service),
                    Arc::clone(&ingest),
                    feed,
                    shutdown.clone(),
                )),
            ));
        }
        tasks.push((
            "the model refresh",
            tokio::spawn(Arc::clone(&jobs).refresh_models(shutdown.clone())),
        ));
        if !config.jobs.schedule.is_empty() {
            tasks.push((
                "the job schedules",
                tokio::spawn(Arc::clone(&jobs).run_schedules(shutdown.clone())),
            ));
        }
        let handle = server.handle();
        let stopper = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = signalled() => tracing::info!("shutting down: finishing requests in flight"),
                    () = shutdown.cancelled() => {}
                }
                shutdown.cancel();
                handle.stop(true).await;
            })
        };
        let served = server.await;
        stopper.abort();
        // One shutdown for all: HTTP has drained; the background tasks
        // finish their work (the consumers their batch and commit); then
        // the snapshot records the final index. Running jobs end
        // `interrupted`, recorded as such.
        shutdown.cancel();
        jobs.shutdown().await;
        for (name, task) in tasks {
            tracing::info!("stopping {name}");
            if tokio::time::timeout(TASK_STOP_TIMEOUT, task).await.is_err() {
                tracing::warn!("{name} did not stop within {TASK_STOP_TIMEOUT:?}");
            }
        }
        tracing::info!("stopped; writing the index snapshot");
        service.save_snapshot().await?;
        served?;
        Ok(())
    }
}

/// Opens the configured store and brings up the service over it, without
/// serving anything (`timbre import`, tools and benchmarks).
///
/// # Errors
/// The store cannot be opened or read.
pub async fn open_service(config: &Config) -> Result<(Arc<TrackService>, Startup)> {
    let store = open_store(config).await?;
    let (service, startup) = TrackService::open(store, service_options(config)).await?;
    Ok((Arc::new(service), startup))
}

/// The service's options from the configuration.
fn service_options(config: &Config) -> ServiceOptions {
    ServiceOptions {
        snapshot_dir: Some(config.snapshot_dir()),
        index: config.index,
        recommend: config.recommend,
    }
}

/// The configured store: MongoDB when a URI is set, else the embedded
/// store in the data directory.
///
/// # Errors
/// The store cannot be opened (or MongoDB not reached).
pub async fn open_store(config: &Config) -> Result<Arc<dyn TrackStore>> {
    Ok(match &config.mongodb_uri {
        Some(uri) => {
            tracing::info!(uri = ?uri, database = config.mongodb_database.as_str(), "using MongoDB as the store");
            Arc::new(MongoStore::connect(&uri.0, &config.mongodb_database, None).await?)
        }
        None => Arc::new(EmbeddedStore::open(&config.data_dir)?),
    })
}

/// Reads `source` (with an optional audio-features document) and stores its
/// tracks. Rejected rows are in the report; nothing stored is lost when a
/// later row is bad.
///
/// # Errors
/// The source cannot be read at all, or the store write fails.
pub async fn import(
    service: &TrackService,
    source: Source,
    audio_features: Option<Source>,
) -> anyhow::Result<ImportReport> {
    let (tracks, mut report) =
        tokio::task::spawn_blocking(move || ingest::read(&source, audio_features.as_ref()))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
    store_read(service, tracks, &mut report, Origin::Import).await?;
    Ok(report)
}

/// Stores the tracks an import or an extract read, and tells the service's
/// sinks (the lake's `ingest_events`) what became of every record: applied
/// or rejected, with the reason.
async fn store_read(
    service: &TrackService,
    tracks: Vec<crate::domain::Track>,
    report: &mut ImportReport,
    origin: Origin,
) -> Result<()> {
    let ids: Vec<crate::domain::TrackId> = tracks.iter().map(|t| t.id).collect();
    if !tracks.is_empty() {
        report.stored = Some(service.upsert_from(tracks, origin).await?);
    }
    // An event per record, only for a lake to keep.
    if service.has_change_sinks() {
        service.report_events(origin, report.ingest_events(ids.iter()));
    }
    Ok(())
}

/// The job runner: the embedded engine, and Spark when `[jobs] spark` is
/// set (reading the lake through the lake's own table definitions).
///
/// # Errors
/// A Spark URL that cannot be used.
fn job_runner(
    config: &Config,
    service: &Arc<TrackService>,
    lake: Option<Lake>,
) -> anyhow::Result<Arc<Jobs>> {
    // The embedded engine reads listener jobs from the lake, sink or not;
    // trained models go to the lake too, where every replica finds them.
    let shelf: Arc<dyn ModelShelf> = match &lake {
        Some(lake) => Arc::new(lake.clone()),
        None => Arc::new(LocalShelf::new(config.data_dir.join("models"))),
    };
    let log = lake.map(|lake| Arc::new(lake) as Arc<dyn InteractionLog>);
    let mut engines: Vec<Arc<dyn Engine>> = Vec::new();
    if let Some(url) = &config.jobs.spark {
        let views = crate::lake::spark_session_views(&config.spark_lake());
        engines.push(Arc::new(SparkEngine::new(url, views)?));
    }
    Ok(Jobs::for_service(
        service,
        log,
        engines,
        config.jobs.clone(),
        shelf,
    ))
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// What `timbre extract` did.
#[derive(Debug)]
pub struct ExtractReport {
    /// The import of the tracks that had features.
    pub import: ImportReport,
    /// Tracks found without audio features (kept in the raw zone only).
    pub without_features: Vec<String>,
    /// Tracks skipped because the catalogue had them.
    pub skipped: usize,
    /// Where features came from: (Web API, provider).
    pub feature_sources: (usize, usize),
    /// Whether the Web API refused audio features to the app.
    pub web_api_features_refused: bool,
    /// Responses kept in the raw zone.
    pub raw_responses: usize,
    /// Targets (or tracks) that failed, with the reason.
    pub errors: Vec<(String, SpotifyError)>,
}

/// Extracts `targets` from the Spotify Web API into `service` (through the
/// import path) and keeps every response in the lake's raw zone. What was
/// extracted before an error is kept; tracks the catalogue has already are
/// not fetched again, so a rerun resumes.
///
/// # Errors
/// The lake or the store failed; Web API errors are in the report.
pub async fn extract(
    service: &TrackService,
    settings: &crate::config::SpotifySettings,
    lake: &Lake,
    targets: Vec<Target>,
) -> anyhow::Result<ExtractReport> {
    let have: std::collections::HashSet<crate::domain::TrackId> =
        service.read_now(|c| c.tracks().map(|t| t.id).collect());
    let settings = settings.clone();
    let (extracted, received) = tokio::task::spawn_blocking(move || {
        let mut client = match Client::new(&settings) {
            Ok(client) => client,
            Err(e) => {
                let mut out = Extracted::default();
                out.errors.push(("sign-in".into(), e));
                return (out, Vec::new());
            }
        };
        let out = crate::spotify::extract(&mut client, &targets, &have);
        (out, std::mem::take(&mut client.received))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?;

    // The raw zone first: every response, the failed ones included.
    let mut raw = RawZone::new(lake.clone(), "spotify");
    let mut by_endpoint: std::collections::BTreeMap<&str, Vec<RawResponse<'_>>> =
        Default::default();
    for r in &received {
        by_endpoint
            .entry(endpoint_of(&r.url))
            .or_default()
            .push(RawResponse {
                url: &r.url,
                status: r.status,
                fetched_at: humantime::format_rfc3339_millis(r.at).to_string(),
                body: serde_json::from_str(&r.body)
                    .unwrap_or_else(|_| serde_json::Value::String(r.body.clone())),
            });
    }
    for (endpoint, responses) in &by_endpoint {
        raw.write(endpoint, responses).await?;
    }

    let (read, mut import) = ingest::read_web_api("spotify web api", &extracted.document())?;
    let mut tracks = Vec::with_capacity(read.len());
    for mut track in read {
        if let Some(playlists) = extracted.playlists.get(track.id.as_str()) {
            track.playlists.extend(playlists.iter().cloned());
        }
        if let Some(genres) = extracted.genres.get(track.id.as_str()) {
            track.genres.extend(genres.iter().cloned());
        }
        // With its playlists and genres, a track must still be in bounds.
        match track.admit() {
            Ok(()) => tracks.push(track),
            Err(e) => import.reject(format!("track {}", track.id), &e),
        }
    }
    store_read(service, tracks, &mut import, Origin::Extract).await?;
    let from_api = extracted
        .feature_sources
        .values()
        .filter(|s| **s == FeatureSource::WebApi)
        .count();
    Ok(ExtractReport {
        without_features: extracted
            .without_features()
            .into_iter()
            .map(str::to_string)
            .collect(),
        skipped: extracted.skipped,
        feature_sources: (from_api, extracted.feature_sources.len() - from_api),
        web_api_features_refused: extracted.web_api_features_refused,
        raw_responses: received.len(),
        errors: extracted.errors,
        import,
    })
}

/// The raw zone's folder for a response: the endpoint's first path segment
/// after the API's version (`tracks`, `albums`, `audio-features`, …).
fn endpoint_of(url: &str) -> &str {
    let path = url.split("://").nth(1).unwrap_or(url);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/').skip(1).filter(|s| !s.is_empty());
    match segments.next() {
        Some("v1") => segments.next().unwrap_or("other"),
        Some(first) => first,
        None => "other",
    }
}
