//! Routes: `/graphql` (POST; GET for queries; WebSocket upgrades for
//! subscriptions; GraphiQL for browsers), `/healthz` (the process is up),
//! `/readyz` (it can serve; the store, the Kafka broker and the lake answer,
//! or the server says it is degraded), `/metrics` (Prometheus) and the
//! jobs' HTTP/JSON routes (`jobs.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::GraphQLSubscription;
use futures_util::StreamExt;
use serde_json::json;

use super::document_cache::DocumentCache;
use super::graphql_http::{self, negotiate, MediaType, Params, Refusal};
use super::persisted::PersistedQueries;
use super::{ClientLimiter, Metrics, TrustedProxies};
use crate::api::auth::Transport;
use crate::api::error::Code;
use crate::api::{self, DocumentRules, TimbreSchema};
use crate::auth::{Caller, Keyring};
use crate::ingest::{IngestStatus, SinkStatus};
use crate::service::TrackService;

/// Whether GraphiQL is served to browsers.
#[derive(Clone, Copy)]
pub struct GraphiQl(pub bool);

/// Everything the GraphQL endpoint needs, shared by every worker.
pub struct Endpoint {
    /// The schema without extensions ([`api::Checks::ByCaller`]): this
    /// module resolves persisted queries, checks the document rules and
    /// codes errors around it.
    pub schema: TimbreSchema,
    /// The schema for WebSocket subscriptions, which does that work in
    /// extensions ([`api::Checks::InSchema`]).
    pub socket_schema: TimbreSchema,
    pub service: Arc<TrackService>,
    pub keyring: Keyring,
    pub limiter: ClientLimiter,
    /// Whose forwarding headers name the client for the rate limit.
    pub proxies: TrustedProxies,
    pub metrics: Arc<Metrics>,
    pub documents: DocumentCache,
    pub persisted: PersistedQueries,
    pub rules: DocumentRules,
    pub max_body_bytes: usize,
    pub metrics_enabled: bool,
}

/// Registers every route on an actix `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql_post))
            .route(
                web::get()
                    .guard(guard::fn_guard(is_websocket))
                    .to(subscriptions),
            )
            .route(web::get().guard(guard::fn_guard(wants_html)).to(graphiql))
            .route(web::get().to(graphql_get)),
    )
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz))
    .route("/metrics", web::get().to(metrics))
    .configure(super::jobs::configure);
}

fn header_str<'a>(headers: &'a header::HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn wants_html(ctx: &guard::GuardContext<'_>) -> bool {
    header_str(ctx.head().headers(), &header::ACCEPT).is_some_and(|v| v.contains("text/html"))
}

fn is_websocket(ctx: &guard::GuardContext<'_>) -> bool {
    header_str(ctx.head().headers(), &header::UPGRADE)
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// A refusal as an HTTP response, in the negotiated media type.
pub(super) fn refuse(refusal: &Refusal, media: MediaType) -> HttpResponse {
    reply(
        refusal.status,
        media,
        refusal.body().to_string().into_bytes(),
    )
}

/// A GraphQL answer with the headers its status calls for: how to
/// authenticate after a 401, which method to use after a 405.
fn reply(status: StatusCode, media: MediaType, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type(media.content_type());
    match status {
        StatusCode::UNAUTHORIZED => {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            response.insert_header((header::ALLOW, "POST"));
        }
        _ => {}
    }
    response.body(body)
}

/// Who sends the request: the key in `Authorization: Bearer` or
/// `X-Api-Key`, if any.
///
/// # Errors
/// 401 for a key this server does not know, or another kind of
/// `Authorization`.
fn caller(request: &HttpRequest, keyring: &Keyring) -> Result<Caller, Refusal> {
    let headers = request.headers();
    let presented = if let Some(value) = header_str(headers, &header::AUTHORIZATION) {
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "));
        Some(key.ok_or_else(|| {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                Code::Unauthenticated,
                "Authorization must be `Bearer KEY`",
            )
        })?)
    } else {
        header_str(headers, &header::HeaderName::from_static("x-api-key"))
    };
    match presented.map(|key| keyring.identify(key.trim())) {
        None => Ok(Caller::Anonymous),
        Some(Caller::Invalid) => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "the API key is not valid",
        )),
        Some(caller) => Ok(caller),
    }
}

/// Takes a rate-limit token for the caller.
///
/// # Errors
/// 429 with the time to wait.
fn rate_limit(request: &HttpRequest, caller: &Caller, endpoint: &Endpoint) -> Result<(), Duration> {
    let client = match caller.key_name() {
        Some(name) => format!("key:{name}"),
        None => format!(
            "ip:{}",
            endpoint
                .proxies
                .client(request.peer_addr(), request.headers())
                .map_or_else(|| "unknown".into(), |a| a.to_string())
        ),
    };
    endpoint
        .limiter
        .check(client)
        .inspect_err(|_| endpoint.metrics.rate_limited())
}

fn too_many(wait: Duration, media: MediaType) -> HttpResponse {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let refusal = Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        format!("too many requests from this client; retry in {seconds} s"),
    );
    let mut response = refuse(&refusal, media);
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The checks every GraphQL request passes before its parameters are read:
/// a media type we can answer in, a valid key if any, the rate limit.
pub(super) fn admit(
    request: &HttpRequest,
    endpoint: &Endpoint,
) -> Result<(MediaType, Caller), Box<HttpResponse>> {
    let Some(media) = negotiate(header_str(request.headers(), &header::ACCEPT)) else {
        return Err(Box::new(refuse(
            &Refusal::new(
                StatusCode::NOT_ACCEPTABLE,
                Code::NotAcceptable,
                "Accept must allow application/graphql-response+json or application/json",
            ),
            MediaType::Json,
        )));
    };
    let caller = caller(request, &endpoint.keyring).map_err(|r| Box::new(refuse(&r, media)))?;
    rate_limit(request, &caller, endpoint).map_err(|wait| Box::new(too_many(wait, media)))?;
    Ok((media, caller))
}

async fn graphql_post(
    request: HttpRequest,
    payload: web::Payload,
    endpoint: web::Data<Endpoint>,
) -> HttpResponse {
    let (media, caller) = match admit(&request, &endpoint) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let json = header_str(request.headers(), &header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return refuse(
            &Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedMediaType,
                "POST a JSON body with Content-Type: application/json",
            ),
            media,
        );
    }
    let body = match read_body(payload, endpoint.max_body_bytes).await {
        Ok(body) => body,
        Err(refusal) => return refuse(&refusal, media),
    };
    match Params::from_body(&body).and_then(Params::into_request) {
        Ok(graphql) => execute(&endpoint, graphql, caller, Transport::Post, media).await,
        Err(refusal) => refuse(&refusal, media),
    }
}

async fn graphql_get(request: HttpRequest, endpoint: web::Data<Endpoint>) -> HttpResponse {
    let (media, caller) = match admit(&request, &endpoint) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let params = Params::from_query_string(request.query_string()).and_then(Params::into_request);
    match params {
        Ok(graphql) => execute(&endpoint, graphql, caller, Transport::Get, media).await,
        Err(refusal) => refuse(&refusal, media),
    }
}

/// Reads the body, refusing it as soon as it is known to exceed `limit`.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            format!("the request body exceeds {limit} bytes"),
        )
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                Code::BadRequest,
                format!("reading the body failed: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn execute(
    endpoint: &Endpoint,
    mut graphql: async_graphql::Request,
    caller: Caller,
    transport: Transport,
    media: MediaType,
) -> HttpResponse {
    let started = Instant::now();
    let (operation, response) = match prepare(endpoint, &mut graphql).await {
        Ok(operation) => {
            if transport == Transport::Get {
                if let Err(refusal) = graphql_http::refuse_get_mutation(&mut graphql) {
                    return refuse(&refusal, media);
                }
            }
            let mut graphql = graphql.data(caller).data(transport);
            if let Some(loader) = api::loader(&endpoint.service) {
                graphql = graphql.data(loader);
            }
            let mut response = endpoint.schema.execute(graphql).await;
            api::error::code_errors(&mut response);
            (operation, response)
        }
        Err(error) => (None, async_graphql::Response::from_errors(vec![error])),
    };
    endpoint.metrics.observe_operation(
        operation.as_deref(),
        started.elapsed(),
        response
            .errors
            .iter()
            .filter_map(Code::of)
            .map(Code::as_str),
    );
    let (status, body) = graphql_http::render(&response, media);
    reply(status, media, body)
}

/// What the schema's extensions would do before execution: a persisted
/// query resolved, the document parsed (or taken from the cache), the
/// document rules checked. Returns the operation's name, for metrics.
///
/// # Errors
/// The request's one error, with its code; nothing has run.
async fn prepare(
    endpoint: &Endpoint,
    graphql: &mut async_graphql::Request,
) -> Result<Option<String>, async_graphql::ServerError> {
    endpoint.persisted.resolve(graphql).await?;
    let operation = endpoint.documents.prepare(graphql)?;
    if let Ok(document) = graphql.parsed_query() {
        endpoint.rules.check(document)?;
    }
    Ok(operation)
}

/// Subscriptions over WebSocket (`graphql-transport-ws` or `graphql-ws`).
/// A client may send its API key in the `connection_init` payload as
/// `{"apiKey": "..."}` for mutations over the socket.
async fn subscriptions(
    request: HttpRequest,
    payload: web::Payload,
    endpoint: web::Data<Endpoint>,
) -> actix_web::Result<HttpResponse> {
    let mut data = async_graphql::Data::default();
    if let Some(loader) = api::loader(&endpoint.service) {
        data.insert(loader);
    }
    data.insert(Transport::WebSocket);
    let keyring = endpoint.keyring.clone();
    GraphQLSubscription::new(endpoint.socket_schema.clone())
        .with_data(data)
        .on_connection_init(move |init| async move {
            let mut data = async_graphql::Data::default();
            let caller = match init.get("apiKey").and_then(|k| k.as_str()) {
                None => Caller::Anonymous,
                Some(key) => match keyring.identify(key) {
                    Caller::Invalid => {
                        return Err(Code::Unauthenticated.error("the API key is not valid"))
                    }
                    caller => caller,
                },
            };
            data.insert(caller);
            Ok(data)
        })
        .start(&request, payload)
}

async fn graphiql(enabled: web::Data<GraphiQl>, request: HttpRequest) -> HttpResponse {
    if !enabled.0 {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("GraphiQL is switched off on this server; POST GraphQL requests to this URL.");
    }
    let endpoint = request.uri().path().to_string();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint(&endpoint)
                .title("timbre")
                .finish(),
        )
}

async fn metrics(endpoint: web::Data<Endpoint>) -> HttpResponse {
    if !endpoint.metrics_enabled {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("metrics are switched off on this server ([http] metrics = false)");
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(endpoint.metrics.render())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// Readiness: 200 whenever queries can be answered, with `status`
/// `ready`, or `degraded` while the store or the Kafka broker is
/// unreachable. Degraded is still 200, not 503: queries are answered from
/// memory, and a load balancer should keep sending them (availability over
/// consistency).
async fn readyz(
    service: web::Data<Arc<TrackService>>,
    ingest: web::Data<Arc<IngestStatus>>,
    lake: web::Data<Arc<SinkStatus>>,
) -> HttpResponse {
    let health = service.check_store(Duration::from_secs(2)).await;
    let tracks = service.len();
    let kind = service.store_name();
    let store = match health.down_since {
        None => json!({ "kind": kind, "status": "up" }),
        Some(since) => json!({
            "kind": kind,
            "status": "down",
            "since": humantime::format_rfc3339_seconds(since).to_string(),
            "error": health.error,
            "serving": "queries from memory; writes answer UNAVAILABLE until the store returns",
        }),
    };
    let kafka = ingest.snapshot();
    let kafka_down = kafka.enabled && !kafka.broker_up;
    let kafka = if !kafka.enabled {
        json!({ "status": "disabled" })
    } else {
        json!({
            "status": if kafka_down { "down" } else { "up" },
            "topic": kafka.topic,
            "since": kafka.broker_down_since.map(|s| humantime::format_rfc3339_seconds(s).to_string()),
            "error": kafka.broker_error,
            "lag": kafka.total_lag(),
        })
    };
    let lake = lake.snapshot();
    let lake_down = lake.enabled && lake.down_since.is_some();
    let lake = if !lake.enabled {
        json!({ "status": "disabled" })
    } else {
        json!({
            "status": if lake_down { "down" } else { "up" },
            "location": lake.location,
            "since": lake.down_since.map(|s| humantime::format_rfc3339_seconds(s).to_string()),
            "error": lake.last_error,
            "pending_rows": lake.pending,
        })
    };
    let degraded = health.down_since.is_some() || kafka_down || lake_down;
    HttpResponse::Ok().json(json!({
        "status": if degraded { "degraded" } else { "ready" },
        "store": store,
        "kafka": kafka,
        "lake": lake,
        "tracks": tracks,
    }))
}
