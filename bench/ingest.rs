//! Streaming ingest through a real broker into the searchable index:
//!
//! 1. **Catch-up rate.** The shared dataset is produced to a fresh topic
//!    first; then a consumer starts on an empty embedded store, and the time
//!    until every track is searchable gives tracks/s.
//! 2. **Freshness at a steady rate.** Into the loaded catalog, new tracks
//!    (dataset tracks under new ids) are produced at a fixed rate (`--rate`, default 1,000/s) for
//!    `--seconds` (default 20); the consumer's own record of "message
//!    timestamp → searchable" gives the median and p99. The producer lingers
//!    5 ms, which is part of the figure, as it would be for a real producer.
//!
//! 3. **With the lake** (`--lake`): catch-up again, each repeat once without
//!    and once with the lake's sink consuming the same topic into a local
//!    lake (its own consumer group), side by side: the catalogue's rate
//!    with the sink on against off, and the sink's own rate (time until
//!    every message is in Parquet files).
//!
//! Each part repeats `REPEATS` times on fresh topics; medians (min..max).
//!
//! Run: `bench/ingest.sh` (starts a broker), or
//! `cargo run --release --example ingest -- BROKERS [--dataset PATH] [--rate N] [--seconds S] [--batch-max N] [--lake]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use timbre::application;
use timbre::config::Config;
use timbre::config::KafkaSettings;
use timbre::config::LakeSettings;
use timbre::domain::{Track, TrackId};
use timbre::ingest::IngestStatus;
use timbre::ingest::SinkStatus;
use timbre::ingest::{self, Source};
use timbre::kafka;
use timbre::kafka::message::encode_upsert;
use timbre::kafka::LakeFeed;
use timbre::lake::Lake;
use timbre::service::TrackService;
use tokio_util::sync::CancellationToken;

const REPEATS: usize = 3;

/// The server's allocator (`src/main.rs`), so the consumer path is measured
/// as it runs in `timbre serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    brokers: String,
    dataset: String,
    rate: u64,
    seconds: u64,
    /// `kafka.batch_max` of the consumer (default: the server's default).
    batch_max: usize,
    /// Measure the lake's sink too (part 3), instead of parts 1 and 2.
    lake: bool,
}

fn args() -> Args {
    let mut args = Args {
        brokers: String::new(),
        dataset: concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/spotify_songs.csv"
        )
        .into(),
        rate: 1_000,
        seconds: 20,
        batch_max: KafkaSettings::default().batch_max,
        lake: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dataset" => args.dataset = it.next().expect("--dataset PATH"),
            "--rate" => args.rate = it.next().and_then(|v| v.parse().ok()).expect("--rate N"),
            "--batch-max" => {
                args.batch_max = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--batch-max N")
            }
            "--lake" => args.lake = true,
            "--seconds" => {
                args.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds S")
            }
            brokers => args.brokers = brokers.to_string(),
        }
    }
    assert!(
        !args.brokers.is_empty(),
        "usage: ingest BROKERS [--dataset PATH] [--rate N] [--seconds S] [--batch-max N]"
    );
    args
}

fn settings(args: &Args, run: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: Some(args.brokers.clone()),
        batch_max: args.batch_max,
        group_id: format!("bench-{run}"),
        topic: format!("bench-{run}.tracks"),
        dead_letter_topic: format!("bench-{run}.tracks.dlq"),
        ..KafkaSettings::default()
    }
}

/// A consumer into a fresh embedded store; returns the service, its status
/// and the shutdown handle.
async fn consume(
    settings: &KafkaSettings,
    dir: &std::path::Path,
) -> anyhow::Result<(Arc<TrackService>, Arc<IngestStatus>, CancellationToken)> {
    consume_into(settings, dir, None).await
}

/// [`consume`], with the lake's consumers writing to `lake` when given.
async fn consume_into(
    settings: &KafkaSettings,
    dir: &std::path::Path,
    lake: Option<LakeFeed>,
) -> anyhow::Result<(Arc<TrackService>, Arc<IngestStatus>, CancellationToken)> {
    let config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let (service, _) = application::open_service(&config).await?;
    let status = Arc::new(IngestStatus::new(&settings.topic, &settings.group_id));
    let shutdown = CancellationToken::new();
    tokio::spawn(kafka::run(
        settings.clone(),
        Arc::clone(&service),
        Arc::clone(&status),
        lake,
        shutdown.clone(),
    ));
    Ok((service, status, shutdown))
}

async fn wait_for(status: &IngestStatus, messages: u64, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while status.snapshot().messages < messages {
        anyhow::ensure!(
            Instant::now() < deadline,
            "not all messages applied in time"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Part 1: produce everything, then time the consumer from start to the
/// last track searchable.
async fn catch_up(args: &Args, tracks: &[Track], run: usize) -> anyhow::Result<CatchUp> {
    let settings = settings(args, &format!("catchup-{}-{run}", std::process::id()));
    kafka::ensure_topics(&settings).await?;
    let report = kafka::producer::produce(&settings, tracks).await?;
    anyhow::ensure!(report.failed == 0, "produce failed: {report}");
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let (service, status, shutdown) = consume(&settings, dir.path()).await?;
    // The first applied message marks the end of the start: opening the
    // store, the group's join and the first fetch.
    wait_for(&status, 1, Duration::from_secs(120)).await?;
    let first = started.elapsed();
    wait_for(&status, tracks.len() as u64, Duration::from_secs(600)).await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(service.read_now(|c| c.len()) == tracks.len());
    shutdown.cancel();
    // The graph catch-up goes on in the background after every track is
    // searchable; let it finish (untimed) so that it does not load the
    // next run.
    service.flush_graph().await;
    Ok(CatchUp {
        rate: tracks.len() as f64 / elapsed.as_secs_f64(),
        first_ms: first.as_secs_f64() * 1e3,
        after_first: (tracks.len() - 1) as f64 / (elapsed - first).as_secs_f64(),
    })
}

/// Part 3: catch-up with the lake's sink on; returns the catalogue's
/// tracks/s and the sink's (all rows in files).
async fn catch_up_with_lake(
    args: &Args,
    tracks: &[Track],
    run: usize,
) -> anyhow::Result<(f64, f64)> {
    let settings = settings(args, &format!("lake-{}-{run}", std::process::id()));
    kafka::ensure_topics(&settings).await?;
    let report = kafka::producer::produce(&settings, tracks).await?;
    anyhow::ensure!(report.failed == 0, "produce failed: {report}");
    let dir = tempfile::tempdir()?;
    let location = dir.path().join("lake");
    let lake_settings = LakeSettings::default();
    let lake = Lake::open(&location.to_string_lossy(), &lake_settings)?;
    let sink = Arc::new(SinkStatus::new(lake.location()));
    let feed = LakeFeed {
        sink: Arc::new(lake),
        status: Arc::clone(&sink),
        max_rows: lake_settings.max_rows_per_file,
        wait_ms: lake_settings.flush_interval_ms,
    };
    let started = Instant::now();
    let (service, status, shutdown) = consume_into(&settings, dir.path(), Some(feed)).await?;
    wait_for(&status, tracks.len() as u64, Duration::from_secs(600)).await?;
    let catalogue = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while sink
        .snapshot()
        .rows
        .get("track_changes")
        .copied()
        .unwrap_or(0)
        < tracks.len() as u64
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the lake did not take every row in time"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let lake_done = started.elapsed();
    shutdown.cancel();
    service.flush_graph().await;
    let n = tracks.len() as f64;
    Ok((n / catalogue.as_secs_f64(), n / lake_done.as_secs_f64()))
}

/// One catch-up run: the figure (tracks/s from opening the service to the
/// last track searchable) and its two parts, to tell the start's cost from
/// the consumer's rate.
struct CatchUp {
    rate: f64,
    /// Opening the service until the first message is applied.
    first_ms: f64,
    /// Tracks/s from the first message applied to the last.
    after_first: f64,
}

/// Part 2: a steady stream of updates into a loaded catalog; freshness
/// median and p99 in milliseconds.
async fn steady(args: &Args, tracks: &[Track], run: usize) -> anyhow::Result<(f64, f64, u64)> {
    let settings = settings(args, &format!("steady-{}-{run}", std::process::id()));
    kafka::ensure_topics(&settings).await?;
    let dir = tempfile::tempdir()?;
    let (service, status, shutdown) = consume(&settings, dir.path()).await?;
    // Load the catalog first, so the stream updates a full index.
    service.upsert(tracks.to_vec()).await?;
    // A loaded catalog: its graph complete before the stream starts.
    service.flush_graph().await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()?;
    // Warm-up: one message applied before the clock starts, so that the
    // consumer group's join and partition assignment are not counted as
    // freshness (they happen once per start, not per message).
    let mut warm = tracks[0].clone();
    warm.id = TrackId::parse(&format!("w{run}{:020}", 0))?;
    let (key, value) = encode_upsert(&warm);
    producer
        .send(
            FutureRecord::to(&settings.topic).key(&key).payload(&value),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)?;
    wait_for(&status, 1, Duration::from_secs(120)).await?;
    let total = args.rate * args.seconds;
    let mut interval = tokio::time::interval(Duration::from_secs(1) / args.rate as u32);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pending = Vec::with_capacity(total as usize);
    for i in 0..total as usize {
        interval.tick().await;
        // A new track: a dataset track's features under a new id, so every
        // message is a real insert into the store and the graph.
        let mut track = tracks[i % tracks.len()].clone();
        track.id = TrackId::parse(&format!("n{run}{i:020}"))?;
        let (key, value) = encode_upsert(&track);
        let record = FutureRecord::to(&settings.topic).key(&key).payload(&value);
        match producer.send_result(record) {
            Ok(delivery) => pending.push(delivery),
            Err((e, _)) => anyhow::bail!("produce: {e}"),
        }
    }
    for delivery in pending {
        delivery.await?.map_err(|(e, _)| e)?;
    }
    wait_for(&status, total + 1, Duration::from_secs(120)).await?;
    let freshness = status.snapshot().freshness.expect("samples");
    shutdown.cancel();
    Ok((
        freshness.p50.as_secs_f64() * 1e3,
        freshness.p99.as_secs_f64() * 1e3,
        freshness.samples as u64,
    ))
}

/// Part 3, side by side: each repeat without the lake, then with it.
async fn lake_part(args: &Args, tracks: &[Track]) -> anyhow::Result<()> {
    let (mut without, mut with, mut sink, mut ratios) = (vec![], vec![], vec![], vec![]);
    for run in 0..REPEATS {
        let plain = catch_up(args, tracks, run + 100).await?.rate;
        let (catalogue, lake) = catch_up_with_lake(args, tracks, run).await?;
        println!(
            "  run {run}: catalogue {plain:.0} tracks/s without the lake, {catalogue:.0} with it ({:.2}x); lake sink {lake:.0} tracks/s",
            catalogue / plain
        );
        without.push(plain);
        with.push(catalogue);
        sink.push(lake);
        ratios.push(catalogue / plain);
    }
    println!("catch-up without the lake: {} tracks/s", summary(without));
    println!(
        "catch-up with the lake's sink on: {} tracks/s",
        summary(with)
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "  ratio with/without: {:.2} ({:.2}..{:.2})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!(
        "lake sink from Kafka, start to every row in Parquet: {} tracks/s",
        summary(sink)
    );
    Ok(())
}

fn summary(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    format!(
        "{:.0} ({:.0}..{:.0})",
        xs[xs.len() / 2],
        xs[0],
        xs[xs.len() - 1]
    )
}

fn summary_ms(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    format!(
        "{:.1} ms ({:.1}..{:.1})",
        xs[xs.len() / 2],
        xs[0],
        xs[xs.len() - 1]
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let (tracks, _) = ingest::read(&Source::parse(&args.dataset), None)?;
    println!(
        "{} tracks from {}; broker {}; {REPEATS} repeats, medians (min..max)",
        tracks.len(),
        args.dataset,
        args.brokers
    );
    if args.lake {
        return lake_part(&args, &tracks).await;
    }
    let (mut rates, mut firsts, mut afters) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..REPEATS {
        let c = catch_up(&args, &tracks, run).await?;
        println!(
            "  catch-up run {run}: {:.0} tracks/s (first message applied after {:.0} ms, then {:.0} tracks/s)",
            c.rate, c.first_ms, c.after_first
        );
        rates.push(c.rate);
        firsts.push(c.first_ms);
        afters.push(c.after_first);
    }
    println!(
        "catch-up ingest, empty store to all searchable: {} tracks/s",
        summary(rates)
    );
    println!(
        "  of which: first message applied after {}, then {} tracks/s",
        summary_ms(firsts),
        summary(afters)
    );

    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    for run in 0..REPEATS {
        let (p50, p99, n) = steady(&args, &tracks, run).await?;
        println!("  steady run {run}: p50 {p50:.1} ms, p99 {p99:.1} ms over {n} messages");
        p50s.push(p50);
        p99s.push(p99);
    }
    println!(
        "freshness at {}/s for {} s: median {}, p99 {}",
        args.rate,
        args.seconds,
        summary_ms(p50s),
        summary_ms(p99s)
    );
    Ok(())
}
