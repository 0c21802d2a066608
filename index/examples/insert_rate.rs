//! How fast whole graphs are built by hnsw_rs (every core) and how fast the
//! index's own inserts add vectors one by one (one core), on the same
//! vectors: what decides that a graph catch-up extends an existing graph
//! rather than rebuilding it (`VectorIndex::catch_up`).
//!
//! Usage: `cargo run --release -p timbre-index --example insert_rate [N]`
//! (N uniform random 13-dimensional vectors, default 28,000, fixed seed;
//! the one-by-one part starts from a graph of the first 2,000).

use std::time::Instant;

use timbre_index::{IndexParams, VectorIndex};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(28_000);
    let mut state = 12_345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f32 / (1u64 << 31) as f32
    };
    let data: Vec<Vec<f32>> = (0..n).map(|_| (0..13).map(|_| next()).collect()).collect();
    let items = |take: usize| {
        data.iter()
            .take(take)
            .enumerate()
            .map(|(i, v)| (i as u32, v.clone()))
    };

    let started = Instant::now();
    VectorIndex::build(13, IndexParams::default(), items(n)).expect("valid vectors");
    let took = started.elapsed().as_secs_f64();
    println!(
        "hnsw_rs, whole graph of {n}: {took:.2} s, {:.0} vectors/s",
        n as f64 / took
    );

    let mut index =
        VectorIndex::build(13, IndexParams::default(), items(2_000)).expect("valid vectors");
    let started = Instant::now();
    for (i, v) in data.iter().enumerate().skip(2_000) {
        index.upsert(i as u32, v).expect("valid vectors");
    }
    let took = started.elapsed().as_secs_f64();
    let added = n.saturating_sub(2_000);
    println!(
        "one by one, {added} more: {took:.2} s, {:.0} vectors/s",
        added as f64 / took
    );
}
