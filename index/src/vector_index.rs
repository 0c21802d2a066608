//! [`VectorIndex`]: the index itself and its writes. Its other parts live
//! beside it: `ids.rs` (external keys, internal ids and tombstones),
//! `search.rs` (filtered, graph and exact search, and the choice between
//! them), `catch_up.rs` (new vectors joining the graph without holding the
//! index).

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::build;
use crate::catch_up::insert_each;
use crate::graph::Graph;
use crate::table::VectorTable;
use crate::{IndexError, IndexParams, Result};

/// A number no other graph of this process has had.
pub(crate) fn next_generation() -> u64 {
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    GENERATION.fetch_add(1, Ordering::Relaxed)
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
    pub(crate) fn insert_unclaimed(&mut self) -> usize {
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

    pub(crate) fn check(&self, vector: &[f32]) -> Result<()> {
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

#[cfg(test)]
#[path = "vector_index_tests.rs"]
mod tests;
