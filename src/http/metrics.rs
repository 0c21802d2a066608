//! Prometheus metrics at `/metrics`, in the text exposition format.
//!
//! Request metrics are recorded as requests pass; the state of the index,
//! the store and the Kafka ingest is read when Prometheus scrapes (a
//! [`Collector`]), so a scrape always shows the present and nothing has to
//! keep gauges up to date.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::ingest::sink_status::SinkSnapshot;
use crate::ingest::{IngestStatus, SinkStatus};
use crate::service::TrackService;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

/// Distinct operation names tracked before the rest count as `other`:
/// clients choose names, and each one is a time series.
const MAX_OPERATION_NAMES: usize = 200;

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    http: Family<HttpLabels, Histogram, fn() -> Histogram>,
    operations: Family<OperationLabels, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabels, Counter>,
    rate_limited: Counter,
    names: Mutex<HashSet<String>>,
}

/// Latency buckets from 100 µs to about 13 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

impl Metrics {
    /// Registers every metric; `service` and `ingest` are read on scrapes.
    pub fn new(
        service: Arc<TrackService>,
        ingest: Arc<IngestStatus>,
        lake: Arc<SinkStatus>,
    ) -> Self {
        let mut registry = Registry::with_prefix("timbre");
        let http = Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency as fn() -> Histogram,
        );
        let operations =
            Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency as fn() -> Histogram,
            );
        let errors = Family::<CodeLabels, Counter>::default();
        let rate_limited = Counter::default();
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests by method, route and status, with their latency",
            http.clone(),
        );
        registry.register(
            "graphql_operation_duration_seconds",
            "GraphQL operations by operation name (anonymous when unnamed), with their latency",
            operations.clone(),
        );
        registry.register(
            "graphql_errors",
            "GraphQL errors by extensions.code",
            errors.clone(),
        );
        registry.register(
            "rate_limited_requests",
            "Requests refused with HTTP 429 by the per-client rate limit",
            rate_limited.clone(),
        );
        registry.register(
            "http_malformed_requests",
            "Requests the HTTP layer could not parse (bad header bytes, over-long URI), answered 4xx and not logged",
            super::malformed::MALFORMED_REQUESTS.clone(),
        );
        registry.register_collector(Box::new(StateCollector {
            service,
            ingest,
            lake,
        }));
        Metrics {
            registry,
            http,
            operations,
            errors,
            rate_limited,
            names: Mutex::new(HashSet::new()),
        }
    }

    /// Records one HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .observe(took.as_secs_f64());
    }

    /// Records one GraphQL operation and the codes of its errors.
    pub fn observe_operation<'a>(
        &self,
        name: Option<&str>,
        took: Duration,
        codes: impl IntoIterator<Item = &'a str>,
    ) {
        let operation = self.operation_label(name);
        self.operations
            .get_or_create(&OperationLabels { operation })
            .observe(took.as_secs_f64());
        for code in codes {
            self.errors
                .get_or_create(&CodeLabels {
                    code: code.to_string(),
                })
                .inc();
        }
    }

    /// Counts a request refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return "other".into();
        }
        let mut names = self.names.lock();
        if names.contains(name) || names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_string());
            name.to_string()
        } else {
            "other".into()
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// Reads the index, store and ingest state on every scrape.
struct StateCollector {
    service: Arc<TrackService>,
    ingest: Arc<IngestStatus>,
    lake: Arc<SinkStatus>,
}

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateCollector")
    }
}

/// Writes one unlabelled metric (a `ConstGauge` or `ConstCounter`).
fn write(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    write(e, name, help, ConstGauge::new(value))
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    write(e, name, help, ConstCounter::new(value))
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let info = self.service.catalog_info();
        let (tracks, tombstones) = (info.tracks, info.tombstones);
        let e = &mut encoder;
        gauge(e, "index_tracks", "Tracks in the index", tracks as i64)?;
        gauge(
            e,
            "index_tombstones",
            "Deleted or replaced vectors still in the HNSW graph until compaction",
            tombstones as i64,
        )?;
        gauge(
            e,
            "index_pending",
            "Vectors not yet in the HNSW graph (the tail every search scans exactly)",
            info.pending as i64,
        )?;
        counter(
            e,
            "index_catch_ups",
            "Background catch-ups that put the tail's vectors into the HNSW graph",
            info.work.catch_ups,
        )?;
        counter(
            e,
            "index_compactions",
            "Compactions that dropped tombstones from the index",
            info.work.compactions,
        )?;
        let store_up = self.service.store_health().down_since.is_none();
        gauge(
            e,
            "store_up",
            "1 while the store answered its last call",
            i64::from(store_up),
        )?;
        encode_lake(e, &self.lake.snapshot())?;
        let ingest = self.ingest.snapshot();
        gauge(
            e,
            "kafka_enabled",
            "1 when the server consumes a Kafka tracks topic",
            i64::from(ingest.enabled),
        )?;
        if !ingest.enabled {
            return Ok(());
        }
        gauge(
            e,
            "kafka_broker_up",
            "1 while the Kafka broker answers",
            i64::from(ingest.broker_up),
        )?;
        write(
            e,
            "ingest_messages",
            "Kafka messages applied (upserts and deletes)",
            ConstCounter::new(ingest.messages),
        )?;
        let lag = ingest.total_lag().unwrap_or(0);
        gauge(
            e,
            "ingest_lag_messages",
            "Messages on the tracks topic not yet applied, over all partitions",
            lag,
        )?;
        {
            let metric = ConstCounter::new(0u64);
            let mut family = e.encode_descriptor(
                "ingest_dead_letters",
                "Messages sent to the dead-letter topic, by reason",
                None,
                metric.metric_type(),
            )?;
            for (reason, count) in &ingest.dead_letters {
                let labels = [("reason", *reason)];
                ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
            }
        }
        if let Some(f) = ingest.freshness {
            write(
                e,
                "ingest_freshness_p50_seconds",
                "Median time from a message's timestamp to searchable, over recent messages",
                ConstGauge::new(f.p50.as_secs_f64()),
            )?;
            write(
                e,
                "ingest_freshness_p99_seconds",
                "99th percentile of the time from a message's timestamp to searchable",
                ConstGauge::new(f.p99.as_secs_f64()),
            )?;
        }
        Ok(())
    }
}

/// The lake sink's metrics (only `lake_enabled` without a lake).
fn encode_lake(e: &mut DescriptorEncoder, lake: &SinkSnapshot) -> std::fmt::Result {
    gauge(
        e,
        "lake_enabled",
        "1 when the server keeps a data lake current",
        i64::from(lake.enabled),
    )?;
    if !lake.enabled {
        return Ok(());
    }
    gauge(
        e,
        "lake_up",
        "1 while the lake's storage took the last write",
        i64::from(lake.down_since.is_none()),
    )?;
    gauge(
        e,
        "lake_pending_rows",
        "Rows from imports and the API waiting in memory for the next write",
        lake.pending as i64,
    )?;
    write(
        e,
        "lake_files",
        "Parquet files written to the lake",
        ConstCounter::new(lake.files),
    )?;
    write(
        e,
        "lake_dropped_rows",
        "Rows given up while the lake was unreachable too long",
        ConstCounter::new(lake.dropped),
    )?;
    let metric = ConstCounter::new(0u64);
    let mut family = e.encode_descriptor(
        "lake_rows",
        "Rows written to the lake, by table",
        None,
        metric.metric_type(),
    )?;
    for (table, count) in &lake.rows {
        let labels = [("table", *table)];
        ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}
