//! The HNSW graph as plain `u32` arrays: the walk that answers searches and
//! the insert that extends the graph one node at a time.
//!
//! hnsw_rs builds graphs in bulk (`build.rs`), and its links are copied
//! here. Its own structures cost about 2.5 KB per node for 13-dimensional
//! vectors (an `Arc`'d point with its own copy of the vector and a lock per
//! neighbour list) and its search was 6-8x slower than hnswlib's on the same
//! graph (a `HashMap` of visited nodes per search, a lock per list, a scalar
//! distance with a square root). This layout takes about 140 B per node at
//! M = 16:
//!
//! - layer 0, where nearly all of a walk's time goes, is one array with a
//!   fixed block of `1 + 2M` slots per node (count, then neighbour ids), so
//!   a node's links are one or two cache lines found by multiplication;
//! - the upper layers (about one node in M has any) hold blocks of `1 + M`
//!   slots, found through a per-node offset;
//! - vectors come from the index's padded [`VectorTable`], distances are
//!   squared, visited marks come from the per-thread [`crate::scratch`].
//!
//! Inserts follow the HNSW paper and hnswlib: a greedy descent to the new
//! node's top layer, then on each layer below a beam search of
//! `ef_construction` candidates, M neighbours chosen by the diversity
//! heuristic, and back-links, pruned by the same heuristic when a list is
//! full.

use std::cmp::Reverse;

use crate::flat::{pack, unpack, TopK};
use crate::scratch::{with_scratch, Scratch};
#[cfg(target_arch = "x86_64")]
use crate::table::l2_squared_avx2;
use crate::table::{l2_squared, VectorTable};

/// Marks a node without upper-layer links in `upper_start`.
const NONE: u32 = u32::MAX;

/// An HNSW graph over ids `0..len()`. Ids that never reached the graph
/// (dead before their turn) are nodes without links.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    /// M: links per node on the upper layers (2M on layer 0).
    m: usize,
    /// Per node, its top layer.
    pub(crate) levels: Vec<u8>,
    /// `1 + 2M` slots per node: a count, then neighbour ids.
    pub(crate) links0: Vec<u32>,
    /// Per node, the index of its layer-1 block in `links_up` (its layer-l
    /// block follows at `+ l - 1`), or [`NONE`].
    pub(crate) upper_start: Vec<u32>,
    /// Blocks of `1 + M` slots.
    pub(crate) links_up: Vec<u32>,
    /// Where every walk starts, and its layer.
    pub(crate) entry: Option<(u32, usize)>,
}

impl Graph {
    /// An empty graph for `m` = max_connections.
    pub(crate) fn new(m: usize) -> Self {
        Graph {
            m,
            levels: Vec::new(),
            links0: Vec::new(),
            upper_start: Vec::new(),
            links_up: Vec::new(),
            entry: None,
        }
    }

    /// A graph from its arrays (as a snapshot holds them), checked so that
    /// no walk can leave them: every count fits its block, every link and
    /// the entry name a node, every upper block lies inside `links_up`.
    ///
    /// # Errors
    /// What is inconsistent, in words.
    pub(crate) fn from_parts(
        m: usize,
        levels: Vec<u8>,
        links0: Vec<u32>,
        upper_start: Vec<u32>,
        links_up: Vec<u32>,
        entry: Option<(u32, usize)>,
    ) -> std::result::Result<Self, String> {
        let graph = Graph {
            m,
            levels,
            links0,
            upper_start,
            links_up,
            entry,
        };
        let (n, width0, width_up) = (graph.len(), graph.width0(), graph.width_up());
        if graph.links0.len() != n * width0 || graph.upper_start.len() != n {
            return Err(format!("arrays of {n} nodes have other lengths"));
        }
        if !graph.links_up.len().is_multiple_of(width_up) {
            return Err("upper links are not whole blocks".into());
        }
        let blocks = graph.links_up.len() / width_up;
        let valid = |block: &[u32]| {
            (block[0] as usize) < block.len()
                && block[1..=block[0] as usize]
                    .iter()
                    .all(|&id| (id as usize) < n)
        };
        if !graph.links0.chunks_exact(width0).all(valid) {
            return Err("a layer-0 link names no node".into());
        }
        if !graph.links_up.chunks_exact(width_up).all(valid) {
            return Err("an upper link names no node".into());
        }
        for (id, &first) in graph.upper_start.iter().enumerate() {
            let level = graph.levels[id] as usize;
            if first == NONE {
                if level > 0 {
                    return Err(format!("node {id} of level {level} has no upper links"));
                }
                continue;
            }
            if first as usize + level > blocks {
                return Err(format!("node {id}'s upper links lie outside the array"));
            }
            for layer in 1..=level {
                let links = graph.links(id as u32, layer);
                if links
                    .iter()
                    .any(|&n| (graph.levels[n as usize] as usize) < layer)
                {
                    return Err(format!("node {id} links to a node without layer {layer}"));
                }
            }
        }
        match graph.entry {
            Some((id, level))
                if id as usize >= n || graph.levels[id as usize] as usize != level =>
            {
                Err("the entry point is not a node of its level".into())
            }
            None if graph.links0.chunks_exact(width0).any(|b| b[0] > 0) => {
                Err("a graph with links has no entry point".into())
            }
            _ => Ok(graph),
        }
    }

    /// Slots per node on layer 0.
    pub(crate) fn width0(&self) -> usize {
        1 + 2 * self.m
    }

    /// Slots per node and upper layer.
    pub(crate) fn width_up(&self) -> usize {
        1 + self.m
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Adds link-less nodes up to id `len - 1`.
    pub(crate) fn grow(&mut self, len: usize) {
        if len <= self.len() {
            return;
        }
        self.links0.resize(len * self.width0(), 0);
        self.upper_start.resize(len, NONE);
        self.levels.resize(len, 0);
    }

    /// Gives node `id` (without upper blocks yet) empty blocks up to
    /// `level`.
    pub(crate) fn add_levels(&mut self, id: u32, level: usize) {
        debug_assert_eq!(self.upper_start[id as usize], NONE);
        self.levels[id as usize] = level as u8;
        if level > 0 {
            let width = self.width_up();
            self.upper_start[id as usize] = (self.links_up.len() / width) as u32;
            self.links_up.resize(self.links_up.len() + level * width, 0);
        }
    }

    /// Makes `id` on `level` the start of every walk.
    pub(crate) fn set_entry(&mut self, id: u32, level: usize) {
        self.entry = Some((id, level));
    }

    /// The block (count and slots) of `id` on `layer`.
    #[inline]
    fn block(&self, id: u32, layer: usize) -> &[u32] {
        if layer == 0 {
            let width = self.width0();
            let start = id as usize * width;
            return &self.links0[start..start + width];
        }
        let first = self.upper_start[id as usize];
        if first == NONE || layer > self.levels[id as usize] as usize {
            return &[0];
        }
        let width = self.width_up();
        let start = (first as usize + layer - 1) * width;
        &self.links_up[start..start + width]
    }

    fn block_mut(&mut self, id: u32, layer: usize) -> &mut [u32] {
        let (start, width) = if layer == 0 {
            (id as usize * self.width0(), self.width0())
        } else {
            let first = self.upper_start[id as usize];
            debug_assert!(first != NONE && layer <= self.levels[id as usize] as usize);
            let width = self.width_up();
            ((first as usize + layer - 1) * width, width)
        };
        let links = if layer == 0 {
            &mut self.links0
        } else {
            &mut self.links_up
        };
        &mut links[start..start + width]
    }

    /// The neighbours of `id` on `layer`.
    #[inline]
    pub(crate) fn links(&self, id: u32, layer: usize) -> &[u32] {
        let block = self.block(id, layer);
        &block[1..1 + block[0] as usize]
    }

    /// Sets the neighbours of `id` on `layer`, keeping the ids below
    /// `len()` that fit.
    pub(crate) fn set_links(&mut self, id: u32, layer: usize, ids: &[u32]) {
        let len = self.len();
        let block = self.block_mut(id, layer);
        let mut count = 0;
        for &n in ids {
            if (n as usize) < len && count + 1 < block.len() {
                count += 1;
                block[count] = n;
            }
        }
        block[0] = count as u32;
    }

    /// Greedy descent from the entry point through the layers above
    /// `down_to`: the node nearest `query` found, with its squared distance.
    fn descend(&self, table: &VectorTable, query: &[f32], down_to: usize) -> Option<(u32, f32)> {
        let (entry, top) = self.entry?;
        let distance = |id: u32| l2_squared(query, table.padded(id));
        let (mut node, mut best) = (entry, distance(entry));
        for layer in (down_to + 1..=top).rev() {
            let mut moved = true;
            while moved {
                moved = false;
                for &next in self.links(node, layer) {
                    let d = distance(next);
                    if d < best {
                        (node, best, moved) = (next, d, true);
                    }
                }
            }
        }
        Some((node, best))
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
        let Some((node, best)) = self.descend(table, query, 0) else {
            return Some(());
        };
        with_scratch(|s| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                return unsafe {
                    self.walk_avx2(s, table, query, (node, best), ef, &accept, budget, top)
                };
            }
            let distance = |id: u32| l2_squared(query, table.padded(id));
            self.walk(s, table, distance, (node, best), ef, &accept, budget, top)
        })
    }

    /// [`Graph::walk`] compiled for AVX2, chosen at run time: a distance
    /// between two 16-float rows takes two 256-bit operations instead of
    /// four 128-bit ones.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn walk_avx2(
        &self,
        s: &mut Scratch,
        table: &VectorTable,
        query: &[f32],
        start: (u32, f32),
        ef: usize,
        accept: &impl Fn(u32) -> bool,
        budget: usize,
        top: &mut TopK,
    ) -> Option<()> {
        // SAFETY: this function only runs on CPUs with AVX2.
        let distance = |id: u32| unsafe { l2_squared_avx2(query, table.padded(id)) };
        self.walk(s, table, distance, start, ef, accept, budget, top)
    }

    /// The layer-0 walk of [`Graph::search`] from `start` (node, distance).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        s: &mut Scratch,
        table: &VectorTable,
        distance: impl Fn(u32) -> f32,
        (node, best): (u32, f32),
        ef: usize,
        accept: &impl Fn(u32) -> bool,
        budget: usize,
        top: &mut TopK,
    ) -> Option<()> {
        s.start(self.len());
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
            let links = self.links(id, 0);
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
    }

    /// The `ef` nodes of `layer` nearest `query` that a beam search from
    /// `start` finds, as packed keys, nearest first.
    fn search_layer(
        &self,
        table: &VectorTable,
        query: &[f32],
        start: (u32, f32),
        ef: usize,
        layer: usize,
    ) -> Vec<u64> {
        with_scratch(|s| {
            s.start(self.len());
            s.visit(start.0);
            let first = pack(start.1, start.0);
            s.candidates.push(Reverse(first));
            s.results.push(first);
            while let Some(Reverse(key)) = s.candidates.pop() {
                let (d, id) = unpack(key);
                if s.results.len() >= ef && s.results.peek().is_some_and(|&w| d > unpack(w).0) {
                    break;
                }
                for &next in self.links(id, layer) {
                    if !s.visit(next) {
                        continue;
                    }
                    let key = pack(l2_squared(query, table.padded(next)), next);
                    if s.results.len() < ef || s.results.peek().is_some_and(|&w| key < w) {
                        s.candidates.push(Reverse(key));
                        s.results.push(key);
                        if s.results.len() > ef {
                            s.results.pop();
                        }
                    }
                }
            }
            let mut found: Vec<u64> = s.results.drain().collect();
            found.sort_unstable();
            found
        })
    }

    /// Up to `keep` of `candidates` (packed keys by distance to a base
    /// point, nearest first), chosen by HNSW's heuristic: a candidate is
    /// kept unless it lies closer to one already kept than to the base. It
    /// spreads links over directions instead of spending them all on one
    /// tight cluster, which keeps the graph navigable between clusters.
    fn select(table: &VectorTable, candidates: &[u64], keep: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(keep);
        for &key in candidates {
            if kept.len() >= keep {
                break;
            }
            let (d, c) = unpack(key);
            let row = table.padded(c);
            if kept.iter().all(|&r| l2_squared(row, table.padded(r)) >= d) {
                kept.push(c);
            }
        }
        kept
    }

    /// Inserts node `id` (whose vector is row `id` of `table`) with top
    /// layer `level`, searching `ef_construction` candidates per layer.
    pub(crate) fn insert(
        &mut self,
        table: &VectorTable,
        id: u32,
        level: usize,
        ef_construction: usize,
    ) {
        self.grow(id as usize + 1);
        self.add_levels(id, level);
        let query = table.padded(id);
        let Some((_, top)) = self.entry else {
            self.set_entry(id, level);
            return;
        };
        let Some(mut start) = self.descend(table, query, level) else {
            return;
        };
        for layer in (0..=level.min(top)).rev() {
            let mut found = self.search_layer(table, query, start, ef_construction, layer);
            found.retain(|&key| unpack(key).1 != id);
            if let Some(&nearest) = found.first() {
                let (d, n) = unpack(nearest);
                start = (n, d);
            }
            let chosen = Self::select(table, &found, self.m);
            self.set_links(id, layer, &chosen);
            for &n in &chosen {
                self.link(table, n, id, layer);
            }
        }
        if level > top {
            self.set_entry(id, level);
        }
    }

    /// Adds `new` to the neighbours of `node` on `layer`, pruning the list
    /// with the heuristic when it is full.
    fn link(&mut self, table: &VectorTable, node: u32, new: u32, layer: usize) {
        let block = self.block_mut(node, layer);
        let count = block[0] as usize;
        if count + 1 < block.len() {
            block[count + 1] = new;
            block[0] += 1;
            return;
        }
        let capacity = block.len() - 1;
        let base = table.padded(node);
        let mut candidates: Vec<u64> = block[1..=count]
            .iter()
            .chain([&new])
            .map(|&c| pack(l2_squared(base, table.padded(c)), c))
            .collect();
        candidates.sort_unstable();
        let kept = Self::select(table, &candidates, capacity);
        self.set_links(node, layer, &kept);
    }
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

/// The top layer of a new node: HNSW's exponentially decaying distribution
/// (`floor(-ln(u) / ln(M))`, about one node in M on layer 1), capped below
/// `max_layers`. `u` comes from a hash of the id and `salt`, so a graph's
/// shape does not depend on thread timing.
pub(crate) fn random_level(id: u32, salt: u64, m: usize, max_layers: usize) -> usize {
    let z = mix(id, salt);
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let level = (-u.ln() / (m.max(2) as f64).ln()) as usize;
    level.min(max_layers.saturating_sub(1))
}

/// A well-mixed 64-bit value for `id` under `salt` (SplitMix64's
/// finaliser): random-looking, but the same on every run.
pub(crate) fn mix(id: u32, salt: u64) -> u64 {
    let mut z = (u64::from(id) ^ salt.rotate_left(32)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
