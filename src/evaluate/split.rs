//! The hold-out split: which playlist memberships the evaluation hides,
//! and the co-occurrence model trained without them.
//!
//! Every playlist of at least [`MIN_TRACKS`] tracks hides a random
//! [`HIDDEN_SHARE`] of them (rounded). Only memberships are hidden: a
//! hidden track stays in the catalogue, with its audio features, and in
//! the other playlists it belongs to; the model learns from every
//! playlist's visible part, so it has never seen a hidden track next to the
//! playlist's other tracks.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::domain::{CoOccurrence, Track, TrackId};

/// Playlists smaller than this are not evaluated (nothing is hidden from
/// them); their memberships all train the model.
pub const MIN_TRACKS: usize = 10;

/// Share of an evaluated playlist's tracks that is hidden.
pub const HIDDEN_SHARE: f64 = 0.2;

/// One evaluated playlist: what a recommender sees and what it should find.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The playlist's id.
    pub playlist: String,
    /// The tracks left in the playlist, in id order: the seeds.
    pub visible: Vec<TrackId>,
    /// The tracks taken out, in id order: the answers.
    pub hidden: Vec<TrackId>,
}

/// The split of every playlist of a catalogue.
#[derive(Debug, Clone)]
pub struct Split {
    /// The evaluated playlists, by playlist id.
    pub cases: Vec<Case>,
    /// Every playlist's visible members (all of them for playlists too
    /// small to evaluate), by playlist id: the training data.
    pub training: Vec<Vec<TrackId>>,
}

impl Split {
    /// Splits the playlists of `tracks`. The same tracks and `seed` always
    /// give the same split: playlists are visited in id order, each
    /// shuffled in id order by one ChaCha8 generator seeded with `seed`.
    pub fn new(tracks: &[Track], seed: u64) -> Self {
        let playlists = crate::domain::cooccurrence::playlists_of(tracks);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut cases = Vec::new();
        let mut training = Vec::with_capacity(playlists.len());
        for (id, mut members) in playlists {
            members.sort_unstable();
            members.dedup();
            if members.len() < MIN_TRACKS {
                training.push(members);
                continue;
            }
            let n_hidden = (members.len() as f64 * HIDDEN_SHARE).round() as usize;
            members.shuffle(&mut rng);
            let mut hidden = members.split_off(members.len() - n_hidden);
            members.sort_unstable();
            hidden.sort_unstable();
            training.push(members.clone());
            cases.push(Case {
                playlist: id.to_string(),
                visible: members,
                hidden,
            });
        }
        Split { cases, training }
    }

    /// The co-occurrence model of the visible memberships only.
    pub fn model(&self) -> CoOccurrence {
        CoOccurrence::new(self.training.iter().cloned())
    }

    /// Number of hidden memberships.
    pub fn hidden_count(&self) -> usize {
        self.cases.iter().map(|c| c.hidden.len()).sum()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::metrics::tests::id;
    use super::*;
    use crate::domain::feature::tests::raw_sample;
    use crate::domain::{Album, AudioFeatures, Playlist};

    /// A track numbered `n` in the playlists named.
    pub(in crate::evaluate) fn track(n: usize, playlists: &[&str]) -> Track {
        Track {
            id: id(n),
            name: None,
            artists: Vec::new(),
            album: Album::default(),
            popularity: Some((n % 100) as u8),
            explicit: None,
            genres: Vec::new(),
            subgenres: Vec::new(),
            playlists: playlists
                .iter()
                .map(|p| Playlist {
                    id: (*p).to_string(),
                    name: None,
                    genre: None,
                    subgenre: None,
                })
                .collect(),
            features: AudioFeatures::parse(&raw_sample()).unwrap(),
        }
    }

    /// Playlist "big" of 13 tracks (0..13), "small" of 9 (0 and 20..28).
    fn tracks() -> Vec<Track> {
        let mut tracks: Vec<Track> = (1..13).map(|n| track(n, &["big"])).collect();
        tracks.push(track(0, &["big", "small"]));
        tracks.extend((20..28).map(|n| track(n, &["small"])));
        tracks
    }

    #[test]
    fn the_split_is_deterministic_for_a_seed_and_spares_small_playlists() {
        let split = Split::new(&tracks(), 42);
        assert_eq!(split.cases.len(), 1);
        let case = &split.cases[0];
        assert_eq!(case.playlist, "big");
        // round(13 * 0.2) = 3.
        assert_eq!((case.visible.len(), case.hidden.len()), (10, 3));
        assert!(case.hidden.iter().all(|h| !case.visible.contains(h)));
        assert_eq!(split.training.len(), 2);
        assert_eq!(split.training[1].len(), 9, "small keeps all its tracks");

        let mut shuffled = tracks();
        shuffled.reverse();
        assert_eq!(Split::new(&shuffled, 42).cases, split.cases);
        let others: Vec<Vec<TrackId>> = (0..20)
            .map(|seed| Split::new(&tracks(), seed).cases[0].hidden.clone())
            .collect();
        assert!(others.iter().any(|h| *h != case.hidden), "the seed matters");
    }

    #[test]
    fn the_model_never_sees_a_hidden_membership() {
        for seed in 0..20 {
            let split = Split::new(&tracks(), seed);
            let model = split.model();
            let case = &split.cases[0];
            for hidden in &case.hidden {
                // Track 0 is also in "small", which hides nothing.
                let expected = usize::from(*hidden == id(0));
                assert_eq!(model.lists_holding(hidden), expected);
                let related = model.scores(&[(*hidden, 1.0)]);
                assert!(case.visible.iter().all(|v| !related.contains_key(v)));
            }
            assert!(case.visible.iter().all(|v| model.lists_holding(v) >= 1));
        }
    }
}
