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
//!   configured;
//! - the graph catch-ups, which the service starts on a background thread
//!   as writes arrive.
//!
//! Shutdown (SIGINT, SIGTERM, or the token from [`Application::shutdown`])
//! goes: the HTTP server stops accepting and finishes requests in flight,
//! subscriptions end; the consumers finish their batch and commit; then the
//! index snapshot records the final state.
//!
//! New background parts (a lake sink, a job runner) are started in
//! [`Application::run_until_stopped`] beside the consumers and stopped in
//! the same order.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{self, ImportReport, IngestStatus, Source};
use crate::service::{ServiceOptions, Startup, TrackService};
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
        Ok(Application {
            config,
            service,
            startup,
            ingest,
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
            shutdown.clone(),
        )?;
        let mut tasks: Vec<(&'static str, JoinHandle<()>)> = Vec::new();
        if config.kafka.brokers.is_some() {
            tasks.push((
                "the Kafka consumers",
                tokio::spawn(crate::kafka::run(
                    config.kafka.clone(),
                    Arc::clone(&service),
                    Arc::clone(&ingest),
                    shutdown.clone(),
                )),
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
        // the snapshot records the final index.
        shutdown.cancel();
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
    if !tracks.is_empty() {
        report.stored = Some(service.upsert(tracks).await?);
    }
    Ok(report)
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
