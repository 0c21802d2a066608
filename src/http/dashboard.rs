//! Serves the dashboard's files (`crate::dashboard`) at `/dashboard/`:
//! compressed, revalidated by one entity tag, and under a
//! Content-Security-Policy that lets the page load and connect only to this
//! server, which is what "works offline, nothing from a CDN" means to a
//! browser.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::dashboard;

/// Only this origin: scripts, styles, fetches and the subscription socket
/// (`ws:`/`wss:` to the same host, which `'self'` does not cover in every
/// browser). Chart.js sizes its canvases through the CSSOM, which
/// `style-src` does not restrict.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// Registers `/dashboard` (redirected to `/dashboard/`, so that the page's
/// relative links resolve) and every file below it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(redirect)).service(
        web::scope("/dashboard")
            .wrap(Compress::default())
            .route("/", web::get().to(file))
            .route("/{path:.+}", web::get().to(file)),
    );
}

async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/dashboard/"))
        .finish()
}

async fn file(request: HttpRequest) -> HttpResponse {
    let path = request.match_info().get("path").unwrap_or("");
    let Some(asset) = dashboard::asset(path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "no dashboard file {:?}",
                crate::domain::bounds::echo(path)
            ));
    };
    let etag = dashboard::etag();
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if fresh {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.body)
}
