//! The index's search through its public API: recall against the exact
//! oracle, the pending tail, tombstones, filters and snapshots, in every
//! search mode. Seeds are printed by the failing assertions.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use timbre_index::{IndexParams, SearchMode, VectorIndex};

const DIM: usize = 11;

/// `n` vectors around 30 cluster centres, like tracks around genres.
fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..30)
        .map(|_| (0..DIM).map(|_| rng.random_range(-2.0..2.0)).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % centres.len()];
            c.iter().map(|x| x + rng.random_range(-0.7..0.7)).collect()
        })
        .collect()
}

/// The index of `n` vectors, built the same way on every run: hnsw_rs
/// draws each node's level from a generator with a fixed seed and links it
/// to the nodes inserted before it, so with one thread inserting in a fixed
/// order the graph is a function of the input. With two, it depends on how
/// the threads interleave, and a recall figure moved with the machine's
/// load (0.978 once in CI against 0.98 required).
fn build(n: usize, seed: u64, params: IndexParams) -> VectorIndex<u32> {
    let items = vectors(n, seed).into_iter().enumerate();
    one_thread(|| VectorIndex::build(DIM, params, items.map(|(i, v)| (i as u32, v)))).unwrap()
}

/// Runs `f` in a rayon pool of one thread.
fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
        .install(f)
}

fn keys<K: Clone>(hits: &[timbre_index::Hit<K>]) -> Vec<K> {
    hits.iter().map(|h| h.key.clone()).collect()
}

/// Share of the exact `k` nearest (by distance, so ties count) found.
fn recall(index: &VectorIndex<u32>, queries: &[Vec<f32>], mode: SearchMode, ef: usize) -> f64 {
    let mut found = 0usize;
    for q in queries {
        let exact = index
            .search_with(q, 10, None, SearchMode::Exact, None)
            .unwrap();
        let worst = exact.last().unwrap().distance;
        let got = index.search_with(q, 10, None, mode, Some(ef)).unwrap();
        found += got
            .iter()
            .filter(|h| h.distance <= worst * (1.0 + 1e-6))
            .count();
    }
    found as f64 / (queries.len() * 10) as f64
}

#[test]
fn graph_recall_against_the_exact_scan_on_random_data() {
    let seed = 20_261_122;
    let index = build(10_000, seed, IndexParams::default().graph_only());
    let queries = vectors(300, seed + 1);
    let at_64 = recall(&index, &queries, SearchMode::Graph, 64);
    // Uniform noise in 11 dimensions is harder than real tracks (0.999+).
    assert!(at_64 >= 0.98, "seed {seed}: recall@10 at ef 64 is {at_64}");
    let at_16 = recall(&index, &queries, SearchMode::Graph, 16);
    eprintln!("recall@10: ef 64 {at_64}, ef 16 {at_16}");
    assert!(at_16 >= 0.8 && at_16 <= at_64, "seed {seed}: ef 16 {at_16}");
}

#[test]
fn the_pending_tail_is_searched_at_once_and_frozen_later() {
    let mut index = build(3_000, 5, IndexParams::default().graph_only());
    let fresh = vectors(2_000, 6);
    // One by one, then in batches: each new vector is its own nearest
    // neighbour right after its upsert, before and after a freeze.
    for (i, v) in fresh.iter().enumerate().take(200) {
        index.upsert(10_000 + i as u32, v).unwrap();
        let hit = &index.search(v, 1, None).unwrap()[0];
        assert_eq!((hit.key, hit.distance), (10_000 + i as u32, 0.0));
    }
    for (b, batch) in fresh[200..].chunks(300).enumerate() {
        let first = 10_200 + 300 * b as u32;
        let items: Vec<(u32, &[f32])> = (first..).zip(batch.iter().map(|v| &v[..])).collect();
        index.upsert_many(items).unwrap();
        for (key, v) in (first..).zip(batch).step_by(37) {
            let hits = index.search(v, 3, None).unwrap();
            assert_eq!(hits[0].key, key, "batch {b}");
        }
    }
    assert_eq!(index.len(), 5_000);
    let queries = vectors(100, 7);
    assert!(recall(&index, &queries, SearchMode::Graph, 64) >= 0.98);
}

#[test]
fn filters_are_respected_in_every_mode_and_auto_equals_exact_when_selective() {
    let index = build(20_000, 9, IndexParams::default());
    let queries = vectors(30, 10);
    let rare = |k: &u32| k.is_multiple_of(997); // 21 of 20,000
    let half = |k: &u32| k.is_multiple_of(2);
    for q in &queries {
        for mode in [SearchMode::Auto, SearchMode::Graph, SearchMode::Exact] {
            let hits = index.search_with(q, 10, Some(&half), mode, None).unwrap();
            assert_eq!(hits.len(), 10);
            assert!(hits.iter().all(|h| h.key % 2 == 0), "{mode:?}");
            let hits = index.search_with(q, 10, Some(&rare), mode, None).unwrap();
            assert!(hits.iter().all(|h| h.key % 997 == 0), "{mode:?}");
        }
        let auto = index.search(q, 10, Some(&rare)).unwrap();
        let exact = index.search_with(q, 10, Some(&rare), SearchMode::Exact, None);
        assert_eq!(keys(&auto), keys(&exact.unwrap()));
    }
}

#[test]
fn small_catalogues_in_auto_mode_are_exact() {
    let index = build(1_000, 11, IndexParams::default());
    for q in vectors(20, 12) {
        let auto = index.search(&q, 10, None).unwrap();
        let exact = index.search_with(&q, 10, None, SearchMode::Exact, None);
        assert_eq!(auto, exact.unwrap());
    }
}

#[test]
fn a_snapshot_with_a_pending_tail_and_tombstones_loads_with_the_same_answers() {
    let mut index = build(2_000, 13, IndexParams::default().graph_only());
    let fresh = vectors(300, 14);
    // A key given twice in one batch: its first vector never reaches the graph.
    let mut items: Vec<(u32, &[f32])> = (5_000..).zip(fresh.iter().map(|v| &v[..])).collect();
    items.push((5_000, &fresh[1]));
    index.upsert_many(items).unwrap();
    for key in (0..2_000).step_by(3) {
        index.remove(&key);
    }
    let dir = tempfile::tempdir().unwrap();
    index.save(&dir.path().join("ix"), &()).unwrap();
    let (loaded, ()) = VectorIndex::<u32>::load(&dir.path().join("ix")).unwrap();
    assert_eq!(loaded.len(), index.len());
    for q in vectors(50, 15) {
        let before = index.search_with(&q, 10, None, SearchMode::Exact, None);
        let after = loaded.search_with(&q, 10, None, SearchMode::Exact, None);
        assert_eq!(before.unwrap(), after.unwrap());
        let graph = loaded.search_with(&q, 10, None, SearchMode::Graph, None);
        assert!(graph
            .unwrap()
            .iter()
            .all(|h| h.key % 3 != 0 || h.key >= 2_000));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u32, u8),
    Remove(u32),
    Batch(Vec<(u32, u8)>),
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..300u32, any::<u8>()).prop_map(|(k, s)| Op::Upsert(k, s)),
        2 => (0..300u32).prop_map(Op::Remove),
        2 => prop::collection::vec((0..300u32, any::<u8>()), 1..40).prop_map(Op::Batch),
        1 => Just(Op::Compact),
    ]
}

/// A vector derived from a key and a seed, so a model can recompute it.
fn point(key: u32, seed: u8) -> Vec<f32> {
    (0..DIM)
        .map(|d| ((key * 31 + u32::from(seed) * 7 + d as u32 * 13) % 101) as f32 / 10.0)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// After any sequence of upserts, removals, batches and compactions,
    /// every mode returns only live keys with their latest vectors, and the
    /// exact scan agrees with a model of the live set.
    #[test]
    fn only_live_keys_are_ever_returned(ops in prop::collection::vec(op(), 1..60)) {
        let params = IndexParams::default().graph_only();
        let mut index = VectorIndex::<u32>::new(DIM, params).unwrap();
        let mut model = std::collections::HashMap::new();
        for op in ops {
            match op {
                Op::Upsert(k, s) => {
                    index.upsert(k, &point(k, s)).unwrap();
                    model.insert(k, point(k, s));
                }
                Op::Remove(k) => {
                    prop_assert_eq!(index.remove(&k), model.remove(&k).is_some());
                }
                Op::Batch(items) => {
                    let vs: Vec<(u32, Vec<f32>)> =
                        items.iter().map(|&(k, s)| (k, point(k, s))).collect();
                    index.upsert_many(vs.iter().map(|(k, v)| (*k, &v[..]))).unwrap();
                    model.extend(vs);
                }
                Op::Compact => index.compact(),
            }
        }
        prop_assert_eq!(index.len(), model.len());
        let q = point(7, 3);
        let even = |k: &u32| k.is_multiple_of(2);
        for mode in [SearchMode::Graph, SearchMode::Auto, SearchMode::Exact] {
            for filter in [None, Some(&even as &dyn Fn(&u32) -> bool)] {
                let hits = index.search_with(&q, 10, filter, mode, None).unwrap();
                for h in &hits {
                    prop_assert!(filter.is_none_or(|f| f(&h.key)));
                    let v = model.get(&h.key);
                    prop_assert!(v.is_some(), "dead key {} returned in {:?}", h.key, mode);
                    prop_assert_eq!(index.get(&h.key), v.map(|v| &v[..]));
                }
            }
        }
        let mut expected: Vec<f32> = model
            .values()
            .map(|v| v.iter().zip(&q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt())
            .collect();
        expected.sort_by(f32::total_cmp);
        expected.truncate(10);
        let exact = index.search_with(&q, 10, None, SearchMode::Exact, None).unwrap();
        let got: Vec<f32> = exact.iter().map(|h| h.distance).collect();
        prop_assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            prop_assert!((g - e).abs() <= 1e-4 * e.max(1.0));
        }
    }
}
