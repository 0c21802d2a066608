//! Item-to-item collaborative filtering from co-occurrence: two tracks are
//! alike when people put them in the same playlists.
//!
//! The similarity of tracks `a` and `b` is the cosine of their membership
//! vectors, `co(a, b) / sqrt(n(a) * n(b))`, where `co` counts the lists
//! holding both and `n` the lists holding each. Dividing by the counts keeps
//! a track that sits in every list from being everyone's neighbour. A set of
//! seeds scores a candidate by the sum of its similarities to the seeds, so a
//! candidate that goes with many of them ranks first.
//!
//! Nothing is precomputed beyond the membership lists: with playlists of
//! tens to hundreds of tracks, scoring walks `seeds × lists per seed × list
//! length` entries, a few thousand for a playlist of 50, well under a
//! millisecond, and a write only has to rebuild the membership lists.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{Neighbours, TrackFields, TrackId};

/// Every playlist the tracks belong to, with its tracks (in the order
/// given, as often as listed), sorted by playlist id so that anything
/// numbered from them does not depend on hash order.
pub fn playlists_of(
    tracks: impl IntoIterator<Item = impl TrackFields>,
) -> Vec<(String, Vec<TrackId>)> {
    let mut by_playlist: FxHashMap<String, Vec<TrackId>> = FxHashMap::default();
    for track in tracks {
        for playlist in track.playlists() {
            match by_playlist.get_mut(playlist.id.as_str()) {
                Some(list) => list.push(track.id()),
                None => {
                    by_playlist.insert(playlist.id.clone(), vec![track.id()]);
                }
            }
        }
    }
    let mut lists: Vec<(String, Vec<TrackId>)> = by_playlist.into_iter().collect();
    lists.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    lists
}

/// Which tracks share lists (playlists, or a listener's liked tracks).
#[derive(Debug, Clone, Default)]
pub struct CoOccurrence {
    /// The lists, each a set of distinct tracks.
    lists: Vec<Vec<TrackId>>,
    /// For each track, the indices of the lists holding it.
    member_of: FxHashMap<TrackId, Vec<u32>>,
    /// Playlist id → index of its list, for models built from playlists.
    named: FxHashMap<String, u32>,
    /// A trained neighbour table (a co-occurrence job's), which scores in
    /// place of the lists when set; the lists still name playlists.
    trained: Option<Arc<Neighbours>>,
}

impl CoOccurrence {
    /// Builds the model from lists of tracks; duplicates within a list count
    /// once, and lists of fewer than two tracks are ignored (they relate
    /// nothing).
    pub fn new(lists: impl IntoIterator<Item = Vec<TrackId>>) -> Self {
        let mut model = CoOccurrence::default();
        for list in lists {
            model.add(list);
        }
        model
    }

    fn add(&mut self, mut list: Vec<TrackId>) {
        list.sort_unstable();
        list.dedup();
        if list.len() < 2 {
            return;
        }
        let at = self.lists.len() as u32;
        for id in &list {
            self.member_of.entry(*id).or_default().push(at);
        }
        self.lists.push(list);
    }

    /// The model of the playlists tracks belong to.
    pub fn from_playlists(tracks: impl IntoIterator<Item = impl TrackFields>) -> Self {
        let lists = playlists_of(tracks);
        let mut model = CoOccurrence::default();
        for (name, list) in lists {
            let before = model.lists.len();
            model.add(list);
            if model.lists.len() > before {
                model.named.insert(name, before as u32);
            }
        }
        model
    }

    /// The tracks of a playlist the model was built from, in id order;
    /// `None` for an unknown playlist (or one of a single track, which
    /// relates nothing).
    pub fn playlist(&self, id: &str) -> Option<&[TrackId]> {
        self.named
            .get(id)
            .map(|&i| self.lists[i as usize].as_slice())
    }

    /// The model with `trained` scoring in place of its lists.
    #[must_use]
    pub fn with_trained(mut self, trained: Option<Arc<Neighbours>>) -> Self {
        self.trained = trained;
        self
    }

    /// The trained table scoring in place of the lists, if any.
    pub fn trained(&self) -> Option<&Arc<Neighbours>> {
        self.trained.as_ref()
    }

    /// Every track in a list.
    pub fn tracks(&self) -> impl Iterator<Item = &TrackId> {
        self.member_of.keys()
    }

    /// The lists holding `track`.
    pub fn lists_of(&self, track: &TrackId) -> impl Iterator<Item = &[TrackId]> {
        self.member_of
            .get(track)
            .into_iter()
            .flatten()
            .map(|&l| self.lists[l as usize].as_slice())
    }

    /// Number of lists that relate at least two tracks.
    pub fn list_count(&self) -> usize {
        self.lists.len()
    }

    /// Number of lists holding `track`.
    pub fn lists_holding(&self, track: &TrackId) -> usize {
        self.member_of.get(track).map_or(0, Vec::len)
    }

    /// Every track sharing a list with a seed, with the sum of its cosine
    /// similarities to the seeds (each seed weighted by `weight`, negative
    /// weights pushing candidates down). Seeds themselves are scored like
    /// any other track; callers exclude what they must.
    pub fn scores(&self, seeds: &[(TrackId, f32)]) -> FxHashMap<TrackId, f32> {
        if let Some(trained) = &self.trained {
            return trained.scores(seeds);
        }
        let mut co: FxHashMap<TrackId, u64> = FxHashMap::default();
        let mut scores: FxHashMap<TrackId, f32> = FxHashMap::default();
        for (seed, weight) in seeds {
            let Some(lists) = self.member_of.get(seed) else {
                continue;
            };
            co.clear();
            for &l in lists {
                for other in &self.lists[l as usize] {
                    if other != seed {
                        *co.entry(*other).or_default() += 1;
                    }
                }
            }
            let n_seed = lists.len() as u64;
            for (other, &count) in &co {
                let n_other = self.lists_holding(other) as u64;
                // As a trained table computes it, so that both rank alike.
                let sim = super::neighbours::cosine(count, n_seed, n_other) as f32;
                *scores.entry(*other).or_default() += weight * sim;
            }
        }
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> TrackId {
        TrackId::parse(&format!("{n:022}")).unwrap()
    }

    #[test]
    fn tracks_sharing_more_lists_score_higher() {
        let model = CoOccurrence::new([
            vec![id(1), id(2), id(3)],
            vec![id(1), id(2)],
            vec![id(1), id(4), id(4)],
            vec![id(9)],
        ]);
        assert_eq!(model.list_count(), 3);
        assert_eq!(model.lists_holding(&id(4)), 1);
        let s = model.scores(&[(id(1), 1.0)]);
        // cos(1,2) = 2 / sqrt(3 * 2); cos(1,3) = cos(1,4) = 1 / sqrt(3).
        assert!((s[&id(2)] - 2.0 / 6f32.sqrt()).abs() < 1e-6);
        assert!((s[&id(3)] - 1.0 / 3f32.sqrt()).abs() < 1e-6);
        assert!(!s.contains_key(&id(9)) && !s.contains_key(&id(1)));
    }

    #[test]
    fn a_track_in_every_list_is_not_everyones_best_neighbour() {
        // Track 1 is everywhere; 2 and 3 always go together.
        let model = CoOccurrence::new([
            vec![id(1), id(2), id(3)],
            vec![id(1), id(2), id(3)],
            vec![id(1), id(4)],
            vec![id(1), id(5)],
            vec![id(1), id(6)],
        ]);
        let s = model.scores(&[(id(2), 1.0)]);
        assert!(s[&id(3)] > s[&id(1)]);
    }

    #[test]
    fn playlists_are_found_by_id() {
        use crate::domain::track::tests_support::track;
        use crate::domain::Playlist;
        let in_list = |n: u8, lists: &[&str]| {
            let mut t = track(&format!("{n:022}"), &["pop"], "a", 50, 2000);
            t.playlists = lists
                .iter()
                .map(|id| Playlist {
                    id: id.to_string(),
                    name: None,
                    genre: None,
                    subgenre: None,
                })
                .collect();
            t
        };
        let tracks = [
            in_list(1, &["p", "q"]),
            in_list(2, &["p"]),
            in_list(3, &["q", "solo"]),
        ];
        let model = CoOccurrence::from_playlists(&tracks);
        assert_eq!(model.playlist("p"), Some(&[id(1), id(2)][..]));
        assert_eq!(model.playlist("q"), Some(&[id(1), id(3)][..]));
        assert_eq!(model.playlist("solo"), None);
        assert_eq!(model.list_count(), 2);
    }

    #[test]
    fn negative_seeds_push_their_neighbours_down() {
        let model = CoOccurrence::new([vec![id(1), id(2)], vec![id(3), id(2)], vec![id(1), id(4)]]);
        let s = model.scores(&[(id(1), 1.0), (id(3), -1.0)]);
        assert!(s[&id(4)] > s[&id(2)]);
    }
}
