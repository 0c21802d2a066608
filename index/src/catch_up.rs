//! Graph catch-ups: vectors appended to the index's tail join the graph
//! on a thread that does not hold the index. The index hands out a
//! [`GraphCatchUp`] (its graph shared, its vector table copied), the caller
//! runs it wherever it likes, and hands it back; searches meanwhile walk the
//! old graph and scan the tail, so they neither wait nor miss anything.

use std::hash::Hash;
use std::sync::Arc;

use crate::build;
use crate::graph::{random_level, Graph};
use crate::table::VectorTable;
use crate::vector_index::VectorIndex;
use crate::IndexParams;

/// Vectors on their way into the graph, inserted without holding the
/// index (see [`VectorIndex::catch_up`]): it works on its own copies of the
/// graph and the vector table, and hands the grown graph back through
/// [`VectorIndex::caught_up`].
pub struct GraphCatchUp {
    /// The index's graph when the catch-up was handed out.
    graph: Arc<Graph>,
    vectors: VectorTable,
    /// Ids to insert, ascending; with `bulk`, every live id below `end`.
    ids: Vec<u32>,
    /// Whether to build the whole graph with hnsw_rs on every core rather
    /// than insert `ids` one by one: only into an empty graph (an import, a
    /// first stream). The index's own inserts are faster than hnsw_rs's even
    /// on one core (28k random vectors: 12.5k/s one by one against 2.4k/s
    /// for hnsw_rs on two threads, `index/examples/insert_rate.rs`), so a
    /// graph that exists is never rebuilt to take new vectors.
    pub(crate) bulk: bool,
    end: usize,
    generation: u64,
    params: IndexParams,
    /// The grown graph, once run.
    result: Option<Graph>,
}

impl GraphCatchUp {
    /// Inserts the vectors. A bulk build runs on every core, or with
    /// `spare_a_core` on every core but one (on at least one): a catch-up
    /// that runs while the server takes writes and queries leaves them a
    /// core, which is what deferring the graph is for; one that runs while
    /// nothing else does (an import, a rebuild before the server listens)
    /// takes them all. Inserts one by one run on the calling thread.
    /// Searches meanwhile walk the index's graph and scan its tail, so they
    /// neither wait nor miss anything.
    pub fn run(&mut self, spare_a_core: bool) {
        if self.result.is_some() {
            return;
        }
        let graph = if self.bulk {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let threads = cores.saturating_sub(usize::from(spare_a_core)).max(1);
            let build = || build::bulk(&self.vectors, &self.ids, self.end, &self.params);
            match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                Ok(pool) => pool.install(build),
                Err(_) => build(),
            }
        } else {
            let mut graph = (*self.graph).clone();
            graph.grow(self.end);
            insert_each(
                &mut graph,
                &self.vectors,
                &self.ids,
                &self.params,
                self.generation,
            );
            graph
        };
        self.result = Some(graph);
    }

    /// Number of vectors it inserts.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it inserts nothing.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Inserts the rows `ids` of `vectors` into `graph` one by one.
pub(crate) fn insert_each(
    graph: &mut Graph,
    vectors: &VectorTable,
    ids: &[u32],
    params: &IndexParams,
    salt: u64,
) {
    for &id in ids {
        let level = random_level(id, salt, params.max_connections, params.max_layers);
        graph.insert(vectors, id, level, params.ef_construction);
    }
}

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// Whether every vector is in the graph (what a snapshot needs).
    pub fn is_graphed(&self) -> bool {
        self.graph.len() == self.keys.len()
    }

    /// Vectors (live or tombstoned) not yet in the graph: the pending tail
    /// that searches scan exactly until a catch-up inserts them.
    pub fn pending(&self) -> usize {
        self.keys.len() - self.graph.len()
    }

    /// Vectors appended but not yet in the graph (nor handed to a catch-up).
    pub fn unclaimed(&self) -> usize {
        self.keys.len() - self.claimed
    }

    /// Hands every vector not yet in the graph to a [`GraphCatchUp`], to be
    /// inserted without holding the index: run it, then give it back to
    /// [`VectorIndex::caught_up`]. `None` when there is nothing to insert or
    /// a catch-up is already in flight.
    pub fn catch_up(&mut self) -> Option<GraphCatchUp> {
        if self.claimed != self.graph.len() || self.claimed == self.keys.len() {
            return None;
        }
        let bulk = self.graph.len() == 0;
        let ids = self.live_from(self.claimed);
        self.claimed = self.keys.len();
        Some(GraphCatchUp {
            graph: Arc::clone(&self.graph),
            vectors: self.vectors.clone(),
            ids,
            bulk,
            end: self.claimed,
            generation: self.generation,
            params: self.params,
            result: None,
        })
    }

    /// Takes back a catch-up: once it has run, its graph replaces the
    /// index's. A catch-up of a graph rebuilt meanwhile (by a compaction) is
    /// dropped; one that did not run gives its vectors back to the next.
    /// Returns whether it was taken.
    pub fn caught_up(&mut self, done: GraphCatchUp) -> bool {
        if done.generation != self.generation {
            return false;
        }
        let Some(graph) = done.result else {
            self.claimed = self.graph.len();
            return false;
        };
        debug_assert_eq!(graph.len(), done.end);
        self.graph = Arc::new(graph);
        true
    }

    /// Forgets the catch-up in flight (its thread failed): its vectors go
    /// to the next one.
    pub fn abandon_catch_up(&mut self) {
        self.claimed = self.graph.len();
    }

    /// Inserts everything pending into the graph, so that the tail is empty
    /// (before a snapshot). Does nothing to ids held by a catch-up in
    /// flight; returns whether the index is now wholly in the graph.
    pub fn flush(&mut self) -> bool {
        self.insert_unclaimed();
        self.is_graphed()
    }
}
