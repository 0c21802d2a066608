//! The real `timbre serve` process: it starts on an empty data directory
//! and says how to load data, serves, and on SIGTERM stops cleanly and
//! writes the index snapshot.

use std::ffi::OsStr;
use std::process::Command;

use crate::helpers::{data_dir, get_json, spawn_serve, synthetic_csv, terminate};

#[tokio::test]
async fn serve_starts_empty_imports_and_stops_cleanly_on_sigterm() {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 50);
    let data = dir.path().join("data");
    let (child, address, log) = spawn_serve(&[OsStr::new("--data-dir"), data.as_os_str()], &[]);
    assert!(
        log.contains("the catalog is empty") && log.contains("timbre import"),
        "{log}"
    );

    let ready = get_json(
        &crate::helpers::client(),
        &address.replace("/graphql", "/readyz"),
    )
    .await;
    assert_eq!(ready["tracks"], 0);

    let status = terminate(child).await;
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
