//! The rate limit behind a reverse proxy: from a trusted proxy each client
//! it names has its own bucket; from anyone else the forwarding headers
//! are ignored. Buckets are told apart by counting how many requests pass
//! before the first 429, with a burst far above what refills while the
//! test runs, so the outcome does not depend on the machine's speed.

use std::time::Instant;

use serde_json::json;
use timbre::config::{Config, HttpSettings, RateLimit};

use crate::helpers::{data_dir, spawn_app, synthetic_csv, TestApp};

/// Requests a fresh bucket lets through at once.
const BURST: u32 = 50;

async fn app(trusted_proxies: Vec<String>) -> (TestApp, tempfile::TempDir) {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 10);
    let config = Config {
        data_dir: dir.path().join("data"),
        http: HttpSettings {
            rate_limit: RateLimit {
                per_second: 1,
                burst: BURST,
            },
            trusted_proxies,
            ..HttpSettings::default()
        },
        ..Config::default()
    };
    (spawn_app(config, &[&csv]).await, dir)
}

/// Sends requests with `header` until one is refused (429); returns how
/// many were served, checked against what the bucket can have refilled.
async fn served(app: &TestApp, header: (&str, &str)) -> u32 {
    let started = Instant::now();
    let mut served = 0;
    loop {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header(header.0, header.1)
            .json(&json!({ "query": "{ genres { name } }" }))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => served += 1,
            429 => break,
            other => panic!("status {other}"),
        }
        let refilled = started.elapsed().as_secs() as u32 + 1;
        assert!(served <= BURST + refilled, "{header:?}: never limited");
    }
    served
}

#[tokio::test]
async fn from_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    // The test client connects from 127.0.0.1: the proxy.
    let (app, _dir) = app(vec!["127.0.0.0/8".into()]).await;
    let a = served(&app, ("x-forwarded-for", "203.0.113.1")).await;
    assert!(a >= BURST, "client A got {a}");
    // Another client behind the same proxy starts with a full bucket.
    let b = served(&app, ("x-forwarded-for", "203.0.113.2")).await;
    assert!(b >= BURST, "client B got {b}");
    // A client cannot escape its bucket by claiming an address: the
    // proxy appends the real one, and that is the one believed.
    let spoofed = served(&app, ("x-forwarded-for", "198.51.100.9, 203.0.113.1")).await;
    assert!(spoofed < BURST, "a spoofed hop got {spoofed}");
    // RFC 7239's header names the client the same way.
    let forwarded = served(&app, ("forwarded", "for=\"203.0.113.2:4711\"")).await;
    assert!(forwarded < BURST, "Forwarded for B got {forwarded}");
}

#[tokio::test]
async fn from_any_other_peer_forwarding_headers_are_ignored() {
    let (app, _dir) = app(Vec::new()).await;
    let a = served(&app, ("x-forwarded-for", "203.0.113.1")).await;
    assert!(a >= BURST, "the first client got {a}");
    // Another claimed address shares the peer's (empty) bucket.
    let b = served(&app, ("x-forwarded-for", "203.0.113.2")).await;
    assert!(b < BURST, "a claimed address got its own bucket: {b}");
}
