//! HNSW parameters and their defaults.

use serde::{Deserialize, Serialize};

use crate::{IndexError, Result};

/// Parameters of the HNSW graph.
///
/// The defaults suit catalogues of tens of thousands to a few million
/// low-dimensional vectors (timbre's audio-feature vectors have about a dozen
/// dimensions): they reach recall@10 above 0.99 against exact search on the
/// shared Spotify dataset, as `tests/recall.rs` in the server crate checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexParams {
    /// M: links kept per node and layer. More links raise recall and memory;
    /// 16 is the usual choice for low-dimensional data. Range 2..=255.
    pub max_connections: usize,
    /// Candidates examined while inserting a node. Higher builds a better
    /// graph, more slowly. Default 200.
    pub ef_construction: usize,
    /// Candidates examined while searching (raised to `k` when `k` is
    /// larger). The main recall/speed dial at query time. Default 32:
    /// recall@10 0.9986 on the shared dataset's tracks and 0.9989 on the
    /// 1M synthetic catalogue (`bench/ann.sh`), at about twice the queries
    /// per second of 64 (0.9999 on both).
    pub ef_search: usize,
    /// Upper bound on graph layers; hnsw_rs caps it at 16. Default 16.
    pub max_layers: usize,
    /// Share of dead (tombstoned) nodes above which
    /// [`crate::VectorIndex::needs_compaction`] says the graph should be
    /// rebuilt. Default 0.25.
    pub compaction_ratio: f32,
    /// Indexes with at most this many live vectors are searched exactly
    /// (unfiltered searches in [`crate::SearchMode::Auto`]): there a scan
    /// is as fast as a graph walk and has recall 1.0. Measured on subsets of
    /// the shared dataset (13 dimensions, one thread): at 4,000 vectors the
    /// scan answers 20k queries/s and the walk at the default ef_search
    /// 29k, at 8,000 13k and 26k, at 27k 6.6k and 28k. Default 2,000.
    pub exact_below: usize,
    /// The same threshold for searches with a filter, compared with the
    /// number of live vectors the filter is estimated to accept (from a
    /// sample of 64 ids): a filtered walk must pass about `1 / share` as
    /// many nodes to find its ef_search matches, while a filtered scan
    /// computes a distance only for the matches. Shared dataset (27k
    /// vectors), filters accepting 1/2, 1/10, 1/100 of them: walk 14k, 4k,
    /// 0.6k queries/s; scan 4k, 7k, 11k. Default 5,000.
    pub exact_below_filtered: usize,
}

impl Default for IndexParams {
    fn default() -> Self {
        Self {
            max_connections: 16,
            ef_construction: 200,
            ef_search: 32,
            max_layers: 16,
            compaction_ratio: 0.25,
            exact_below: 2_000,
            exact_below_filtered: 5_000,
        }
    }
}

impl IndexParams {
    /// These parameters with the exact paths switched off: every search
    /// walks the graph. For recall measurement and benchmarks.
    pub fn graph_only(self) -> Self {
        IndexParams {
            exact_below: 0,
            exact_below_filtered: 0,
            ..self
        }
    }

    /// These parameters with every search exact: the baseline of benchmarks.
    pub fn exact_only(self) -> Self {
        IndexParams {
            exact_below: usize::MAX,
            exact_below_filtered: usize::MAX,
            ..self
        }
    }

    /// Checks every parameter against the range the graph accepts.
    ///
    /// # Errors
    /// [`IndexError::InvalidParams`] naming the first parameter out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(IndexError::InvalidParams(msg));
        if !(2..=255).contains(&self.max_connections) {
            return bad(format!(
                "max_connections must be within 2..=255, got {}",
                self.max_connections
            ));
        }
        if self.ef_construction == 0 || self.ef_construction > 10_000 {
            return bad(format!(
                "ef_construction must be within 1..=10000, got {}",
                self.ef_construction
            ));
        }
        if self.ef_search == 0 || self.ef_search > 10_000 {
            return bad(format!(
                "ef_search must be within 1..=10000, got {}",
                self.ef_search
            ));
        }
        if !(1..=16).contains(&self.max_layers) {
            return bad(format!(
                "max_layers must be within 1..=16, got {}",
                self.max_layers
            ));
        }
        if !(self.compaction_ratio > 0.0 && self.compaction_ratio <= 1.0) {
            return bad(format!(
                "compaction_ratio must be within (0, 1], got {}",
                self.compaction_ratio
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        IndexParams::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_connections_are_rejected() {
        let p = IndexParams {
            max_connections: 300,
            ..Default::default()
        };
        let err = p.validate().unwrap_err().to_string();
        assert!(err.contains("max_connections"), "{err}");
    }
}
