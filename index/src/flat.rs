//! Exact (flat) search: every live vector is compared with the query.
//!
//! It is the oracle that the graph's recall is measured against, the search
//! used for small catalogues and very selective filters, and how the pending
//! tail (vectors inserted since the graph was last frozen) is searched.

use std::collections::BinaryHeap;

#[cfg(target_arch = "x86_64")]
use crate::table::l2_squared_avx2;
use crate::table::{l2_squared, VectorTable};

/// A (squared distance, id) pair packed into one `u64` that orders by
/// distance, then id: squared distances are never negative, and the bit
/// patterns of non-negative floats (infinity included) order like the
/// floats. Heaps of plain integers compare in one instruction.
#[inline]
pub(crate) fn pack(distance: f32, id: u32) -> u64 {
    (u64::from(distance.to_bits()) << 32) | u64::from(id)
}

/// The squared distance and id of a [`pack`]ed candidate.
#[inline]
pub(crate) fn unpack(key: u64) -> (f32, u32) {
    (f32::from_bits((key >> 32) as u32), key as u32)
}

/// The `k` best candidates seen so far: a max-heap whose top is the worst one
/// kept, so a candidate that cannot enter costs one comparison.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<u64>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Offers a packed candidate.
    #[inline]
    pub(crate) fn offer(&mut self, key: u64) {
        if self.heap.len() < self.k {
            self.heap.push(key);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if key < *worst {
                *worst = key;
            }
        }
    }

    /// The candidates as (id, Euclidean distance), nearest first.
    pub(crate) fn into_hits(self) -> Vec<(u32, f32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|key| {
                let (d, id) = unpack(key);
                (id, d.sqrt())
            })
            .collect()
    }
}

/// Offers every row from `from` on that `accept` lets through to `top`.
/// `query` is padded like the table's rows.
pub(crate) fn scan_into(
    table: &VectorTable,
    from: u32,
    query: &[f32],
    top: &mut TopK,
    accept: impl Fn(u32) -> bool,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { scan_avx2(table, from, query, top, &accept) };
    }
    scan(table, from, query, top, &accept, l2_squared);
}

/// [`scan_into`] compiled for AVX2 (see [`l2_squared_avx2`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(
    table: &VectorTable,
    from: u32,
    query: &[f32],
    top: &mut TopK,
    accept: &impl Fn(u32) -> bool,
) {
    // SAFETY: this function only runs on CPUs with AVX2.
    let distance = |a: &[f32], b: &[f32]| unsafe { l2_squared_avx2(a, b) };
    scan(table, from, query, top, accept, distance);
}

#[inline(always)]
fn scan(
    table: &VectorTable,
    from: u32,
    query: &[f32],
    top: &mut TopK,
    accept: &impl Fn(u32) -> bool,
    distance: impl Fn(&[f32], &[f32]) -> f32,
) {
    for (id, row) in table.rows_from(from) {
        if accept(id) {
            top.offer(pack(distance(query, row), id));
        }
    }
}

/// The `k` rows of `table` closest to `query` (unpadded) among the ids that
/// `accept` lets through, nearest first.
pub(crate) fn top_k(
    table: &VectorTable,
    query: &[f32],
    k: usize,
    accept: impl Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let mut top = TopK::new(k);
    scan_into(table, 0, &table.pad(query), &mut top, accept);
    top.into_hits()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(dim: usize, rows: &[f32]) -> VectorTable {
        let mut table = VectorTable::with_capacity(dim, rows.len() / dim);
        for row in rows.chunks_exact(dim) {
            table.push(row);
        }
        table
    }

    #[test]
    fn returns_nearest_first_and_respects_the_filter() {
        // Four 1-d points at 0, 1, 2, 3; the query sits at 1.1.
        let t = table(1, &[0.0, 1.0, 2.0, 3.0]);
        let hits = top_k(&t, &[1.1], 2, |_| true);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2]);
        let hits = top_k(&t, &[1.1], 2, |id| id != 1);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2, 0]);
    }

    #[test]
    fn asks_for_more_than_there_is() {
        let hits = top_k(&table(2, &[0.0, 0.0, 1.0, 1.0]), &[0.0, 0.0], 10, |_| true);
        assert_eq!(hits.len(), 2);
        assert!((hits[1].1 - 2f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn packed_keys_order_by_distance_then_id() {
        let mut keys = [
            pack(2.0, 0),
            pack(0.5, 9),
            pack(0.5, 3),
            pack(f32::INFINITY, 1),
        ];
        keys.sort_unstable();
        let order: Vec<u32> = keys.iter().map(|&k| unpack(k).1).collect();
        assert_eq!(order, vec![3, 9, 0, 1]);
    }
}
