//! What operators see: `/metrics` read by a Prometheus text-format parser,
//! and request ids.

use serde_json::json;

use crate::helpers::{data_dir, spawn_app_in, synthetic_csv, TestApp};

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 40);
    let app = spawn_app_in(&dir.path().join("data"), &[&csv]).await;
    (app, dir)
}

/// The value of the sample `name` whose labels include every `labels` pair.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(k).is_some_and(|have| have == *v))
        })
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test]
async fn metrics_parse_and_count_requests_operations_and_errors() {
    let (app, _dir) = app().await;
    for _ in 0..3 {
        app.query("query Named { genres { name } }", json!({}))
            .await;
    }
    app.query(
        "{ track(id: \"0000000000000000000000\") { id } }",
        json!({}),
    )
    .await;
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");

    assert_eq!(
        sample(
            &scrape,
            "timbre_graphql_operation_duration_seconds_count",
            &[("operation", "Named")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &scrape,
            "timbre_graphql_errors_total",
            &[("code", "TRACK_NOT_FOUND")]
        ),
        Some(1.0),
        "{text}"
    );
    let graphql_requests = sample(
        &scrape,
        "timbre_http_request_duration_seconds_count",
        &[("route", "/graphql"), ("method", "POST"), ("status", "200")],
    );
    assert!(graphql_requests.is_some_and(|n| n >= 4.0), "{text}");
    assert_eq!(
        sample(&scrape, "timbre_index_tracks", &[]),
        Some(40.0),
        "{text}"
    );
    assert_eq!(sample(&scrape, "timbre_index_tombstones", &[]), Some(0.0));
    assert_eq!(
        sample(&scrape, "timbre_index_compactions_total", &[]),
        Some(0.0)
    );
    assert!(
        sample(&scrape, "timbre_index_catch_ups_total", &[]).is_some(),
        "{text}"
    );
    assert!(
        sample(&scrape, "timbre_index_pending", &[]).is_some(),
        "{text}"
    );
    assert_eq!(sample(&scrape, "timbre_store_up", &[]), Some(1.0));
    assert_eq!(sample(&scrape, "timbre_kafka_enabled", &[]), Some(0.0));
}

#[tokio::test]
async fn responses_echo_the_request_id_or_make_one() {
    let (app, _dir) = app().await;
    let url = format!("{}/healthz", app.address);
    let given = app
        .client
        .get(&url)
        .header("x-request-id", "trace-42:abc")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-42:abc");
    let made = app.client.get(&url).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let forged = app
        .client
        .get(&url)
        .header("x-request-id", "bad id\tinjected")
        .send()
        .await
        .unwrap();
    assert_ne!(forged.headers()["x-request-id"], "bad id\tinjected");
}
