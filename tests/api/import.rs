//! Importing: the shared dataset, a URL on loopback, the CLI's summary and
//! exit codes.

use std::process::Command;

use actix_web::{web, App, HttpResponse, HttpServer};
use timbre::domain::TrackFields;
use timbre::ingest::{self, Source};

use crate::helpers::{data_dir, shared_dataset, spawn_app_in, synthetic_csv};

#[test]
fn the_shared_dataset_imports_every_track_once() {
    let Some(path) = shared_dataset() else { return };
    let (tracks, report) = ingest::read(&Source::Path(path), None).unwrap();
    // Facts of the dataset (its README): 32,833 rows, 28,356 distinct tracks.
    assert_eq!(report.rows_read, 32_833);
    assert_eq!(tracks.len(), 28_356);
    assert_eq!(report.duplicates_merged, 32_833 - 28_356);
    assert!(
        report.rejected.is_empty(),
        "{:?}",
        &report.rejected[..report.rejected.len().min(5)]
    );
    // Every playlist of a track is kept: playlist memberships add up to rows.
    let memberships: usize = tracks.iter().map(|t| t.playlists.len()).sum();
    assert!(memberships > 32_000, "{memberships}");
    let playlists: std::collections::HashSet<&str> = tracks
        .iter()
        .flat_map(|t| t.playlists.iter().map(|p| p.id.as_str()))
        .collect();
    assert_eq!(playlists.len(), 471);
    assert!(tracks.iter().any(|t| t.genres.len() > 1));
    assert!(tracks.iter().all(|t| t.release_year().is_some()));
    assert_eq!(
        tracks.iter().filter(|t| t.features.tempo.is_none()).count(),
        1
    );
}

#[tokio::test]
async fn import_reads_an_http_url() {
    let dir = data_dir();
    let csv = std::fs::read(synthetic_csv(dir.path(), 25)).unwrap();
    let server = HttpServer::new(move || {
        let body = csv.clone();
        App::new().route(
            "/tracks.csv",
            web::get().to(move || {
                let body = body.clone();
                async move { HttpResponse::Ok().content_type("text/csv").body(body) }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());

    let url = format!("http://127.0.0.1:{port}/tracks.csv");
    let app = spawn_app_in(&dir.path().join("data"), &[]).await;
    let report = timbre::application::import(&app.service, Source::parse(&url), None)
        .await
        .unwrap();
    assert_eq!(report.tracks, 25);
    assert_eq!(app.service.read_now(|c| c.len()), 25);

    let missing = format!("http://127.0.0.1:{port}/absent.csv");
    let err = timbre::application::import(&app.service, Source::parse(&missing), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.csv") && err.contains("404"), "{err}");
}

#[test]
fn the_cli_reports_rejected_rows_and_fails_only_when_nothing_imports() {
    let dir = data_dir();
    let good = synthetic_csv(dir.path(), 5);
    let mut text = std::fs::read_to_string(&good).unwrap();
    text.push_str(
        "bad-id,x,y,1,a,b,2001,p,p1,pop,dance pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,120,200000\n",
    );
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(&mixed, text).unwrap();

    let run = |path: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_timbre"))
            .args(["import", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg(path)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&mixed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 7: rejected: invalid track id"),
        "{stderr}"
    );
    assert!(stderr.contains("tracks imported    5"), "{stderr}");
    assert!(stderr.contains("invalid track id         1"), "{stderr}");

    let all_bad = dir.path().join("bad.csv");
    std::fs::write(&all_bad, "track_id,energy\nx,1\n").unwrap();
    let out = run(&all_bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing required column"));
}
