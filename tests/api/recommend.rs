//! `recommend`, `recommendForPlaylist` and `discoverGenres`' seeds over
//! HTTP: on synthetic tracks (see `synthetic_csv`: track i has energy i/n
//! and tempo 90 + 60 i/n, artist and album i % 40, genre and playlist
//! i % 3), on a small catalog of four genres, and on the shared dataset.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::{data_dir, shared_dataset, spawn_app_in, synthetic_csv, track_id, TestApp};

const RECOMMEND: &str = r#"query($input: RecommendInput!) {
  recommend(input: $input) {
    score distance
    track { id artists genres popularity album { id name releaseYear } features { energy tempo danceability } }
    because { kind name id }
    explanation {
      closest { feature unit seedValue value difference share }
      all { feature unit seedValue value difference share }
    }
  }
}"#;

const FOR_PLAYLIST: &str = r#"query($playlist: ID, $ids: [ID!], $first: Int!, $filter: TrackFilter) {
  recommendForPlaylist(playlistId: $playlist, trackIds: $ids, first: $first, filter: $filter) {
    score source coOccurrence content
    track { id genres playlists { id } }
  }
}"#;

const DISCOVER: &str = r#"query($seed: TasteSeed!) {
  discoverGenres(seed: $seed, first: 5, evidence: 2) {
    genre score reason
    tracks { track { id genres } }
  }
}"#;

async fn synthetic(n: usize) -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), n);
    let app = spawn_app_in(&dir.path().join("data"), &[&csv]).await;
    (app, dir)
}

/// The `recommend` list of a successful answer.
async fn recommend(app: &TestApp, input: Value) -> Vec<Value> {
    let body = app.query(RECOMMEND, json!({ "input": input })).await;
    body["data"]["recommend"]
        .as_array()
        .unwrap_or_else(|| panic!("no recommendations in {body}"))
        .clone()
}

/// The `recommendForPlaylist` list of a successful answer.
async fn for_playlist(app: &TestApp, variables: Value) -> Vec<Value> {
    let body = app.query(FOR_PLAYLIST, variables).await;
    body["data"]["recommendForPlaylist"]
        .as_array()
        .unwrap_or_else(|| panic!("no continuation in {body}"))
        .clone()
}

fn id_of(r: &Value) -> &str {
    r["track"]["id"].as_str().unwrap()
}

fn feature(r: &Value, name: &str) -> f64 {
    r["track"]["features"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no {name} in {r}"))
}

/// Whether `x` lies within `lo..=hi`, allowing for the f32 the server
/// keeps features in.
fn within(x: f64, lo: f64, hi: f64) -> bool {
    x >= lo - 1e-6 && x <= hi + 1e-6
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let xs: Vec<f64> = xs.collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[tokio::test]
async fn recommend_by_tracks_with_avoid_target_and_bounds() {
    let (app, _dir) = synthetic(300).await;
    let (a, b, avoid) = (track_id(150), track_id(160), track_id(200));
    let found = recommend(
        &app,
        json!({
            "seeds": { "trackIds": [a, b] },
            "avoid": { "trackIds": [avoid] },
            "target": { "danceability": 0.5 },
            "min": { "tempo": 110, "energy": 0.3 },
            "max": { "tempo": 130, "energy": 0.6 },
            "first": 15
        }),
    )
    .await;
    // About 80 tracks lie within the bounds: the list is full.
    assert_eq!(found.len(), 15);
    let scores: Vec<f64> = found.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.iter().all(|s| *s > 0.0 && *s <= 1.0), "{scores:?}");
    for r in &found {
        assert!(within(feature(r, "tempo"), 110.0, 130.0), "{r}");
        assert!(within(feature(r, "energy"), 0.3, 0.6), "{r}");
        assert!(
            ![a.as_str(), b.as_str(), avoid.as_str()].contains(&id_of(r)),
            "{r}"
        );
        // Every result names one of the two seeds, and explains itself
        // against it in the features' units, with the target in place.
        assert_eq!(r["because"]["kind"], "TRACK", "{r}");
        let because = r["because"]["id"].as_str().unwrap();
        assert!(because == a || because == b, "{r}");
        assert!(r["because"]["name"].as_str().unwrap().contains(" by "));
        let all = r["explanation"]["all"].as_array().unwrap();
        assert!(all.len() >= 10, "{r}");
        let unit = |f: &str| all.iter().find(|c| c["feature"] == f).unwrap()["unit"].clone();
        assert_eq!(unit("TEMPO"), "BPM");
        assert_eq!(unit("LOUDNESS"), "dB");
        let dance = all.iter().find(|c| c["feature"] == "DANCEABILITY").unwrap();
        assert!(
            (dance["seedValue"].as_f64().unwrap() - 0.5).abs() < 1e-9,
            "{dance}"
        );
        for c in all {
            let (s, v, d) = (&c["seedValue"], &c["value"], &c["difference"]);
            assert!((v.as_f64().unwrap() - s.as_f64().unwrap() - d.as_f64().unwrap()).abs() < 1e-6);
        }
        assert_eq!(r["explanation"]["closest"].as_array().unwrap().len(), 3);
    }
    // The negative seed sits above: results lean below the seeds' mean.
    let plain = recommend(
        &app,
        json!({ "seeds": { "trackIds": [a, b] }, "first": 15 }),
    )
    .await;
    let energy = |list: &[Value]| mean(list.iter().map(|r| feature(r, "energy")));
    assert!(
        energy(&found) < energy(&plain),
        "{} vs {}",
        energy(&found),
        energy(&plain)
    );
}

#[tokio::test]
async fn a_shift_makes_results_more_energetic() {
    let (app, _dir) = synthetic(300).await;
    let seeds = json!({ "trackIds": [track_id(60), track_id(63)] });
    let plain = recommend(&app, json!({ "seeds": seeds, "first": 10 })).await;
    let shifted = recommend(
        &app,
        json!({ "seeds": seeds, "shift": { "energy": 0.3 }, "first": 10 }),
    )
    .await;
    let energy = |list: &[Value]| mean(list.iter().map(|r| feature(r, "energy")));
    assert!(
        energy(&shifted) > energy(&plain) + 0.05,
        "{} vs {}",
        energy(&shifted),
        energy(&plain)
    );
    // The explanation compares with the shifted values.
    let seed_energy = shifted[0]["explanation"]["all"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "ENERGY")
        .unwrap()["seedValue"]
        .as_f64()
        .unwrap();
    assert!(seed_energy > 0.45, "{}", shifted[0]);
}

#[tokio::test]
async fn recommend_by_album_name_or_id() {
    let (app, _dir) = synthetic(300).await;
    let by_name = recommend(
        &app,
        json!({ "seeds": { "albums": ["album 7"] }, "first": 8 }),
    )
    .await;
    let by_id = recommend(&app, json!({ "seeds": { "albums": ["alb7"] }, "first": 8 })).await;
    assert_eq!(by_name.len(), 8);
    let ids = |l: &[Value]| l.iter().map(|r| id_of(r).to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&by_name), ids(&by_id));
    for r in &by_name {
        assert_eq!(
            r["because"],
            json!({ "kind": "ALBUM", "name": "Album 7", "id": "alb7" }),
            "{r}"
        );
    }
}

#[tokio::test]
async fn recommend_by_artist_never_returns_excluded_artists() {
    let (app, _dir) = synthetic(300).await;
    let found = recommend(
        &app,
        json!({
            "seeds": { "artists": ["artist 5"] },
            "filter": { "excludeArtists": ["ARTIST 5", "Artist 6"] },
            "maxPerArtist": 1,
            "first": 12
        }),
    )
    .await;
    assert_eq!(found.len(), 12);
    let mut per_artist: HashMap<String, usize> = HashMap::new();
    for r in &found {
        let artist = r["track"]["artists"][0].as_str().unwrap().to_string();
        assert!(artist != "Artist 5" && artist != "Artist 6", "{r}");
        *per_artist.entry(artist).or_default() += 1;
        assert_eq!(r["because"]["kind"], "ARTIST");
        assert_eq!(r["because"]["name"], "Artist 5");
        assert!(r["because"]["id"].is_null());
    }
    assert!(per_artist.values().all(|n| *n == 1), "{per_artist:?}");
}

#[tokio::test]
async fn recommend_by_genre_with_filters_and_diversity() {
    let (app, _dir) = synthetic(300).await;
    let input = |diversity: f64| {
        json!({
            "seeds": { "genres": ["EDM"] },
            "filter": {
                "genres": ["pop"],
                "releaseYear": { "min": 1990, "max": 2010 },
                "popularity": { "min": 20 }
            },
            "diversity": diversity,
            "first": 10
        })
    };
    let relevance = recommend(&app, input(0.0)).await;
    let diverse = recommend(&app, input(0.7)).await;
    for r in relevance.iter().chain(&diverse) {
        assert_eq!(r["track"]["genres"], json!(["pop"]), "{r}");
        let year = r["track"]["album"]["releaseYear"].as_i64().unwrap();
        assert!((1990..=2010).contains(&year), "{r}");
        assert!(r["track"]["popularity"].as_i64().unwrap() >= 20, "{r}");
        assert_eq!(r["because"]["kind"], "GENRE");
        assert_eq!(r["because"]["name"], "edm");
    }
    assert_eq!(relevance.len(), 10);
    assert_eq!(diverse.len(), 10);
    let distances: Vec<f64> = relevance
        .iter()
        .map(|r| r["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    let ids = |l: &[Value]| l.iter().map(|r| id_of(r).to_string()).collect::<Vec<_>>();
    assert_ne!(ids(&relevance), ids(&diverse));
}

#[tokio::test]
async fn recommend_and_recommend_for_playlist_refuse_with_codes() {
    let (app, _dir) = synthetic(60).await;
    let seeds = json!({ "trackIds": [track_id(1)] });
    let cases = [
        (json!({ "first": 5 }), "INVALID_ARGUMENT"),
        (json!({ "seeds": {}, "first": 5 }), "INVALID_ARGUMENT"),
        (
            json!({ "seeds": seeds, "diversity": 2 }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "seeds": seeds, "maxPerArtist": 0 }),
            "INVALID_ARGUMENT",
        ),
        (json!({ "seeds": seeds, "first": 0 }), "INVALID_ARGUMENT"),
        (json!({ "seeds": seeds, "first": 101 }), "INVALID_ARGUMENT"),
        (
            json!({ "seeds": seeds, "min": { "tempo": 130 }, "max": { "tempo": 120 } }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "seeds": seeds, "shift": { "energy": 5 } }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "seeds": { "artists": ["Nobody"] } }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "seeds": { "albums": ["No Album"] } }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "seeds": { "trackIds": ["bad id"] } }),
            "INVALID_ARGUMENT",
        ),
        (
            json!({ "seeds": { "trackIds": ["zzzzzzzzzzzzzzzzzzzzzz"] } }),
            "TRACK_NOT_FOUND",
        ),
        (
            json!({ "seeds": seeds, "avoid": { "trackIds": ["zzzzzzzzzzzzzzzzzzzzzz"] } }),
            "TRACK_NOT_FOUND",
        ),
        (
            json!({ "seeds": { "genres": ["polka"] } }),
            "GENRE_NOT_FOUND",
        ),
    ];
    for (input, code) in cases {
        let vars = json!({ "input": input });
        assert_eq!(
            app.error_code(RECOMMEND, vars.clone()).await,
            code,
            "{vars}"
        );
    }
    let playlist_cases = [
        (
            json!({ "playlist": "no-such-list", "first": 5 }),
            "PLAYLIST_NOT_FOUND",
        ),
        (json!({ "first": 5 }), "INVALID_ARGUMENT"),
        (
            json!({ "playlist": "pl0", "ids": [track_id(1)], "first": 5 }),
            "INVALID_ARGUMENT",
        ),
        (json!({ "ids": [], "first": 5 }), "INVALID_ARGUMENT"),
        (json!({ "playlist": "pl0", "first": 0 }), "INVALID_ARGUMENT"),
        (json!({ "ids": ["bad id"], "first": 5 }), "INVALID_ARGUMENT"),
    ];
    for (vars, code) in playlist_cases {
        assert_eq!(
            app.error_code(FOR_PLAYLIST, vars.clone()).await,
            code,
            "{vars}"
        );
    }
}

#[tokio::test]
async fn recommend_for_playlist_never_returns_what_the_playlist_holds() {
    let (app, _dir) = synthetic(300).await;
    // Playlist pl0 holds every rock track (i % 3 == 0).
    let found = for_playlist(&app, json!({ "playlist": "pl0", "first": 20 })).await;
    assert_eq!(found.len(), 20);
    for r in &found {
        let lists = &r["track"]["playlists"];
        assert!(
            !lists.as_array().unwrap().iter().any(|p| p["id"] == "pl0"),
            "{r}"
        );
        let score = r["score"].as_f64().unwrap();
        assert!((0.0..=1.0 + 1e-6).contains(&score), "{r}");
        assert!(["CONTENT", "CO_OCCURRENCE"].contains(&r["source"].as_str().unwrap()));
    }
    let scores: Vec<f64> = found.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Any set of tracks: none of them comes back, and a filter holds.
    let seeds = [track_id(10), track_id(11), track_id(12)];
    let found = for_playlist(
        &app,
        json!({ "ids": seeds, "first": 15, "filter": { "genres": ["edm"] } }),
    )
    .await;
    assert_eq!(found.len(), 15);
    for r in &found {
        assert!(!seeds.contains(&id_of(r).to_string()), "{r}");
        assert_eq!(r["track"]["genres"], json!(["edm"]), "{r}");
    }
}

/// A CSV in the shared dataset's shape: six tracks in each of four
/// genres, from quiet (ambient) to loud (metal), one album and one
/// playlist per genre.
fn four_genres(dir: &Path) -> PathBuf {
    let mut text = String::from(
        "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms\n",
    );
    for (g, (genre, energy)) in [
        ("ambient", 0.1),
        ("folk", 0.3),
        ("pop", 0.6),
        ("metal", 0.95),
    ]
    .into_iter()
    .enumerate()
    {
        for k in 0..6 {
            let e = energy + 0.005 * k as f64;
            text.push_str(&format!(
                "g{g}{k:020},{genre} song {k},{genre} band,50,alb{genre},{genre} album,2001,{genre} list,pl{genre},{genre},{genre},0.5,{e:.3},5,{loud:.1},1,0.05,{ac:.3},0.1,0.1,0.5,120,200000\n",
                loud = -20.0 + 15.0 * e,
                ac = 1.0 - e,
            ));
        }
    }
    let path = dir.join("genres.csv");
    std::fs::write(&path, text).expect("CSV written");
    path
}

#[tokio::test]
async fn discover_genres_takes_albums_and_feature_sets() {
    let dir = data_dir();
    let csv = four_genres(dir.path());
    let app = spawn_app_in(&dir.path().join("data"), &[&csv]).await;
    let genres = |body: &Value| -> Vec<String> {
        body["data"]["discoverGenres"]
            .as_array()
            .unwrap_or_else(|| panic!("no suggestions in {body}"))
            .iter()
            .map(|s| s["genre"].as_str().unwrap().to_string())
            .collect()
    };
    // An album's genre is known already; the nearest new one comes first.
    let body = app
        .query(DISCOVER, json!({ "seed": { "albums": ["AMBIENT ALBUM"] } }))
        .await;
    assert_eq!(genres(&body), ["folk", "pop", "metal"], "{body}");
    let first = &body["data"]["discoverGenres"][0];
    assert_eq!(first["tracks"].as_array().unwrap().len(), 2);
    assert!(
        first["reason"].as_str().unwrap().contains("folk song"),
        "{first}"
    );

    // A set of loud feature values lies nearest metal.
    let body = app
        .query(
            DISCOVER,
            json!({ "seed": { "features": [{ "energy": 0.95, "loudness": -6, "acousticness": 0.05 }] } }),
        )
        .await;
    assert_eq!(genres(&body)[0], "metal", "{body}");
    assert_eq!(genres(&body).len(), 4);

    // Album and features together: the album's genre drops out.
    let body = app
        .query(
            DISCOVER,
            json!({ "seed": { "albums": ["albmetal"], "features": [{ "energy": 0.3 }] } }),
        )
        .await;
    assert!(!genres(&body).contains(&"metal".to_string()), "{body}");
    assert_eq!(
        app.error_code(DISCOVER, json!({ "seed": { "albums": ["nothing"] } }))
            .await,
        "INVALID_ARGUMENT"
    );
}

#[tokio::test]
async fn recommendations_on_the_shared_dataset() {
    let Some(path) = shared_dataset() else { return };
    let dir = data_dir();
    let app = spawn_app_in(&dir.path().join("data"), &[&path]).await;

    // A real playlist: the first listed track's first.
    let body = app
        .query(
            "{ tracks(first: 1) { edges { node { playlists { id } } } } }",
            json!({}),
        )
        .await;
    let playlist = body["data"]["tracks"]["edges"][0]["node"]["playlists"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no playlist in {body}"))
        .to_string();
    let found = for_playlist(&app, json!({ "playlist": playlist, "first": 30 })).await;
    assert_eq!(found.len(), 30);
    for r in &found {
        let lists = r["track"]["playlists"].as_array().unwrap();
        assert!(!lists.iter().any(|p| p["id"] == playlist.as_str()), "{r}");
    }
    let scores: Vec<f64> = found.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // "Rock, between 120 and 130 BPM, at most two per artist, varied."
    let found = recommend(
        &app,
        json!({
            "seeds": { "genres": ["rock"] },
            "min": { "tempo": 120 },
            "max": { "tempo": 130 },
            "filter": { "genres": ["rock"] },
            "maxPerArtist": 2,
            "diversity": 0.3,
            "first": 40
        }),
    )
    .await;
    assert_eq!(found.len(), 40);
    let mut per_artist: HashMap<String, usize> = HashMap::new();
    for r in &found {
        assert!(within(feature(r, "tempo"), 120.0, 130.0), "{r}");
        assert!(r["track"]["genres"]
            .as_array()
            .unwrap()
            .contains(&json!("rock")));
        *per_artist
            .entry(r["track"]["artists"][0].as_str().unwrap().to_lowercase())
            .or_default() += 1;
    }
    assert!(per_artist.values().all(|n| *n <= 2), "{per_artist:?}");
}
