//! Replicas share trained models: two servers on one MongoDB-wire store
//! and one lake on an S3-compatible server; a model trained by one is
//! found and used by the other within `[jobs] model_refresh_s`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use timbre::config::{Config, JobSettings, LakeSettings, Secret};
use timbre::domain::Neighbours;

use crate::helpers::{admin_auth, data_dir, shared_dataset, spawn_app, test_config, TestApp};
use crate::jobs::run;
use crate::lake_readers::{s3, s3_endpoint};
use crate::listener_jobs::continuation;
use crate::mongo_server::{shared_uri, unique_database};

/// Rows of the shared dataset the replicas share: enough playlists for a
/// model, few enough to import into the test store in seconds.
const ROWS: usize = 3_000;

async fn model_in_use(app: &TestApp) -> Value {
    let body = app.query("{ analytics { modelInUse } }", json!({})).await;
    body["data"]["analytics"]["modelInUse"].clone()
}

#[tokio::test]
async fn a_model_trained_by_one_replica_is_used_by_the_other() {
    let Some(dataset) = shared_dataset() else {
        return;
    };
    let Some(uri) = shared_uri() else {
        return;
    };
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let bucket = format!("models-{}", uuid::Uuid::new_v4().simple());
    if s3(&endpoint, &["create-bucket", &bucket]).await.is_none() {
        return;
    }
    let dir = data_dir();
    // The first rows of the shared dataset, in the test's own directory.
    let text = std::fs::read_to_string(&dataset).unwrap();
    let head: Vec<&str> = text.lines().take(ROWS + 1).collect();
    let part = dir.path().join("part.csv");
    std::fs::write(&part, head.join("\n")).unwrap();

    let database = unique_database("shared_models");
    let replica = |name: &str| Config {
        auth: admin_auth(),
        mongodb_uri: Some(Secret(uri.clone())),
        mongodb_database: database.clone(),
        lake: LakeSettings {
            location: Some(format!("s3://{bucket}/lake")),
            s3_endpoint: Some(endpoint.clone()),
            s3_allow_http: true,
            ..LakeSettings::default()
        },
        jobs: JobSettings {
            model_refresh_s: 1,
            ..JobSettings::default()
        },
        ..test_config(&dir.path().join(name))
    };
    let a = spawn_app(replica("a"), &[&part]).await;
    // The second starts from the store the first imported into.
    let b = spawn_app(replica("b"), &[]).await;
    let listed = a
        .query("{ tracks(first: 5) { edges { node { id } } } }", json!({}))
        .await;
    let seeds: Value = listed["data"]["tracks"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|t| t["node"]["id"].clone())
        .collect();
    let from_lists = continuation(&a, &seeds).await;
    assert!(!from_lists.is_empty(), "the seeds share playlists");
    assert_eq!(continuation(&b, &seeds).await, from_lists);
    assert_eq!(model_in_use(&b).await, Value::Null);

    // One neighbour per track recommends differently from the lists.
    let job = run(
        &a,
        "CO_OCCURRENCE_MODEL",
        json!({ "neighbours": 1 }),
        "EMBEDDED",
    )
    .await;
    assert_eq!(job["state"], "SUCCEEDED", "{job}");
    // Kept in the lake, whole, under the job's id.
    let copy = dir.path().join("models");
    let copy_arg = copy.to_string_lossy().into_owned();
    let downloaded = s3(&endpoint, &["download", &bucket, "lake/models", &copy_arg]).await;
    assert_eq!(downloaded.unwrap()["objects"], 1);
    let kept = copy
        .join("co_occurrence")
        .join(format!("{}.nbt", job["id"].as_str().unwrap()));
    let table = Neighbours::decode(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(json!(table.pair_count()), job["result"]["pairs"]);
    assert_eq!(model_in_use(&a).await, job["id"]);
    let from_model = continuation(&a, &seeds).await;
    assert_ne!(from_model, from_lists);

    // The other replica finds it in the store and the lake by itself.
    let deadline = Instant::now() + Duration::from_secs(120);
    while model_in_use(&b).await != job["id"] {
        assert!(
            Instant::now() < deadline,
            "the second replica never loaded {}",
            job["id"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(continuation(&b, &seeds).await, from_model);
    a.stop().await;
    b.stop().await;
}
