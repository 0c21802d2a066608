//! timbre-index: approximate nearest-neighbour search over dense `f32` vectors.
//!
//! The index knows nothing of tracks, audio features, async runtimes or HTTP:
//! vectors go in under caller-chosen keys, neighbours come out. It wraps
//! [`hnsw_rs`] and adds what a server needs around a bare HNSW graph.
//!
//! # Layout
//! - [`params`]: the graph parameters (M, ef_construction, ef_search) with
//!   documented defaults and validation.
//! - `build`: whole graphs built by hnsw_rs on every core and copied into
//!   the flat layout, after which hnsw_rs's structures are dropped.
//! - `graph`: the graph as flat `u32` arrays: the beam search that answers
//!   graph searches and the insert that adds one node.
//! - `table`: the vectors, one zero-padded row per internal id in one
//!   allocation, and the squared L2 distance the compiler vectorises.
//! - `flat`: exact search by scanning every live vector, the oracle that recall
//!   is measured against, the fallback for very selective filters, and how
//!   the pending tail is searched.
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

mod build;
mod catch_up;
mod error;
mod flat;
mod graph;
mod ids;
pub mod params;
mod scratch;
mod search;
mod snapshot;
mod table;
mod vector_index;

pub use catch_up::GraphCatchUp;
pub use error::{IndexError, Result};
pub use params::IndexParams;
pub use search::{Hit, SearchMode};
pub use vector_index::VectorIndex;
