//! The real `timbre serve` consuming the tracks topic as a child process,
//! SIGKILLed mid-stream and restarted: every track ends up exactly once.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use serde_json::{json, Value};
use timbre::config::KafkaSettings;
use timbre::kafka;

use crate::helpers::{data_dir, get_json, post_graphql, spawn_serve, terminate};
use crate::kafka::tracks;
use crate::kafka_server::{shared_brokers, unique_settings};

/// `timbre serve` consuming `settings`, as a child process; returns it with
/// its GraphQL URL.
fn serve_process(settings: &KafkaSettings, data: &Path, batch_max: usize) -> (Child, String) {
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--kafka-brokers",
        settings.brokers.as_deref().unwrap(),
        "--kafka-group-id",
        &settings.group_id,
        "--kafka-topic",
        &settings.topic,
    ]
    .map(OsStr::new);
    let env = [
        (
            "TIMBRE_KAFKA__DEAD_LETTER_TOPIC",
            settings.dead_letter_topic.clone(),
        ),
        ("TIMBRE_KAFKA__BATCH_MAX", batch_max.to_string()),
    ];
    let (child, url, _) = spawn_serve(&args, &env);
    (child, url)
}

async fn graphql(client: &reqwest::Client, url: &str, query: &str) -> Value {
    post_graphql(client, url, query, json!({})).await
}

#[tokio::test]
async fn a_server_killed_mid_stream_ends_with_every_track_exactly_once() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let settings = unique_settings(&brokers, "sigkill");
    let dir = data_dir();
    let data = dir.path().join("data");
    const N: usize = 3_000;
    let tracks = tracks(dir.path(), N);
    kafka::ensure_topics(&settings)
        .await
        .expect("topics created");
    let report = kafka::producer::produce(&settings, &tracks)
        .await
        .expect("producer");
    assert_eq!((report.produced, report.failed), (N as u64, 0), "{report}");

    // Small batches, so that the kill lands mid-stream.
    let (mut child, url) = serve_process(&settings, &data, 50);
    let client = crate::helpers::client();
    let applied_before_kill = loop {
        let status = graphql(&client, &url, "{ ingestStatus { messages } }").await;
        let messages = status["data"]["ingestStatus"]["messages"].as_u64().unwrap();
        if messages > 0 {
            break messages;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    assert!(
        applied_before_kill < N as u64,
        "the kill came after the stream ended"
    );

    let (child, url) = serve_process(&settings, &data, 500);
    let mut count = 0;
    for _ in 0..600 {
        let body = graphql(&client, &url, "{ catalog { tracks } }").await;
        count = body["data"]["catalog"]["tracks"].as_u64().unwrap();
        if count >= N as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count, N as u64);
    // Every produced id is there, once: the listing has N distinct ids.
    let body = graphql(&client, &url, "{ tracks(first: 1) { totalCount } }").await;
    assert_eq!(body["data"]["tracks"]["totalCount"], N);
    for chunk in tracks.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(|t| t.id.as_str()).collect();
        let body = client
            .post(&url)
            .json(&json!({
                "query": "query($ids: [ID!]!) { tracksByIds(ids: $ids) { id } }",
                "variables": { "ids": ids },
            }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let found: Vec<&str> = body["data"]["tracksByIds"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(found, ids);
    }
    let ready = get_json(&client, &url.replace("/graphql", "/readyz")).await;
    assert_eq!(ready["kafka"]["status"], "up", "{ready}");
    let status = terminate(child).await;
    assert!(status.success(), "{status:?}");
}
