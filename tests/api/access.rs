//! Who may do what, and how much: API keys on mutations, per-client rate
//! limits, body, alias and introspection limits, CORS.

use serde_json::{json, Value};
use timbre::config::{ApiKey, AuthSettings, Role};
use timbre::config::{Config, Secret};
use timbre::config::{HttpSettings, RateLimit};

use crate::helpers::{data_dir, spawn_app, synthetic_csv, TestApp};

const WRITER: &str = "writer-key-0123456789";
const ADMIN: &str = "admin-key-0123456789";

fn keys() -> AuthSettings {
    AuthSettings {
        keys: vec![
            ApiKey {
                name: "writer".into(),
                key: Secret(WRITER.into()),
                role: Role::Write,
            },
            ApiKey {
                name: "admin".into(),
                key: Secret(ADMIN.into()),
                role: Role::Admin,
            },
        ],
    }
}

async fn app(config: Config) -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 30);
    let config = Config {
        data_dir: dir.path().join("data"),
        ..config
    };
    let app = spawn_app(config, &[&csv]).await;
    (app, dir)
}

/// POSTs with an optional bearer key; returns status and body.
async fn post(app: &TestApp, key: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

const UPSERT: &str =
    "mutation($t: [TrackInput!]!) { upsertTracks(tracks: $t) { inserted replaced totalCount } }";

fn track(id: &str, energy: f64) -> Value {
    json!({
        "id": id, "name": "Keyed", "artists": ["Locksmiths"], "genres": ["rock"],
        "album": { "name": "Keys", "releaseDate": "2020-01-02" },
        "features": {
            "danceability": 0.4, "energy": energy, "loudness": -6.0, "mode": 1.0,
            "speechiness": 0.04, "acousticness": 0.1, "instrumentalness": 0.0,
            "liveness": 0.1, "valence": 0.3, "tempo": 128.0, "durationMs": 210000.0
        }
    })
}

#[tokio::test]
async fn mutations_need_a_key_with_the_right_role() {
    let (app, _dir) = app(Config {
        auth: keys(),
        ..Config::default()
    })
    .await;
    let t = json!({ "t": [track("0000000000000000000key", 0.9)] });
    let (status, body) = post(&app, None, UPSERT, t.clone()).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    let (status, body) = post(&app, Some("not-a-key-at-all-xxxx"), UPSERT, t.clone()).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    // A wrong key is refused even for reads: it is a client's mistake.
    let (status, _) = post(
        &app,
        Some("not-a-key-at-all-xxxx"),
        "{ genres { name } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 401);

    let (status, body) = post(&app, Some(WRITER), UPSERT, t.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["upsertTracks"]["inserted"], 1, "{body}");
    assert_eq!(body["data"]["upsertTracks"]["totalCount"], 31);
    let (_, body) = post(
        &app,
        None,
        r#"{ track(id: "0000000000000000000key") { name album { releaseYear } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["track"]["album"]["releaseYear"], 2020,
        "{body}"
    );

    let snapshot = "mutation { saveSnapshot { tracks } }";
    let (status, body) = post(&app, Some(WRITER), snapshot, json!({})).await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
    let (status, body) = post(&app, Some(ADMIN), snapshot, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["saveSnapshot"]["tracks"], 31);

    let delete =
        r#"mutation { deleteTracks(ids: ["0000000000000000000key"]) { deleted totalCount } }"#;
    let (_, body) = post(&app, Some(ADMIN), delete, json!({})).await;
    assert_eq!(
        body["data"]["deleteTracks"],
        json!({ "deleted": 1, "totalCount": 30 })
    );
}

#[tokio::test]
async fn an_invalid_track_is_named_and_nothing_is_written() {
    let (app, _dir) = app(Config {
        auth: keys(),
        ..Config::default()
    })
    .await;
    let t = json!({ "t": [track("0000000000000000000ok1", 0.5), track("0000000000000000000bad", 7.5)] });
    let (status, body) = post(&app, Some(WRITER), UPSERT, t).await;
    assert_eq!(status, 200);
    assert_eq!(code(&body), "INVALID_ARGUMENT");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("tracks[1]") && message.contains("energy"),
        "{message}"
    );
    let (_, body) = post(&app, None, "{ tracks(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["tracks"]["totalCount"], 30, "{body}");
}

#[tokio::test]
async fn each_client_is_rate_limited_with_429_and_retry_after() {
    let (app, _dir) = app(Config {
        auth: keys(),
        http: HttpSettings {
            rate_limit: RateLimit {
                per_second: 1,
                burst: 3,
            },
            ..HttpSettings::default()
        },
        ..Config::default()
    })
    .await;
    let query = "{ genres { name } }";
    // The burst passes, then a 429; a slow machine may see a token or two
    // refilled meanwhile (one per second), never more.
    let started = std::time::Instant::now();
    let mut served = 0;
    let response = loop {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        if response.status().as_u16() != 200 {
            break response;
        }
        served += 1;
    };
    let refilled = started.elapsed().as_secs() + 1;
    assert!(
        (3..=3 + refilled).contains(&served),
        "{served} served in {:?}",
        started.elapsed()
    );
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED");
    // A client with a key has its own bucket; probes are never limited.
    assert_eq!(post(&app, Some(WRITER), query, json!({})).await.0, 200);
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn bodies_aliases_and_introspection_are_limited() {
    let mut config = Config::default();
    config.limits.max_body_bytes = 2_048;
    config.limits.max_aliases = 2;
    config.http.introspection = false;
    let (app, _dir) = app(config).await;

    let padding = " ".repeat(4_096);
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": format!("{{ genres {{ name }} }}{padding}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");

    let (_, body) = post(
        &app,
        None,
        "{ a: genres { name } b: genres { name } }",
        json!({}),
    )
    .await;
    assert!(
        body["data"]["a"].is_array(),
        "two aliases are allowed: {body}"
    );
    let (_, body) = post(
        &app,
        None,
        "{ a: genres { name } b: genres { name } c: genres { n: name } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body.get("data").is_none(), "{body}");

    let (_, body) = post(&app, None, "{ __schema { types { name } } }", json!({})).await;
    assert_eq!(
        code(&body),
        "GRAPHQL_VALIDATION_FAILED",
        "introspection is off: {body}"
    );
    assert!(body.get("data").is_none(), "{body}");
    let (_, body) = post(&app, None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "QueryRoot", "{body}");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let mut config = Config::default();
    config.http.cors_origins = vec!["https://app.example.com".into()];
    let (app, _dir) = app(config).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let other = preflight("https://evil.example.org").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
