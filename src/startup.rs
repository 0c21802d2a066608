//! Building the application: open the store, bring up the catalog, import
//! what was asked, bind the HTTP server. `main` only wires configuration and
//! logging to these functions; tests call them with port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{web, App, HttpServer};

use crate::api;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{self, GraphiQl};
use crate::ingest::{self, ImportReport, Source};
use crate::kafka::{self, IngestStatus, KafkaSettings, TrackConsumer};
use crate::service::{Startup, TrackService};
use crate::store::{EmbeddedStore, MongoStore, TrackStore};

/// Opens the store (MongoDB when a URI is configured, else the embedded
/// store in the data directory) and brings up the catalog.
///
/// # Errors
/// The store cannot be opened or read.
pub async fn open_service(config: &Config) -> Result<(Arc<TrackService>, Startup)> {
    let store = open_store(config).await?;
    let (service, startup) =
        TrackService::open(store, Some(config.snapshot_dir()), config.index).await?;
    Ok((Arc::new(service), startup))
}

/// The configured store.
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

/// Runs the Kafka consumer until `shutdown`: creates the topics when asked
/// to (retrying while the broker is unreachable, which `/readyz` reports),
/// then consumes. Meant to be spawned beside the HTTP server.
pub async fn consume(
    settings: KafkaSettings,
    service: Arc<TrackService>,
    status: Arc<IngestStatus>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut delay = std::time::Duration::from_millis(200);
    let mut created = !settings.create_topics;
    while !created {
        match kafka::ensure_topics(&settings).await {
            Ok(()) => created = true,
            Err(e) => {
                status.broker_down(e.to_string());
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
    match TrackConsumer::new(&settings, service, Arc::clone(&status)) {
        Ok(consumer) => consumer.run(shutdown).await,
        Err(e) => {
            // Bad client settings (e.g. an unknown `[kafka.properties]` key):
            // nothing will be consumed, so say so where operators look.
            tracing::error!(error = %e, "cannot start the Kafka consumer");
            status.broker_down(format!("the consumer cannot start: {e}"));
        }
    }
}

/// The HTTP server, bound and ready to run.
pub struct Application {
    address: std::net::SocketAddr,
    server: actix_web::dev::Server,
}

impl Application {
    /// Binds `config.listen` (port 0 picks a free port) and builds the server.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn build(
        config: &Config,
        service: Arc<TrackService>,
        ingest: Arc<IngestStatus>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(&config.listen)?;
        let address = listener.local_addr()?;
        let schema = api::schema(Arc::clone(&service), Arc::clone(&ingest), config.limits);
        let graphiql = GraphiQl(config.graphiql);
        let workers = if config.workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            config.workers
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(schema.clone()))
                .app_data(web::Data::new(Arc::clone(&service)))
                .app_data(web::Data::new(Arc::clone(&ingest)))
                .app_data(web::Data::new(graphiql))
                .wrap(tracing_actix())
                .configure(http::configure)
        })
        .workers(workers)
        .listen(listener)?
        .run();
        Ok(Application { address, server })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address the server listens on (with the port actually bound).
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Serves until the server is stopped (SIGINT or SIGTERM: actix stops
    /// accepting, finishes requests in flight, then returns).
    ///
    /// # Errors
    /// The server failed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Logs one line per request with method, path, status and duration.
fn tracing_actix() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new("%r %s %Dms").log_target("timbre::http")
}
