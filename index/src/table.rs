//! The vector table: every vector of the index, one padded row per internal
//! id, in one contiguous allocation.
//!
//! Rows are padded with zeros to a multiple of [`LANES`] floats (13
//! dimensions take 16), so that the squared distance between two rows is a
//! fixed number of whole 8-wide chunks: the compiler turns that loop into
//! SIMD instructions with no remainder loop, on the default x86-64 target and
//! without nightly features. The zeros add nothing to a distance as long as
//! the query is padded the same way ([`VectorTable::pad`]).
//!
//! The exact scan, the pending tail and the graph's walks all read this
//! one table. It is one allocation rather than chunks a graph catch-up
//! could share, because a chunk costs the walk another dependent load per
//! distance; a catch-up copies the table instead (64 MB at a million
//! vectors, once per catch-up). On the shared dataset the two layouts
//! measured alike within `bench/ann.sh`'s noise (timbre 0.91-1.22x the
//! fastest peer library over five runs with chunks, 1.09x and 1.15x over
//! two without), so the simpler one stays.

/// Floats per SIMD chunk of a row. Eight is one AVX register or two SSE
/// registers; every row length is a multiple of it.
pub(crate) const LANES: usize = 8;

/// Row-major vectors padded to a multiple of [`LANES`].
#[derive(Debug, Clone)]
pub(crate) struct VectorTable {
    /// Dimensions of a vector, without padding.
    dim: usize,
    /// Floats per row: `dim` rounded up to a multiple of [`LANES`].
    stride: usize,
    /// `len() * stride` floats.
    data: Vec<f32>,
}

impl VectorTable {
    /// An empty table of `dim`-dimensional vectors with room for `capacity`.
    pub(crate) fn with_capacity(dim: usize, capacity: usize) -> Self {
        let stride = dim.div_ceil(LANES).max(1) * LANES;
        Self {
            dim,
            stride,
            data: Vec::with_capacity(capacity * stride),
        }
    }

    /// Floats per padded row.
    #[cfg(test)]
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    /// Number of rows.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.data.len() / self.stride
    }

    /// Appends `vector` (exactly `dim` floats) as a new row.
    pub(crate) fn push(&mut self, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dim);
        self.data.extend_from_slice(vector);
        self.data
            .resize(self.data.len() + self.stride - self.dim, 0.0);
    }

    /// The vector of row `id`, without its padding.
    pub(crate) fn row(&self, id: u32) -> &[f32] {
        let start = id as usize * self.stride;
        &self.data[start..start + self.dim]
    }

    /// The padded row `id`, as distances read it.
    #[inline]
    pub(crate) fn padded(&self, id: u32) -> &[f32] {
        let start = id as usize * self.stride;
        &self.data[start..start + self.stride]
    }

    /// Every padded row with its id, from row `from` on.
    pub(crate) fn rows_from(&self, from: u32) -> impl Iterator<Item = (u32, &[f32])> {
        self.data[from as usize * self.stride..]
            .chunks_exact(self.stride)
            .zip(from..)
            .map(|(row, id)| (id, row))
    }

    /// `query` padded to a row's length, to compare with padded rows.
    pub(crate) fn pad(&self, query: &[f32]) -> Vec<f32> {
        let mut padded = vec![0.0; self.stride];
        padded[..query.len()].copy_from_slice(query);
        padded
    }

    /// Address of row `id`'s first float, for a prefetch hint; the row need
    /// not exist (a hint to a bad address is harmless and never read).
    #[inline]
    pub(crate) fn row_ptr(&self, id: u32) -> *const f32 {
        self.data.as_ptr().wrapping_add(id as usize * self.stride)
    }
}

/// Squared Euclidean distance between two padded rows of equal length.
///
/// Eight independent accumulators, one per lane: a single running sum would
/// be a chain of dependent additions (floating-point addition is not
/// reassociated), which made the exact scan several times slower. Squared
/// distances order like distances; the root is taken once per result.
#[inline]
pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    debug_assert_eq!(a.len() % LANES, 0);
    let mut lanes = [0.0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            lanes[i] += d * d;
        }
    }
    // Pairwise, so the compiler folds the lanes with vector shuffles.
    let [a0, a1, a2, a3, a4, a5, a6, a7] = lanes;
    ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_and_read_back_unpadded() {
        let mut table = VectorTable::with_capacity(13, 2);
        assert_eq!(table.stride(), 16);
        let a: Vec<f32> = (0..13).map(|i| i as f32).collect();
        table.push(&a);
        table.push(&a);
        assert_eq!(table.len(), 2);
        assert_eq!(table.row(1), &a[..]);
        assert_eq!(&table.padded(1)[13..], &[0.0; 3]);
        assert_eq!(table.rows_from(1).count(), 1);
    }

    #[test]
    fn squared_distance_matches_the_definition_for_any_length() {
        for len in [1usize, 7, 8, 11, 13, 16, 21] {
            let mut table = VectorTable::with_capacity(len, 2);
            let a: Vec<f32> = (0..len).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..len).map(|i| (i * i) as f32 * 0.1).collect();
            table.push(&a);
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let got = l2_squared(table.padded(0), &table.pad(&b));
            assert!((got - naive).abs() <= naive * 1e-5, "len {len}");
        }
    }
}
