//! Analytics jobs over plain HTTP/JSON, for schedulers and scripts that do
//! not speak GraphQL: `POST /api/v1/jobs` (202 with the job and its
//! `Location`), `GET /api/v1/jobs` (newest first; `?kind=&state=&first=&before=`),
//! `GET /api/v1/jobs/{id}` and `DELETE /api/v1/jobs/{id}` (cancels). The
//! same keys, rate limit and error codes as GraphQL; errors come in the
//! GraphQL error shape, `{"errors": [{"message", "extensions": {"code"}}]}`.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::graphql_http::{MediaType, Refusal};
use super::routes::{admit, refuse, Endpoint};
use crate::api::error::{code_of, Code};
use crate::auth::Caller;
use crate::config::Role;
use crate::domain::{EngineKind, JobFilter, JobKind, JobParams, JobState};
use crate::error::Error;
use crate::service::jobs::Jobs;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/jobs")
            .route(web::post().to(start))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/api/v1/jobs/{id}")
            .route(web::get().to(get))
            .route(web::delete().to(cancel)),
    );
}

/// The body of `POST /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    kind: JobKind,
    #[serde(default)]
    params: JobParams,
    engine: Option<EngineKind>,
}

/// The query of `GET /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    kind: Option<JobKind>,
    state: Option<JobState>,
    before: Option<String>,
    first: Option<usize>,
}

/// The HTTP status of an error code.
fn status(code: Code) -> StatusCode {
    match code {
        Code::JobNotFound => StatusCode::NOT_FOUND,
        Code::InvalidArgument | Code::BadRequest => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::TooManyJobs => StatusCode::TOO_MANY_REQUESTS,
        Code::NotConfigured => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn failed(err: Error) -> HttpResponse {
    let code = code_of(&err);
    let message = if code == Code::Internal {
        tracing::error!(error = %err, "internal error answering a jobs request");
        "internal error; the server log has the details".to_string()
    } else {
        err.to_string()
    };
    refuse(&Refusal::new(status(code), code, message), MediaType::Json)
}

fn bad_request(message: String) -> HttpResponse {
    refuse(
        &Refusal::new(StatusCode::BAD_REQUEST, Code::BadRequest, message),
        MediaType::Json,
    )
}

/// The caller, admitted like a GraphQL request (key, rate limit).
fn admitted(request: &HttpRequest, endpoint: &Endpoint) -> Result<Caller, Box<HttpResponse>> {
    admit(request, endpoint).map(|(_, caller)| caller)
}

/// The caller, when its key allows `write`.
fn writer(request: &HttpRequest, endpoint: &Endpoint) -> Result<Caller, Box<HttpResponse>> {
    let caller = admitted(request, endpoint)?;
    caller
        .require(Role::Write)
        .map_err(|e| Box::new(failed(e)))?;
    Ok(caller)
}

async fn start(
    request: HttpRequest,
    endpoint: web::Data<Endpoint>,
    jobs: web::Data<Arc<Jobs>>,
    body: web::Bytes,
) -> HttpResponse {
    let caller = match writer(&request, &endpoint) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let started: StartRequest = match serde_json::from_slice(&body) {
        Ok(started) => started,
        Err(e) => {
            let e = crate::domain::bounds::clip(&e.to_string());
            return bad_request(format!("the body is not a job request: {e}"));
        }
    };
    if started.kind.needs_admin() {
        if let Err(e) = caller.require(Role::Admin) {
            return failed(e);
        }
    }
    let by = caller.key_name().unwrap_or("anonymous");
    match jobs
        .start(started.kind, started.params, started.engine, by)
        .await
    {
        Ok(job) => HttpResponse::Accepted()
            .insert_header((header::LOCATION, format!("/api/v1/jobs/{}", job.id)))
            .json(job),
        Err(e) => failed(e),
    }
}

async fn list(
    request: HttpRequest,
    endpoint: web::Data<Endpoint>,
    jobs: web::Data<Arc<Jobs>>,
) -> HttpResponse {
    if let Err(response) = admitted(&request, &endpoint) {
        return *response;
    }
    let query: ListQuery = match serde_urlencoded::from_str(request.query_string()) {
        Ok(query) => query,
        Err(e) => return bad_request(format!("bad query string: {e}")),
    };
    let filter = JobFilter {
        kind: query.kind,
        state: query.state,
        before: query.before,
    };
    match jobs.list(&filter, query.first.unwrap_or(20)).await {
        Ok(found) => HttpResponse::Ok().json(serde_json::json!({ "jobs": found })),
        Err(e) => failed(e),
    }
}

async fn get(
    request: HttpRequest,
    endpoint: web::Data<Endpoint>,
    jobs: web::Data<Arc<Jobs>>,
    id: web::Path<String>,
) -> HttpResponse {
    if let Err(response) = admitted(&request, &endpoint) {
        return *response;
    }
    match jobs.get(&id).await {
        Ok(job) => HttpResponse::Ok().json(job),
        Err(e) => failed(e),
    }
}

async fn cancel(
    request: HttpRequest,
    endpoint: web::Data<Endpoint>,
    jobs: web::Data<Arc<Jobs>>,
    id: web::Path<String>,
) -> HttpResponse {
    let caller = match writer(&request, &endpoint) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    match jobs
        .cancel(&id, caller.key_name().unwrap_or("anonymous"))
        .await
    {
        Ok(job) => HttpResponse::Ok().json(job),
        Err(e) => failed(e),
    }
}
