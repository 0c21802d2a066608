//! Recall@10 of the HNSW graph against exact search on the shared dataset,
//! in timbre's feature space, queried with tracks of the catalog.

use timbre::catalog::Catalog;
use timbre::ingest::{self, Source};
use timbre_index::{IndexParams, SearchMode};

use crate::helpers::shared_dataset;

#[test]
fn recall_at_10_is_at_least_0_99_on_the_shared_dataset() {
    let Some(path) = shared_dataset() else { return };
    let (tracks, _) = ingest::read(&Source::Path(path), None).unwrap();
    // Graph search only: the automatic exact path must not flatter recall.
    let params = IndexParams::default().graph_only();
    // Built by one thread, so the graph (hnsw_rs draws levels from a fixed
    // seed) and the figure are the same on every run: with two threads the
    // graph depends on how they interleave, and the recall moved with the
    // machine's load.
    let catalog = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| Catalog::build(tracks, params))
        .unwrap();
    let index = catalog.index();

    // Every 28th track as a query: about 1,000 queries spread over the file.
    let queries: Vec<_> = catalog.tracks().step_by(28).map(|t| t.id).collect();
    let mut found = 0usize;
    for id in &queries {
        let q = index.get(id).unwrap().to_vec();
        let graph = index
            .search_with(&q, 10, None, SearchMode::Graph, None)
            .unwrap();
        let exact = index
            .search_with(&q, 10, None, SearchMode::Exact, None)
            .unwrap();
        // Ties at the 10th distance make either neighbour correct.
        let cutoff = exact.last().unwrap().distance;
        found += graph
            .iter()
            .filter(|h| h.distance <= cutoff + 1e-6)
            .count()
            .min(10);
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    eprintln!(
        "recall@10 = {recall:.4} over {} queries (ef_search {})",
        queries.len(),
        index.params().ef_search
    );
    assert!(recall >= 0.99, "recall@10 = {recall}");
}
