//! Criterion benchmarks of the index on synthetic data: build time, and
//! search time of the graph against the exact scan (the baseline measured in
//! the same run). Run: `cargo bench -p timbre-index`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use timbre_index::{IndexParams, SearchMode, VectorIndex};

const DIM: usize = 13;

/// `n` vectors around 50 cluster centres, like tracks around genres.
fn vectors(n: usize, seed: u64) -> Vec<(u32, Vec<f32>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..50)
        .map(|_| (0..DIM).map(|_| rng.random_range(-2.0..2.0)).collect())
        .collect();
    (0..n as u32)
        .map(|i| {
            let c = &centres[i as usize % centres.len()];
            (
                i,
                c.iter().map(|x| x + rng.random_range(-0.7..0.7)).collect(),
            )
        })
        .collect()
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for n in [10_000usize, 28_000] {
        let data = vectors(n, 7);
        group.bench_with_input(BenchmarkId::from_parameter(n), &data, |b, data| {
            b.iter(|| VectorIndex::build(DIM, IndexParams::default(), data.clone()).unwrap())
        });
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let data = vectors(28_000, 7);
    let queries = vectors(500, 11);
    let params = IndexParams::default().graph_only();
    let index = VectorIndex::build(DIM, params, data).unwrap();
    let mut group = c.benchmark_group("search_k10_28k");
    for (name, mode) in [("graph", SearchMode::Graph), ("exact", SearchMode::Exact)] {
        group.bench_function(name, |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % queries.len();
                index
                    .search_with(&queries[i].1, 10, None, mode, None)
                    .unwrap()
            })
        });
    }
    let even = |k: &u32| k.is_multiple_of(2);
    group.bench_function("graph_filter_half", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            index
                .search_with(&queries[i].1, 10, Some(&even), SearchMode::Graph, None)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, build, search);
criterion_main!(benches);
