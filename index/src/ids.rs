//! Keys, internal ids and tombstones: every vector written gets the next
//! dense `u32` id, the key's previous id is tombstoned, and the live ids
//! are found by their key's hash. Owners that keep their own rows by
//! internal id (the catalog) read them through these.

use std::hash::{BuildHasher, Hash};

use crate::vector_index::VectorIndex;
use crate::IndexParams;

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// The live internal id of `key`.
    pub(crate) fn live_id(&self, key: &K) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.live
            .find(hash, |&id| self.keys[id as usize] == *key)
            .copied()
    }

    /// The live ids from `from` on.
    pub(crate) fn live_from(&self, from: usize) -> Vec<u32> {
        (from..self.keys.len())
            .filter(|&id| !self.dead[id])
            .map(|id| id as u32)
            .collect()
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

    /// Iterates the keys of all live vectors, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.live.iter().map(|&id| &self.keys[id as usize])
    }

    /// Whether dead nodes exceed [`IndexParams::compaction_ratio`] of the graph.
    pub fn needs_compaction(&self) -> bool {
        !self.keys.is_empty()
            && self.dead_count() as f32 / self.keys.len() as f32 > self.params.compaction_ratio
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
}
