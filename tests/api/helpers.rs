//! `spawn_app()` and test data.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tempfile::TempDir;
use timbre::application::Application;
use timbre::config::Config;
use timbre::ingest::{SinkStatus, Source};
use timbre::service::TrackService;
use timbre::store::TrackStore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub service: Arc<TrackService>,
    /// The lake sink's status (disabled without a lake).
    pub sink: Arc<SinkStatus>,
    shutdown: CancellationToken,
    running: JoinHandle<anyhow::Result<()>>,
}

/// The key of [`writer_auth`]'s `write`-role key.
pub const WRITER_KEY: &str = "test-writer-key-0123456789";

/// Access settings with one `write` key, [`WRITER_KEY`], named `analyst`.
pub fn writer_auth() -> timbre::config::AuthSettings {
    use timbre::config::{ApiKey, AuthSettings, Role, Secret};
    AuthSettings {
        keys: vec![ApiKey {
            name: "analyst".into(),
            key: Secret(WRITER_KEY.into()),
            role: Role::Write,
        }],
    }
}

/// The key of [`admin_auth`]'s `admin`-role key.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789a";

/// [`writer_auth`]'s key and an `admin` key, [`ADMIN_KEY`], named `ops`.
pub fn admin_auth() -> timbre::config::AuthSettings {
    use timbre::config::{ApiKey, Role, Secret};
    let mut auth = writer_auth();
    auth.keys.push(ApiKey {
        name: "ops".into(),
        key: Secret(ADMIN_KEY.into()),
        role: Role::Admin,
    });
    auth
}

/// A fresh data directory kept alive for the test.
pub fn data_dir() -> TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// The configuration of a test server over `data_dir`: the defaults, on a
/// free port.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    }
}

/// Starts timbre as `main` does ([`Application::build`], then
/// `run_until_stopped` on a task), with `config` but on a free port,
/// importing `imports` first. The one way black-box tests start a server.
pub async fn spawn_app(config: Config, imports: &[&Path]) -> TestApp {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        ..config
    };
    let app = Application::build(config)
        .await
        .expect("the application builds");
    start(app, imports).await
}

/// [`spawn_app`] over a store the test made itself (instrumented, say).
pub async fn spawn_app_with_store(
    config: Config,
    store: Arc<dyn TrackStore>,
    imports: &[&Path],
) -> TestApp {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        ..config
    };
    let app = Application::build_with_store(config, store)
        .await
        .expect("the application builds");
    start(app, imports).await
}

/// Runs an application the test has built, importing `imports` first.
pub async fn start(app: Application, imports: &[&Path]) -> TestApp {
    for path in imports {
        app.import(Source::Path(path.to_path_buf()), None)
            .await
            .expect("import succeeds");
    }
    let address = format!("http://127.0.0.1:{}", app.port());
    let service = Arc::clone(app.service());
    let sink = Arc::clone(app.sink_status());
    let shutdown = app.shutdown();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client(),
        service,
        sink,
        shutdown,
        running,
    }
}

/// Starts the server on a free port over `data_dir`, importing `imports`
/// first.
pub async fn spawn_app_in(data_dir: &Path, imports: &[&Path]) -> TestApp {
    spawn_app(test_config(data_dir), imports).await
}

impl TestApp {
    /// Stops the server as SIGTERM would (HTTP drains, consumers commit,
    /// the snapshot is written) and waits until it has.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.running
            .await
            .expect("the application task ends")
            .expect("the application stops cleanly");
    }

    /// POSTs a GraphQL request and returns the JSON body.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        post_graphql(
            &self.client,
            &format!("{}/graphql", self.address),
            query,
            variables,
        )
        .await
    }

    /// POSTs a GraphQL request with [`WRITER_KEY`] and returns the JSON
    /// body.
    pub async fn mutate(&self, query: &str, variables: Value) -> Value {
        self.mutate_as(WRITER_KEY, query, variables).await
    }

    /// POSTs a GraphQL request with `key` and returns the JSON body.
    pub async fn mutate_as(&self, key: &str, query: &str, variables: Value) -> Value {
        self.client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    }

    /// GETs `path` (e.g. `/readyz`) and returns the JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        get_json(&self.client, &format!("{}{path}", self.address)).await
    }

    /// The `extensions.code` of the first error, panicking when there is none.
    pub async fn error_code(&self, query: &str, variables: Value) -> String {
        let body = self.query(query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {body}"))
            .to_string()
    }
}

/// Writes a CSV in the shared dataset's shape with `n` synthetic tracks in
/// three genres; track i has energy i/n, so neighbours are predictable.
pub fn synthetic_csv(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::from(
        "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms\n",
    );
    let genres = [
        ("rock", "hard rock"),
        ("pop", "dance pop"),
        ("edm", "big room"),
    ];
    for i in 0..n {
        let (genre, sub) = genres[i % 3];
        let x = i as f64 / n as f64;
        text.push_str(&format!(
            "{id},Song {i},Artist {a},{pop},alb{a},Album {a},{year},{genre} mix,pl{g},{genre},{sub},{d:.4},{x:.4},{key},{loud:.2},{mode},0.05,{ac:.4},0.0,0.1,{val:.4},{tempo:.1},{dur}\n",
            id = track_id(i),
            a = i % 40,
            pop = i % 101,
            year = 1980 + i % 40,
            g = i % 3,
            d = 0.3 + 0.5 * ((i * 7) % 10) as f64 / 10.0,
            key = i % 12,
            loud = -12.0 + 8.0 * x,
            mode = i % 2,
            ac = 1.0 - x,
            val = (i % 17) as f64 / 17.0,
            tempo = 90.0 + 60.0 * x,
            dur = 180_000 + i * 10,
        ));
    }
    let path = dir.join("tracks.csv");
    std::fs::write(&path, text).expect("CSV written");
    path
}

/// The id of synthetic track `i`: 22 base-62 characters.
pub fn track_id(i: usize) -> String {
    format!("t{i:021}")
}

/// The shared dataset, or `None` (outside CI) when it is absent.
pub fn shared_dataset() -> Option<PathBuf> {
    let path = std::env::var_os("TIMBRE_DATASET")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/spotify_songs.csv")
        });
    if path.exists() {
        Some(path)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the shared dataset is missing at {}",
            path.display()
        );
    } else {
        eprintln!(
            "shared dataset not found at {}; passing over this test",
            path.display()
        );
        None
    }
}

/// An HTTP client that keeps no idle connection: each request opens its
/// own. A reused one can be one the server is closing: its keep-alive (5 s)
/// ends, or, on a machine so loaded that a test's request waits seconds to
/// be written, it answers 408 (seen in a looped run as hyper's
/// `UnexpectedMessage`). A loopback connect costs well under a millisecond.
pub fn client() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own (timbre's
    // object_store picks ring); a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client")
}

/// POSTs a GraphQL request to `url` and returns the JSON body.
pub async fn post_graphql(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
) -> Value {
    json_body(
        client
            .post(url)
            .json(&json!({ "query": query, "variables": variables })),
    )
    .await
}

/// Sends `request` and returns its JSON body.
async fn json_body(request: reqwest::RequestBuilder) -> Value {
    request
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON body")
}

/// Starts the real `timbre serve` (its arguments after `serve` in `args`,
/// listening on port 0) with `env` set, reads its log until it says where
/// it serves, and keeps draining the log so the server never blocks on a
/// full pipe. Returns the child, the GraphQL URL and the log up to then.
pub fn spawn_serve(args: &[&OsStr], env: &[(&str, String)]) -> (Child, String, String) {
    let (child, url, log) = spawn_serve_logged(args, env);
    let log = log.lock().unwrap().clone();
    (child, url, log)
}

/// [`spawn_serve`], with the whole log as it grows (until the server exits).
pub fn spawn_serve_logged(
    args: &[&OsStr],
    env: &[(&str, String)],
) -> (Child, String, Arc<Mutex<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "info")
        .env_remove("TIMBRE_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("timbre starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let log = Arc::new(Mutex::new(String::new()));
    let url = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!(
                "the server exited before saying where it serves:\n{}",
                log.lock().unwrap()
            );
        };
        let mut log = log.lock().unwrap();
        log.push_str(&line);
        log.push('\n');
        if let Some(at) = line.find("serving GraphQL on ") {
            let rest = &line[at + "serving GraphQL on ".len()..];
            // JSON logs end the message with a quote.
            let end = rest
                .find(|c: char| c == '"' || c.is_whitespace())
                .unwrap_or(rest.len());
            break rest[..end].to_string();
        }
    };
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    (child, url, log)
}

/// Sends SIGTERM to a server started by [`spawn_serve`] and waits for it
/// to exit (off the runtime's thread).
pub async fn terminate(mut child: Child) -> std::process::ExitStatus {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect("the server is waited for")
}

/// GETs `url` and returns the JSON body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    json_body(client.get(url)).await
}
