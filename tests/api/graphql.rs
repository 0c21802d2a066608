//! The GraphQL API over HTTP against synthetic tracks.

use serde_json::{json, Value};

use crate::helpers::{data_dir, spawn_app_in, synthetic_csv, track_id, TestApp};

async fn app_with(n: usize) -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), n);
    let app = spawn_app_in(&dir.path().join("data"), &[&csv]).await;
    (app, dir)
}

const SIMILAR: &str = r#"query($id: ID, $f: FeaturesInput, $first: Int!, $filter: TrackFilter) {
  similar(trackId: $id, features: $f, first: $first, filter: $filter) {
    score distance
    track { id genres features { energy } }
    explanation { closest { feature } farthest { feature unit seedValue value difference share } }
  }
}"#;

fn results(body: &Value) -> &Vec<Value> {
    body["data"]["similar"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
}

#[tokio::test]
async fn similar_excludes_the_seed_and_ranks_by_score() {
    let (app, _dir) = app_with(300).await;
    let seed = track_id(150);
    let body = app.query(SIMILAR, json!({ "id": seed, "first": 10 })).await;
    let found = results(&body);
    assert_eq!(found.len(), 10, "{body}");
    assert!(found.iter().all(|r| r["track"]["id"] != seed.as_str()));
    let scores: Vec<f64> = found.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores.iter().all(|s| *s > 0.0 && *s <= 1.0));
    let far = &found[0]["explanation"]["farthest"][0];
    assert!(
        far["unit"].is_string() && far["share"].as_f64().unwrap() <= 1.0,
        "{far}"
    );
}

#[tokio::test]
async fn a_filter_restricts_similar_without_shortening_it() {
    let (app, _dir) = app_with(300).await;
    let filter = json!({ "genres": ["EDM"], "releaseYear": { "min": 1990 } });
    let body = app
        .query(
            SIMILAR,
            json!({ "id": track_id(1), "first": 20, "filter": filter }),
        )
        .await;
    let found = results(&body);
    assert_eq!(found.len(), 20, "{body}");
    assert!(found.iter().all(|r| r["track"]["genres"] == json!(["edm"])));
}

#[tokio::test]
async fn similar_by_features_finds_the_matching_end_of_the_catalog() {
    let (app, _dir) = app_with(300).await;
    let body = app
        .query(
            SIMILAR,
            json!({ "f": { "energy": 0.0, "acousticness": 1.0 }, "first": 5 }),
        )
        .await;
    let found = results(&body);
    assert_eq!(found.len(), 5);
    // Omitted features count as the catalog average, so the nearest tracks
    // are the low-energy end of an otherwise average catalogue.
    for r in found {
        assert!(
            r["track"]["features"]["energy"].as_f64().unwrap() < 0.3,
            "{body}"
        );
    }
    // Only the features asked for are explained.
    let explained = found[0]["explanation"]["closest"].as_array().unwrap().len();
    assert_eq!(explained, 2);
}

#[tokio::test]
async fn errors_carry_codes() {
    let (app, _dir) = app_with(30).await;
    let cases = [
        (
            SIMILAR,
            json!({ "id": "zzzzzzzzzzzzzzzzzzzzzz", "first": 3 }),
            "TRACK_NOT_FOUND",
        ),
        (
            SIMILAR,
            json!({ "id": "not-an-id", "first": 3 }),
            "INVALID_ARGUMENT",
        ),
        (
            SIMILAR,
            json!({ "id": track_id(1), "first": 101 }),
            "INVALID_ARGUMENT",
        ),
        (SIMILAR, json!({ "first": 3 }), "INVALID_ARGUMENT"),
        (
            SIMILAR,
            json!({ "f": { "energy": 2.0 }, "first": 3 }),
            "INVALID_ARGUMENT",
        ),
        (
            SIMILAR,
            json!({ "id": track_id(1), "first": 3, "filter": { "popularity": { "min": 50, "max": 10 } } }),
            "INVALID_ARGUMENT",
        ),
        (
            "{ track(id: \"zzzzzzzzzzzzzzzzzzzzzz\") { id } }",
            json!({}),
            "TRACK_NOT_FOUND",
        ),
        (
            "{ genre(name: \"polka\") { name } }",
            json!({}),
            "GENRE_NOT_FOUND",
        ),
        (
            "{ similar(first: \"ten\") { score } }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ nope }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        ("{ similar(", json!({}), "GRAPHQL_PARSE_FAILED"),
        (
            "{ tracks(after: \"bad\") { totalCount } }",
            json!({}),
            "INVALID_ARGUMENT",
        ),
    ];
    for (query, vars, code) in cases {
        assert_eq!(
            app.error_code(query, vars.clone()).await,
            code,
            "{query} {vars}"
        );
    }
}

#[tokio::test]
async fn expensive_queries_are_refused() {
    let (app, _dir) = app_with(30).await;
    let one =
        "tracks(first: 100) { edges { node { id name artists genres features { energy } } } }";
    let query = format!(
        "{{ {} }}",
        (0..12)
            .map(|i| format!("a{i}: {one}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(app.error_code(&query, json!({})).await, "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn a_request_that_is_not_graphql_gets_a_coded_400() {
    let (app, _dir) = app_with(3).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn tracks_pages_do_not_overlap_and_count_all_matches() {
    let (app, _dir) = app_with(90).await;
    let query = r#"query($after: String) {
      tracks(first: 20, after: $after, filter: { genres: ["rock"] }) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id genres } }
      }
    }"#;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app.query(query, json!({ "after": after })).await;
        let conn = &body["data"]["tracks"];
        assert_eq!(conn["totalCount"], 30, "{body}");
        for edge in conn["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["genres"], json!(["rock"]));
            seen.push(edge["node"]["id"].as_str().unwrap().to_string());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (30, 30));
}

#[tokio::test]
async fn genres_have_counts_subgenres_and_feature_profiles() {
    let (app, _dir) = app_with(90).await;
    let body = app
        .query(
            r#"{ genres { name trackCount }
                 rock: genre(name: "Rock") { trackCount subgenres { name trackCount }
                   popularity { mean } feature(name: TEMPO) { unit mean stdDev min max } }
                 subs: genres(level: SUBGENRE) { name } }"#,
            json!({}),
        )
        .await;
    let data = &body["data"];
    let total: i64 = data["genres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["trackCount"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 90, "{body}");
    assert_eq!(data["rock"]["trackCount"], 30);
    assert_eq!(
        data["rock"]["subgenres"],
        json!([{ "name": "hard rock", "trackCount": 30 }])
    );
    let tempo = &data["rock"]["feature"];
    assert_eq!(tempo["unit"], "BPM");
    assert!(tempo["min"].as_f64().unwrap() <= tempo["mean"].as_f64().unwrap());
    assert_eq!(data["subs"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn discover_genres_suggests_only_new_genres_with_evidence() {
    let (app, _dir) = app_with(90).await;
    let body = app
        .query(
            r#"query($ids: [ID!]) { discoverGenres(seed: { trackIds: $ids }, first: 5, evidence: 2) {
                 genre score reason tracks { score track { id genres } } } }"#,
            json!({ "ids": [track_id(0)] }),
        )
        .await;
    let found = body["data"]["discoverGenres"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    let names: Vec<&str> = found.iter().map(|g| g["genre"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{body}");
    assert!(
        !names.contains(&"rock"),
        "the seed's own genre is suggested: {names:?}"
    );
    for g in found {
        assert_eq!(g["tracks"].as_array().unwrap().len(), 2);
        assert!(g["reason"].as_str().unwrap().contains("taste"));
        let genre = g["genre"].as_str().unwrap();
        assert!(g["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["track"]["genres"][0] == genre));
    }
}

#[tokio::test]
async fn queries_work_over_get_and_browsers_get_graphiql() {
    let (app, _dir) = app_with(3).await;
    let body = app.get_json("/graphql?query={catalog{tracks}}").await;
    assert_eq!(body["data"]["catalog"]["tracks"], 3);
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql"), "{page}");
}

#[tokio::test]
async fn probes_answer() {
    let (app, _dir) = app_with(3).await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["store"]["kind"], "embedded");
    assert_eq!(ready["tracks"], 3);
}

/// Searches copy only the parts of a track the query selects: every part
/// it does select, directly or through a fragment, must come back whole.
#[tokio::test]
async fn results_carry_every_track_part_the_query_selects() {
    let (app, _dir) = app_with(200).await;
    let full = "fragment Full on Track { id name artists album { id name releaseDate } genres subgenres playlists { id name genre } }";
    let searched = format!(
        "query($id: ID!) {{ similar(trackId: $id, first: 5) {{ track {{ ...Full }} }} \
         recommend(input: {{ seeds: {{ trackIds: [$id] }}, first: 5 }}) {{ track {{ ... on Track {{ ...Full }} }} }} }} {full}"
    );
    let body = app.query(&searched, json!({ "id": track_id(7) })).await;
    let tracks: Vec<&Value> = ["similar", "recommend"]
        .iter()
        .flat_map(|field| {
            body["data"][*field]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
        })
        .map(|r| &r["track"])
        .collect();
    assert_eq!(tracks.len(), 10, "{body}");
    let lookup = format!("query($id: ID!) {{ track(id: $id) {{ ...Full }} }} {full}");
    for found in tracks {
        let alone = app.query(&lookup, json!({ "id": found["id"] })).await;
        assert_eq!(found, &alone["data"]["track"]);
        assert!(found["album"]["name"].is_string() && found["playlists"][0]["id"].is_string());
    }
    // Without those parts selected the answer has none of them.
    let lean = app
        .query(
            "query($id: ID!) { similar(trackId: $id, first: 3) { track { id name } } }",
            json!({ "id": track_id(7) }),
        )
        .await;
    assert_eq!(
        lean["data"]["similar"][0]["track"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
}
