//! GraphQL over HTTP and WebSocket, checked by real clients: the
//! `graphql-http` audit suite and the `graphql-ws` client (Node.js, from
//! tests/js, installed by scripts/services.sh), plus the status codes, media
//! types and persisted queries a client relies on.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use timbre::config::{ApiKey, AuthSettings, Role};
use timbre::config::{Config, Secret};

use crate::helpers::{data_dir, spawn_app, spawn_app_in, synthetic_csv, TestApp};
use crate::server_process::{in_ci, installed};

const WRITE_KEY: &str = "test-write-key-0123456789";

/// Runs `node tests/js/SCRIPT ARGS` off the runtime's thread and returns its
/// JSON output; `None` (outside CI) when Node.js or the clients are missing.
async fn node(script: &str, args: Vec<String>) -> Option<Value> {
    let node = installed("TIMBRE_NODE", "Node.js")?;
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if !js.join("node_modules").exists() {
        assert!(
            !in_ci(),
            "CI=true but tests/js/node_modules is missing: run scripts/test.sh"
        );
        eprintln!("the JavaScript clients are not installed (run scripts/test.sh); passing over this test");
        return None;
    }
    let script = js.join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(node)
            .arg(script)
            .args(args)
            .current_dir(js)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 60);
    let app = spawn_app_in(&dir.path().join("data"), &[&csv]).await;
    (app, dir)
}

/// The SHOULD audits that timbre fails on purpose, each with its reason in
/// the README's "GraphQL over HTTP" section.
fn readme() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[tokio::test]
async fn the_graphql_http_audit_passes_every_must() {
    let (app, _dir) = app().await;
    let Some(results) = node("audit.mjs", vec![format!("{}/graphql", app.address)]).await else {
        return;
    };
    let results = results.as_array().expect("an array of audit results");
    assert!(results.len() > 30, "the audit ran: {results:?}");
    let failed_musts: Vec<&Value> = results.iter().filter(|r| r["status"] == "error").collect();
    assert!(failed_musts.is_empty(), "MUSTs failed: {failed_musts:#?}");
    let readme = readme();
    for warn in results.iter().filter(|r| r["status"] == "warn") {
        let id = warn["id"].as_str().unwrap();
        assert!(
            readme.contains(&format!("`{id}`")),
            "the SHOULD {id} ({}) fails and the README does not list it: {}",
            warn["name"],
            warn["reason"]
        );
    }
    let counts = |status: &str| results.iter().filter(|r| r["status"] == status).count();
    eprintln!(
        "graphql-http audit: {} ok, {} warn, {} notice, {} error",
        counts("ok"),
        counts("warn"),
        counts("notice"),
        counts("error")
    );
}

#[tokio::test]
async fn subscriptions_deliver_indexed_tracks_and_ingest_stats() {
    let dir = data_dir();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        auth: AuthSettings {
            keys: vec![ApiKey {
                name: "test".into(),
                key: Secret(WRITE_KEY.into()),
                role: Role::Write,
            }],
        },
        ..Config::default()
    };
    let app = spawn_app(config, &[]).await;
    let args = vec![
        "indexed".to_string(),
        format!("{}/graphql", app.address),
        WRITE_KEY.to_string(),
    ];
    let Some(out) = node("subscribe.mjs", args).await else {
        return;
    };
    assert_eq!(out["mutation"]["status"], 200, "{out}");
    assert_eq!(
        out["indexed"]["data"]["trackIndexed"],
        json!({ "id": "0000000000000000000sub", "name": "Subscribed" }),
        "{out}"
    );
    let stats = out["stats"].as_array().unwrap();
    assert_eq!(stats.len(), 2, "{out}");
    assert!(stats
        .iter()
        .all(|s| s["data"]["ingestStats"]["enabled"] == false));
}

/// A subscription to every job (`jobUpdated` without an id) goes on after
/// a job finishes: a dashboard listening to it sees the next job too.
#[tokio::test]
async fn a_subscription_to_every_job_outlives_a_finished_job() {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 60);
    let config = Config {
        auth: crate::helpers::writer_auth(),
        ..crate::helpers::test_config(&dir.path().join("data"))
    };
    let app = spawn_app(config, &[&csv]).await;
    let args = vec![
        "jobs".to_string(),
        format!("{}/graphql", app.address),
        crate::helpers::WRITER_KEY.to_string(),
    ];
    let Some(out) = node("subscribe.mjs", args).await else {
        return;
    };
    let events = out["events"].as_array().unwrap();
    for job in [&out["first"], &out["second"]] {
        let states: Vec<&str> = events
            .iter()
            .filter(|e| e["id"] == *job)
            .map(|e| e["state"].as_str().unwrap())
            .collect();
        assert_eq!(states.first(), Some(&"QUEUED"), "{out}");
        assert_eq!(states.last(), Some(&"SUCCEEDED"), "{out}");
    }
    app.stop().await;
}

async fn post(app: &TestApp, accept: &str, body: Value) -> (u16, Option<String>, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, content_type, response.json().await.unwrap())
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn status_codes_follow_the_media_type() {
    let (app, _dir) = app().await;
    let bad = json!({ "query": "{ tracks(first: 1) { nodes { id } " });
    let (status, ct, body) = post(&app, GRAPHQL_RESPONSE, bad.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert!(ct.unwrap().starts_with(GRAPHQL_RESPONSE));
    assert!(
        body.get("data").is_none(),
        "no data when nothing ran: {body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    let (status, ct, body) = post(&app, "application/json", bad).await;
    assert_eq!(status, 200, "{body}");
    assert!(ct.unwrap().starts_with("application/json"));
    let invalid = json!({ "query": "{ noSuchField }" });
    assert_eq!(post(&app, GRAPHQL_RESPONSE, invalid).await.0, 400);
    let ok = json!({ "query": "{ genres { name } }" });
    let (status, _, body) = post(&app, GRAPHQL_RESPONSE, ok).await;
    assert_eq!(status, 200);
    assert!(body["data"]["genres"].is_array(), "{body}");

    let refused = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "text/xml")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 406);
    let plain = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 415);
    let body: Value = plain.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "UNSUPPORTED_MEDIA_TYPE"
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405() {
    let (app, _dir) = app().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { saveSnapshot { tracks } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METHOD_NOT_ALLOWED"
    );
}

#[tokio::test]
async fn automatic_persisted_queries_run_by_hash_once_registered() {
    let (app, _dir) = app().await;
    let query = "query Genres { genres { name } }";
    let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let (_, _, body) = post(&app, "application/json", json!({ "extensions": persisted })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{body}"
    );
    let (_, _, body) = post(
        &app,
        "application/json",
        json!({ "query": query, "extensions": persisted }),
    )
    .await;
    let genres = body["data"]["genres"].clone();
    assert!(genres.as_array().is_some_and(|g| g.len() == 3), "{body}");
    let (_, _, body) = post(&app, "application/json", json!({ "extensions": persisted })).await;
    assert_eq!(body["data"]["genres"], genres, "{body}");
    // And by GET, as Apollo clients send them for CDN caching.
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("extensions", persisted.to_string())])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["genres"], genres, "{body}");
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "00" } });
    let (_, _, body) = post(
        &app,
        "application/json",
        json!({ "query": query, "extensions": wrong }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
}
