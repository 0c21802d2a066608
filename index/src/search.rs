//! Search: the `k` nearest live vectors to a query, through the graph
//! walk merged with an exact scan of the pending tail, or an exact scan of
//! everything, and the choice between them ([`SearchMode::Auto`]).

use std::hash::Hash;

use crate::flat::{self, TopK};
use crate::vector_index::VectorIndex;
use crate::Result;

/// One search result: the caller's key and its L2 distance to the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<K> {
    /// The key the vector was inserted under.
    pub key: K,
    /// Euclidean distance to the query, in the units of the vectors.
    pub distance: f32,
}

/// How a search finds its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// Exact for small catalogues ([`crate::IndexParams::exact_below`]) and for
    /// filters that few vectors pass ([`crate::IndexParams::exact_below_filtered`]),
    /// the graph otherwise, falling back to exact when a selective filter
    /// leaves the graph walk short of `k` results or makes it costlier than
    /// a scan.
    #[default]
    Auto,
    /// Always the HNSW graph (what recall is measured on).
    Graph,
    /// Always the exact scan.
    Exact,
}

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// The `k` nearest live vectors to `query` that `filter` accepts, nearest
    /// first, in [`SearchMode::Auto`].
    ///
    /// # Errors
    /// A query of the wrong dimension or with a non-finite value.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(&K) -> bool>,
    ) -> Result<Vec<Hit<K>>> {
        self.search_with(query, k, filter, SearchMode::Auto, None)
    }

    /// Like [`VectorIndex::search`], with the mode and the graph's `ef`
    /// chosen by the caller (`None` = [`crate::IndexParams::ef_search`]).
    ///
    /// # Errors
    /// A query of the wrong dimension or with a non-finite value.
    pub fn search_with(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(&K) -> bool>,
        mode: SearchMode,
        ef: Option<usize>,
    ) -> Result<Vec<Hit<K>>> {
        let by_id = filter.map(|f| move |id: u32| f(&self.keys[id as usize]));
        let by_id = by_id.as_ref().map(|f| f as &dyn Fn(u32) -> bool);
        Ok(self
            .search_ids(query, k, by_id, mode, ef)?
            .into_iter()
            .map(|(id, distance)| Hit {
                key: self.keys[id as usize].clone(),
                distance,
            })
            .collect())
    }

    /// Like [`VectorIndex::search_with`], over internal ids: `filter` is
    /// asked about ids, and hits come back as (id, distance). For owners
    /// that keep their own data by internal id ([`VectorIndex::id_of`]),
    /// where a filter by key would cost a hash lookup per candidate.
    ///
    /// # Errors
    /// A query of the wrong dimension or with a non-finite value.
    pub fn search_ids(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        mode: SearchMode,
        ef: Option<usize>,
    ) -> Result<Vec<(u32, f32)>> {
        self.check(query)?;
        let k = k.min(self.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        let ef = ef.unwrap_or(self.params.ef_search);
        Ok(match filter {
            None if self.dead_count() == 0 => self.search_mode(query, k, ef, mode, None, |_| true),
            None => self.search_mode(query, k, ef, mode, None, |id| !self.dead[id as usize]),
            Some(f) => self.search_mode(query, k, ef, mode, Some(f), |id| {
                !self.dead[id as usize] && f(id)
            }),
        })
    }
}

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// One search in `mode`; `accept` combines tombstones and `filter`.
    fn search_mode(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        mode: SearchMode,
        filter: Option<&dyn Fn(u32) -> bool>,
        accept: impl Fn(u32) -> bool + Copy,
    ) -> Vec<(u32, f32)> {
        let exact = || flat::top_k(&self.vectors, query, k, accept);
        match mode {
            SearchMode::Exact => exact(),
            SearchMode::Graph => self
                .graph_search(query, k, ef, accept, usize::MAX)
                .expect("an unlimited walk always finishes"),
            SearchMode::Auto if self.prefers_exact(filter) => exact(),
            SearchMode::Auto => {
                // A walk that computes more distances than a scan would is
                // abandoned: the filter lets too little through.
                match self.graph_search(query, k, ef, accept, self.keys.len()) {
                    // Fewer than k: a selective filter (or many tombstones)
                    // starved the walk; only a scan can tell whether more
                    // matches exist.
                    Some(found) if found.len() >= k => found,
                    _ => exact(),
                }
            }
        }
    }

    /// Whether [`SearchMode::Auto`] should scan rather than walk. Without a
    /// filter that depends on the catalogue's size alone. With one, on how
    /// many vectors the filter lets through, estimated from a sample spread
    /// evenly over the ids: a walk must pass about 1/share as many nodes to
    /// find its `ef` matches, while a scan's cost stays the same.
    fn prefers_exact(&self, filter: Option<&dyn Fn(u32) -> bool>) -> bool {
        let n = self.len();
        let Some(filter) = filter else {
            return n <= self.params.exact_below;
        };
        if n <= self.params.exact_below_filtered {
            return true;
        }
        const SAMPLE: usize = 64;
        let ids = self.keys.len();
        let (mut seen, mut passed) = (0usize, 0usize);
        for i in 0..SAMPLE {
            let id = i * ids / SAMPLE;
            if !self.dead[id] {
                seen += 1;
                passed += usize::from(filter(id as u32));
            }
        }
        // Half a match when none was seen: the share is below 1/seen.
        let share = (passed as f64).max(0.5) / seen.max(1) as f64;
        (n as f64 * share) <= self.params.exact_below_filtered as f64
    }

    /// A walk of the graph merged with a scan of the pending tail. `None`
    /// when the walk gave up after `budget` distances.
    fn graph_search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: impl Fn(u32) -> bool + Copy,
        budget: usize,
    ) -> Option<Vec<(u32, f32)>> {
        let padded = self.vectors.pad(query);
        let mut top = TopK::new(k);
        self.graph
            .search(&self.vectors, &padded, ef.max(k), accept, budget, &mut top)?;
        let tail = self.graph.len() as u32;
        flat::scan_into(&self.vectors, tail, &padded, &mut top, accept);
        Some(top.into_hits())
    }
}
