//! timbre-index: approximate nearest-neighbour search over dense `f32` vectors.
//!
//! The index knows nothing of tracks, audio features, async runtimes or HTTP:
//! vectors go in under caller-chosen keys, neighbours come out. It wraps
//! [`hnsw_rs`] and adds what a server needs around a bare HNSW graph.
//!
//! # Layout
//! - [`params`]: the graph parameters (M, ef_construction, ef_search) with
//!   documented defaults and validation.
//! - `graph`: the hnsw_rs graph, built or reloaded; the one place that deals
//!   with the library's lifetimes.
//! - `table`: the vectors, one zero-padded row per internal id in one
//!   allocation, and the squared L2 distance the compiler vectorises.
//! - `flat`: exact search by scanning every live vector, the oracle that recall
//!   is measured against, the fallback for very selective filters, and how
//!   the pending tail is searched.
//! - `frozen`: a flat `u32` copy of the graph's links and the beam search
//!   over it that answers graph searches (hnsw_rs only builds the graph).
//! - `scratch`: per-thread visited marks and heaps reused by every walk.
//! - [`VectorIndex`] (`vector_index.rs`): external keys mapped to dense internal
//!   ids, tombstones for deletes and updates, filtered search, compaction.
//! - `snapshot`: saving to a directory and loading back, checksummed.
//!
//! # Why tombstones
//! HNSW graphs do not support removing a node cheaply. A delete or an update
//! marks the old internal id dead; searches skip dead ids *during* the graph
//! walk (the same predicate that carries the caller's filter), and
//! [`VectorIndex::compact`] rebuilds the graph once dead ids pile up.

mod error;
mod flat;
mod frozen;
mod graph;
pub mod params;
mod scratch;
mod snapshot;
mod table;
mod vector_index;

pub use error::{IndexError, Result};
pub use params::IndexParams;
pub use vector_index::{GraphCatchUp, Hit, SearchMode, VectorIndex};
