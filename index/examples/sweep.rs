//! A quick sweep of the index alone on a catalogue written by
//! `bench/ann.sh` (`target/ann/<catalogue>/`), for tuning without building
//! the server: build and freeze time, then QPS (one thread) and recall@10
//! against the index's own exact scan for graph settings, the exact scan,
//! `Auto`, and filters of several selectivities.
//!
//! `cargo run --release -p timbre-index --example sweep -- target/ann/tracks [n]`
//! (`n` keeps only the first n vectors, to find the exact/graph crossover).

use std::time::Instant;

use timbre_index::{IndexParams, SearchMode, VectorIndex};

fn read_f32(path: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map_or("target/ann/tracks", String::as_str);
    let meta = std::fs::read_to_string(format!("{dir}/meta.json")).unwrap();
    let dim: usize = meta
        .split("\"dim\":")
        .nth(1)
        .and_then(|s| s.trim_start().split([',', '\n']).next())
        .and_then(|s| s.trim().parse().ok())
        .expect("meta.json: dim");
    let mut base = read_f32(&format!("{dir}/base.f32"));
    if let Some(n) = args.get(2).and_then(|s| s.parse::<usize>().ok()) {
        base.truncate(n * dim);
    }
    let queries = read_f32(&format!("{dir}/queries.f32"));
    let queries: Vec<&[f32]> = queries.chunks_exact(dim).take(1_000).collect();

    let started = Instant::now();
    let items = base.chunks_exact(dim).enumerate();
    let index = VectorIndex::build(
        dim,
        IndexParams::default(),
        items.map(|(i, v)| (i as u32, v.to_vec())),
    )
    .unwrap();
    println!(
        "n {} dim {dim}: build {:.2} s",
        index.len(),
        started.elapsed().as_secs_f64()
    );
    let exact: Vec<Vec<f32>> = queries
        .iter()
        .map(|q| {
            let hits = index.search_with(q, 10, None, SearchMode::Exact, None);
            hits.unwrap().iter().map(|h| h.distance).collect()
        })
        .collect();

    let run =
        |name: &str, mode: SearchMode, ef: Option<usize>, filter: Option<&dyn Fn(&u32) -> bool>| {
            let mut found = 0usize;
            let mut passes = 0;
            let started = Instant::now();
            while passes == 0 || started.elapsed().as_secs_f64() < 0.5 {
                found = 0;
                for (q, truth) in queries.iter().zip(&exact) {
                    let hits = index.search_with(q, 10, filter, mode, ef).unwrap();
                    let worst = truth.last().copied().unwrap_or(0.0);
                    found += hits
                        .iter()
                        .filter(|h| h.distance <= worst * 1.000_001)
                        .count();
                }
                passes += 1;
            }
            let qps = (passes * queries.len()) as f64 / started.elapsed().as_secs_f64();
            let recall = found as f64 / (queries.len() * 10) as f64;
            if filter.is_some() {
                println!("{name:>24}: {qps:>9.0} QPS");
            } else {
                println!("{name:>24}: {qps:>9.0} QPS, recall@10 {recall:.4}");
            }
        };
    for ef in [16, 24, 32, 64] {
        run(&format!("graph ef {ef}"), SearchMode::Graph, Some(ef), None);
    }
    run("exact", SearchMode::Exact, None, None);
    run("auto", SearchMode::Auto, None, None);
    for share in [2u32, 10, 100, 1000] {
        let filter = move |k: &u32| k.wrapping_mul(2_654_435_761).is_multiple_of(share);
        for (name, mode) in [
            ("graph", SearchMode::Graph),
            ("exact", SearchMode::Exact),
            ("auto", SearchMode::Auto),
        ] {
            run(
                &format!("1/{share} filter, {name}"),
                mode,
                None,
                Some(&filter),
            );
        }
    }
}
