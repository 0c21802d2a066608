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

/// Sends raw bytes and returns the status line's code.
fn raw_status(address: &str, request: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let host = address
        .trim_start_matches("http://")
        .trim_end_matches("/graphql");
    let mut socket = std::net::TcpStream::connect(host).unwrap();
    socket.write_all(request).unwrap();
    let mut head = [0u8; 12];
    socket.read_exact(&mut head).unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

#[tokio::test]
async fn malformed_requests_are_refused_counted_and_not_logged_as_errors() {
    let dir = data_dir();
    let data = dir.path().join("data");
    let (child, address, log) =
        crate::helpers::spawn_serve_logged(&[OsStr::new("--data-dir"), data.as_os_str()], &[]);
    let bad_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: \x01\xff\r\n\r\n".to_vec();
    let long_uri = [
        b"GET /".as_slice(),
        &[b'a'; 100_000],
        b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    .concat();
    let garbage = b"NOT HTTP AT ALL\r\n\r\n".to_vec();
    for request in [&bad_header, &long_uri, &garbage] {
        let status = tokio::task::spawn_blocking({
            let (address, request) = (address.clone(), request.clone());
            move || raw_status(&address, &request)
        })
        .await
        .unwrap();
        assert!((400..500).contains(&status), "status {status}");
    }
    let metrics = crate::helpers::client()
        .get(address.replace("/graphql", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("timbre_http_malformed_requests_total 3"),
        "{metrics}"
    );
    assert!(terminate(child).await.success());
    let log = log.lock().unwrap().clone();
    assert!(!log.contains("ERROR"), "{log}");
}
