//! The real `timbre serve` process: it starts on an empty data directory
//! and says how to load data, serves, and on SIGTERM stops cleanly and
//! writes the index snapshot.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::{data_dir, get_json, synthetic_csv};

#[tokio::test]
async fn serve_starts_empty_imports_and_stops_cleanly_on_sigterm() {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 50);
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("RUST_LOG", "info")
        .env_remove("TIMBRE_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("timbre starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let address = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        log.push_str(&line);
        log.push('\n');
        if let Some(at) = line.find("serving GraphQL on ") {
            let url = line[at + "serving GraphQL on ".len()..].trim().to_string();
            break url;
        }
    };
    assert!(
        log.contains("the catalog is empty") && log.contains("timbre import"),
        "{log}"
    );
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let ready = get_json(
        &reqwest::Client::new(),
        &address.replace("/graphql", "/readyz"),
    )
    .await;
    assert_eq!(ready["tracks"], 0);

    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(data.join("index/manifest.json").exists());

    // The data directory is free again: an import can take it.
    let out = Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
