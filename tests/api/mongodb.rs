//! timbre on MongoDB: round trips per query, analytics in the database,
//! start-up from the collection, and an outage in the middle of a run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use serde_json::json;
use timbre::application::Application;
use timbre::config::{Config, Secret};
use timbre::domain::{genre, GenreLevel, TrendQuery};
use timbre::error::Error;
use timbre::ingest::{self, Source};
use timbre::service::IndexOrigin;
use timbre::store::{MongoStore, StoreError, TrackStore};

use crate::helpers::{
    data_dir, shared_dataset, spawn_app, spawn_app_with_store, start, synthetic_csv, test_config,
    track_id,
};
use crate::mongo_server::{shared_uri, unique_database, MongoProcess};

/// A store that counts the `find` commands the driver starts.
async fn counting_store(uri: &str, database: &str) -> (MongoStore, Arc<AtomicUsize>) {
    let finds = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&finds);
    let handler = EventHandler::callback(move |event: CommandEvent| {
        if let CommandEvent::Started(started) = event {
            if started.command_name == "find" {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let store = MongoStore::connect(uri, database, Some(handler))
        .await
        .unwrap();
    (store, finds)
}

#[tokio::test]
async fn a_page_of_50_similar_tracks_costs_one_round_trip() {
    let Some(uri) = shared_uri() else { return };
    let dir = data_dir();
    let (store, finds) = counting_store(&uri, &unique_database("roundtrips")).await;
    let csv = synthetic_csv(dir.path(), 300);
    let app = spawn_app_with_store(test_config(dir.path()), Arc::new(store), &[&csv]).await;

    let before = finds.load(Ordering::SeqCst);
    let body = app
        .query(
            "query($id: ID!) { similar(trackId: $id, first: 50) { score track { id name artists album { name } } } }",
            json!({ "id": track_id(7) }),
        )
        .await;
    let found = body["data"]["similar"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(found.len(), 50);
    assert!(found.iter().all(|r| r["track"]["name"].is_string()));
    assert_eq!(
        finds.load(Ordering::SeqCst) - before,
        1,
        "one $in query for 50 tracks"
    );

    // A text search keeps its ranking (title prefix, most popular first)
    // when the tracks come back from MongoDB's `$in`, in one round trip.
    let before = finds.load(Ordering::SeqCst);
    let body = app
        .query(
            "{ searchTracks(text: \"song 1\", first: 20) { name popularity } }",
            json!({}),
        )
        .await;
    let found = body["data"]["searchTracks"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(found.len(), 20);
    assert!(found
        .iter()
        .all(|t| t["name"].as_str().unwrap().starts_with("Song 1")));
    let popularity: Vec<u64> = found
        .iter()
        .map(|t| t["popularity"].as_u64().unwrap())
        .collect();
    assert!(
        popularity.windows(2).all(|w| w[0] >= w[1]),
        "not most popular first: {popularity:?}"
    );
    assert_eq!(finds.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test]
async fn analytics_in_mongodb_equal_the_domain_code_on_the_shared_dataset() {
    let Some(uri) = shared_uri() else { return };
    let Some(path) = shared_dataset() else { return };
    let (tracks, _) = ingest::read(&Source::Path(path), None).unwrap();
    let store = MongoStore::connect(&uri, &unique_database("analytics"), None)
        .await
        .unwrap();
    let started = Instant::now();
    store.upsert(&tracks).await.unwrap();
    eprintln!(
        "upserted {} tracks into MongoDB in {:?}",
        tracks.len(),
        started.elapsed()
    );

    for level in [GenreLevel::Genre, GenreLevel::Subgenre] {
        let in_db = store.genre_profiles(level).await.unwrap().unwrap();
        let in_memory = genre::profiles(tracks.iter(), level);
        assert_eq!(in_db.len(), in_memory.len());
        for (a, b) in in_db.iter().zip(&in_memory) {
            assert_eq!(
                (&a.name, a.track_count, &a.subgenres),
                (&b.name, b.track_count, &b.subgenres)
            );
            let (pa, pb) = (a.popularity.unwrap(), b.popularity.unwrap());
            assert!((pa.mean - pb.mean).abs() < 1e-9 && (pa.std_dev - pb.std_dev).abs() < 1e-9);
            assert_eq!(a.features.len(), b.features.len());
            for ((fa, sa), (fb, sb)) in a.features.iter().zip(&b.features) {
                assert_eq!((fa, sa.count), (fb, sb.count), "{}", a.name);
                let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * y.abs().max(1.0);
                assert!(
                    close(sa.mean, sb.mean) && close(sa.std_dev, sb.std_dev),
                    "{} {fa:?}",
                    a.name
                );
                assert!(
                    close(sa.min, sb.min) && close(sa.max, sb.max),
                    "{} {fa:?}",
                    a.name
                );
            }
        }
    }

    let query = TrendQuery {
        genres: vec!["rock".into(), "edm".into()],
        from: Some(1990),
        to: Some(2019),
        ..Default::default()
    };
    let in_db = store.genre_trends(&query).await.unwrap().unwrap();
    let in_memory = genre::trends(tracks.iter(), &query);
    assert_eq!(in_db.len(), in_memory.len());
    assert!(in_db.len() > 30);
    for (a, b) in in_db.iter().zip(&in_memory) {
        assert_eq!(
            (&a.genre, a.year, a.track_count),
            (&b.genre, b.year, b.track_count)
        );
        assert!((a.popularity.unwrap() - b.popularity.unwrap()).abs() < 1e-9);
        for ((fa, ma), (fb, mb)) in a.features.iter().zip(&b.features) {
            assert_eq!(fa, fb);
            assert!((ma - mb).abs() <= 1e-6 * mb.abs().max(1.0));
        }
    }

    // Start-up with no snapshot streams the collection into the catalog.
    let dir = data_dir();
    let app = Application::build_with_store(test_config(dir.path()), Arc::new(store))
        .await
        .unwrap();
    let startup = app.startup();
    assert_eq!(startup.tracks, tracks.len());
    assert!(matches!(startup.origin, IndexOrigin::Rebuilt { .. }));
    eprintln!(
        "start-up from MongoDB with a rebuild: {:?}",
        startup.elapsed
    );

    // And genreTrends over GraphQL answers from the database.
    let app = start(app, &[]).await;
    let body = app
        .query(r#"{ genreTrends(genres: ["EDM"], from: 2015, to: 2016) { genre year trackCount popularity features { feature mean } } }"#, json!({}))
        .await;
    let rows = body["data"]["genreTrends"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    let expected: Vec<_> = in_memory
        .iter()
        .filter(|t| t.genre == "edm" && (2015..=2016).contains(&t.year))
        .collect();
    assert_eq!(rows.len(), expected.len());
    for (row, t) in rows.iter().zip(expected) {
        assert_eq!(row["trackCount"], t.track_count);
        assert_eq!(row["year"], t.year);
    }
}

#[tokio::test]
async fn an_outage_keeps_queries_answering_and_heals_by_itself() {
    let dir = data_dir();
    let Some(mut mongo) = MongoProcess::start(&dir.path().join("mongo")) else {
        return;
    };
    let config = Config {
        mongodb_uri: Some(Secret(mongo.uri())),
        mongodb_database: "outage".into(),
        ..test_config(&dir.path().join("data"))
    };
    let app = spawn_app(config, &[]).await;
    let (tracks, _) = ingest::read(&Source::Path(synthetic_csv(dir.path(), 120)), None).unwrap();
    let (first, later) = tracks.split_at(100);
    app.service.upsert(first.to_vec()).await.unwrap();
    assert_eq!(app.get_json("/readyz").await["status"], "ready");

    mongo.stop();

    // Queries keep answering from memory, metadata included.
    let similar = "query($id: ID!) { similar(trackId: $id, first: 5) { track { id name } } }";
    let body = app.query(similar, json!({ "id": track_id(3) })).await;
    assert_eq!(
        body["data"]["similar"].as_array().map(Vec::len),
        Some(5),
        "{body}"
    );
    assert!(body["data"]["similar"][0]["track"]["name"].is_string());
    let genres = app.query("{ genres { name trackCount } }", json!({})).await;
    assert_eq!(
        genres["data"]["genres"].as_array().map(Vec::len),
        Some(3),
        "{genres}"
    );

    // Readiness says which dependency is down and since when.
    let status = app.get_json("/readyz").await;
    assert_eq!(status["status"], "degraded", "{status}");
    assert_eq!(status["store"]["kind"], "mongodb");
    assert!(
        status["store"]["since"].as_str().unwrap().starts_with("20"),
        "{status}"
    );

    // Writes fail clearly and change nothing.
    let err = app.service.upsert(later.to_vec()).await.unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Unavailable(_))),
        "{err}"
    );
    assert_eq!(
        timbre::api::error::to_graphql(err)
            .extensions
            .unwrap()
            .get("code")
            .cloned(),
        Some("UNAVAILABLE".into())
    );
    assert_eq!(app.service.len(), 100);

    // MongoDB returns: the server notices by itself and writes go through.
    mongo.resume();
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.get_json("/readyz").await["status"] != "ready" {
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.service.upsert(later.to_vec()).await.unwrap();
    assert_eq!(app.service.len(), 120);
    assert_eq!(app.service.store().count().await.unwrap(), 120);
}

#[tokio::test]
async fn the_cli_imports_into_mongodb() {
    let Some(uri) = shared_uri() else { return };
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 40);
    let database = unique_database("cli");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["import", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--mongodb-uri", &uri])
        .arg(&csv)
        .env("TIMBRE_MONGODB_DATABASE", &database)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("using MongoDB as the store"), "{stderr}");
    let store = MongoStore::connect(&uri, &database, None).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 40);
}
