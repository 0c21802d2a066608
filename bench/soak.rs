//! The soak's driver (run by `bench/soak.sh`, which starts the broker and
//! the server): for `--minutes`, a steady stream of track messages through
//! Kafka and a steady rate of queries over HTTP against one `timbre serve`
//! process, sampling its resident memory and its `/metrics`; at the end it
//! waits for the stream to be applied and checks the catalogue against
//! what was produced.
//!
//! The stream keeps the catalogue's size steady, so that memory has no
//! reason to grow: each message is, at random, an upsert or a delete of
//! one of `--pool` extra ids (an upsert of an absent id inserts, of a
//! present one replaces; a delete of a present one deletes), or a
//! replacement of a dataset track (new popularity and energy). Every
//! upsert carries a version in its name, so the final check sees the last
//! version of every track.
//!
//! Queries, at `--qps` in all (open loop: a request starts every tick
//! whether or not earlier ones have answered; past 256 in flight a tick is
//! counted as shed), rotate `similar`, `recommend` and
//! `recommendForPlaylist` over random dataset tracks.
//!
//! Output in `--out`: `memory.csv` (every 5 s: resident MiB, tracks,
//! tombstones, pending, catch-ups, compactions, lag), `latency.csv` (per
//! minute and kind: count, errors, p50, p99, max in ms) and `summary.json`.
//!
//! `cargo run --release --example soak -- --url URL --pid PID --brokers B
//! --topic T --dataset CSV --out DIR [--minutes 60] [--rate 500]
//! [--qps 200] [--pool 10000]`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value};
use timbre::domain::{Track, TrackId};
use timbre::ingest::{self, Source};
use timbre::kafka::message::{encode_delete, encode_upsert};

struct Args {
    url: String,
    pid: u32,
    brokers: String,
    topic: String,
    dataset: PathBuf,
    out: PathBuf,
    minutes: u64,
    rate: u64,
    qps: u64,
    pool: usize,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        pid: 0,
        brokers: String::new(),
        topic: String::new(),
        dataset: PathBuf::new(),
        out: PathBuf::new(),
        minutes: 60,
        rate: 500,
        qps: 200,
        pool: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value,
            "--pid" => a.pid = value.parse().expect("--pid"),
            "--brokers" => a.brokers = value,
            "--topic" => a.topic = value,
            "--dataset" => a.dataset = value.into(),
            "--out" => a.out = value.into(),
            "--minutes" => a.minutes = value.parse().expect("--minutes"),
            "--rate" => a.rate = value.parse().expect("--rate"),
            "--qps" => a.qps = value.parse().expect("--qps"),
            "--pool" => a.pool = value.parse().expect("--pool"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        a.pid > 0 && !a.url.is_empty() && !a.brokers.is_empty(),
        "see the header"
    );
    a
}

/// The catalogue the stream should leave: every id with its last version.
type Expected = HashMap<TrackId, Option<String>>;

/// The `i`-th extra id (22 base-62 characters, distinct from Spotify's).
fn extra_id(i: usize) -> TrackId {
    TrackId::parse(&format!("soak{i:018}")).expect("a valid id")
}

/// Produces `--rate` messages a second for `--minutes`; returns the
/// expected catalogue and how many messages of each kind went out.
async fn produce(
    args: &Args,
    base: &[Track],
    mut expected: Expected,
) -> anyhow::Result<(Expected, [u64; 3])> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()?;
    let mut rng = StdRng::seed_from_u64(20261208);
    let total = args.rate * args.minutes * 60;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.rate as u32);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut counts = [0u64; 3]; // inserts or replacements, deletes, dataset updates
    let mut pending = std::collections::VecDeque::new();
    for n in 0..total {
        tick.tick().await;
        let (key, value) = if rng.random_bool(0.2) {
            let mut track = base[rng.random_range(0..base.len())].clone();
            track.popularity = Some(rng.random_range(0..=100));
            track.features.energy = rng.random_range(0.0..1.0);
            track.name = Some(format!("{} (soak {n})", track.name.unwrap_or_default()));
            expected.insert(track.id, track.name.clone());
            counts[2] += 1;
            encode_upsert(&track)
        } else {
            let i = rng.random_range(0..args.pool);
            let id = extra_id(i);
            if expected.contains_key(&id) && rng.random_bool(0.5) {
                expected.remove(&id);
                counts[1] += 1;
                encode_delete(id)
            } else {
                let mut track = base[i % base.len()].clone();
                track.id = id;
                track.features.energy = rng.random_range(0.0..1.0);
                track.name = Some(format!("soak track {i} v{n}"));
                expected.insert(id, track.name.clone());
                counts[0] += 1;
                encode_upsert(&track)
            }
        };
        let record = FutureRecord::to(&args.topic).key(&key).payload(&value);
        match producer.send_result(record) {
            Ok(delivery) => pending.push_back(delivery),
            Err((e, _)) => anyhow::bail!("produce: {e}"),
        }
        // Deliveries are awaited in order, a second behind, so that the
        // producer's queue stays short and a failure stops the soak.
        while pending.len() > args.rate as usize {
            let delivery = pending.pop_front().expect("not empty");
            delivery.await?.map_err(|(e, _)| e)?;
        }
    }
    for delivery in pending {
        delivery.await?.map_err(|(e, _)| e)?;
    }
    Ok((expected, counts))
}

/// Latencies of one minute, by query kind.
#[derive(Default)]
struct Minute {
    ms: HashMap<&'static str, Vec<f64>>,
    errors: HashMap<&'static str, u64>,
    /// Failures by reason: an HTTP status, a GraphQL `extensions.code`,
    /// or the client's error.
    reasons: HashMap<String, u64>,
    shed: u64,
}

const KINDS: [&str; 3] = ["similar", "recommend", "recommendForPlaylist"];

fn query(kind: &str, ids: &[&str]) -> Value {
    match kind {
        "similar" => json!({
            "query": "query($id: ID!) { similar(trackId: $id, first: 10) { score track { id name } } }",
            "variables": { "id": ids[0] }
        }),
        "recommend" => json!({
            "query": "query($id: ID!) { recommend(input: {seeds: {trackIds: [$id]}, shift: {energy: 0.1}, first: 10}) { score track { id name } } }",
            "variables": { "id": ids[0] }
        }),
        _ => json!({
            "query": "query($ids: [ID!]) { recommendForPlaylist(trackIds: $ids, first: 10) { track { id name } } }",
            "variables": { "ids": ids }
        }),
    }
}

/// Sends `--qps` queries a second until `stop`, recording each minute.
async fn load(
    args: Arc<Args>,
    ids: Arc<Vec<String>>,
    minutes: Arc<Mutex<Vec<Minute>>>,
    start: Instant,
    stop: tokio_util::sync::CancellationToken,
) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");
    let url = format!("{}/graphql", args.url);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.qps as u32);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut rng = StdRng::seed_from_u64(7);
    let mut n = 0usize;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let minute = (start.elapsed().as_secs() / 60) as usize;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            record(&minutes, minute, |m| m.shed += 1);
            continue;
        };
        let kind = KINDS[n % KINDS.len()];
        n += 1;
        let picked: Vec<&str> = (0..5)
            .map(|_| ids[rng.random_range(0..ids.len())].as_str())
            .collect();
        let body = query(kind, &picked);
        let (client, url, minutes) = (client.clone(), url.clone(), Arc::clone(&minutes));
        tokio::spawn(async move {
            let sent = Instant::now();
            let failure = match client.post(&url).json(&body).send().await {
                Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                    Ok(v) if v["errors"].is_null() && v["data"].is_object() => None,
                    Ok(v) => Some(format!("{}", v["errors"][0]["extensions"]["code"])),
                    Err(e) => Some(format!("body: {e}")),
                },
                Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Some(format!("client: {e}")),
            };
            let ms = sent.elapsed().as_secs_f64() * 1e3;
            record(&minutes, minute, |m| {
                m.ms.entry(kind).or_default().push(ms);
                if let Some(reason) = failure {
                    *m.errors.entry(kind).or_default() += 1;
                    *m.reasons.entry(reason).or_default() += 1;
                }
            });
            drop(permit);
        });
    }
}

fn record(minutes: &Mutex<Vec<Minute>>, minute: usize, f: impl FnOnce(&mut Minute)) {
    let mut minutes = minutes.lock();
    while minutes.len() <= minute {
        minutes.push(Minute::default());
    }
    f(&mut minutes[minute]);
}

/// Resident memory of `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The unlabelled samples of a Prometheus text scrape, by name.
async fn scrape(client: &reqwest::Client, url: &str) -> HashMap<String, f64> {
    let Ok(response) = client.get(format!("{url}/metrics")).send().await else {
        return HashMap::new();
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.contains('{'))
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

const SAMPLED: [&str; 6] = [
    "timbre_index_tracks",
    "timbre_index_tombstones",
    "timbre_index_pending",
    "timbre_index_catch_ups_total",
    "timbre_index_compactions_total",
    "timbre_ingest_lag_messages",
];

/// Samples: seconds since start, resident MiB, and the [`SAMPLED`] values.
type Samples = Arc<Mutex<Vec<(f64, f64, Vec<f64>)>>>;

/// Samples memory and metrics every 5 s until `stop`.
async fn sample(
    args: Arc<Args>,
    rows: Samples,
    start: Instant,
    stop: tokio_util::sync::CancellationToken,
) {
    let client = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let metrics = scrape(&client, &args.url).await;
        let values = SAMPLED
            .iter()
            .map(|m| metrics.get(*m).copied().unwrap_or(f64::NAN))
            .collect();
        rows.lock()
            .push((start.elapsed().as_secs_f64(), rss_mib(args.pid), values));
    }
}

/// Every track the server lists: id → name.
async fn listed(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<HashMap<String, Option<String>>> {
    let mut out = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let body = json!({
            "query": "query($after: String) { tracks(first: 100, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }",
            "variables": { "after": after }
        });
        let page: Value = client
            .post(format!("{url}/graphql"))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let tracks = &page["data"]["tracks"];
        for edge in tracks["edges"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("{page}"))?
        {
            let node = &edge["node"];
            out.insert(
                node["id"].as_str().unwrap_or_default().to_string(),
                node["name"].as_str().map(str::to_string),
            );
        }
        if tracks["pageInfo"]["hasNextPage"] != json!(true) {
            return Ok(out);
        }
        after = tracks["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Least-squares slope of `ys` over `xs`.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let var: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    cov / var
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest is built without a default crypto provider (as in the lake).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Arc::new(args());
    std::fs::create_dir_all(&args.out)?;
    let (base, _) = ingest::read(&Source::Path(args.dataset.clone()), None)?;
    let expected: Expected = base.iter().map(|t| (t.id, t.name.clone())).collect();
    let ids = Arc::new(base.iter().map(|t| t.id.to_string()).collect::<Vec<_>>());
    let start = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let minutes = Arc::new(Mutex::new(Vec::new()));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample(
        Arc::clone(&args),
        Arc::clone(&samples),
        start,
        stop.clone(),
    ));
    let loader = tokio::spawn(load(
        Arc::clone(&args),
        Arc::clone(&ids),
        Arc::clone(&minutes),
        start,
        stop.clone(),
    ));
    let (expected, counts) = produce(&args, &base, expected).await?;
    let produced_in = start.elapsed();
    stop.cancel();
    let _ = tokio::join!(sampler, loader);

    // Applied: the lag at zero and the count right, then every id and name.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let at_end = loop {
        let m = scrape(&client, &args.url).await;
        let lag = m
            .get("timbre_ingest_lag_messages")
            .copied()
            .unwrap_or(f64::NAN);
        let tracks = m.get("timbre_index_tracks").copied().unwrap_or(f64::NAN);
        if lag == 0.0 && tracks == expected.len() as f64 {
            break m;
        }
        // Not applied in time: still write the hour's samples below; the
        // catalogue check then fails the soak with what differs.
        if Instant::now() >= deadline {
            eprintln!(
                "not applied after 300 s: lag {lag}, {tracks} tracks of {}",
                expected.len()
            );
            break m;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let served = listed(&client, &args.url).await?;
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(id, name)| served.get(&id.to_string()) != Some(name))
        .map(|(id, _)| id.to_string())
        .take(10)
        .collect();
    let equal = wrong.is_empty() && served.len() == expected.len();

    let mut memory =
        String::from("seconds,rss_mib,tracks,tombstones,pending,catch_ups,compactions,lag\n");
    let samples = samples.lock();
    for (t, rss, values) in samples.iter() {
        let _ = write!(memory, "{t:.0},{rss:.1}");
        for v in values {
            let _ = write!(memory, ",{v}");
        }
        memory.push('\n');
    }
    std::fs::write(args.out.join("memory.csv"), memory)?;

    let mut latency = String::from("minute,kind,count,errors,p50_ms,p99_ms,max_ms,shed\n");
    let mut p99s: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut errors = 0;
    let minutes = minutes.lock();
    for (i, minute) in minutes.iter().enumerate() {
        for kind in KINDS {
            let mut ms = minute.ms.get(kind).cloned().unwrap_or_default();
            ms.sort_by(f64::total_cmp);
            let failed = minute.errors.get(kind).copied().unwrap_or(0);
            errors += failed;
            let p99 = percentile(&ms, 0.99);
            if i < minutes.len() - 1 && !ms.is_empty() {
                p99s.entry(kind).or_default().push(p99);
            }
            let _ = writeln!(
                latency,
                "{i},{kind},{},{failed},{:.2},{p99:.2},{:.2},{}",
                ms.len(),
                percentile(&ms, 0.5),
                ms.last().copied().unwrap_or(f64::NAN),
                minute.shed
            );
        }
    }
    std::fs::write(args.out.join("latency.csv"), latency)?;

    // Growth: the memory's trend after the first ten minutes (warm-up:
    // caches, the first compactions), in MiB per hour.
    let steady: Vec<&(f64, f64, Vec<f64>)> = samples.iter().filter(|s| s.0 >= 600.0).collect();
    let xs: Vec<f64> = steady.iter().map(|s| s.0 / 3600.0).collect();
    let ys: Vec<f64> = steady.iter().map(|s| s.1).collect();
    let rss: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let mut reasons: HashMap<String, u64> = HashMap::new();
    for minute in minutes.iter() {
        for (reason, n) in &minute.reasons {
            *reasons.entry(reason.clone()).or_default() += n;
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        percentile(&v, 0.5)
    };
    let summary = json!({
        "minutes": args.minutes,
        "produced_seconds": produced_in.as_secs_f64(),
        "messages": { "upserts_of_extra_ids": counts[0], "deletes": counts[1], "dataset_updates": counts[2] },
        "catalogue": { "expected": expected.len(), "served": served.len(), "equal": equal, "first_wrong": wrong },
        "rss_mib": {
            "first": rss.first(), "max": rss.iter().copied().fold(f64::NAN, f64::max),
            "last": rss.last(),
            "slope_mib_per_hour_after_10_min": if xs.len() > 2 { slope(&xs, &ys) } else { f64::NAN },
        },
        "index_at_end": SAMPLED.iter().map(|k| (k.to_string(), json!(at_end.get(*k)))).collect::<serde_json::Map<_, _>>(),
        "p99_ms_per_minute": KINDS.iter().map(|k| {
            let v = p99s.get(k).cloned().unwrap_or_default();
            (k.to_string(), json!({
                "median": median(v.clone()),
                "max": v.iter().copied().fold(f64::NAN, f64::max),
            }))
        }).collect::<serde_json::Map<_, _>>(),
        "query_errors": errors,
        "query_errors_by_reason": reasons,
        "shed": minutes.iter().map(|m| m.shed).sum::<u64>(),
    });
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    anyhow::ensure!(
        equal,
        "the catalogue differs from what was produced: {wrong:?}"
    );
    Ok(())
}
