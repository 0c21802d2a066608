//! Exact (flat) search: every live vector is compared with the query.
//!
//! It is the oracle that the graph's recall is measured against, the search
//! used for small catalogues, and the fallback when a filter is so selective
//! that a graph walk cannot find enough matching neighbours.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Squared Euclidean distance. Eight independent accumulators let the
/// compiler use SIMD lanes; a single running sum would be one long chain of
/// dependent additions (floating-point addition is not reassociated), which
/// made the exact scan several times slower.
#[inline]
pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            lanes[i] += d * d;
        }
    }
    for (i, (x, y)) in ra.iter().zip(rb).enumerate() {
        let d = x - y;
        lanes[i] += d * d;
    }
    lanes.iter().sum()
}

/// A candidate ordered by distance, ties broken by id so results are stable.
#[derive(Clone, Copy, PartialEq)]
struct Candidate {
    distance: f32,
    id: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` vectors of `vectors` (row-major, `dim` columns) closest to `query`
/// among the internal ids that `accept` lets through, nearest first.
pub(crate) fn top_k(
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    k: usize,
    accept: impl Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    if k == 0 || dim == 0 {
        return Vec::new();
    }
    // A max-heap of the best k so far: its top is the worst one kept.
    let mut heap = BinaryHeap::with_capacity(k + 1);
    for (id, row) in vectors.chunks_exact(dim).enumerate() {
        let id = id as u32;
        if !accept(id) {
            continue;
        }
        // Squared distances order the same way; the root is taken once per result.
        let distance = l2_squared(query, row);
        if heap.len() < k {
            heap.push(Candidate { distance, id });
        } else if let Some(worst) = heap.peek() {
            if distance < worst.distance {
                heap.pop();
                heap.push(Candidate { distance, id });
            }
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .map(|c| (c.id, c.distance.sqrt()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_nearest_first_and_respects_the_filter() {
        // Four 1-d points at 0, 1, 2, 3; the query sits at 1.1.
        let vectors = [0.0, 1.0, 2.0, 3.0];
        let hits = top_k(&vectors, 1, &[1.1], 2, |_| true);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2]);
        let hits = top_k(&vectors, 1, &[1.1], 2, |id| id != 1);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2, 0]);
    }

    #[test]
    fn squared_distance_matches_the_definition_for_any_length() {
        for len in [1usize, 7, 8, 13, 16, 21] {
            let a: Vec<f32> = (0..len).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..len).map(|i| (i * i) as f32 * 0.1).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!(
                (l2_squared(&a, &b) - naive).abs() <= naive * 1e-5,
                "len {len}"
            );
        }
    }

    #[test]
    fn asks_for_more_than_there_is() {
        let hits = top_k(&[0.0, 0.0, 1.0, 1.0], 2, &[0.0, 0.0], 10, |_| true);
        assert_eq!(hits.len(), 2);
        assert!((hits[1].1 - 2f32.sqrt()).abs() < 1e-6);
    }
}
