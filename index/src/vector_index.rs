//! [`VectorIndex`]: external keys, tombstones, filtered and exact search.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::build;
use crate::flat::{self, TopK};
use crate::graph::{random_level, Graph};
use crate::table::VectorTable;
use crate::{IndexError, IndexParams, Result};

/// A number no other graph of this process has had.
pub(crate) fn next_generation() -> u64 {
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    GENERATION.fetch_add(1, Ordering::Relaxed)
}

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
    bulk: bool,
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
fn insert_each(
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
    /// Exact for small catalogues ([`IndexParams::exact_below`]) and for
    /// filters that few vectors pass ([`IndexParams::exact_below_filtered`]),
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

/// An approximate nearest-neighbour index over `dim`-dimensional vectors,
/// addressed by caller-chosen keys `K`.
///
/// Internally every inserted vector gets the next dense `u32` id; the graph
/// and the vector table speak only internal ids. Upserting an existing key
/// tombstones its old id and inserts the new vector under a fresh one.
///
/// The graph (`graph.rs`) covers a prefix of the ids; the ids after it are
/// the *pending tail*, which searches scan exactly and merge with the
/// walk's results, so an upsert is visible at once. [`VectorIndex::upsert`]
/// and [`VectorIndex::upsert_many`] insert into the graph before they
/// return; [`VectorIndex::append_many`] leaves that to a
/// [`GraphCatchUp`] that runs without holding the index, so a stream of
/// writes never waits for the graph. Whole graphs (builds, compactions,
/// large catch-ups) are built by hnsw_rs on every core and copied into the
/// flat layout.
///
/// Mutation takes `&mut self`: the owner serialises writers (one writer, many
/// readers behind a lock), which keeps the id tables simple and consistent.
pub struct VectorIndex<K> {
    pub(crate) params: IndexParams,
    pub(crate) dim: usize,
    /// Covers ids below `graph.len()`. Shared with a running
    /// [`GraphCatchUp`], which copies it.
    pub(crate) graph: Arc<Graph>,
    /// Ids below this are in `graph` or handed to a catch-up in flight.
    pub(crate) claimed: usize,
    /// Changes whenever `graph` is rebuilt (build, compaction), so that a
    /// catch-up of the old graph is recognised and dropped. Also salts the
    /// levels of inserted nodes.
    pub(crate) generation: u64,
    /// Padded vectors of every internal id, dead ones included.
    pub(crate) vectors: VectorTable,
    /// Internal id → key.
    pub(crate) keys: Vec<K>,
    /// Internal id → tombstoned?
    pub(crate) dead: Vec<bool>,
    /// The live internal ids, found by their key's hash: a key is stored
    /// once (in `keys`), where a `HashMap<K, u32>` would store it twice.
    pub(crate) live: HashTable<u32>,
    pub(crate) hasher: DefaultHashBuilder,
}

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// An empty index.
    ///
    /// # Errors
    /// [`IndexError::InvalidParams`] when `params` or `dim` are out of range.
    pub fn new(dim: usize, params: IndexParams) -> Result<Self> {
        Self::with_capacity(dim, params, 0)
    }

    pub(crate) fn with_capacity(dim: usize, params: IndexParams, capacity: usize) -> Result<Self> {
        params.validate()?;
        if dim == 0 {
            return Err(IndexError::InvalidParams(
                "dimension must be positive".into(),
            ));
        }
        Ok(Self {
            params,
            dim,
            graph: Arc::new(Graph::new(params.max_connections)),
            claimed: 0,
            generation: next_generation(),
            vectors: VectorTable::with_capacity(dim, capacity),
            keys: Vec::with_capacity(capacity),
            dead: Vec::with_capacity(capacity),
            live: HashTable::with_capacity(capacity),
            hasher: DefaultHashBuilder::default(),
        })
    }

    /// Builds an index from many vectors at once, building the graph on
    /// every core. A key given twice keeps its last vector.
    ///
    /// # Errors
    /// Invalid parameters, or a vector of the wrong dimension or with a
    /// non-finite value (nothing is built then).
    pub fn build(
        dim: usize,
        params: IndexParams,
        items: impl IntoIterator<Item = (K, Vec<f32>)>,
    ) -> Result<Self> {
        let items = items.into_iter();
        let mut index = Self::with_capacity(dim, params, items.size_hint().0)?;
        for (key, vector) in items {
            index.check(&vector)?;
            index.push(key, &vector);
        }
        index.build_graph();
        Ok(index)
    }

    /// The live internal id of `key`.
    fn live_id(&self, key: &K) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.live
            .find(hash, |&id| self.keys[id as usize] == *key)
            .copied()
    }

    /// Appends a vector to the tables (not the graph), tombstoning the key's
    /// previous vector. Returns the new internal id.
    fn push(&mut self, key: K, vector: &[f32]) -> u32 {
        let id = self.keys.len() as u32;
        let hash = self.hasher.hash_one(&key);
        self.vectors.push(vector);
        self.keys.push(key);
        self.dead.push(false);
        let Self {
            live,
            keys,
            dead,
            hasher,
            ..
        } = self;
        let key = &keys[id as usize];
        match live.find_mut(hash, |&old| keys[old as usize] == *key) {
            Some(slot) => {
                dead[*slot as usize] = true;
                *slot = id;
            }
            None => {
                live.insert_unique(hash, id, |&i| hasher.hash_one(&keys[i as usize]));
            }
        }
        id
    }

    /// The live ids from `from` on.
    fn live_from(&self, from: usize) -> Vec<u32> {
        (from..self.keys.len())
            .filter(|&id| !self.dead[id])
            .map(|id| id as u32)
            .collect()
    }

    /// Builds the graph anew from every live vector, on every core of the
    /// current rayon pool.
    fn build_graph(&mut self) {
        let ids = self.live_from(0);
        self.graph = Arc::new(build::bulk(
            &self.vectors,
            &ids,
            self.keys.len(),
            &self.params,
        ));
        self.claimed = self.keys.len();
        self.generation = next_generation();
    }

    /// Inserts every unclaimed id into the graph now, unless a catch-up is
    /// in flight (then they wait for the next one): one by one, or into an
    /// empty graph by building it whole. Returns how many went in.
    fn insert_unclaimed(&mut self) -> usize {
        if self.claimed != self.graph.len() || self.claimed == self.keys.len() {
            return 0;
        }
        let fresh = self.live_from(self.claimed);
        if self.graph.len() == 0 {
            self.build_graph();
            return fresh.len();
        }
        let graph = Arc::make_mut(&mut self.graph);
        graph.grow(self.keys.len());
        insert_each(graph, &self.vectors, &fresh, &self.params, self.generation);
        self.claimed = self.keys.len();
        fresh.len()
    }

    fn check(&self, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dim {
            return Err(IndexError::Dimension {
                expected: self.dim,
                got: vector.len(),
            });
        }
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(IndexError::NonFinite);
        }
        Ok(())
    }

    /// Inserts or replaces the vector of `key`. Returns whether an older
    /// vector was replaced.
    ///
    /// # Errors
    /// A vector of the wrong dimension or with a non-finite value.
    pub fn upsert(&mut self, key: K, vector: &[f32]) -> Result<bool> {
        self.check(vector)?;
        let replaced = self.contains(&key);
        self.push(key, vector);
        self.insert_unclaimed();
        Ok(replaced)
    }

    /// Inserts or replaces many vectors at once, inserting them into the
    /// graph before it returns. A key whose live vector already equals the
    /// new one is left alone (no tombstone, no graph insert). A key given
    /// twice keeps its last vector. Returns how many vectors went into the
    /// graph.
    ///
    /// # Errors
    /// A vector of the wrong dimension or with a non-finite value; then
    /// nothing is changed.
    pub fn upsert_many<'a>(
        &mut self,
        items: impl IntoIterator<Item = (K, &'a [f32])>,
    ) -> Result<usize> {
        self.append_many(items)?;
        // Only live new ids: a key given twice tombstoned its first push.
        Ok(self.insert_unclaimed())
    }

    /// Like [`VectorIndex::upsert_many`], but leaves graph insertion to a
    /// later [`VectorIndex::catch_up`]: the new vectors are searchable at
    /// once through the exact scan of the pending tail, and the writer
    /// does not wait for the graph, which costs far more than everything
    /// else in taking a vector in. Returns how many vectors were appended.
    ///
    /// # Errors
    /// A vector of the wrong dimension or with a non-finite value; then
    /// nothing is changed.
    pub fn append_many<'a>(
        &mut self,
        items: impl IntoIterator<Item = (K, &'a [f32])>,
    ) -> Result<usize> {
        let items: Vec<(K, &[f32])> = items.into_iter().collect();
        for (_, vector) in &items {
            self.check(vector)?;
        }
        let first = self.keys.len();
        for (key, vector) in items {
            if self.get(&key) != Some(vector) {
                self.push(key, vector);
            }
        }
        Ok(self.keys.len() - first)
    }

    /// Whether every vector is in the graph (what a snapshot needs).
    pub fn is_graphed(&self) -> bool {
        self.graph.len() == self.keys.len()
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

    /// Removes `key`. Returns whether it was present.
    pub fn remove(&mut self, key: &K) -> bool {
        let hash = self.hasher.hash_one(key);
        let keys = &self.keys;
        match self.live.find_entry(hash, |&id| keys[id as usize] == *key) {
            Ok(entry) => {
                let (id, _) = entry.remove();
                self.dead[id as usize] = true;
                true
            }
            Err(_) => false,
        }
    }

    /// The live vector stored under `key`.
    pub fn get(&self, key: &K) -> Option<&[f32]> {
        self.live_id(key).map(|id| self.row(id))
    }

    /// Whether `key` has a live vector.
    pub fn contains(&self, key: &K) -> bool {
        self.live_id(key).is_some()
    }

    pub(crate) fn row(&self, id: u32) -> &[f32] {
        self.vectors.row(id)
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no vector is live.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Number of tombstoned vectors still held.
    pub fn dead_count(&self) -> usize {
        self.keys.len() - self.live.len()
    }

    /// Dimension of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The parameters the index was made with.
    pub fn params(&self) -> &IndexParams {
        &self.params
    }

    /// Adopts the query-time parameters of `params` (`ef_search`,
    /// `exact_below*`, `compaction_ratio`). Returns `false`, changing
    /// nothing, when `params` would shape the graph differently (M,
    /// ef_construction, layers): that takes a rebuild.
    pub fn retune(&mut self, params: IndexParams) -> bool {
        let p = &self.params;
        if (p.max_connections, p.ef_construction, p.max_layers)
            != (
                params.max_connections,
                params.ef_construction,
                params.max_layers,
            )
        {
            return false;
        }
        self.params = params;
        true
    }

    /// Iterates the keys of all live vectors, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.live.iter().map(|&id| &self.keys[id as usize])
    }

    /// Whether dead nodes exceed [`IndexParams::compaction_ratio`] of the graph.
    pub fn needs_compaction(&self) -> bool {
        !self.keys.is_empty()
            && self.dead_count() as f32 / self.keys.len() as f32 > self.params.compaction_ratio
    }

    /// Rebuilds the graph from the live vectors only, dropping tombstones
    /// and renumbering internal ids.
    pub fn compact(&mut self) {
        let mut fresh = Self::with_capacity(self.dim, self.params, self.live.len())
            .expect("parameters were validated when this index was made");
        for (id, key) in self.keys.iter().enumerate() {
            if !self.dead[id] {
                fresh.push(key.clone(), self.row(id as u32));
            }
        }
        fresh.build_graph();
        *self = fresh;
    }

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
    /// chosen by the caller (`None` = [`IndexParams::ef_search`]).
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

    /// The live internal id of `key`. Ids are dense, from 0 to
    /// [`VectorIndex::id_count`]; each write of a vector takes the next one,
    /// and [`VectorIndex::compact`] renumbers the live ids from 0 in their
    /// old order, so an owner can keep its own rows in step.
    pub fn id_of(&self, key: &K) -> Option<u32> {
        self.live_id(key)
    }

    /// The key of internal id `id` (live or dead).
    ///
    /// # Panics
    /// When `id` was never given out.
    pub fn key_of(&self, id: u32) -> &K {
        &self.keys[id as usize]
    }

    /// Whether internal id `id` holds a live vector.
    pub fn is_live(&self, id: u32) -> bool {
        self.dead.get(id as usize).is_some_and(|dead| !dead)
    }

    /// Number of internal ids given out, dead ones included.
    pub fn id_count(&self) -> usize {
        self.keys.len()
    }

    /// The live internal ids, ascending.
    pub fn live_ids(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.keys.len() as u32).filter(|&id| !self.dead[id as usize])
    }

    /// The vector of internal id `id` (live or dead).
    ///
    /// # Panics
    /// When `id` was never given out.
    pub fn vector_of(&self, id: u32) -> &[f32] {
        self.row(id)
    }

    /// Checks a vector as a write would: its dimension and finite values.
    ///
    /// # Errors
    /// A vector of the wrong dimension or with a non-finite value.
    pub fn validate(&self, vector: &[f32]) -> Result<()> {
        self.check(vector)
    }

    /// Appends the vector of `key` under the next internal id, which it
    /// returns, tombstoning the key's previous vector; the graph takes it
    /// at the next catch-up or flush, searches find it at once.
    ///
    /// # Errors
    /// A vector of the wrong dimension or with a non-finite value.
    pub fn append(&mut self, key: K, vector: &[f32]) -> Result<u32> {
        self.check(vector)?;
        Ok(self.push(key, vector))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
