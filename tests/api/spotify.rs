//! `timbre extract` against a loopback server that answers in the Web
//! API's documented shapes: paging, a 429 with `Retry-After`, a 5xx, 401,
//! 403, 404 and a malformed body, and a features provider for an app that
//! the Web API refuses audio features.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use timbre::application;
use timbre::config::{Config, LakeSettings, Secret, SpotifySettings};
use timbre::lake::Lake;
use timbre::spotify::Target;

use crate::helpers::{data_dir, test_config};

const ID: &str = "client-id";
const SECRET: &str = "client-secret-0123456789";

/// What the fake API has served, by path.
#[derive(Default)]
struct Calls(parking_lot::Mutex<HashMap<String, usize>>);

impl Calls {
    /// Counts a call of `path`; returns how many there were before.
    fn count(&self, path: &str) -> usize {
        let mut calls = self.0.lock();
        let n = calls.entry(path.to_string()).or_default();
        *n += 1;
        *n - 1
    }

    fn of(&self, path: &str) -> usize {
        self.0.lock().get(path).copied().unwrap_or(0)
    }
}

fn track_id(i: usize) -> String {
    format!("sp{i:020}")
}

fn track(i: usize, album: bool) -> Value {
    let mut t = json!({
        "id": track_id(i), "name": format!("Song {i}"), "type": "track",
        "artists": [{ "id": "ar1", "name": "The Loopbacks" }], "explicit": false,
    });
    if album {
        t["album"] = json!({ "id": "al1", "name": "Loop", "release_date": "2021-03-04" });
    }
    t
}

fn features(i: usize) -> Value {
    json!({ "id": track_id(i), "danceability": 0.5, "energy": 0.1 * (i % 10) as f64,
        "key": 5, "loudness": -6.0, "mode": 1, "speechiness": 0.05, "acousticness": 0.2,
        "instrumentalness": 0.0, "liveness": 0.1, "valence": 0.4, "tempo": 118.0,
        "duration_ms": 200_000, "time_signature": 4, "type": "audio_features" })
}

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({ "error": { "status": status, "message": message } }))
}

async fn api(
    req: HttpRequest,
    calls: web::Data<Arc<Calls>>,
    base: web::Data<String>,
) -> HttpResponse {
    let path = req.path().to_string();
    let before = calls.count(&path);
    if path == "/api/token" {
        let expected = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{ID}:{SECRET}")
            )
        );
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        return if given == Some(expected.as_str()) {
            HttpResponse::Ok()
                .json(json!({ "access_token": "tok", "token_type": "Bearer", "expires_in": 3600 }))
        } else {
            HttpResponse::BadRequest()
                .json(json!({ "error": "invalid_client", "error_description": "Invalid client" }))
        };
    }
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some("Bearer tok")
    {
        return error(401, "No token provided");
    }
    let base = base.get_ref();
    match path.as_str() {
        // A track whose first answer is a server error.
        p if p == format!("/v1/tracks/{}", track_id(1)) => {
            if before == 0 {
                error(502, "Bad gateway")
            } else {
                HttpResponse::Ok().json(track(1, true))
            }
        }
        "/v1/albums/al1" => HttpResponse::Ok().json(json!({
            "id": "al1", "name": "Loop", "release_date": "2021-03-04",
            "tracks": { "items": [track(2, false), track(3, false)],
                        "next": format!("{base}/v1/albums/al1/tracks?offset=2&limit=2") }
        })),
        // The second page is rate limited once.
        "/v1/albums/al1/tracks" => {
            if before == 0 {
                HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", "1"))
                    .json(
                        json!({ "error": { "status": 429, "message": "API rate limit exceeded" } }),
                    )
            } else {
                HttpResponse::Ok().json(json!({ "items": [track(4, false)], "next": null }))
            }
        }
        "/v1/albums/gone" => error(404, "Non existing id"),
        "/v1/albums/private" => error(403, "Forbidden"),
        "/v1/playlists/pl1" => HttpResponse::Ok().json(json!({
            "id": "pl1", "name": "Loopback Mix",
            "tracks": { "items": [{ "track": track(5, true) }, { "track": track(6, true) },
                                  { "track": { "type": "episode", "id": "ep1" } }], "next": null }
        })),
        "/v1/playlists/broken" => HttpResponse::Ok()
            .content_type("application/json")
            .body("{\"id\": \"broken\", \"tracks\": ["),
        p if p.starts_with("/v1/audio-features/") => error(
            403,
            "Insufficient client scope: audio features are not available to this app",
        ),
        p if p.starts_with("/features/") => {
            let id = &p["/features/".len()..];
            let i: usize = id.trim_start_matches("sp").parse().unwrap_or(0);
            if i == 6 {
                error(404, "no features for this track")
            } else {
                HttpResponse::Ok().json(features(i))
            }
        }
        _ => error(404, "Not found"),
    }
}

/// The fake API on a free port; its base URL and call counts.
fn serve() -> (String, Arc<Calls>) {
    let calls = Arc::new(Calls::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (data, url) = (Arc::clone(&calls), base.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Arc::clone(&data)))
            .app_data(web::Data::new(url.clone()))
            .default_service(web::route().to(api))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, calls)
}

fn settings(base: &str, secret: &str) -> SpotifySettings {
    SpotifySettings {
        client_id: Some(ID.into()),
        client_secret: Some(Secret(secret.into())),
        api_url: format!("{base}/v1"),
        token_url: format!("{base}/api/token"),
        features_url: Some(format!("{base}/features")),
        ..SpotifySettings::default()
    }
}

fn targets(list: &[&str]) -> Vec<Target> {
    list.iter().map(|t| Target::parse(t).unwrap()).collect()
}

#[tokio::test]
async fn an_extract_rides_out_errors_keeps_raw_responses_and_resumes() {
    let (base, calls) = serve();
    let dir = data_dir();
    let config: Config = test_config(&dir.path().join("data"));
    let (service, _) = application::open_service(&config).await.unwrap();
    let lake_dir = dir.path().join("lake");
    let lake = Lake::open(&lake_dir.to_string_lossy(), &LakeSettings::default()).unwrap();
    let spotify = settings(&base, SECRET);
    let wanted = targets(&[
        &format!("spotify:track:{}", track_id(1)),
        "spotify:album:al1",
        "https://open.spotify.com/playlist/pl1?si=abc",
        "spotify:album:gone",
        "spotify:album:private",
        "spotify:playlist:broken",
    ]);

    let report = application::extract(&service, &spotify, &lake, wanted.clone())
        .await
        .unwrap();
    // Tracks 1-6 found; 6 has no features anywhere.
    assert_eq!(report.import.tracks, 5, "{report:?}");
    assert_eq!(report.without_features, vec![track_id(6)]);
    assert!(report.web_api_features_refused);
    assert_eq!(report.feature_sources, (0, 5));
    assert_eq!(service.len(), 5);
    let on_playlist = service
        .track_in_memory(&track_id(5).parse().unwrap())
        .unwrap();
    assert_eq!(
        on_playlist.playlists[0].name.as_deref(),
        Some("Loopback Mix")
    );
    let from_album = service
        .track_in_memory(&track_id(4).parse().unwrap())
        .unwrap();
    assert_eq!(
        from_album.album.name.as_deref(),
        Some("Loop"),
        "simplified tracks get their album"
    );
    // Each failing target is named with its URL and status; the rest went on.
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|(w, e)| format!("{w}: {e}"))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("/v1/albums/gone")
            && e.contains("404")
            && e.contains("Non existing id")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("/v1/albums/private") && e.contains("403")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("/v1/playlists/broken") && e.contains("not the JSON")),
        "{errors:?}"
    );
    assert!(report.errors.iter().all(|(_, e)| !e.is_fatal()));
    // The 5xx and the 429 were retried.
    assert_eq!(calls.of(&format!("/v1/tracks/{}", track_id(1))), 2);
    assert_eq!(calls.of("/v1/albums/al1/tracks"), 2);
    // Every response is in the raw zone as received, the refusals included.
    let raw = lake.list("raw/spotify").await.unwrap();
    for endpoint in [
        "tracks",
        "albums",
        "playlists",
        "audio-features",
        "features",
    ] {
        assert!(
            raw.iter()
                .any(|f| f.contains(&format!("raw/spotify/{endpoint}/fetch_date="))),
            "{endpoint}: {raw:?}"
        );
    }
    let text: String = raw
        .iter()
        .map(|f| std::fs::read_to_string(lake_dir.join(f)).unwrap())
        .collect();
    assert!(
        text.contains("\"status\":429") && text.contains("\"status\":403"),
        "{text}"
    );
    assert_eq!(text.lines().count(), report.raw_responses);

    // A rerun skips what the catalogue holds: no features fetched again.
    let provider_calls = calls.of(&format!("/features/{}", track_id(2)));
    let again = application::extract(&service, &spotify, &lake, wanted)
        .await
        .unwrap();
    assert_eq!(again.skipped, 5);
    assert_eq!(again.import.tracks, 0);
    assert_eq!(
        calls.of(&format!("/features/{}", track_id(2))),
        provider_calls
    );
}

#[tokio::test]
async fn bad_credentials_stop_the_run_with_a_clear_message_and_no_secret() {
    let (base, _) = serve();
    let dir = data_dir();
    let data = dir.path().join("data");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_timbre"))
            .args(["extract", "--data-dir"])
            .arg(&data)
            .arg("spotify:album:al1")
            .env("TIMBRE_SPOTIFY__API_URL", format!("{base}/v1"))
            .env("TIMBRE_SPOTIFY__TOKEN_URL", format!("{base}/api/token"))
            .env("SPOTIFY_CLIENT_ID", ID)
            .env("SPOTIFY_CLIENT_SECRET", "the-wrong-secret-42")
            .env_remove("TIMBRE_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Spotify refused the app's credentials"),
        "{stderr}"
    );
    assert!(stderr.contains("Invalid client"), "{stderr}");
    assert!(
        !stderr.contains("the-wrong-secret-42"),
        "the secret never shows: {stderr}"
    );
}
