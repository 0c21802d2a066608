//! Real Kafka-wire brokers for tests: the one `scripts/test.sh` started
//! (`TIMBRE_TEST_KAFKA_BROKERS`), and private ones a test can stop and start
//! (tansu at `TIMBRE_TANSU`, installed by `scripts/services.sh`), plus the
//! producing and reading a test needs around them.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use timbre::kafka::KafkaSettings;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

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
        let producer = ClientConfig::new()
            .set("bootstrap.servers", settings.brokers.as_deref().unwrap())
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "120000")
            .create()
            .expect("producer");
        TestProducer {
            producer,
            topic: settings.topic.clone(),
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

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private tansu broker with SQLite storage in a directory, so that it
/// can be stopped and started again with its data and committed offsets.
pub struct KafkaProcess {
    binary: PathBuf,
    storage: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl KafkaProcess {
    /// Starts a broker on a free port; `None` (outside CI) when tansu is not
    /// installed.
    pub fn start(storage: &Path) -> Option<Self> {
        let binary = match std::env::var_os("TIMBRE_TANSU") {
            Some(b) => PathBuf::from(b),
            None if in_ci() => panic!("CI=true but TIMBRE_TANSU is not set: run scripts/test.sh"),
            None => {
                eprintln!("tansu not installed (run scripts/test.sh); passing over this test");
                return None;
            }
        };
        let mut broker = KafkaProcess {
            binary,
            storage: storage.to_path_buf(),
            port: free_port(),
            child: None,
        };
        broker.resume();
        Some(broker)
    }

    /// `host:port` of this broker.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the process (again) and waits until its port accepts.
    pub fn resume(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            // The SQLite path is taken relative to the working directory.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.storage)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not open port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for KafkaProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
