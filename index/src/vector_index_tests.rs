//! Tests of the index as a whole: writes, catch-ups, search and compaction.

use super::*;
use crate::search::SearchMode;

fn grid(n: usize) -> Vec<(u64, Vec<f32>)> {
    (0..n)
        .map(|i| (i as u64, vec![(i % 10) as f32, (i / 10) as f32]))
        .collect()
}

fn graph_only() -> IndexParams {
    IndexParams::default().graph_only()
}

#[test]
fn appended_vectors_are_found_before_and_after_the_graph_catches_up() {
    let mut index = VectorIndex::build(2, graph_only(), grid(3_000)).unwrap();
    // Between the grid's points, where a walk finds them when the graph
    // holds them (a far-off cluster would test HNSW's recall instead).
    let fresh: Vec<(u64, Vec<f32>)> = (0..2_000u64)
        .map(|i| {
            (
                10_000 + i,
                vec![(i % 10) as f32 + 0.5, (i / 10) as f32 + 0.5],
            )
        })
        .collect();
    assert_eq!(
        index
            .append_many(fresh.iter().map(|(k, v)| (*k, v.as_slice())))
            .unwrap(),
        2_000
    );
    assert_eq!(index.unclaimed(), 2_000);
    let find = |index: &VectorIndex<u64>| index.search(&[0.5, 150.5], 1, None).unwrap()[0].key;
    assert_eq!(find(&index), 11_500);

    let mut job = index.catch_up().expect("there is work");
    assert_eq!(job.len(), 2_000);
    assert!(index.catch_up().is_none(), "one catch-up at a time");
    // Writes go on meanwhile; they wait for the next catch-up.
    index
        .append_many([(20_000u64, &[0.5f32, 0.5][..])])
        .unwrap();
    assert!(!index.flush() && index.unclaimed() == 1);
    job.run(false);
    assert!(index.caught_up(job));
    assert_eq!(find(&index), 11_500);
    assert!(index.flush());
    assert_eq!(index.unclaimed(), 0);
    assert!(index.is_graphed());
    // The walk alone (no tail left) finds the caught-up vectors.
    assert_eq!(find(&index), 11_500);
    assert_eq!(index.graph.len(), 5_001);
}

#[test]
fn a_catch_up_of_a_compacted_graph_is_dropped_and_unflushed_indexes_are_not_saved() {
    let mut index = VectorIndex::build(2, graph_only(), grid(100)).unwrap();
    index.append_many([(500u64, &[3.0f32, 3.0][..])]).unwrap();
    let mut job = index.catch_up().unwrap();
    let dir = std::env::temp_dir().join(format!("timbre-unflushed-{}", std::process::id()));
    assert!(index.save(&dir, &()).is_err());
    for key in 0..60u64 {
        index.remove(&key);
    }
    index.compact();
    job.run(false);
    assert!(!index.caught_up(job));
    assert!(index.flush());
    assert_eq!(index.search(&[3.0, 3.0], 1, None).unwrap()[0].key, 500);
    index.save(&dir, &()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_catch_up_builds_an_empty_graph_whole_and_extends_one_that_exists() {
    let mut index = VectorIndex::<u64>::new(2, graph_only()).unwrap();
    let first = grid(400);
    index
        .append_many(first.iter().map(|(k, v)| (*k, v.as_slice())))
        .unwrap();
    index.remove(&5);
    let mut job = index.catch_up().unwrap();
    assert!(job.bulk && job.len() == 399, "every live vector");
    job.run(false);
    assert!(index.caught_up(job));
    assert!(index.is_graphed() && index.graph.len() == 400);

    let moved: Vec<(u64, Vec<f32>)> = first
        .iter()
        .map(|(k, v)| (k + 1_000, vec![v[0] + 0.25, v[1] + 0.25]))
        .collect();
    index
        .append_many(moved.iter().map(|(k, v)| (*k, v.as_slice())))
        .unwrap();
    let mut job = index.catch_up().unwrap();
    assert!(!job.bulk && job.len() == 400, "only the new vectors");
    job.run(false);
    assert!(index.caught_up(job));
    assert!(index.is_graphed() && index.graph.len() == 800);
    for (key, v) in moved.iter().chain(&first).step_by(41) {
        let hits = index
            .search_with(v, 1, None, SearchMode::Graph, None)
            .unwrap();
        if *key != 5 {
            assert_eq!(hits[0].key, *key);
        }
    }
    let hits = index
        .search_with(&[5.0, 0.0], 1, None, SearchMode::Graph, None)
        .unwrap();
    assert_ne!(hits[0].key, 5, "a tombstone stays dead in the new graph");
}

#[test]
fn an_abandoned_catch_up_gives_its_vectors_to_the_next() {
    let mut index = VectorIndex::build(2, graph_only(), grid(100)).unwrap();
    index.append_many([(500u64, &[3.5f32, 3.5][..])]).unwrap();
    let lost = index.catch_up().unwrap();
    assert!(!index.flush(), "held by the catch-up");
    drop(lost);
    index.abandon_catch_up();
    assert_eq!(index.unclaimed(), 1);
    assert!(index.flush());
    let hits = index
        .search_with(&[3.5, 3.5], 1, None, SearchMode::Graph, None)
        .unwrap();
    assert_eq!(hits[0].key, 500);
}

#[test]
fn finds_the_nearest_point_on_a_grid() {
    let index = VectorIndex::build(2, graph_only(), grid(100)).unwrap();
    let hits = index.search(&[3.1, 4.2], 1, None).unwrap();
    assert_eq!(hits[0].key, 43);
    assert_eq!(index.len(), 100);
}

#[test]
fn removed_and_replaced_keys_are_never_returned_stale() {
    let mut index = VectorIndex::build(2, graph_only(), grid(100)).unwrap();
    assert!(index.remove(&43));
    assert!(!index.remove(&43));
    let hits = index.search(&[3.0, 4.0], 5, None).unwrap();
    assert!(hits.iter().all(|h| h.key != 43));
    // Move key 0 next to the query: it must be found at its new place.
    assert!(index.upsert(0, &[3.0, 4.0]).unwrap());
    let hits = index.search(&[3.0, 4.0], 1, None).unwrap();
    assert_eq!(hits[0].key, 0);
    assert_eq!(hits[0].distance, 0.0);
    assert_eq!(index.len(), 99);
    assert_eq!(index.dead_count(), 2);
}

#[test]
fn a_selective_filter_still_returns_k_results() {
    let index = VectorIndex::build(2, graph_only(), grid(400)).unwrap();
    let only_multiples_of_37 = |k: &u64| k.is_multiple_of(37);
    let hits = index
        .search(&[0.0, 0.0], 5, Some(&only_multiples_of_37))
        .unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.key % 37 == 0));
    let exact = index
        .search_with(
            &[0.0, 0.0],
            5,
            Some(&only_multiples_of_37),
            SearchMode::Exact,
            None,
        )
        .unwrap();
    assert_eq!(hits, exact);
}

#[test]
fn upserting_many_inserts_only_what_changed() {
    let mut index = VectorIndex::build(2, graph_only(), grid(100)).unwrap();
    let same = [0.0f32, 0.0];
    let moved = [5.5f32, 5.5];
    let new = [2.5f32, 7.5];
    let inserted = index
        .upsert_many([
            (0u64, &same[..]),
            (1, &moved[..]),
            (1000, &new[..]),
            (1000, &new[..]),
        ])
        .unwrap();
    assert_eq!(inserted, 2);
    assert_eq!(index.dead_count(), 1);
    assert_eq!(index.len(), 101);
    let hit = &index.search(&[5.4, 5.4], 1, None).unwrap()[0];
    assert_eq!(hit.key, 1);
    let hit = &index.search(&[2.4, 7.4], 1, None).unwrap()[0];
    assert_eq!(hit.key, 1000);
    assert!(index.upsert_many([(5u64, &[f32::NAN, 0.0][..])]).is_err());
    assert_eq!(index.len(), 101);
}

#[test]
fn compaction_drops_tombstones_and_keeps_answers() {
    let mut index = VectorIndex::build(2, graph_only(), grid(100)).unwrap();
    for key in 0..50 {
        index.remove(&key);
    }
    assert!(index.needs_compaction());
    let before = index.search(&[5.1, 7.3], 3, None).unwrap();
    index.compact();
    assert_eq!(index.dead_count(), 0);
    assert_eq!(index.len(), 50);
    assert_eq!(index.search(&[5.1, 7.3], 3, None).unwrap(), before);
}

#[test]
fn wrong_dimension_and_nan_are_errors() {
    let mut index = VectorIndex::<u64>::new(2, IndexParams::default()).unwrap();
    assert!(matches!(
        index.upsert(1, &[1.0]),
        Err(IndexError::Dimension {
            expected: 2,
            got: 1
        })
    ));
    assert!(matches!(
        index.upsert(1, &[f32::NAN, 0.0]),
        Err(IndexError::NonFinite)
    ));
    assert!(index.search(&[0.0, 0.0], 3, None).unwrap().is_empty());
}
