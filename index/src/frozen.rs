//! The frozen graph: a flat, read-only copy of hnsw_rs's links, and the walk
//! that answers graph searches from it.
//!
//! hnsw_rs stays the graph *builder*; its search was 6-8x slower than
//! hnswlib's on the same graph (a `HashMap` of visited nodes per search, an
//! `Arc` clone and a lock per neighbour list, a scalar distance with a square
//! root). After inserts the index copies the links into plain `u32` arrays
//! and walks those instead:
//!
//! - layer 0, where nearly all of a walk's time goes, is one array with a
//!   fixed block of `1 + 2M` slots per node (count, then neighbour ids), so a
//!   node's links are one or two cache lines found by multiplication;
//! - the upper layers (about one node in M) hold blocks of `1 + M` slots,
//!   found through a per-node offset;
//! - vectors come from the index's padded [`VectorTable`], distances are
//!   squared, visited marks come from the per-thread [`crate::scratch`].
//!
//! The copy covers the ids that existed when it was made; later ones are
//! the index's pending tail, searched exactly until the next freeze.

use std::cmp::Reverse;

use crate::flat::{pack, unpack, TopK};
use crate::graph::Graph;
use crate::scratch::with_scratch;
use crate::table::{l2_squared, VectorTable};

/// Marks a node without upper-layer links in `upper_start`.
const NONE: u32 = u32::MAX;

/// A flat copy of an HNSW graph over ids `0..len`.
pub(crate) struct FrozenGraph {
    /// Ids below this are nodes of the copy.
    len: u32,
    /// Where every walk starts, on layer `top_level`.
    entry: Option<u32>,
    top_level: usize,
    /// Slots per node on layer 0: one count and up to 2M ids.
    width0: usize,
    links0: Vec<u32>,
    /// Slots per node and upper layer: one count and up to M ids.
    width_up: usize,
    /// Per node, the index of its layer-1 block in `links_up` (its layer-l
    /// block follows at `+ l - 1`), or [`NONE`].
    upper_start: Vec<u32>,
    links_up: Vec<u32>,
}

impl FrozenGraph {
    /// A copy of no graph: every id is in the pending tail.
    pub(crate) fn empty() -> Self {
        FrozenGraph {
            len: 0,
            entry: None,
            top_level: 0,
            width0: 1,
            links0: Vec::new(),
            width_up: 1,
            upper_start: Vec::new(),
            links_up: Vec::new(),
        }
    }

    /// Copies the links of `graph`'s nodes with ids below `len` (the index's
    /// id count: ids that never reached the graph get no links). `m` is the
    /// graph's max_connections.
    pub(crate) fn freeze(graph: &Graph, len: usize, m: usize) -> Self {
        let (width0, width_up) = (1 + 2 * m, 1 + m);
        let mut frozen = FrozenGraph {
            len: len as u32,
            entry: None,
            top_level: 0,
            width0,
            links0: vec![0; len * width0],
            width_up,
            upper_start: vec![NONE; len],
            links_up: Vec::new(),
        };
        graph.for_each_node(|id, level, lists| {
            if id as usize >= len {
                return;
            }
            let start = id as usize * width0;
            copy_block(&mut frozen.links0[start..start + width0], &lists[0], len);
            if level > 0 {
                frozen.upper_start[id as usize] = (frozen.links_up.len() / width_up) as u32;
                for list in &lists[1..=level] {
                    let start = frozen.links_up.len();
                    frozen.links_up.resize(start + width_up, 0);
                    copy_block(&mut frozen.links_up[start..], list, len);
                }
            }
        });
        if let Some((entry, level)) = graph.top_node().filter(|&(id, _)| (id as usize) < len) {
            frozen.entry = Some(entry);
            frozen.top_level = level;
        }
        frozen
    }

    /// Number of ids the copy covers.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    fn links0(&self, id: u32) -> &[u32] {
        let start = id as usize * self.width0;
        let block = &self.links0[start..start + self.width0];
        &block[1..1 + block[0] as usize]
    }

    #[inline]
    fn links_up(&self, id: u32, level: usize) -> &[u32] {
        let first = self.upper_start[id as usize];
        if first == NONE {
            return &[];
        }
        let start = (first as usize + level - 1) * self.width_up;
        let block = &self.links_up[start..start + self.width_up];
        &block[1..1 + block[0] as usize]
    }

    /// Offers to `top` the `ef` nearest ids that `accept` lets through that
    /// the walk finds. `query` is padded like the table's rows.
    ///
    /// Rejected nodes are still walked through, so a filter does not cut the
    /// graph apart; the walk ends once `ef` accepted nodes are found and no
    /// candidate is closer than the worst of them. A filter that accepts
    /// almost nothing can make the walk visit the whole graph: `budget` caps
    /// the distances computed, and `None` means the walk gave up (the caller
    /// then scans exactly).
    pub(crate) fn search(
        &self,
        table: &VectorTable,
        query: &[f32],
        ef: usize,
        accept: impl Fn(u32) -> bool,
        budget: usize,
        top: &mut TopK,
    ) -> Option<()> {
        let Some(entry) = self.entry else {
            return Some(());
        };
        let distance = |id: u32| l2_squared(query, table.padded(id));

        // Greedy descent through the upper layers, one best node per layer.
        let (mut node, mut best) = (entry, distance(entry));
        for level in (1..=self.top_level).rev() {
            let mut moved = true;
            while moved {
                moved = false;
                for &next in self.links_up(node, level) {
                    let d = distance(next);
                    if d < best {
                        (node, best, moved) = (next, d, true);
                    }
                }
            }
        }

        with_scratch(|s| {
            s.start(self.len as usize);
            s.visit(node);
            s.candidates.push(Reverse(pack(best, node)));
            if accept(node) {
                s.results.push(pack(best, node));
            }
            // Distance of the worst kept result once `ef` are kept.
            let mut bound = if s.results.len() >= ef {
                best
            } else {
                f32::INFINITY
            };
            let mut computed = 0usize;
            while let Some(Reverse(key)) = s.candidates.pop() {
                let (d, id) = unpack(key);
                if d > bound {
                    break;
                }
                let links = self.links0(id);
                for &next in links {
                    prefetch(table.row_ptr(next));
                }
                computed += links.len();
                for &next in links {
                    if !s.visit(next) {
                        continue;
                    }
                    let d = distance(next);
                    if d >= bound {
                        continue;
                    }
                    s.candidates.push(Reverse(pack(d, next)));
                    if accept(next) {
                        s.results.push(pack(d, next));
                        if s.results.len() > ef {
                            s.results.pop();
                        }
                        if s.results.len() >= ef {
                            bound = s.results.peek().map_or(bound, |&w| unpack(w).0);
                        }
                    }
                }
                if computed > budget {
                    return None;
                }
            }
            for key in s.results.drain() {
                top.offer(key);
            }
            Some(())
        })
    }
}

/// Writes `list`'s ids below `len` into `block` as a count and the ids,
/// keeping as many as fit.
fn copy_block(block: &mut [u32], list: &[hnsw_rs::prelude::Neighbour], len: usize) {
    let mut count = 0;
    for n in list {
        if n.d_id < len && count + 1 < block.len() {
            count += 1;
            block[count] = n.d_id as u32;
        }
    }
    block[0] = count as u32;
}

/// Asks the CPU to start loading a vector that the walk is about to read:
/// on a large catalogue most rows are not in cache, and the loads of one
/// node's neighbours then overlap instead of waiting one after another.
#[inline(always)]
fn prefetch(ptr: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(ptr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IndexParams;

    /// `n` vectors of `dim` dimensions from a fixed-seed generator, in
    /// clusters like tracks around genres.
    fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..dim).map(|_| 4.0 * next()).collect())
            .collect();
        (0..n)
            .map(|i| centres[i % 20].iter().map(|c| c + next()).collect())
            .collect()
    }

    /// `data` in an hnsw_rs graph, the padded table and the frozen walk.
    fn indexed(data: &[Vec<f32>], dim: usize) -> (Graph, VectorTable, FrozenGraph) {
        let (params, n) = (IndexParams::default(), data.len());
        let graph = Graph::new(&params, n);
        let items: Vec<(&[f32], usize)> =
            data.iter().enumerate().map(|(i, v)| (&v[..], i)).collect();
        graph.insert_parallel(&items);
        let mut table = VectorTable::with_capacity(dim, n);
        for v in data {
            table.push(v);
        }
        let frozen = FrozenGraph::freeze(&graph, n, params.max_connections);
        (graph, table, frozen)
    }

    fn recall(found: &[(u32, f32)], exact: &[(u32, f32)]) -> f64 {
        let worst = exact.last().map_or(0.0, |e| e.1);
        found.iter().filter(|f| f.1 <= worst * (1.0 + 1e-6)).count() as f64 / exact.len() as f64
    }

    #[test]
    fn the_walk_finds_what_hnsw_rs_finds_on_the_same_graph() {
        let (n, dim, k) = (3_000, 13, 10);
        let data = vectors(n, dim, 7);
        let (graph, table, frozen) = indexed(&data, dim);
        let (mut ours, mut theirs, queries) = (0.0, 0.0, vectors(200, dim, 11));
        for q in &queries {
            let exact = crate::flat::top_k(&table, q, k, |_| true);
            let mut top = TopK::new(k);
            frozen
                .search(&table, &table.pad(q), 32, |_| true, usize::MAX, &mut top)
                .unwrap();
            ours += recall(&top.into_hits(), &exact);
            theirs += recall(&graph.search_unfiltered(q, k, 32), &exact);
        }
        let (ours, theirs) = (ours / 200.0, theirs / 200.0);
        assert!(ours >= 0.95, "recall@10 {ours}, hnsw_rs {theirs}");
        assert!(ours >= theirs - 0.01, "ours {ours}, hnsw_rs {theirs}");
        eprintln!("recall@10 at ef 32: ours {ours}, hnsw_rs {theirs}");
    }

    #[test]
    fn a_filter_is_respected_and_a_budget_ends_a_starved_walk() {
        let (n, dim) = (2_000, 5);
        let data = vectors(n, dim, 3);
        let (graph, table, frozen) = indexed(&data, dim);
        let q = table.pad(&data[17]);
        let thirds = |id: u32| id.is_multiple_of(3);
        let mut top = TopK::new(10);
        frozen
            .search(&table, &q, 64, thirds, usize::MAX, &mut top)
            .unwrap();
        let found = top.into_hits();
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|&(id, _)| thirds(id)));
        // Graph and hnsw_rs agree on which ids pass.
        let theirs = graph.search(&data[17], 10, 64, &thirds);
        assert!(theirs.iter().all(|&(id, _)| thirds(id)));
        // Nothing passes: the walk would visit every node; a budget stops it.
        let mut top = TopK::new(10);
        assert!(frozen
            .search(&table, &q, 64, |_| false, 500, &mut top)
            .is_none());
    }
}
