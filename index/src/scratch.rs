//! Per-thread working memory of a graph walk: the visited marks and the two
//! heaps, reused from search to search.
//!
//! hnsw_rs allocates a `HashMap` of visited nodes per search and hashes every
//! neighbour it meets, which was most of its walk's time. Here a node is
//! visited when its mark equals the search's stamp: starting a search bumps
//! the stamp instead of clearing anything, and checking a node is one load
//! and one compare. Marks are `u16` (hnswlib's choice) so that a million
//! nodes take 2 MB; every 65,535 searches the marks are cleared once.
//!
//! Each thread keeps a small pool rather than one value, so that a filter
//! closure that itself searches (re-entering on the same thread) gets its
//! own scratch instead of a panic.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The working memory of one walk.
#[derive(Default)]
pub(crate) struct Scratch {
    marks: Vec<u16>,
    stamp: u16,
    /// Nodes still to expand, nearest first (packed keys, see `flat::pack`).
    pub(crate) candidates: BinaryHeap<Reverse<u64>>,
    /// The best nodes found, worst on top.
    pub(crate) results: BinaryHeap<u64>,
}

impl Scratch {
    /// Prepares for a walk over ids below `n`: nothing is visited, both heaps
    /// are empty.
    pub(crate) fn start(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.fill(0);
            self.stamp = 1;
        }
        self.candidates.clear();
        self.results.clear();
    }

    /// Marks `id` visited; returns whether it was new in this walk.
    #[inline]
    pub(crate) fn visit(&mut self, id: u32) -> bool {
        let mark = &mut self.marks[id as usize];
        let new = *mark != self.stamp;
        *mark = self.stamp;
        new
    }
}

thread_local! {
    static POOL: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a scratch of this thread's pool, returning it afterwards.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut scratch = POOL
        .with(|pool| pool.borrow_mut().pop())
        .unwrap_or_default();
    let result = f(&mut scratch);
    POOL.with(|pool| pool.borrow_mut().push(scratch));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_walk_forgets_the_last_one_even_across_stamp_wraparound() {
        let mut s = Scratch::default();
        for _ in 0..70_000 {
            s.start(4);
            assert!(s.visit(2));
            assert!(!s.visit(2));
        }
        s.start(8);
        assert!((0..8).all(|id| s.visit(id)));
    }

    #[test]
    fn re_entering_gets_a_separate_scratch() {
        let inner = with_scratch(|outer| {
            outer.start(3);
            outer.visit(1);
            with_scratch(|inner| {
                inner.start(3);
                inner.visit(1)
            })
        });
        assert!(inner);
    }
}
