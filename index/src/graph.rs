//! The hnsw_rs graph, either built in memory or reloaded from a dump.
//!
//! hnsw_rs ties a reloaded graph's lifetime to the `HnswIo` loader that read
//! it (the loader may own a memory map the graph points into). We keep the
//! loader and the graph together in one self-referential cell, so that the
//! rest of the crate sees a plain owned value and no lifetime escapes.

use std::path::Path;

use hnsw_rs::prelude::{AnnT, DistL2, Hnsw, HnswIo, Neighbour};

use crate::IndexParams;

type Hnsw32<'a> = Hnsw<'a, f32, DistL2>;

self_cell::self_cell!(
    /// A graph reloaded from disk together with the loader it borrows from.
    pub(crate) struct LoadedGraph {
        owner: HnswIo,
        #[not_covariant]
        dependent: Hnsw32,
    }
);

/// An HNSW graph over internal ids (`u32`, used as hnsw_rs data ids).
pub(crate) enum Graph {
    Built(Hnsw32<'static>),
    Loaded(LoadedGraph),
}

impl Graph {
    /// An empty graph sized for about `capacity` vectors.
    pub(crate) fn new(params: &IndexParams, capacity: usize) -> Self {
        Graph::Built(Hnsw::new(
            params.max_connections,
            capacity.max(1024),
            params.max_layers,
            params.ef_construction,
            DistL2,
        ))
    }

    /// Runs `f` with the hnsw_rs graph, whichever way it was made.
    fn with<R>(&self, f: impl FnOnce(&Hnsw32<'_>) -> R) -> R {
        match self {
            Graph::Built(h) => f(h),
            Graph::Loaded(l) => l.with_dependent(|_, h| f(h)),
        }
    }

    /// Inserts one vector under internal id `id`.
    pub(crate) fn insert(&self, vector: &[f32], id: u32) {
        self.with(|h| h.insert_slice((vector, id as usize)));
    }

    /// Inserts many vectors using every core (rayon).
    pub(crate) fn insert_parallel(&self, items: &[(&[f32], usize)]) {
        let items = items.to_vec();
        self.with(|h| h.parallel_insert_slice(&items));
    }

    /// hnsw_rs's own filtered search: the reference the frozen graph's walk
    /// is tested against. The `k` nearest internal ids that `accept` lets through; `accept` is
    /// evaluated during the walk, so dead or filtered nodes still serve as
    /// stepping stones but are never returned.
    #[cfg(test)]
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let filter = |id: &usize| accept(*id as u32);
        let filter: &dyn hnsw_rs::prelude::FilterT = &filter;
        self.with(|h| {
            h.search_filter(query, k, ef.max(k), Some(filter))
                .into_iter()
                .map(|n| (n.d_id as u32, n.distance))
                .collect()
        })
    }

    /// The `k` nearest internal ids, dead ones included: hnsw_rs's fast path,
    /// which stops as soon as no candidate can improve the result.
    #[cfg(test)]
    pub(crate) fn search_unfiltered(&self, query: &[f32], k: usize, ef: usize) -> Vec<(u32, f32)> {
        self.with(|h| {
            h.search(query, k, ef.max(k))
                .into_iter()
                .map(|n| (n.d_id as u32, n.distance))
                .collect()
        })
    }

    /// Calls `f(id, level, lists)` for every node, where `lists[l]` holds
    /// the node's neighbours on layer `l` (0 = the bottom layer, up to the
    /// node's level). This is how the walk's own flat copy of the graph is
    /// made (`frozen.rs`): hnsw_rs keeps each link as an `Arc` to a separately
    /// allocated point behind a lock, which is the slow part of its search.
    pub(crate) fn for_each_node(&self, mut f: impl FnMut(u32, usize, &[Vec<Neighbour>])) {
        self.with(|h| {
            // hnsw_rs's point iterator unwraps the entry point: not on an empty graph.
            if h.get_nb_point() == 0 {
                return;
            }
            for point in h.get_point_indexation() {
                let level = point.get_point_id().0 as usize;
                f(
                    point.get_origin_id() as u32,
                    level,
                    &point.get_neighborhood_id(),
                );
            }
        })
    }

    /// A node of the top layer and that layer's number, where every walk
    /// starts; `None` for an empty graph. (hnsw_rs does not expose its own
    /// entry point, but any node of the top layer serves.)
    pub(crate) fn top_node(&self) -> Option<(u32, usize)> {
        self.with(|h| {
            if h.get_nb_point() == 0 {
                return None;
            }
            let level = h.get_max_level_observed() as usize;
            let top = h.get_point_indexation().get_layer_iterator(level).next()?;
            Some((top.get_origin_id() as u32, level))
        })
    }

    /// Number of nodes in the graph, dead ones included.
    pub(crate) fn len(&self) -> usize {
        self.with(|h| h.get_nb_point())
    }

    /// Writes `<basename>.hnsw.graph` and `<basename>.hnsw.data` into `dir`.
    pub(crate) fn dump(&self, dir: &Path, basename: &str) -> Result<String, String> {
        self.with(|h| h.file_dump(dir, basename).map_err(|e| e.to_string()))
    }

    /// Reloads a graph dumped by [`Graph::dump`]. hnsw_rs panics on some
    /// malformed files instead of returning an error, so the caller checks
    /// file checksums first and this function also turns a panic into an
    /// error.
    pub(crate) fn load(dir: &Path, basename: &str) -> Result<Self, String> {
        let io = HnswIo::new(dir, basename);
        let loaded = std::panic::catch_unwind(|| {
            LoadedGraph::try_new(io, |io| io.load_hnsw_with_dist::<f32, DistL2>(DistL2))
        });
        match loaded {
            Ok(Ok(graph)) => Ok(Graph::Loaded(graph)),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the graph file could not be decoded".to_string()),
        }
    }
}
