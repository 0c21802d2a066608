//! The data lake: what the server writes is what GraphQL reports, read back
//! by DuckDB and Apache Spark; an S3 outage in the middle of a Kafka stream
//! loses and duplicates nothing; writing a batch again replaces its files.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use timbre::config::{Config, KafkaSettings, LakeSettings};
use timbre::domain::Track;
use timbre::ingest::{ChangeBatch, ChangeSink, Origin, Source, TrackChange};
use timbre::kafka::message::encode_upsert;
use timbre::lake::{tables, Lake};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    data_dir, shared_dataset, spawn_app, synthetic_csv, test_config, writer_auth, TestApp,
};
use crate::kafka_server::{shared_brokers, unique_settings, TestProducer};
use crate::lake_readers::{read_lake, s3, s3_endpoint};

fn lake_settings(location: String) -> LakeSettings {
    LakeSettings {
        location: Some(location),
        flush_interval_ms: 200,
        ..LakeSettings::default()
    }
}

async fn mutate(app: &TestApp, query: &str, variables: Value) -> Value {
    let body = app.mutate(query, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    body
}

/// Per genre, the track count GraphQL reports.
async fn genre_counts(app: &TestApp) -> Value {
    let body = app.query("{ genres { name trackCount } }", json!({})).await;
    let mut counts = serde_json::Map::new();
    for g in body["data"]["genres"].as_array().unwrap() {
        counts.insert(g["name"].as_str().unwrap().into(), g["trackCount"].clone());
    }
    Value::Object(counts)
}

async fn total(app: &TestApp) -> u64 {
    let body = app
        .query("{ tracks(first: 1) { totalCount } }", json!({}))
        .await;
    body["data"]["tracks"]["totalCount"].as_u64().unwrap()
}

#[tokio::test]
async fn duckdb_and_spark_read_the_state_graphql_reports() {
    let Some(dataset) = shared_dataset() else {
        return;
    };
    let dir = data_dir();
    let lake_root = dir.path().join("lake");
    let config = Config {
        auth: writer_auth(),
        lake: lake_settings(lake_root.to_string_lossy().into_owned()),
        ..test_config(&dir.path().join("data"))
    };
    let app = spawn_app(config.clone(), &[&dataset]).await;
    let (_, report) = timbre::ingest::read(&Source::Path(dataset.clone()), None).unwrap();

    // A snapshot of the import, then changes through the API after it.
    let lake = Lake::open(&lake_root.to_string_lossy(), &config.lake).unwrap();
    let exported = timbre::lake::export(&app.service, &lake, 10_000)
        .await
        .unwrap();
    assert_eq!(exported.tracks, report.tracks);
    assert!(
        exported.files >= 3,
        "{exported}: files of at most 10,000 rows"
    );
    let ids: Vec<String> = app
        .query("{ tracks(first: 4) { edges { node { id } } } }", json!({}))
        .await["data"]["tracks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect();
    mutate(
        &app,
        "mutation($ids: [ID!]!) { deleteTracks(ids: $ids) { deleted } }",
        json!({ "ids": &ids[..3] }),
    )
    .await;
    let kept = app
        .service
        .track_in_memory(&ids[3].parse().unwrap())
        .unwrap();
    let moved = json!({
        "id": ids[3], "name": kept.name, "artists": kept.artists, "genres": ["lakegenre"],
        "features": { "danceability": 0.5, "energy": 0.5, "loudness": -5.0, "mode": 1,
            "speechiness": 0.1, "acousticness": 0.1, "instrumentalness": 0.0, "liveness": 0.1,
            "valence": 0.5, "tempo": 120.0, "durationMs": 200000 }
    });
    mutate(
        &app,
        "mutation($t: [TrackInput!]!) { upsertTracks(tracks: $t) { inserted replaced } }",
        json!({ "t": [moved] }),
    )
    .await;
    for kind in ["PLAY", "LIKE", "SKIP"] {
        mutate(
            &app,
            "mutation($t: ID!, $k: InteractionKind!) { recordInteraction(userId: \"u1\", trackId: $t, kind: $k) { at } }",
            json!({ "t": ids[3], "k": kind }),
        )
        .await;
    }
    let expected_total = total(&app).await;
    let expected_genres = genre_counts(&app).await;
    assert_eq!(expected_total as usize, report.tracks - 3);
    // Stopping writes what the sink holds.
    app.stop().await;

    let view = tables::current_tracks_view();
    let Some(duck) = read_lake("TIMBRE_LAKE_PYTHON", "duckdb", &lake_root, &view).await else {
        return;
    };
    assert_eq!(duck["current"], expected_total, "{duck}");
    assert_eq!(duck["genres"], expected_genres, "{duck}");
    assert_eq!(duck["changes"], (report.tracks + 4) as u64, "{duck}");
    assert_eq!(duck["snapshot_rows"], report.tracks as u64, "{duck}");
    assert_eq!(duck["interactions"], 3, "{duck}");
    assert_eq!(
        duck["events"]["rejected"].as_u64().unwrap_or(0),
        report.rejected.len() as u64,
        "{duck}"
    );
    assert_eq!(
        duck["events"]["applied"], report.tracks as u64,
        "an applied event per imported track: {duck}"
    );
    assert!(duck["memberships"].as_u64().unwrap() >= report.tracks as u64);

    let ddl = timbre::lake::ddl(&lake_root.to_string_lossy(), true);
    let Some(spark) = read_lake("TIMBRE_SPARK_PYTHON", "spark", &lake_root, &ddl).await else {
        return;
    };
    for key in [
        "current",
        "genres",
        "changes",
        "snapshot_rows",
        "interactions",
        "memberships",
        "events",
    ] {
        assert_eq!(spark[key], duck[key], "{key}: spark {spark} duckdb {duck}");
    }
}

/// A TCP proxy that can refuse connections and cut the open ones: an S3
/// outage as the server sees it, while the S3 server behind keeps its data.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<parking_lot::Mutex<CancellationToken>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(parking_lot::Mutex::new(CancellationToken::new()));
        let (accepting, cuts) = (Arc::clone(&up), Arc::clone(&cut));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let cancelled = cuts.lock().clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cancelled.cancelled() => {}
                    }
                });
            }
        });
        Proxy { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        let mut cut = self.cut.lock();
        cut.cancel();
        *cut = CancellationToken::new();
    }

    fn resume(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn send(producer: &TestProducer, tracks: &[Track]) -> Vec<(i32, i64)> {
    let mut sent = Vec::new();
    for t in tracks {
        let (key, value) = encode_upsert(t);
        sent.push(producer.send(Some(&key), Some(&value)).await);
    }
    sent
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_s3_outage_mid_stream_loses_and_duplicates_nothing() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    assert!(
        std::env::var("AWS_ACCESS_KEY_ID").is_ok(),
        "scripts/test.sh sets the AWS credentials the S3 client needs"
    );
    let bucket = format!("lake-{}", uuid::Uuid::new_v4().simple());
    if s3(&endpoint, &["create-bucket", &bucket]).await.is_none() {
        return;
    }
    let proxy = Proxy::start(endpoint.trim_start_matches("http://").to_string()).await;
    let settings: KafkaSettings = unique_settings(&brokers, "lake");
    let dir = data_dir();
    let config = Config {
        kafka: settings.clone(),
        lake: LakeSettings {
            s3_endpoint: Some(format!("http://127.0.0.1:{}", proxy.port)),
            s3_allow_http: true,
            ..lake_settings(format!("s3://{bucket}/lake"))
        },
        ..test_config(&dir.path().join("data"))
    };
    let app = spawn_app(config, &[]).await;
    let (tracks, _) =
        timbre::ingest::read(&Source::Path(synthetic_csv(dir.path(), 1_500)), None).unwrap();
    let producer = TestProducer::new(&settings);
    let written = |app: &TestApp| {
        app.sink
            .snapshot()
            .rows
            .get("track_changes")
            .copied()
            .unwrap_or(0)
    };

    send(&producer, &tracks[..500]).await;
    wait_for("the first 500 in the lake", Duration::from_secs(60), || {
        written(&app) >= 500
    })
    .await;

    proxy.down();
    send(&producer, &tracks[500..1_000]).await;
    // Ingest and queries go on: the catalogue takes the stream.
    let service = Arc::clone(&app.service);
    wait_for(
        "the catalogue to take the stream",
        Duration::from_secs(60),
        || service.len() >= 1_000,
    )
    .await;
    wait_for("the sink to notice", Duration::from_secs(30), || {
        app.sink.snapshot().down_since.is_some()
    })
    .await;
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["lake"]["status"], "down", "{ready}");
    assert_eq!(total(&app).await, 1_000);
    let held = written(&app);

    proxy.resume();
    send(&producer, &tracks[1_000..]).await;
    wait_for("everything in the lake", Duration::from_secs(90), || {
        written(&app) >= 1_500
    })
    .await;
    assert_eq!(app.get_json("/readyz").await["lake"]["status"], "up");
    app.stop().await;
    eprintln!("lake outage: {held} rows before the outage's end, 1,500 after it");

    let copy = dir.path().join("lake-copy");
    s3(
        &endpoint,
        &["download", &bucket, "lake", &copy.to_string_lossy()],
    )
    .await;
    let view = tables::current_tracks_view();
    let Some(duck) = read_lake("TIMBRE_LAKE_PYTHON", "duckdb", &copy, &view).await else {
        return;
    };
    assert_eq!(
        duck["changes"], 1_500,
        "no row lost or written twice: {duck}"
    );
    assert_eq!(duck["distinct_positions"], 1_500, "{duck}");
    assert_eq!(duck["current"], 1_500, "{duck}");
    assert_eq!(duck["events"]["applied"], 1_500, "{duck}");
}

#[tokio::test]
async fn writing_a_batch_again_replaces_its_files() {
    let dir = data_dir();
    let root = dir.path().join("lake");
    let lake = Lake::open(&root.to_string_lossy(), &LakeSettings::default()).unwrap();
    let (tracks, _) =
        timbre::ingest::read(&Source::Path(synthetic_csv(dir.path(), 50)), None).unwrap();
    let mut batch = ChangeBatch::new(
        Origin::Stream,
        Some("kafka-t-p0-o00000000000000000007".into()),
    );
    batch.tracks = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| TrackChange {
            id: t.id,
            track: Some(Arc::new(t.clone())),
            at_ms: 1_764_806_400_000,
            position: Some((0, 7 + i as i64)),
        })
        .collect();
    let first = lake.write(&batch).await.unwrap();
    let files = lake.list("curated").await.unwrap();
    let again = lake.write(&batch).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(
        lake.list("curated").await.unwrap(),
        files,
        "same names, no new files"
    );
    assert_eq!(
        first.rows,
        vec![("playlist_memberships", 50), ("track_changes", 50)]
    );
    assert!(
        files.iter().all(|f| f.contains("ingest_date=2025-12-04")),
        "{files:?}"
    );
}
