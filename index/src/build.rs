//! Bulk construction: hnsw_rs builds the graph on every core, and its links
//! are copied into timbre's flat [`Graph`], after which hnsw_rs's structures
//! are dropped.
//!
//! hnsw_rs is a good parallel builder, but it keeps each link as an `Arc`
//! to a separately allocated point behind a lock, plus its own copy of every
//! vector: about 2.5 KB per node for 13-dimensional vectors (the resident
//! growth per track that `bench/ann.sh` measured), against about 140 B for
//! the flat copy at M = 16. Keeping it after the build made the graph most
//! of the server's memory; the flat graph takes later inserts itself
//! ([`Graph::insert`]).

use hnsw_rs::prelude::{DistL2, Hnsw, Neighbour};

use crate::graph::{mix, Graph};
use crate::table::VectorTable;
use crate::IndexParams;

pub(crate) type Hnsw32 = Hnsw<'static, f32, DistL2>;

/// The salt of the build's insertion order.
const SHUFFLE_SALT: u64 = 0x7469_6d62_7265;

/// A graph over the rows `ids` of `table`, covering ids below `len` (ids
/// not in `ids` become nodes without links), built with hnsw_rs in the
/// current rayon pool.
pub(crate) fn bulk(table: &VectorTable, ids: &[u32], len: usize, params: &IndexParams) -> Graph {
    let hnsw = hnsw(table, ids, params);
    flatten(&hnsw, len, params.max_connections)
}

/// The hnsw_rs graph of the rows `ids` of `table`.
pub(crate) fn hnsw(table: &VectorTable, ids: &[u32], params: &IndexParams) -> Hnsw32 {
    let hnsw = Hnsw::new(
        params.max_connections,
        ids.len().max(1024),
        params.max_layers,
        params.ef_construction,
        DistL2,
    );
    let mut items: Vec<(&[f32], usize)> =
        ids.iter().map(|&id| (table.row(id), id as usize)).collect();
    // Inserted in a fixed shuffled order. rayon gives each thread a
    // contiguous part of the slice, so on sorted input (a catalogue in genre
    // order; a grid row by row) each thread grew its own region of the
    // space, and the first nodes of a region could only link to the few
    // nodes that existed when they came: the regions met at a seam crossed
    // by a handful of links, and a walk starting on the wrong side could
    // miss a point next to the query (an index test failed about one run in
    // a hundred that way). Shuffled, every thread's part covers the whole
    // space, as in a one-thread build.
    items.sort_unstable_by_key(|&(_, id)| mix(id as u32, SHUFFLE_SALT));
    match items.len() {
        0 => {}
        1 => hnsw.insert_slice(items[0]),
        _ => hnsw.parallel_insert_slice(&items),
    }
    hnsw
}

/// Copies the links of `hnsw`'s nodes with ids below `len` into a flat
/// graph for `m` = max_connections.
pub(crate) fn flatten(hnsw: &Hnsw32, len: usize, m: usize) -> Graph {
    let mut graph = Graph::new(m);
    graph.grow(len);
    // hnsw_rs's point iterator unwraps the entry point: not on an empty graph.
    if hnsw.get_nb_point() == 0 {
        return graph;
    }
    // Levels first: hnsw_rs also links a node from the lists of layers above
    // its own (the nodes it passed on the way down), and a walk of layer l
    // must only reach nodes that have a layer l.
    for point in hnsw.get_point_indexation() {
        let id = point.get_origin_id();
        if id < len {
            graph.add_levels(id as u32, point.get_point_id().0 as usize);
        }
    }
    for point in hnsw.get_point_indexation() {
        let id = point.get_origin_id();
        if id >= len {
            continue;
        }
        let level = point.get_point_id().0 as usize;
        let lists: Vec<Vec<Neighbour>> = point.get_neighborhood_id();
        for (layer, list) in lists.iter().enumerate().take(level + 1) {
            let ids: Vec<u32> = list
                .iter()
                .filter(|n| n.d_id < len && graph.levels[n.d_id] as usize >= layer)
                .map(|n| n.d_id as u32)
                .collect();
            graph.set_links(id as u32, layer, &ids);
        }
    }
    // hnsw_rs does not expose its own entry point, but any node of the top
    // layer serves.
    let level = hnsw.get_max_level_observed() as usize;
    if let Some(top) = hnsw
        .get_point_indexation()
        .get_layer_iterator(level)
        .map(|p| p.get_origin_id())
        .find(|&id| id < len)
    {
        graph.set_entry(top as u32, level);
    }
    graph
}

#[cfg(test)]
pub(crate) mod reference {
    //! hnsw_rs's own search: the reference the flat graph's walk is tested
    //! against.

    use super::Hnsw32;

    /// The `k` nearest ids, dead ones included: hnsw_rs's fast path.
    pub(crate) fn search(hnsw: &Hnsw32, query: &[f32], k: usize, ef: usize) -> Vec<(u32, f32)> {
        hnsw.search(query, k, ef.max(k))
            .into_iter()
            .map(|n| (n.d_id as u32, n.distance))
            .collect()
    }

    /// The `k` nearest ids that `accept` lets through, evaluated during the
    /// walk.
    pub(crate) fn search_filtered(
        hnsw: &Hnsw32,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let filter = |id: &usize| accept(*id as u32);
        let filter: &dyn hnsw_rs::prelude::FilterT = &filter;
        hnsw.search_filter(query, k, ef.max(k), Some(filter))
            .into_iter()
            .map(|n| (n.d_id as u32, n.distance))
            .collect()
    }
}
