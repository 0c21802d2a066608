//! What deployment relies on: the Docker files agree with timbre's
//! configuration (no Docker engine runs here, so the files are read, not
//! run), and the real binary shuts down gracefully with clients connected,
//! logs JSON with request ids, and never logs a secret.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use timbre::config::Config;
use yaml_rust2::{Yaml, YamlLoader};

use crate::helpers::{client, spawn_serve_logged, terminate};

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn compose() -> Yaml {
    YamlLoader::load_from_str(&repo_file("docker/compose.yaml"))
        .expect("docker/compose.yaml is YAML")
        .remove(0)
}

fn text(y: &Yaml) -> String {
    match y {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `${VAR:-default}` as compose expands it with VAR unset.
fn expand_default(value: &str) -> String {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(inner) => inner.split_once(":-").map_or("", |(_, d)| d).to_string(),
        None => value.to_string(),
    }
}

/// Loads the configuration with exactly `vars` set, as the container would.
#[allow(clippy::result_large_err)] // figment's Jail fixes the closure's type
fn load_with(vars: &BTreeMap<String, String>) -> Config {
    let mut loaded = None;
    figment::Jail::expect_with(|jail| {
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        loaded = Some(
            Config::load(None, serde_json::json!({}))
                .unwrap_or_else(|e| panic!("the compose environment is rejected: {e}")),
        );
        Ok(())
    });
    loaded.unwrap()
}

#[test]
fn the_compose_environment_is_timbres_configuration() {
    let compose = compose();
    let timbre = &compose["services"]["timbre"];
    let env: BTreeMap<String, String> = timbre["environment"]
        .as_hash()
        .expect("timbre's environment is a map")
        .iter()
        .map(|(k, v)| (text(k), expand_default(&text(v))))
        .collect();
    // Unknown top-level TIMBRE_* names would be ignored (they may belong to
    // other tools), so check each against the configuration's own keys.
    let keys: Vec<String> = match serde_json::to_value(Config::default()).unwrap() {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        _ => unreachable!(),
    };
    for name in env.keys() {
        let top = name
            .strip_prefix("TIMBRE_")
            .unwrap_or_else(|| panic!("{name} is not a TIMBRE_ variable"))
            .split("__")
            .next()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            keys.contains(&top),
            "{name} is no configuration key of timbre"
        );
    }
    let config = load_with(&env);
    assert_eq!(config.kafka.brokers.as_deref(), Some("kafka:9092"));
    assert!(!config.kafka.create_topics);
    assert_eq!(
        config.mongodb_uri.map(|u| u.0),
        Some("mongodb://mongodb:27017/?replicaSet=rs0".into())
    );
    assert_eq!(config.listen, "0.0.0.0:8080");
    assert_eq!(config.http.shutdown_timeout_secs, 20);

    // The topics the init job creates are the ones timbre reads and writes.
    let topics = text(&compose["services"]["kafka-topics"]["command"][0]);
    for topic in [
        &config.kafka.topic,
        &config.kafka.dead_letter_topic,
        &config.kafka.interactions_topic,
        &config.kafka.interactions_dead_letter_topic,
    ] {
        assert!(
            topics.contains(topic.as_str()),
            "{topic} missing from {topics}"
        );
    }
}

#[test]
fn the_compose_services_are_wired_with_health_checks_and_volumes() {
    let compose = compose();
    let services = &compose["services"];
    let mongo_command: Vec<String> = services["mongodb"]["command"]
        .as_vec()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert!(
        mongo_command.contains(&"--replSet".to_string()),
        "MongoDB runs as a replica set"
    );
    let roles = text(&services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]);
    assert!(roles.contains("controller"), "Kafka runs in KRaft mode");
    for name in ["mongodb", "kafka", "timbre"] {
        assert!(
            !services[name]["healthcheck"]["test"].is_badvalue(),
            "{name} has a health check"
        );
        let volume = text(&services[name]["volumes"][0]);
        let named = volume.split(':').next().unwrap();
        assert!(
            !compose["volumes"][named].is_badvalue(),
            "{name}'s data is on the named volume {named}"
        );
    }
    let depends = &services["timbre"]["depends_on"];
    assert_eq!(text(&depends["mongodb"]["condition"]), "service_healthy");
    assert_eq!(
        text(&depends["kafka-topics"]["condition"]),
        "service_completed_successfully"
    );
}

#[test]
fn the_image_is_multi_stage_unprivileged_and_checks_its_health() {
    let dockerfile = repo_file("docker/Dockerfile");
    let stages = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(stages >= 2, "a build stage and a runtime stage");
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        user.trim() != "root" && user.trim() != "0",
        "runs as {user}"
    );
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("timbre\", \"health\""));
    for line in dockerfile.lines().filter(|l| l.starts_with("ENV TIMBRE_")) {
        let vars: BTreeMap<String, String> = line["ENV ".len()..]
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        load_with(&vars);
    }
}

/// The health subcommand the image's HEALTHCHECK runs.
fn health(url: &str) -> bool {
    std::process::Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["health", "--url", url, "--timeout-ms", "2000"])
        .output()
        .unwrap()
        .status
        .success()
}

#[tokio::test]
async fn sigterm_ends_subscriptions_exits_0_and_logs_json_without_secrets() {
    let data = tempfile::tempdir().unwrap();
    let secret = "do-not-log-this-secret-123456";
    let (child, url, log) = spawn_serve_logged(
        &[],
        &[
            ("TIMBRE_DATA_DIR", data.path().display().to_string()),
            ("TIMBRE_LOG_FORMAT", "json".into()),
            (
                "TIMBRE_AUTH__KEYS",
                format!("[{{name=\"ops\",key=\"{secret}\",role=\"admin\"}}]"),
            ),
        ],
    );
    let base = url.trim_end_matches("/graphql").to_string();
    assert!(health(&format!("{base}/healthz")));

    let response = client()
        .post(&url)
        .header("x-request-id", "deploy-test-1")
        .bearer_auth(secret)
        .json(&serde_json::json!({ "query": "mutation { saveSnapshot { tracks } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "the key from the environment works"
    );
    assert_eq!(response.headers()["x-request-id"], "deploy-test-1");

    // A subscriber stays connected through the shutdown, when Node.js is here.
    let subscriber = subscriber(&url);

    let stopped = Instant::now();
    let status = terminate(child).await;
    assert!(status.success(), "exit 0 on SIGTERM: {status:?}");
    assert!(
        stopped.elapsed() < Duration::from_secs(15),
        "stopped within the bound"
    );
    assert!(
        !health(&format!("{base}/healthz")),
        "the health check fails once stopped"
    );
    if let Some(subscriber) = subscriber {
        let out = subscriber.wait_with_output().unwrap();
        let result: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("the subscriber's JSON");
        assert_eq!(
            result["ended"], "complete",
            "the server completed the subscription: {result}"
        );
    }

    std::thread::sleep(Duration::from_millis(200));
    let log = log.lock().unwrap().clone();
    assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["request_id"] == "deploy-test-1"),
        "the request's log lines carry its id:\n{log}"
    );
    assert!(
        log.contains("index snapshot"),
        "the snapshot is written on the way out:\n{log}"
    );
}

/// Starts `node subscribe.mjs until-closed` against `url` and waits until it
/// is subscribed; `None` outside CI when Node.js is not installed.
fn subscriber(url: &str) -> Option<std::process::Child> {
    use std::io::{BufRead, BufReader};
    let node = crate::server_process::installed("TIMBRE_NODE", "Node.js")?;
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let mut child = std::process::Command::new(node)
        .args(["subscribe.mjs", "until-closed", url])
        .current_dir(js)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, "subscribed", "the subscriber connected");
    Some(child)
}
