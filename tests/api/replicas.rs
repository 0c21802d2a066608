//! Two replicas as an operator runs them: two `timbre serve` processes on
//! one MongoDB-wire server and one broker, each in its own consumer group.
//! 10,000 upserts and 1,000 deletes are streamed; one replica is killed
//! with SIGKILL mid-stream and started again. At the end both answer the
//! same count, the same ids and the same `similar` lists.
//!
//! It runs in every suite again since 2026-12-08: after the consumers
//! assigned themselves their partitions and the start-up load read until an
//! empty page, it passed in each run of the whole suite looped with the
//! machine's load average at 6.5 on two cores (issue 21; the loop's figures
//! are in BENCHMARKS.md, "The suite in a loop").

use std::ffi::OsStr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use timbre::config::KafkaSettings;
use timbre::kafka;
use timbre::kafka::message::encode_delete;

use crate::helpers::{data_dir, post_graphql, spawn_serve_logged, terminate};
use crate::kafka::tracks;
use crate::kafka_server::{shared_brokers, unique_settings, TestProducer};
use crate::mongo_server::{shared_uri, unique_database};

const UPSERTS: usize = 10_000;
const DELETES: usize = 1_000;

/// One replica: its process, GraphQL URL and log.
struct Replica {
    child: Child,
    url: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts a replica on `data`, consuming in `group`. Searches are exact,
/// so that equal catalogues give equal `similar` lists: each replica's
/// HNSW graph depends on the order it received the tracks in, and the
/// graph's own recall is tested elsewhere.
fn replica(settings: &KafkaSettings, mongo: (&str, &str), data: &Path, group: &str) -> Replica {
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--mongodb-uri",
        mongo.0,
        "--kafka-brokers",
        settings.brokers.as_deref().unwrap(),
        "--kafka-group-id",
        group,
        "--kafka-topic",
        &settings.topic,
    ]
    .map(OsStr::new);
    let env = [
        ("TIMBRE_MONGODB_DATABASE", mongo.1.to_string()),
        (
            "TIMBRE_KAFKA__DEAD_LETTER_TOPIC",
            settings.dead_letter_topic.clone(),
        ),
        // Small batches, so that a kill lands mid-stream.
        ("TIMBRE_KAFKA__BATCH_MAX", "100".to_string()),
        ("TIMBRE_INDEX__EXACT_BELOW", "1000000".to_string()),
        ("TIMBRE_HTTP__RATE_LIMIT__PER_SECOND", "0".to_string()),
    ];
    let (child, url, log) = spawn_serve_logged(&args, &env);
    Replica { child, url, log }
}

async fn graphql(url: &str, query: &str, variables: Value) -> Value {
    let body = post_graphql(&crate::helpers::client(), url, query, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// Waits until the replica has applied the whole topic and holds `n`
/// tracks.
async fn caught_up(replica: &Replica, n: u64, deadline: Instant) {
    loop {
        let data = graphql(
            &replica.url,
            "{ ingestStatus { lag } catalog { tracks } }",
            json!({}),
        )
        .await;
        let lag = data["ingestStatus"]["lag"].as_u64();
        if lag == Some(0) && data["catalog"]["tracks"] == n {
            return;
        }
        if Instant::now() > deadline {
            let log = replica.log.lock().unwrap().clone();
            let tail: String = log
                .lines()
                .rev()
                .filter(|l| !l.contains("took_ms"))
                .take(40)
                .collect::<Vec<_>>()
                .join("\n");
            panic!("not caught up: {data}; the log's last lines, newest first:\n{tail}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every track id the replica lists, in its order.
async fn ids(replica: &Replica) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = graphql(
            &replica.url,
            "query($after: String) { tracks(first: 100, after: $after) {
               edges { node { id } } pageInfo { endCursor hasNextPage } } }",
            json!({ "after": after }),
        )
        .await;
        let tracks = &page["tracks"];
        for edge in tracks["edges"].as_array().unwrap() {
            ids.push(edge["node"]["id"].as_str().unwrap().to_string());
        }
        if tracks["pageInfo"]["hasNextPage"] != true {
            return ids;
        }
        after = tracks["pageInfo"]["endCursor"].clone();
    }
}

async fn similar(replica: &Replica, id: &str) -> Vec<String> {
    let data = graphql(
        &replica.url,
        "query($id: ID!) { similar(trackId: $id, first: 10) { track { id } } }",
        json!({ "id": id }),
    )
    .await;
    data["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["track"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn two_replicas_agree_after_one_is_killed_mid_stream() {
    let (Some(brokers), Some(uri)) = (shared_brokers(), shared_uri()) else {
        return;
    };
    let started = Instant::now();
    let settings = unique_settings(&brokers, "replicas");
    let database = unique_database("replicas");
    let mongo = (uri.as_str(), database.as_str());
    let dir = data_dir();
    let tracks = tracks(dir.path(), UPSERTS);
    kafka::ensure_topics(&settings).await.expect("topics");
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    let a = replica(&settings, mongo, &data_a, "replica-a");
    let b = replica(&settings, mongo, &data_b, "replica-b");

    // The first half of the upserts; A is killed once it has applied some.
    let half = UPSERTS / 2;
    let report = kafka::producer::produce(&settings, &tracks[..half])
        .await
        .expect("producer");
    assert_eq!(report.failed, 0, "{report}");
    let applied_before_kill = loop {
        let data = graphql(&a.url, "{ ingestStatus { messages } }", json!({})).await;
        let applied = data["ingestStatus"]["messages"].as_u64().unwrap();
        if applied > 0 {
            break applied;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut killed = a.child;
    killed.kill().expect("SIGKILL");
    killed.wait().unwrap();

    // The rest, and the deletes, while A is down; then A comes back.
    let report = kafka::producer::produce(&settings, &tracks[half..])
        .await
        .expect("producer");
    assert_eq!(report.failed, 0, "{report}");
    let producer = TestProducer::new(&settings);
    for chunk in tracks[..DELETES].chunks(250) {
        let sends = chunk.iter().map(|t| {
            let (key, _) = encode_delete(t.id);
            let producer = &producer;
            async move { producer.send(Some(&key), None).await }
        });
        futures_util::future::join_all(sends).await;
    }
    let a = replica(&settings, mongo, &data_a, "replica-a");

    let expected = (UPSERTS - DELETES) as u64;
    let deadline = Instant::now() + Duration::from_secs(180);
    caught_up(&a, expected, deadline).await;
    caught_up(&b, expected, deadline).await;
    let converged = started.elapsed();

    let (ids_a, ids_b) = (ids(&a).await, ids(&b).await);
    assert_eq!(ids_a.len() as u64, expected);
    assert_eq!(ids_a, ids_b, "the replicas list different tracks");
    let mut wanted: Vec<String> = tracks[DELETES..].iter().map(|t| t.id.to_string()).collect();
    let mut listed = ids_a.clone();
    wanted.sort();
    listed.sort();
    assert_eq!(listed, wanted, "not the tracks produced");
    let mut differing = 0;
    for id in wanted.iter().step_by(wanted.len() / 100).take(100) {
        let (on_a, on_b) = (similar(&a, id).await, similar(&b, id).await);
        assert_eq!(on_a.len(), 10);
        differing += usize::from(on_a != on_b);
    }
    eprintln!(
        "replicas: {UPSERTS} upserts and {DELETES} deletes; A killed after {applied_before_kill} \
         messages; both caught up with {expected} tracks {converged:.1?} after the start; \
         ids equal; similar lists differing for {differing} of 100 seeds"
    );
    assert_eq!(differing, 0, "similar lists differ for {differing} seeds");
    for replica in [a, b] {
        assert!(terminate(replica.child).await.success());
    }
}
