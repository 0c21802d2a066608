//! The ceiling for `bench/server.sh`: a bare actix-web route that answers
//! every POST to `/graphql` with a fixed JSON body of a given size (that of a
//! `similar(first: 10)` answer), so the load generator measures what HTTP on
//! this machine costs without any GraphQL or search.
//!
//! Usage: `cargo run --release --example bare -- ADDR BYTES WORKERS`

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let bytes: usize = args.next().and_then(|b| b.parse().ok()).unwrap_or(2_000);
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let skeleton = r#"{"data":{"similar":""}}"#;
    let padding = "x".repeat(bytes.saturating_sub(skeleton.len()));
    let body = web::Bytes::from(format!(r#"{{"data":{{"similar":"{padding}"}}}}"#));
    eprintln!(
        "bare route on http://{addr}/graphql answering {} bytes",
        body.len()
    );
    HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/graphql",
            web::post().to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .workers(workers)
    .bind(addr)?
    .run()
    .await
}
