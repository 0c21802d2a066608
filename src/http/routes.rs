//! Routes: `/graphql` (POST, and GET for queries; GraphiQL for browsers),
//! `/healthz` (the process is up) and `/readyz` (it can serve; the store and
//! the Kafka broker answer, or the server says it is degraded).

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{guard, web, Either, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use serde_json::json;

use crate::api::error::Code;
use crate::api::{self, TimbreSchema};
use crate::kafka::IngestStatus;
use crate::service::TrackService;

/// Whether GraphiQL is served to browsers.
#[derive(Clone, Copy)]
pub struct GraphiQl(pub bool);

/// Registers every route on an actix `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql))
            .route(web::get().guard(guard::fn_guard(wants_html)).to(graphiql))
            .route(web::get().to(graphql)),
    )
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz));
}

fn wants_html(ctx: &guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

async fn graphql(
    schema: web::Data<TimbreSchema>,
    service: web::Data<Arc<TrackService>>,
    request: Result<GraphQLRequest, actix_web::Error>,
) -> Either<GraphQLResponse, HttpResponse> {
    let request = match request {
        Ok(request) => request.into_inner(),
        Err(e) => {
            return Either::Right(HttpResponse::BadRequest().json(json!({
                "errors": [{ "message": e.to_string(), "extensions": { "code": Code::BadRequest.as_str() } }]
            })))
        }
    };
    let request = request.data(api::loader(Arc::clone(service.get_ref())));
    Either::Left(schema.execute(request).await.into())
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

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: 200 whenever queries can be answered, with `status`
/// `ready`, or `degraded` while the store or the Kafka broker is
/// unreachable. Degraded is still 200, not 503: queries are answered from
/// memory, and a load balancer should keep sending them (availability over
/// consistency).
async fn readyz(
    service: web::Data<Arc<TrackService>>,
    ingest: web::Data<Arc<IngestStatus>>,
) -> HttpResponse {
    let health = service.check_store(Duration::from_secs(2)).await;
    let tracks = service.read_now(|c| c.len());
    let kind = service.store().name();
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
    let degraded = health.down_since.is_some() || kafka_down;
    HttpResponse::Ok().json(json!({
        "status": if degraded { "degraded" } else { "ready" },
        "store": store,
        "kafka": kafka,
        "tracks": tracks,
    }))
}
