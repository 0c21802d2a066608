//! The figures of the core server, measured in one run on the shared dataset:
//! import, index build, start-up with and without a snapshot, in-process
//! `similar` latency (median, p99) against the exact scan measured in the
//! same run, and recall@10.
//!
//! Run: `cargo run --release --example measure [-- PATH]`
//! (PATH defaults to ../shared/data/spotify_songs.csv).

use std::sync::Arc;
use std::time::{Duration, Instant};

use timbre::application;
use timbre::catalog::{Catalog, Seed};
use timbre::config::Config;
use timbre::domain::TrackFilter;
use timbre::ingest::{self, Source};
use timbre_index::{IndexParams, SearchMode};

const REPEATS: usize = 5;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).min(sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/spotify_songs.csv"
        )
        .into()
    });
    println!("dataset: {path}; {REPEATS} repeats, medians (min..max)");

    // Parse only.
    let mut parse = Vec::new();
    let mut tracks = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        tracks = ingest::read(&Source::parse(&path), None)?.0;
        parse.push(t.elapsed());
    }
    report("parse CSV", &parse);

    // Index build alone (parallel, 2 cores).
    let mut build = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        let c = Catalog::build(tracks.clone(), IndexParams::default())?;
        build.push(t.elapsed());
        drop(c);
    }
    report("index build (fit + HNSW)", &build);

    // Full import into a fresh data directory, then restarts.
    let (mut import, mut warm, mut cold) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..REPEATS {
        let dir = tempfile::tempdir()?;
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let t = Instant::now();
        let (service, _) = application::open_service(&config).await?;
        application::import(&service, Source::parse(&path), None).await?;
        service.save_snapshot().await?;
        import.push(t.elapsed());
        drop(service);

        let (service, s) = application::open_service(&config).await?;
        warm.push(s.elapsed);
        drop(service);

        std::fs::remove_dir_all(config.snapshot_dir())?;
        let (service, s) = application::open_service(&config).await?;
        cold.push(s.elapsed);
        drop(service);
    }
    report("import (parse + store + index + snapshot)", &import);
    report("start-up from snapshot", &warm);
    report("start-up with rebuild (no snapshot)", &cold);

    // Latency of similar(first: 10), single thread, in process.
    let graph = Arc::new(Catalog::build(
        tracks.clone(),
        IndexParams::default().graph_only(),
    )?);
    let auto = Arc::new(Catalog::build(tracks.clone(), IndexParams::default())?);
    let exact = Arc::new(Catalog::build(
        tracks.clone(),
        IndexParams::default().exact_only(),
    )?);
    let seeds: Vec<_> = graph.tracks().map(|t| t.id).collect();
    let none = TrackFilter::default();
    let rock = TrackFilter {
        genres: vec!["rock".into()],
        ..Default::default()
    };
    for (name, filter) in [
        ("similar(first: 10)", &none),
        ("similar(first: 10, genre rock)", &rock),
    ] {
        for (mode_name, catalog) in [
            ("default (auto)", &auto),
            ("hnsw graph only", &graph),
            ("exact scan baseline", &exact),
        ] {
            let mut lat = Vec::with_capacity(10_000);
            for i in 0..10_000 {
                let seed = Seed::Track(seeds[(i * 7919) % seeds.len()]);
                let t = Instant::now();
                std::hint::black_box(catalog.similar(&seed, 10, filter)?);
                lat.push(t.elapsed());
            }
            lat.sort();
            println!(
                "{name:<34} {mode_name:<20} p50 {}  p99 {}  (10,000 queries)",
                us(percentile(&lat, 0.5)),
                us(percentile(&lat, 0.99))
            );
        }
    }

    // Recall@10 of the graph against exact search, every track a query.
    let index = graph.index();
    let mut found = 0usize;
    for id in &seeds {
        let q = index.get(id).unwrap().to_vec();
        let g = index.search_with(&q, 10, None, SearchMode::Graph, None)?;
        let e = index.search_with(&q, 10, None, SearchMode::Exact, None)?;
        let cutoff = e.last().unwrap().distance;
        found += g.iter().filter(|h| h.distance <= cutoff + 1e-6).count();
    }
    println!(
        "recall@10 (graph vs exact, {} queries, ef_search {}): {:.4}",
        seeds.len(),
        index.params().ef_search,
        found as f64 / (seeds.len() * 10) as f64
    );
    Ok(())
}

fn report(what: &str, xs: &[Duration]) {
    let min = xs.iter().min().unwrap();
    let max = xs.iter().max().unwrap();
    println!(
        "{what:<44} {} ({}..{})",
        ms(median(xs.to_vec())),
        ms(*min),
        ms(*max)
    );
}
