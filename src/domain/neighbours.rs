//! A trained item-to-item model: for each track, its `k` nearest tracks by
//! co-occurrence, with their cosine similarity. A co-occurrence job
//! computes it (in the server, or on Spark over the lake) and the server
//! loads it in place of scoring from membership lists at query time.
//!
//! Why precompute at all, when [`CoOccurrence`] scores from the lists
//! directly: the lists must then sit in the server's memory, and building
//! them means reading every playlist and listener session. A table of `k`
//! neighbours per track is bounded (`k × tracks`) whatever the size of the
//! interaction log, and any engine can compute it.
//!
//! Scoring with the table gives what the lists give, except that a
//! candidate outside a seed's `k` best is not counted: with `k` at or above
//! the number of tracks sharing a list with a seed the two are equal
//! (tested), and `timbre evaluate` measures the difference at a given `k`.
//!
//! Both engines compute the similarity the same way, `co / sqrt(na × nb)`
//! in double precision from integer counts, and break ties by track id, so
//! their tables are equal, not just close.

use rustc_hash::FxHashMap;

use super::{CoOccurrence, DomainError, Result, TrackId};

/// The file format's first bytes (and version).
const MAGIC: &[u8; 8] = b"TMBRNB01";

/// Neighbours of each track, best first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbours {
    /// Every track with at least one neighbour, in id order.
    ids: Vec<TrackId>,
    /// `ids` → position.
    index: FxHashMap<TrackId, u32>,
    /// Track `i`'s neighbours are `to[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    to: Vec<u32>,
    sims: Vec<f32>,
}

/// The similarity both engines compute: the cosine of two tracks'
/// membership vectors, from integer counts.
pub fn cosine(co: u64, n_a: u64, n_b: u64) -> f64 {
    co as f64 / ((n_a * n_b) as f64).sqrt()
}

/// Sorts best first (similarity descending, then track id) and keeps `k`.
fn best(mut row: Vec<(TrackId, f64)>, k: usize) -> Vec<(TrackId, f64)> {
    row.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    row.truncate(k);
    row
}

impl Neighbours {
    /// The `k` best neighbours of every track of `model`'s lists.
    pub fn train(model: &CoOccurrence, k: usize) -> Self {
        let mut tracks: Vec<TrackId> = model.tracks().copied().collect();
        tracks.sort_unstable();
        let mut rows = Vec::with_capacity(tracks.len());
        let mut co: FxHashMap<TrackId, u64> = FxHashMap::default();
        for track in tracks {
            co.clear();
            for list in model.lists_of(&track) {
                for other in list {
                    if *other != track {
                        *co.entry(*other).or_default() += 1;
                    }
                }
            }
            let n = model.lists_holding(&track) as u64;
            let row: Vec<(TrackId, f64)> = co
                .iter()
                .map(|(other, &c)| (*other, cosine(c, n, model.lists_holding(other) as u64)))
                .collect();
            rows.push((track, best(row, k)));
        }
        Self::from_sorted(rows)
    }

    /// A table from `(track, neighbour, similarity)` rows in any order (an
    /// engine's output), keeping each track's `k` best.
    pub fn from_rows(rows: impl IntoIterator<Item = (TrackId, TrackId, f64)>, k: usize) -> Self {
        let mut by_track: FxHashMap<TrackId, Vec<(TrackId, f64)>> = FxHashMap::default();
        for (track, other, sim) in rows {
            by_track.entry(track).or_default().push((other, sim));
        }
        let mut rows: Vec<(TrackId, Vec<(TrackId, f64)>)> = by_track
            .into_iter()
            .map(|(track, row)| (track, best(row, k)))
            .collect();
        rows.sort_unstable_by_key(|a| a.0);
        Self::from_sorted(rows)
    }

    /// Builds the table from rows sorted by track, each best first. Every
    /// neighbour gets an id even if it has no row of its own.
    fn from_sorted(rows: Vec<(TrackId, Vec<(TrackId, f64)>)>) -> Self {
        let mut table = Neighbours::default();
        for (track, _) in &rows {
            table.intern(*track);
        }
        table.offsets.push(0);
        for (_, row) in rows {
            for (other, sim) in row {
                let at = table.intern(other);
                table.to.push(at);
                table.sims.push(sim as f32);
            }
            table.offsets.push(table.to.len() as u32);
        }
        table
    }

    fn intern(&mut self, id: TrackId) -> u32 {
        let next = self.ids.len() as u32;
        *self.index.entry(id).or_insert_with(|| {
            self.ids.push(id);
            next
        })
    }

    /// Tracks with neighbours.
    pub fn track_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Neighbour entries in all.
    pub fn pair_count(&self) -> usize {
        self.to.len()
    }

    /// The neighbours of `track`, best first.
    pub fn of(&self, track: &TrackId) -> impl Iterator<Item = (TrackId, f32)> + '_ {
        let range = match self.index.get(track) {
            Some(&i) if (i as usize) < self.track_count() => {
                self.offsets[i as usize] as usize..self.offsets[i as usize + 1] as usize
            }
            _ => 0..0,
        };
        range.map(|e| (self.ids[self.to[e] as usize], self.sims[e]))
    }

    /// Every neighbour of a seed with the sum of its similarities to the
    /// seeds, each weighted (as [`CoOccurrence::scores`]).
    pub fn scores(&self, seeds: &[(TrackId, f32)]) -> FxHashMap<TrackId, f32> {
        let mut scores: FxHashMap<TrackId, f32> = FxHashMap::default();
        for (seed, weight) in seeds {
            for (other, sim) in self.of(seed) {
                *scores.entry(other).or_default() += weight * sim;
            }
        }
        scores
    }

    /// The table as bytes (little-endian): magic, counts, ids, offsets,
    /// neighbours, similarities.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            24 + self.ids.len() * 22 + (self.offsets.len() + self.to.len() * 2) * 4,
        );
        out.extend_from_slice(MAGIC);
        for n in [self.ids.len(), self.offsets.len(), self.to.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        for id in &self.ids {
            out.extend_from_slice(id.as_str().as_bytes());
        }
        for n in self.offsets.iter().chain(&self.to) {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for s in &self.sims {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// A table from [`Self::encode`]'s bytes.
    ///
    /// # Errors
    /// [`DomainError::InvalidArgument`] for bytes that are not a table.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| DomainError::InvalidArgument(format!("not a neighbour table: {why}"));
        let mut at = bytes.strip_prefix(MAGIC).ok_or_else(|| bad("magic"))?;
        let mut take = |n: usize| -> Result<&[u8]> {
            if at.len() < n {
                return Err(bad("truncated"));
            }
            let (head, rest) = at.split_at(n);
            at = rest;
            Ok(head)
        };
        let mut count = || -> Result<usize> {
            let b = take(4)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let (ids, offsets, pairs) = (count()?, count()?, count()?);
        let words = |b: &[u8]| -> Vec<u32> {
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let mut table = Neighbours::default();
        for chunk in take(ids * 22)?.chunks_exact(22) {
            let text = std::str::from_utf8(chunk).map_err(|_| bad("an id is not text"))?;
            table.intern(TrackId::parse(text).map_err(|_| bad("an id is not a track id"))?);
        }
        table.offsets = words(take(offsets * 4)?);
        table.to = words(take(pairs * 4)?);
        table.sims = take(pairs * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let consistent = table.ids.len() == ids
            && table.offsets.first() == Some(&0)
            && table.offsets.windows(2).all(|w| w[0] <= w[1])
            && table.offsets.last().copied() == Some(pairs as u32)
            && table.track_count() <= ids
            && table.to.iter().all(|&t| (t as usize) < ids);
        if !consistent || !at.is_empty() {
            return Err(bad("inconsistent counts"));
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> TrackId {
        TrackId::parse(&format!("{n:022}")).unwrap()
    }

    fn model() -> CoOccurrence {
        CoOccurrence::new([
            vec![id(1), id(2), id(3)],
            vec![id(1), id(2)],
            vec![id(1), id(4), id(5)],
            vec![id(3), id(5)],
        ])
    }

    #[test]
    fn with_every_neighbour_the_table_scores_as_the_lists_do() {
        let lists = model();
        let table = Neighbours::train(&lists, 100);
        let seeds = [(id(1), 1.0), (id(5), -0.5)];
        let (want, got) = (lists.scores(&seeds), table.scores(&seeds));
        assert_eq!(want.len(), got.len());
        for (track, score) in want {
            assert!((got[&track] - score).abs() < 1e-6, "{track}: {score}");
        }
    }

    #[test]
    fn k_keeps_the_best_and_ties_go_to_the_smaller_id() {
        let table = Neighbours::train(&model(), 3);
        // cos(1,2) = 2/sqrt(3*2), cos(1,4) = 1/sqrt(3*1),
        // cos(1,3) = cos(1,5) = 1/sqrt(3*2).
        let best: Vec<(TrackId, f32)> = table.of(&id(1)).collect();
        let ids: Vec<TrackId> = best.iter().map(|n| n.0).collect();
        assert_eq!(ids, [id(2), id(4), id(3)]);
        assert!((best[0].1 - (2.0 / 6f64.sqrt()) as f32).abs() < 1e-7);
        assert_eq!(table.of(&id(9)).count(), 0);
    }

    #[test]
    fn rows_from_an_engine_give_the_same_table() {
        let trained = Neighbours::train(&model(), 2);
        let mut rows = Vec::new();
        for track in [1, 2, 3, 4, 5].map(id) {
            for (other, sim) in Neighbours::train(&model(), 100).of(&track) {
                rows.push((track, other, f64::from(sim)));
            }
        }
        rows.reverse();
        let from_rows = Neighbours::from_rows(rows, 2);
        for track in [1, 2, 3, 4, 5].map(id) {
            let a: Vec<TrackId> = trained.of(&track).map(|n| n.0).collect();
            let b: Vec<TrackId> = from_rows.of(&track).map(|n| n.0).collect();
            assert_eq!(a, b, "{track}");
        }
    }

    #[test]
    fn the_encoding_round_trips_and_rejects_junk() {
        let table = Neighbours::train(&model(), 3);
        let bytes = table.encode();
        assert_eq!(Neighbours::decode(&bytes).unwrap(), table);
        assert!(Neighbours::decode(b"junk").is_err());
        assert!(Neighbours::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(Neighbours::decode(&extra).is_err());
    }
}
