//! Building the application: open the store, bring up the catalog, import
//! what was asked, bind the HTTP server. `main` only wires configuration and
//! logging to these functions; tests call them with port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};
use async_graphql::extensions::apollo_persisted_queries::LruCacheStorage;
use tokio_util::sync::CancellationToken;

use crate::api::auth::Keyring;
use crate::api::{self, Checks, DocumentRules, SchemaOptions, Shutdown};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{
    self, ClientLimiter, DocumentCache, Endpoint, GraphiQl, Metrics, PersistedQueries,
};
use crate::ingest::{self, ImportReport, Source};
use crate::kafka::{self, IngestStatus, InteractionConsumer, KafkaSettings, TrackConsumer};
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
    let consumers = TrackConsumer::new(&settings, Arc::clone(&service), Arc::clone(&status))
        .and_then(|tracks| {
            let interactions = InteractionConsumer::new(&settings, service, Arc::clone(&status))?;
            Ok((tracks, interactions))
        });
    match consumers {
        Ok((tracks, interactions)) => {
            tokio::join!(tracks.run(shutdown.clone()), interactions.run(shutdown));
        }
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
    shutdown: CancellationToken,
}

impl Application {
    /// Binds `config.listen` (port 0 picks a free port) and builds the server.
    ///
    /// # Errors
    /// The address cannot be bound.
    ///
    /// `shutdown` is the server's one stop signal: SIGINT or SIGTERM cancel
    /// it, and cancelling it (from there or from elsewhere) ends open
    /// subscriptions and stops the server gracefully.
    pub fn build(
        config: &Config,
        service: Arc<TrackService>,
        ingest: Arc<IngestStatus>,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(&config.listen)?;
        service.start_serving();
        let address = listener.local_addr()?;
        // One store of persisted queries for both transports.
        let persisted = (config.http.apq_cache_size > 0)
            .then(|| LruCacheStorage::new(config.http.apq_cache_size));
        let schema = |checks| {
            api::schema(
                Arc::clone(&service),
                Arc::clone(&ingest),
                SchemaOptions {
                    limits: config.limits,
                    introspection: config.http.introspection,
                    persisted: persisted.clone(),
                    shutdown: Shutdown(shutdown.clone()),
                    recommend: config.recommend,
                    checks,
                },
            )
        };
        let metrics = Arc::new(Metrics::new(Arc::clone(&service), Arc::clone(&ingest)));
        let endpoint = web::Data::new(Endpoint {
            schema: schema(Checks::ByCaller),
            socket_schema: schema(Checks::InSchema),
            service: Arc::clone(&service),
            keyring: Keyring::new(&config.auth),
            limiter: ClientLimiter::new(config.http.rate_limit),
            metrics: Arc::clone(&metrics),
            documents: DocumentCache::new(config.http.document_cache_size),
            persisted: PersistedQueries::new(persisted.clone()),
            rules: DocumentRules {
                max_aliases: config.limits.max_aliases,
                introspection: config.http.introspection,
            },
            max_body_bytes: config.limits.max_body_bytes,
            metrics_enabled: config.http.metrics,
        });
        let metrics = web::Data::from(metrics);
        let graphiql = GraphiQl(config.graphiql);
        let origins = config.http.cors_origins.clone();
        let workers = if config.workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            config.workers
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(endpoint.clone())
                .app_data(metrics.clone())
                .app_data(web::Data::new(Arc::clone(&service)))
                .app_data(web::Data::new(Arc::clone(&ingest)))
                .app_data(web::Data::new(graphiql))
                .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
                .wrap(from_fn(http::observe))
                .configure(http::configure)
        })
        .workers(workers)
        .shutdown_timeout(config.http.shutdown_timeout_secs)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Application {
            address,
            server,
            shutdown,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address the server listens on (with the port actually bound).
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Serves until SIGINT, SIGTERM or the shutdown token: then the token
    /// is cancelled (ending subscriptions), the server stops accepting and
    /// finishes requests in flight within `http.shutdown_timeout_secs`.
    ///
    /// # Errors
    /// The server failed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let shutdown = self.shutdown.clone();
        let stopper = tokio::spawn(async move {
            tokio::select! {
                () = signalled() => tracing::info!("shutting down: finishing requests in flight"),
                () = shutdown.cancelled() => {}
            }
            shutdown.cancel();
            handle.stop(true).await;
        });
        let served = self.server.await;
        stopper.abort();
        served
    }
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

/// Cross-origin access for the configured origins (`*` for any).
fn cors(origins: &[String]) -> Cors {
    use actix_web::http::header;
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
            http::REQUEST_ID,
        ])
        .expose_headers([http::REQUEST_ID, header::RETRY_AFTER])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        cors = cors.allow_any_origin();
    } else {
        for origin in origins {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}
