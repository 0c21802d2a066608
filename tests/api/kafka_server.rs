//! Real Kafka-wire brokers for tests: the one `scripts/test.sh` started
//! (`TIMBRE_TEST_KAFKA_BROKERS`), and private ones a test can stop and start
//! (tansu at `TIMBRE_TANSU`, installed by `scripts/services.sh`), plus the
//! producing and reading a test needs around them.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use timbre::config::KafkaSettings;

use crate::server_process::{free_port, in_ci, installed, ServerProcess};

/// The shared test broker; `None` (outside CI) when there is none.
pub fn shared_brokers() -> Option<String> {
    match std::env::var("TIMBRE_TEST_KAFKA_BROKERS") {
        Ok(brokers) => Some(brokers),
        Err(_) if in_ci() => {
            panic!("CI=true but TIMBRE_TEST_KAFKA_BROKERS is not set: run scripts/test.sh")
        }
        Err(_) => {
            eprintln!("no Kafka test broker (run scripts/test.sh); passing over this test");
            None
        }
    }
}

/// Settings with topic and group names no other test uses.
pub fn unique_settings(brokers: &str, test: &str) -> KafkaSettings {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    KafkaSettings {
        brokers: Some(brokers.to_string()),
        group_id: format!("{name}-group"),
        topic: format!("{name}.tracks"),
        dead_letter_topic: format!("{name}.tracks.dlq"),
        interactions_topic: format!("{name}.interactions"),
        interactions_dead_letter_topic: format!("{name}.interactions.dlq"),
        partitions: 2,
        ..KafkaSettings::default()
    }
}

/// A producer for tests, acknowledging every message before `send` returns.
pub struct TestProducer {
    producer: FutureProducer,
    topic: String,
}

impl TestProducer {
    pub fn new(settings: &KafkaSettings) -> Self {
        Self::to(settings, &settings.topic)
    }

    /// A producer for `topic` of the settings' brokers.
    pub fn to(settings: &KafkaSettings, topic: &str) -> Self {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", settings.brokers.as_deref().unwrap())
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "120000")
            .create()
            .expect("producer");
        TestProducer {
            producer,
            topic: topic.to_string(),
        }
    }

    /// Sends one message; returns its partition and offset.
    pub async fn send(&self, key: Option<&str>, value: Option<&[u8]>) -> (i32, i64) {
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        let delivery = self
            .producer
            .send(record, Duration::from_secs(60))
            .await
            .map_err(|(e, _)| e)
            .expect("the broker takes the message");
        (delivery.partition, delivery.offset)
    }
}

/// Reads `n` messages of `topic` from its start (in a group of its own).
pub async fn read_topic(brokers: &str, topic: &str, n: usize) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while messages.len() < n {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => messages.push(m.detach()),
            Ok(Err(e)) => eprintln!("reading {topic}: {e}"),
            Err(_) => panic!("only {} of {n} messages on {topic}", messages.len()),
        }
    }
    messages
}

/// The value of header `key` of a message, as text.
pub fn header(message: &OwnedMessage, key: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// A private tansu broker with SQLite storage in a directory, so that it
/// can be stopped and started again with its data and committed offsets.
pub struct KafkaProcess(ServerProcess);

impl KafkaProcess {
    /// Starts a broker on a free port; `None` (outside CI) when tansu is not
    /// installed.
    pub fn start(storage: &Path) -> Option<Self> {
        let binary = installed("TIMBRE_TANSU", "tansu")?;
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let args = [
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            // The SQLite path is taken relative to the working directory.
            "--storage-engine",
            "sqlite://tansu.db",
        ]
        .map(String::from)
        .to_vec();
        Some(KafkaProcess(ServerProcess::start(
            "tansu",
            binary,
            args,
            Some(storage.to_path_buf()),
            port,
        )))
    }

    /// `host:port` of this broker.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.0.port)
    }

    /// Starts the broker again.
    pub fn resume(&mut self) {
        self.0.resume();
    }

    /// Stops the broker (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        self.0.stop();
    }
}
