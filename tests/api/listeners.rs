//! Listeners over GraphQL: `recordInteraction` and `recommendForUser`, on
//! the embedded store.

use serde_json::{json, Value};
use timbre::config::{ApiKey, AuthSettings, Role};
use timbre::config::{Config, Secret};

use crate::helpers::{data_dir, spawn_app, synthetic_csv, track_id, TestApp};

const WRITER: &str = "listener-key-0123456789";

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 60);
    let config = Config {
        data_dir: dir.path().join("data"),
        auth: AuthSettings {
            keys: vec![ApiKey {
                name: "app".into(),
                key: Secret(WRITER.into()),
                role: Role::Write,
            }],
        },
        ..Config::default()
    };
    let app = spawn_app(config, &[&csv]).await;
    (app, dir)
}

async fn post(app: &TestApp, key: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap().json().await.unwrap()
}

const RECORD: &str = "mutation($u: ID!, $t: ID!, $k: InteractionKind!, $at: String) {
    recordInteraction(userId: $u, trackId: $t, kind: $k, at: $at) { userId trackId kind at } }";

const FOR_USER: &str = "query($u: ID!, $first: Int!, $played: Boolean!) {
    recommendForUser(userId: $u, first: $first, includePlayed: $played) {
        track { id } source score coOccurrence content } }";

async fn record(app: &TestApp, user: &str, track: &str, kind: &str) -> Value {
    post(
        app,
        Some(WRITER),
        RECORD,
        json!({ "u": user, "t": track, "k": kind }),
    )
    .await
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]["recommendForUser"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {body}"))
        .iter()
        .map(|r| r["track"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

#[tokio::test]
async fn a_new_listener_gets_popular_tracks_then_their_taste() {
    let (app, _dir) = app().await;
    let vars = |first: i32, played: bool| json!({ "u": "ada", "first": first, "played": played });

    let cold = post(&app, None, FOR_USER, vars(5, false)).await;
    let results = cold["data"]["recommendForUser"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{cold}");
    assert!(
        results.iter().all(|r| r["source"] == "POPULARITY"),
        "{cold}"
    );

    let liked = track_id(3);
    let disliked = track_id(6);
    let played = track_id(9);
    let body = record(&app, "ada", &liked, "LIKE").await;
    assert_eq!(body["data"]["recordInteraction"]["kind"], "LIKE", "{body}");
    record(&app, "ada", &disliked, "DISLIKE").await;
    record(&app, "ada", &played, "PLAY").await;

    let warm = post(&app, None, FOR_USER, vars(20, false)).await;
    let found = ids(&warm);
    assert_eq!(found.len(), 20, "{warm}");
    for gone in [&liked, &disliked, &played] {
        assert!(!found.contains(gone), "{gone} returned: {warm}");
    }
    let sources: Vec<&str> = warm["data"]["recommendForUser"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert!(
        sources
            .iter()
            .all(|s| *s == "CO_OCCURRENCE" || *s == "CONTENT"),
        "{warm}"
    );
    assert!(sources.contains(&"CO_OCCURRENCE"), "{warm}");

    // Played tracks may come back when asked for; disliked ones never.
    let again = ids(&post(&app, None, FOR_USER, vars(60, true)).await);
    assert!(again.contains(&played) && !again.contains(&disliked));

    // Another listener is unaffected.
    let bob = post(
        &app,
        None,
        FOR_USER,
        json!({ "u": "bob", "first": 3, "played": false }),
    )
    .await;
    assert!(bob["data"]["recommendForUser"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["source"] == "POPULARITY"));
}

#[tokio::test]
async fn a_later_like_undoes_a_dislike_and_events_are_idempotent() {
    let (app, _dir) = app().await;
    let t = track_id(12);
    let at = |s: &str| json!({ "u": "cy", "t": t, "k": s.split(' ').next().unwrap(), "at": s.split(' ').nth(1).unwrap() });
    for (kind, time) in [
        ("DISLIKE", "2026-01-01T00:00:00Z"),
        ("LIKE", "2026-01-02T00:00:00Z"),
    ] {
        let body = post(&app, Some(WRITER), RECORD, at(&format!("{kind} {time}"))).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    // The dislike again, with its old time: a replay changes nothing.
    post(
        &app,
        Some(WRITER),
        RECORD,
        at("DISLIKE 2026-01-01T00:00:00Z"),
    )
    .await;
    let vars = json!({ "u": "cy", "first": 60, "played": true });
    let found = ids(&post(&app, None, FOR_USER, vars).await);
    assert!(
        found.contains(&t),
        "the liked track may come back when played tracks are asked for"
    );
}

#[tokio::test]
async fn bad_interactions_get_clear_errors() {
    let (app, _dir) = app().await;
    let t = track_id(1);
    let anonymous = post(
        &app,
        None,
        RECORD,
        json!({ "u": "ada", "t": t, "k": "PLAY" }),
    )
    .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    for (vars, expected) in [
        (
            json!({ "u": "two words", "t": t, "k": "PLAY" }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "u": "ada", "t": "short", "k": "PLAY" }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "u": "ada", "t": "zzzzzzzzzzzzzzzzzzzzzz", "k": "PLAY" }),
            "TRACK_NOT_FOUND",
        ),
        (
            json!({ "u": "ada", "t": t, "k": "PLAY", "at": "yesterday" }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "u": "ada", "t": t, "k": "LOVE" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let body = post(&app, Some(WRITER), RECORD, vars.clone()).await;
        assert_eq!(code(&body), expected, "{vars}: {body}");
    }
    let zero = post(
        &app,
        None,
        FOR_USER,
        json!({ "u": "ada", "first": 0, "played": false }),
    )
    .await;
    assert_eq!(code(&zero), "INVALID_ARGUMENT");
}
