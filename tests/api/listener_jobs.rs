//! The listener jobs: listener behaviour from the lake's interaction log,
//! and the co-occurrence model, which the server uses once trained and
//! loads again after a restart. On Spark they give what the embedded
//! engine gives (called from the Spark test in `jobs.rs`, which has the
//! shared dataset in a lake and a Spark session ready).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use timbre::config::{Config, LakeSettings};
use timbre::domain::Neighbours;

use crate::helpers::{
    admin_auth, data_dir, shared_dataset, spawn_app, test_config, TestApp, WRITER_KEY,
};
use crate::jobs::{assert_close, run};

const KINDS: [&str; 6] = ["PLAY", "PLAY", "LIKE", "SKIP", "DISLIKE", "PLAY"];

/// Records 240 interactions of 20 listeners with 60 tracks over three days
/// of March 2026 and waits until the lake has them; returns how many were
/// plays.
pub(crate) async fn record_interactions(app: &TestApp) -> u64 {
    let listed = app
        .query("{ tracks(first: 60) { edges { node { id } } } }", json!({}))
        .await;
    let ids: Vec<String> = listed["data"]["tracks"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|t| t["node"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 60);
    let before = app
        .sink
        .snapshot()
        .rows
        .get("interactions")
        .copied()
        .unwrap_or(0);
    // Twenty to a request, as aliases, within the rate limit.
    let mut plays = 0;
    for batch in 0..12usize {
        let mut document = String::from("mutation {");
        for i in batch * 20..(batch + 1) * 20 {
            let kind = KINDS[i % KINDS.len()];
            plays += u64::from(kind == "PLAY");
            // 18 minutes apart: 2026-03-01 to 2026-03-03.
            let at = format!(
                "2026-03-0{}T{:02}:{:02}:00Z",
                1 + i / 80,
                (i % 80) * 18 / 60,
                (i % 80) * 18 % 60
            );
            document.push_str(&format!(
                " e{i}: recordInteraction(userId: \"listener-{}\", trackId: \"{}\", kind: {kind}, at: \"{at}\") {{ kind }}",
                i % 20,
                ids[(i * 7 + i / 20) % 60],
            ));
        }
        document.push('}');
        let body = app.mutate(&document, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while app
        .sink
        .snapshot()
        .rows
        .get("interactions")
        .copied()
        .unwrap_or(0)
        < before + 240
    {
        assert!(
            Instant::now() < deadline,
            "the interactions never reached the lake: {:?}",
            app.sink.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    plays
}

/// The neighbour table a succeeded model job left in the lake at `lake`.
fn model_of(lake: &Path, job: &Value) -> Neighbours {
    let id = job["id"].as_str().unwrap();
    let path = lake.join("models/co_occurrence").join(format!("{id}.nbt"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Neighbours::decode(&bytes).unwrap()
}

/// Listener behaviour and the co-occurrence model on both engines, after
/// recording interactions: the same results, the same tables.
pub async fn engines_agree_on_listener_jobs(app: &TestApp, lake: &Path) {
    let plays = record_interactions(app).await;
    for params in [
        json!({}),
        json!({ "level": "SUBGENRE", "since": "2026-03-02", "until": "2026-03-02", "top": 3 }),
        json!({ "genres": ["rock", "pop"], "since": "2026-03-03" }),
    ] {
        let embedded = run(app, "LISTENER_BEHAVIOUR", params.clone(), "EMBEDDED").await;
        let on_spark = run(app, "LISTENER_BEHAVIOUR", params.clone(), "SPARK").await;
        assert_eq!(embedded["state"], "SUCCEEDED", "{embedded}");
        assert_eq!(on_spark["state"], "SUCCEEDED", "{on_spark}");
        // Both said how far they came, and ended complete: the embedded
        // engine a unit per file of the log and one to count; Spark one
        // per view and statement, the last reading the rows it answers.
        let (ours, theirs) = (&embedded["progress"], &on_spark["progress"]);
        assert_eq!(
            (&ours["stage"], &ours["fraction"]),
            (&json!("counting"), &json!(1.0)),
            "{ours}"
        );
        assert!(ours["total"].as_u64().unwrap() >= 2, "{ours}");
        assert_eq!(
            theirs["stage"], "statement 4 of 4 on Spark, reading its rows",
            "{theirs}"
        );
        assert_eq!(theirs["done"], theirs["total"], "{theirs}");
        assert!(theirs["total"].as_u64().unwrap() >= 3, "{theirs}");
        eprintln!(
            "LISTENER_BEHAVIOUR {params}: embedded {} ms, spark {} ms",
            embedded["durationMs"], on_spark["durationMs"]
        );
        assert_close(
            &embedded["result"],
            &on_spark["result"],
            &format!("LISTENER_BEHAVIOUR {params}"),
        );
        if params == json!({}) {
            let days = embedded["result"]["days"].as_array().unwrap();
            let total: u64 = days
                .iter()
                .filter(|d| d["kind"] == "PLAY" && d["genre"].is_null())
                .map(|d| d["count"].as_u64().unwrap())
                .sum();
            assert_eq!(total, plays, "every play counted once");
            assert!(!embedded["result"]["skipRates"]
                .as_array()
                .unwrap()
                .is_empty());
        }
    }

    let embedded = run(
        app,
        "CO_OCCURRENCE_MODEL",
        json!({ "neighbours": 20 }),
        "EMBEDDED",
    )
    .await;
    let on_spark = run(
        app,
        "CO_OCCURRENCE_MODEL",
        json!({ "neighbours": 20 }),
        "SPARK",
    )
    .await;
    assert_eq!(embedded["state"], "SUCCEEDED", "{embedded}");
    assert_eq!(on_spark["state"], "SUCCEEDED", "{on_spark}");
    eprintln!(
        "CO_OCCURRENCE_MODEL: embedded {} ms, spark {} ms, {}",
        embedded["durationMs"], on_spark["durationMs"], embedded["result"]
    );
    assert_eq!(embedded["result"], on_spark["result"]);
    let (a, b) = (model_of(lake, &embedded), model_of(lake, &on_spark));
    assert!(a.track_count() > 20_000, "{}", a.track_count());
    assert_eq!(a, b, "the engines' neighbour tables differ");
}

/// `recommendForPlaylist` for five seeds: ids and co-occurrence terms.
pub(crate) async fn continuation(app: &TestApp, seeds: &Value) -> Vec<(String, String)> {
    let body = app
        .query(
            "query($ids: [ID!]) { recommendForPlaylist(trackIds: $ids, first: 20) {
               track { id } coOccurrence } }",
            json!({ "ids": seeds }),
        )
        .await;
    body["data"]["recommendForPlaylist"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|r| {
            (
                r["track"]["id"].as_str().unwrap().to_string(),
                format!("{:.5}", r["coOccurrence"].as_f64().unwrap()),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_trained_model_is_used_and_loaded_again_after_a_restart() {
    let Some(dataset) = shared_dataset() else {
        return;
    };
    let dir = data_dir();
    let data = dir.path().join("data");
    let config = Config {
        auth: admin_auth(),
        lake: LakeSettings {
            location: Some(dir.path().join("lake").to_string_lossy().into_owned()),
            ..LakeSettings::default()
        },
        ..test_config(&data)
    };
    let app = spawn_app(config.clone(), &[&dataset]).await;
    let listed = app
        .query("{ tracks(first: 5) { edges { node { id } } } }", json!({}))
        .await;
    let seeds: Value = listed["data"]["tracks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["node"]["id"].clone())
        .collect();
    let from_lists = continuation(&app, &seeds).await;

    // A write key may run analytics, not train the model everyone gets.
    let refused = app
        .mutate_as(
            WRITER_KEY,
            "mutation { startJob(kind: CO_OCCURRENCE_MODEL) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    // With every neighbour kept, the model recommends what the lists do.
    let full = run(
        &app,
        "CO_OCCURRENCE_MODEL",
        json!({ "neighbours": 1000 }),
        "EMBEDDED",
    )
    .await;
    assert_eq!(full["state"], "SUCCEEDED", "{full}");
    assert_eq!(continuation(&app, &seeds).await, from_lists);

    // With one neighbour per track, it recommends differently: it is used.
    let one = run(
        &app,
        "CO_OCCURRENCE_MODEL",
        json!({ "neighbours": 1 }),
        "EMBEDDED",
    )
    .await;
    assert_eq!(one["state"], "SUCCEEDED", "{one}");
    assert_eq!(one["result"]["neighbours"], 1);
    assert_eq!(one["result"]["pairs"], one["result"]["tracks"]);
    let from_one = continuation(&app, &seeds).await;
    assert_ne!(from_one, from_lists);
    let shown = app
        .query(
            "{ analytics { coOccurrenceModel { tracks pairs neighbours } job(kind: CO_OCCURRENCE_MODEL) { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        shown["data"]["analytics"]["job"]["id"], one["id"],
        "{shown}"
    );
    assert_eq!(
        shown["data"]["analytics"]["coOccurrenceModel"]["neighbours"],
        1
    );
    app.stop().await;

    // After a restart the latest model is loaded again (from the lake).
    let app = spawn_app(config, &[]).await;
    assert_eq!(continuation(&app, &seeds).await, from_one);
    app.stop().await;
}

#[tokio::test]
async fn listener_behaviour_needs_the_lake_and_checks_its_days() {
    let dir = data_dir();
    let config = Config {
        auth: admin_auth(),
        ..test_config(&dir.path().join("data"))
    };
    let app = spawn_app(config, &[]).await;
    let no_lake = run(&app, "LISTENER_BEHAVIOUR", json!({}), "EMBEDDED").await;
    assert_eq!(no_lake["state"], "FAILED", "{no_lake}");
    assert_eq!(no_lake["error"]["code"], "ENGINE_UNAVAILABLE");
    for (params, says) in [
        (json!({ "since": "March 1st" }), "not a day"),
        (
            json!({ "since": "2026-03-02", "until": "2026-03-01" }),
            "after until",
        ),
        (json!({ "top": 0 }), "top is 1 to 100"),
        (json!({ "from": 1990 }), "no release years"),
    ] {
        let body = app
            .mutate(
                "mutation($p: JobParamsInput!) { startJob(kind: LISTENER_BEHAVIOUR, params: $p) { id } }",
                json!({ "p": params }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "INVALID_ARGUMENT",
            "{body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    app.stop().await;
}
