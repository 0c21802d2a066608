//! The actix-web server: the GraphQL schemas for each transport, the shared
//! endpoint state, middleware and routes, over a listener the application
//! has bound.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};
use async_graphql::extensions::apollo_persisted_queries::LruCacheStorage;
use tokio_util::sync::CancellationToken;

use super::{
    configure, observe, ClientLimiter, DocumentCache, Endpoint, GraphiQl, Metrics,
    PersistedQueries, TrustedProxies, REQUEST_ID,
};
use crate::api::{self, Checks, DocumentRules, SchemaOptions, Shutdown};
use crate::auth::Keyring;
use crate::config::Config;
use crate::ingest::{IngestStatus, SinkStatus};
use crate::service::jobs::Jobs;
use crate::service::TrackService;

/// The HTTP server on `listener`, not yet running. `shutdown` ends open
/// subscriptions when it is cancelled; stopping the server itself is the
/// caller's (through the server's handle). Signals are left to the caller
/// too.
///
/// # Errors
/// The listener cannot be used.
pub fn server(
    listener: TcpListener,
    config: &Config,
    service: Arc<TrackService>,
    ingest: Arc<IngestStatus>,
    lake: Arc<SinkStatus>,
    jobs: Arc<Jobs>,
    shutdown: CancellationToken,
) -> std::io::Result<actix_web::dev::Server> {
    // One store of persisted queries for both transports.
    let persisted =
        (config.http.apq_cache_size > 0).then(|| LruCacheStorage::new(config.http.apq_cache_size));
    let schema = |checks| {
        api::schema(
            Arc::clone(&service),
            Arc::clone(&ingest),
            SchemaOptions {
                limits: config.limits,
                introspection: config.http.introspection,
                persisted: persisted.clone(),
                shutdown: Shutdown(shutdown.clone()),
                checks,
                jobs: Arc::clone(&jobs),
            },
        )
    };
    let metrics = Arc::new(Metrics::new(
        Arc::clone(&service),
        Arc::clone(&ingest),
        Arc::clone(&lake),
    ));
    let endpoint = web::Data::new(Endpoint {
        schema: schema(Checks::ByCaller),
        socket_schema: schema(Checks::InSchema),
        service: Arc::clone(&service),
        keyring: Keyring::new(&config.auth),
        limiter: ClientLimiter::new(config.http.rate_limit),
        // Checked when the configuration was loaded.
        proxies: TrustedProxies::new(
            crate::config::parse_proxies(&config.http.trusted_proxies).unwrap_or_default(),
        ),
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
    let dashboard = config.dashboard;
    let origins = config.http.cors_origins.clone();
    let workers = if config.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        config.workers
    };
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(endpoint.clone())
            .app_data(metrics.clone())
            .app_data(web::Data::new(Arc::clone(&service)))
            .app_data(web::Data::new(Arc::clone(&ingest)))
            .app_data(web::Data::new(Arc::clone(&lake)))
            .app_data(web::Data::new(Arc::clone(&jobs)))
            .app_data(web::Data::new(graphiql))
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(from_fn(observe))
            .configure(configure)
            .configure(|cfg| {
                if dashboard {
                    super::dashboard::configure(cfg);
                }
            })
    })
    .workers(workers)
    .shutdown_timeout(config.http.shutdown_timeout_secs)
    .disable_signals()
    .listen(listener)?
    .run())
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
            REQUEST_ID,
        ])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
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
