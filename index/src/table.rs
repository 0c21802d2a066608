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
//! The default target stops at SSE2's 128-bit registers. Where the CPU has
//! AVX2 (checked once per search), the graph's walk and the exact scan run
//! a copy compiled for it with [`l2_squared_avx2`], which gives the same
//! bits: on the shared dataset walks went 1.2x and scans 2x as fast
//! (`bench/ann/ab.sh`).
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

/// [`l2_squared`] in AVX2 instructions: one 256-bit subtraction,
/// multiplication and addition per 8-float chunk. The sums are the same as
/// [`l2_squared`]'s, lane for lane and in the same order (no fused
/// multiply-add), so both give bit-identical results and a walk compiled
/// for AVX2 agrees with the exact scan to the last bit.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn l2_squared_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_loadu_ps,
        _mm256_mul_ps, _mm256_setzero_ps, _mm256_sub_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32,
        _mm_movehl_ps, _mm_shuffle_ps,
    };
    debug_assert_eq!(a.len(), b.len());
    debug_assert_eq!(a.len() % LANES, 0);
    let mut acc = _mm256_setzero_ps();
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        // SAFETY: each chunk holds exactly 8 floats; unaligned loads.
        let d = unsafe { _mm256_sub_ps(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr())) };
        acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
    }
    // (a0 + a4, a1 + a5, a2 + a6, a3 + a7)
    let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    // ((a0 + a4) + (a2 + a6), (a1 + a5) + (a3 + a7), ..)
    let t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<1>(t, t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_distance_is_bit_identical_to_the_portable_one() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU; nothing to compare");
            return;
        }
        // Values of many magnitudes, so that a different order of the
        // additions would show in the last bits.
        let mut state = 0x9E37_79B9u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 10f32.powi((state % 7) as i32 - 3)
        };
        for len in [8, 16, 24, 64] {
            for _ in 0..1_000 {
                let a: Vec<f32> = (0..len).map(|_| next()).collect();
                let b: Vec<f32> = (0..len).map(|_| next()).collect();
                let portable = l2_squared(&a, &b);
                // SAFETY: AVX2 was detected above.
                let avx2 = unsafe { l2_squared_avx2(&a, &b) };
                assert_eq!(portable.to_bits(), avx2.to_bits(), "{a:?} {b:?}");
            }
        }
    }

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
