//! The hnsw_rs graph, either built in memory or reloaded from a dump.
//!
//! hnsw_rs ties a reloaded graph's lifetime to the `HnswIo` loader that read
//! it (the loader may own a memory map the graph points into). We keep the
//! loader and the graph together in one self-referential cell, so that the
//! rest of the crate sees a plain owned value and no lifetime escapes.

use std::path::Path;

use hnsw_rs::prelude::{AnnT, DistL2, FilterT, Hnsw, HnswIo};

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

    /// The `k` nearest internal ids that `accept` lets through; `accept` is
    /// evaluated during the walk, so dead or filtered nodes still serve as
    /// stepping stones but are never returned.
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let filter = |id: &usize| accept(*id as u32);
        let filter: &dyn FilterT = &filter;
        self.with(|h| {
            h.search_filter(query, k, ef.max(k), Some(filter))
                .into_iter()
                .map(|n| (n.d_id as u32, n.distance))
                .collect()
        })
    }

    /// The `k` nearest internal ids, dead ones included: hnsw_rs's fast path,
    /// which stops as soon as no candidate can improve the result.
    pub(crate) fn search_unfiltered(&self, query: &[f32], k: usize, ef: usize) -> Vec<(u32, f32)> {
        self.with(|h| {
            h.search(query, k, ef.max(k))
                .into_iter()
                .map(|n| (n.d_id as u32, n.distance))
                .collect()
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
