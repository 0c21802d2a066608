//! The Kafka consumers against a real Kafka-wire broker (tansu), in
//! process: round trip, replays, poison messages, a broker outage, and
//! listeners' interactions. (A SIGKILLed server: `kafka_process.rs`.)

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use timbre::config::Config;
use timbre::config::KafkaSettings;
use timbre::domain::{Track, TrackFields};
use timbre::ingest::Source;
use timbre::kafka::message::{encode_delete, encode_upsert};

use crate::helpers::{data_dir, spawn_app, synthetic_csv, test_config, TestApp};
use crate::kafka_server::{
    header, read_topic, shared_brokers, unique_settings, KafkaProcess, TestProducer,
};

/// A server consuming a topic in process.
struct Streaming {
    app: TestApp,
}

impl Streaming {
    /// The application over `data`, consuming the topics of `settings`.
    async fn start(settings: &KafkaSettings, data: &Path) -> Self {
        let config = Config {
            kafka: settings.clone(),
            ..test_config(data)
        };
        Streaming {
            app: spawn_app(config, &[]).await,
        }
    }

    /// Stops the application: the consumers finish their batch and commit.
    async fn stop(self) {
        tokio::time::timeout(Duration::from_secs(30), self.app.stop())
            .await
            .expect("the application stops on shutdown");
    }

    /// Waits (over GraphQL) until every `(partition, offset)` is applied.
    async fn wait_applied(&self, sent: &[(i32, i64)]) {
        wait_applied(&self.app, sent).await;
    }
}

async fn wait_applied(app: &TestApp, sent: &[(i32, i64)]) {
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for &(p, o) in sent {
        let e = last.entry(p).or_insert(o);
        *e = (*e).max(o);
    }
    for (partition, offset) in last {
        let body = app
            .query(
                "query($p: Int!, $o: Int!) { ingested(partition: $p, offset: $o, waitMs: 30000) }",
                json!({ "p": partition, "o": offset }),
            )
            .await;
        assert_eq!(
            body["data"]["ingested"], true,
            "partition {partition} offset {offset} not applied: {body}"
        );
    }
}

/// `n` synthetic tracks, as an import would read them.
pub(crate) fn tracks(dir: &Path, n: usize) -> Vec<Track> {
    let csv = synthetic_csv(dir, n);
    let (tracks, report) = timbre::ingest::read(&Source::Path(csv), None).expect("CSV reads");
    assert_eq!(report.tracks, n);
    tracks
}

async fn send_upserts(producer: &TestProducer, tracks: &[Track]) -> Vec<(i32, i64)> {
    let mut sent = Vec::new();
    for track in tracks {
        let (key, value) = encode_upsert(track);
        sent.push(producer.send(Some(&key), Some(&value)).await);
    }
    sent
}

async fn ingest_status(app: &TestApp) -> Value {
    let body = app
        .query(
            "{ ingestStatus { enabled messages upserts deletes deadLettered lag brokerUp
               deadLetters { reason count } freshness { samples medianMs p99Ms } } }",
            json!({}),
        )
        .await;
    body["data"]["ingestStatus"].clone()
}

async fn catalog_size(app: &TestApp) -> (u64, u64) {
    let body = app
        .query("{ catalog { tracks tombstones } }", json!({}))
        .await;
    let c = &body["data"]["catalog"];
    (
        c["tracks"].as_u64().unwrap(),
        c["tombstones"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn upserts_and_deletes_become_visible_through_graphql() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let settings = unique_settings(&brokers, "roundtrip");
    let dir = data_dir();
    let server = Streaming::start(&settings, &dir.path().join("data")).await;
    let tracks = tracks(dir.path(), 20);
    let producer = TestProducer::new(&settings);

    let mut sent = send_upserts(&producer, &tracks).await;
    let (key, value) = encode_delete(tracks[0].id);
    sent.push(producer.send(Some(&key), Some(&value)).await);
    // A tombstone (key, no value) deletes too.
    sent.push(producer.send(Some(tracks[1].id.as_str()), None).await);
    server.wait_applied(&sent).await;

    let app = &server.app;
    let body = app
        .query(
            "query($id: ID!) { track(id: $id) { name } similar(trackId: $id, first: 5) { track { id } } }",
            json!({ "id": tracks[2].id.as_str() }),
        )
        .await;
    assert_eq!(body["data"]["track"]["name"], "Song 2", "{body}");
    let similar = body["data"]["similar"].as_array().unwrap();
    assert_eq!(similar.len(), 5, "{body}");
    let deleted = [tracks[0].id.to_string(), tracks[1].id.to_string()];
    for s in similar {
        assert!(!deleted.contains(&s["track"]["id"].as_str().unwrap().to_string()));
    }
    for id in &deleted {
        let code = app
            .error_code(
                "query($id: ID!) { track(id: $id) { name } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(code, "TRACK_NOT_FOUND");
    }
    assert_eq!(catalog_size(app).await.0, 18);

    let status = ingest_status(app).await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["messages"], 22, "{status}");
    assert_eq!(status["deadLettered"], 0, "{status}");
    assert!(
        status["freshness"]["samples"].as_u64().unwrap() >= 1,
        "{status}"
    );
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["kafka"]["status"], "up", "{ready}");
    server.stop().await;
}

#[tokio::test]
async fn replayed_messages_change_nothing() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let settings = unique_settings(&brokers, "replay");
    let dir = data_dir();
    let data = dir.path().join("data");
    let tracks = tracks(dir.path(), 30);
    let producer = TestProducer::new(&settings);

    let server = Streaming::start(&settings, &data).await;
    let sent = send_upserts(&producer, &tracks).await;
    server.wait_applied(&sent).await;
    // The same messages again, as a producer retrying without idempotence
    // would send them.
    let again = send_upserts(&producer, &tracks[..10]).await;
    server.wait_applied(&again).await;
    let before = server
        .app
        .service
        .read_now(|c| c.tracks().map(|t| t.to_track()).collect::<Vec<_>>());
    assert_eq!(catalog_size(&server.app).await, (30, 0));
    server.stop().await;

    // A new consumer group replays the whole topic into the same store.
    let replay = KafkaSettings {
        group_id: format!("{}-replay", settings.group_id),
        ..settings.clone()
    };
    let server = Streaming::start(&replay, &data).await;
    let mut all = sent.clone();
    all.extend(again);
    server.wait_applied(&all).await;
    assert_eq!(ingest_status(&server.app).await["messages"], 40);
    let after = server
        .app
        .service
        .read_now(|c| c.tracks().map(|t| t.to_track()).collect::<Vec<_>>());
    assert_eq!(before, after);
    // Nothing was re-inserted into the index: no tombstones.
    assert_eq!(catalog_size(&server.app).await, (30, 0));
    server.stop().await;
}

#[tokio::test]
async fn poison_messages_go_to_the_dead_letter_topic_and_consumption_goes_on() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let settings = unique_settings(&brokers, "poison");
    let dir = data_dir();
    let server = Streaming::start(&settings, &dir.path().join("data")).await;
    let tracks = tracks(dir.path(), 3);
    let producer = TestProducer::new(&settings);
    let id = tracks[0].id.to_string();

    let (_, good) = encode_upsert(&tracks[0]);
    let mut loud: Value = serde_json::from_slice(&good).unwrap();
    loud["track"]["features"]["energy"] = json!(7.5);
    let mut sent = vec![
        producer.send(Some(&id), Some(b"{not json")).await,
        producer
            .send(Some(&id), Some(loud.to_string().as_bytes()))
            .await,
        producer
            .send(Some(tracks[1].id.as_str()), Some(&good))
            .await,
    ];
    sent.extend(send_upserts(&producer, &tracks[2..]).await);
    server.wait_applied(&sent).await;

    let app = &server.app;
    let status = ingest_status(app).await;
    assert_eq!(status["deadLettered"], 3, "{status}");
    let reasons: Vec<&str> = status["deadLetters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["feature out of range", "key", "schema"],
        "{status}"
    );
    assert_eq!(catalog_size(app).await.0, 1);

    let letters = read_topic(&brokers, &settings.dead_letter_topic, 3).await;
    let mut by_kind: BTreeMap<String, _> = BTreeMap::new();
    for letter in &letters {
        by_kind.insert(header(letter, "timbre.error.kind").unwrap(), letter);
    }
    let schema = by_kind["schema"];
    use rdkafka::Message;
    assert_eq!(schema.payload(), Some(&b"{not json"[..]));
    assert_eq!(schema.key(), Some(id.as_bytes()));
    assert_eq!(
        header(schema, "timbre.source.topic").as_deref(),
        Some(settings.topic.as_str())
    );
    let (partition, offset) = sent[0];
    assert_eq!(
        header(schema, "timbre.source.partition"),
        Some(partition.to_string())
    );
    assert_eq!(
        header(schema, "timbre.source.offset"),
        Some(offset.to_string())
    );
    assert!(header(by_kind["feature out of range"], "timbre.error")
        .unwrap()
        .contains("energy = 7.5"));
    assert!(header(by_kind["key"], "timbre.error")
        .unwrap()
        .contains("differs from the track id"));

    // Still consuming.
    let later = send_upserts(&producer, &tracks[..1]).await;
    server.wait_applied(&later).await;
    assert_eq!(catalog_size(app).await.0, 2);
    server.stop().await;
}

#[tokio::test]
async fn a_broker_outage_is_reported_and_ridden_out() {
    let dir = data_dir();
    let storage = dir.path().join("kafka");
    std::fs::create_dir_all(&storage).unwrap();
    let Some(mut broker) = KafkaProcess::start(&storage) else {
        return;
    };
    let settings = unique_settings(&broker.brokers(), "outage");
    let server = Streaming::start(&settings, &dir.path().join("data")).await;
    let tracks = tracks(dir.path(), 60);

    let sent = send_upserts(&TestProducer::new(&settings), &tracks[..30]).await;
    server.wait_applied(&sent).await;

    broker.stop();
    let mut ready = Value::Null;
    for _ in 0..300 {
        ready = server.app.get_json("/readyz").await;
        if ready["kafka"]["status"] == "down" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["kafka"]["status"], "down", "{ready}");
    // Queries are still answered from memory.
    assert_eq!(catalog_size(&server.app).await.0, 30);

    broker.resume();
    let sent = send_upserts(&TestProducer::new(&settings), &tracks[30..]).await;
    server.wait_applied(&sent).await;
    assert_eq!(catalog_size(&server.app).await.0, 60);
    for _ in 0..100 {
        ready = server.app.get_json("/readyz").await;
        if ready["status"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready["kafka"]["status"], "up", "{ready}");
    server.stop().await;
}

/// Waits until the server has stored `n` interactions from the topic.
async fn wait_interactions(app: &TestApp, n: u64) -> Value {
    for _ in 0..300 {
        let body = app
            .query(
                "{ ingestStatus { interactions interactionDeadLetters } }",
                json!({}),
            )
            .await;
        let status = body["data"]["ingestStatus"].clone();
        if status["interactions"].as_u64() >= Some(n) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} interactions were not stored within 30 s");
}

#[tokio::test]
async fn interactions_from_the_topic_shape_recommendations_and_poison_is_dead_lettered() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let settings = unique_settings(&brokers, "interactions");
    let dir = data_dir();
    let server = Streaming::start(&settings, &dir.path().join("data")).await;
    let tracks = tracks(dir.path(), 30);
    server.app.service.upsert(tracks.clone()).await.unwrap();
    let producer = TestProducer::to(&settings, &settings.interactions_topic);

    let event = |track: usize, kind: &str| {
        json!({ "user_id": "ada", "track_id": tracks[track].id.to_string(), "kind": kind })
            .to_string()
    };
    producer
        .send(Some("ada"), Some(event(0, "LIKE").as_bytes()))
        .await;
    producer
        .send(Some("ada"), Some(b"{\"user_id\": \"ada\""))
        .await;
    producer
        .send(Some("ada"), Some(event(1, "DISLIKE").as_bytes()))
        .await;
    producer
        .send(Some("ada"), Some(event(2, "LOVE").as_bytes()))
        .await;
    // A replay of the like changes nothing.
    producer
        .send(Some("ada"), Some(event(0, "LIKE").as_bytes()))
        .await;
    let status = wait_interactions(&server.app, 3).await;

    let body = server
        .app
        .query(
            "{ recommendForUser(userId: \"ada\", first: 25) { track { id } source } }",
            json!({}),
        )
        .await;
    let results = body["data"]["recommendForUser"].as_array().unwrap();
    assert_eq!(results.len(), 25, "{body}");
    let returned: Vec<&str> = results
        .iter()
        .map(|r| r["track"]["id"].as_str().unwrap())
        .collect();
    for gone in [&tracks[0], &tracks[1]] {
        assert!(!returned.contains(&gone.id.as_str()), "{body}");
    }
    assert!(
        results.iter().all(|r| r["source"] != "POPULARITY"),
        "{body}"
    );

    let letters = read_topic(&brokers, &settings.interactions_dead_letter_topic, 2).await;
    assert_eq!(letters.len(), 2);
    for letter in &letters {
        assert_eq!(
            header(letter, "timbre.error.kind").as_deref(),
            Some("schema")
        );
        assert_eq!(
            header(letter, "timbre.source.topic").as_deref(),
            Some(settings.interactions_topic.as_str())
        );
    }
    let after = wait_interactions(&server.app, 3).await;
    assert_eq!(
        after["interactionDeadLetters"], 2,
        "{after} (first seen: {status})"
    );
    server.stop().await;
}
