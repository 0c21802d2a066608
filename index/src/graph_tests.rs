//! The graph's walk and inserts against the exact scan and against
//! hnsw_rs's own search on the same data.

use super::*;
use crate::build;
use crate::IndexParams;

/// `n` vectors of `dim` dimensions from a fixed-seed generator, in
/// clusters like tracks around genres.
fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..dim).map(|_| 4.0 * next()).collect())
        .collect();
    (0..n)
        .map(|i| centres[i % 20].iter().map(|c| c + next()).collect())
        .collect()
}

fn table_of(data: &[Vec<f32>], dim: usize) -> VectorTable {
    let mut table = VectorTable::with_capacity(dim, data.len());
    for v in data {
        table.push(v);
    }
    table
}

/// `data` in a table, the hnsw_rs graph of it (default parameters) and
/// that graph copied into the flat layout.
fn copied(data: &[Vec<f32>], dim: usize) -> (VectorTable, build::Hnsw32, Graph) {
    let table = table_of(data, dim);
    let params = IndexParams::default();
    let ids: Vec<u32> = (0..data.len() as u32).collect();
    let hnsw = build::hnsw(&table, &ids, &params);
    let graph = build::flatten(&hnsw, data.len(), params.max_connections);
    (table, hnsw, graph)
}

/// Share of the exact 10 nearest (by distance, so ties count) that the
/// walk at `ef` finds, over `queries`.
fn recall(graph: &Graph, table: &VectorTable, queries: &[Vec<f32>], ef: usize) -> f64 {
    let mut found = 0.0;
    for q in queries {
        let exact = crate::flat::top_k(table, q, 10, |_| true);
        let worst = exact.last().map_or(0.0, |e| e.1);
        let mut top = TopK::new(10);
        graph
            .search(table, &table.pad(q), ef, |_| true, usize::MAX, &mut top)
            .unwrap();
        found += top
            .into_hits()
            .iter()
            .filter(|f| f.1 <= worst * (1.0 + 1e-6))
            .count() as f64
            / 10.0;
    }
    found / queries.len() as f64
}

#[test]
fn the_walk_of_a_copied_hnsw_rs_graph_finds_what_hnsw_rs_finds() {
    let (n, dim) = (3_000, 13);
    let data = vectors(n, dim, 7);
    let (table, hnsw, graph) = copied(&data, dim);
    let queries = vectors(200, dim, 11);
    let ours = recall(&graph, &table, &queries, 32);
    let mut theirs = 0.0;
    for q in &queries {
        let exact = crate::flat::top_k(&table, q, 10, |_| true);
        let worst = exact.last().unwrap().1;
        theirs += build::reference::search(&hnsw, q, 10, 32)
            .iter()
            .filter(|f| f.1 <= worst * (1.0 + 1e-5))
            .count() as f64
            / 10.0;
    }
    let theirs = theirs / queries.len() as f64;
    eprintln!("recall@10 at ef 32: ours {ours}, hnsw_rs {theirs}");
    assert!(ours >= 0.95, "recall@10 {ours}, hnsw_rs {theirs}");
    assert!(ours >= theirs - 0.01, "ours {ours}, hnsw_rs {theirs}");
}

#[test]
fn a_graph_grown_by_inserts_alone_has_the_recall_of_a_bulk_built_one() {
    let (n, dim) = (3_000, 13);
    let data = vectors(n, dim, 21);
    let table = table_of(&data, dim);
    let params = IndexParams::default();
    let m = params.max_connections;
    let mut grown = Graph::new(m);
    for id in 0..n as u32 {
        let level = random_level(id, 1, m, params.max_layers);
        grown.insert(&table, id, level, params.ef_construction);
    }
    let ids: Vec<u32> = (0..n as u32).collect();
    let bulk = build::bulk(&table, &ids, n, &params);
    let queries = vectors(200, dim, 22);
    let (ours, theirs) = (
        recall(&grown, &table, &queries, 32),
        recall(&bulk, &table, &queries, 32),
    );
    eprintln!("recall@10 at ef 32: inserts {ours}, bulk {theirs}");
    assert!(ours >= 0.95 && ours >= theirs - 0.02, "{ours} vs {theirs}");
    // No list holds itself, a duplicate or more than its capacity.
    for id in 0..n as u32 {
        let links = grown.links(id, 0);
        assert!(links.len() <= 2 * m && !links.contains(&id));
        let mut sorted = links.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), links.len(), "node {id}");
    }
}

#[test]
fn inserts_into_a_bulk_built_graph_are_found() {
    let (n, dim) = (2_000, 8);
    let data = vectors(n + 500, dim, 5);
    let table = table_of(&data, dim);
    let params = IndexParams::default();
    let ids: Vec<u32> = (0..n as u32).collect();
    let mut graph = build::bulk(&table, &ids, n, &params);
    for id in n as u32..(n + 500) as u32 {
        let level = random_level(id, 9, params.max_connections, params.max_layers);
        graph.insert(&table, id, level, params.ef_construction);
    }
    assert_eq!(graph.len(), n + 500);
    let mut found = 0;
    for id in (n as u32..(n + 500) as u32).step_by(5) {
        let mut top = TopK::new(1);
        graph
            .search(&table, table.padded(id), 32, |_| true, usize::MAX, &mut top)
            .unwrap();
        found += usize::from(top.into_hits()[0].1 == 0.0);
    }
    assert!(found >= 98, "{found} of 100 inserted vectors found");
}

#[test]
fn a_filter_is_respected_and_a_budget_ends_a_starved_walk() {
    let (n, dim) = (2_000, 5);
    let data = vectors(n, dim, 3);
    let (table, hnsw, graph) = copied(&data, dim);
    let q = table.pad(&data[17]);
    let thirds = |id: u32| id.is_multiple_of(3);
    let mut top = TopK::new(10);
    graph
        .search(&table, &q, 64, thirds, usize::MAX, &mut top)
        .unwrap();
    let found = top.into_hits();
    assert_eq!(found.len(), 10);
    assert!(found.iter().all(|&(id, _)| thirds(id)));
    // hnsw_rs agrees on which ids pass.
    let theirs = build::reference::search_filtered(&hnsw, &data[17], 10, 64, &thirds);
    assert!(theirs.iter().all(|&(id, _)| thirds(id)));
    // Nothing passes: the walk would visit every node; a budget stops it.
    let mut top = TopK::new(10);
    assert!(graph
        .search(&table, &q, 64, |_| false, 500, &mut top)
        .is_none());
}

#[test]
fn levels_decay_by_a_factor_of_m() {
    let n = 200_000u32;
    let levels: Vec<usize> = (0..n).map(|id| random_level(id, 42, 16, 16)).collect();
    let above = |l: usize| levels.iter().filter(|&&x| x >= l).count() as f64;
    // One in 16 on layer 1 or above, one in 256 on layer 2.
    assert!((above(1) / f64::from(n) - 1.0 / 16.0).abs() < 0.005);
    assert!((above(2) / f64::from(n) - 1.0 / 256.0).abs() < 0.001);
    assert!(levels.iter().all(|&l| l < 16));
    assert_ne!(random_level(7, 1, 16, 16), usize::MAX);
}
