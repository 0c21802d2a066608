//! The recommenders under evaluation, each turning a playlist's visible
//! tracks into [`LIST_LEN`] recommendations that exclude them.
//!
//! None of them reads a genre: in the shared dataset a track's genre is
//! its playlists' genre, so a genre filter would leak the answer. They use
//! audio features, co-occurrence (trained without the hidden memberships)
//! and Spotify popularity only.

use rand::seq::index;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashSet;

use crate::catalog::Catalog;
use crate::domain::{CoOccurrence, TrackFilter, TrackId};

/// Length of every recommendation list (the k of HR@50 and NDCG@50).
pub const LIST_LEN: usize = 50;

/// A way to continue a playlist.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Uniformly random catalogue tracks (seeded): the floor.
    Random,
    /// The most popular tracks ([`Catalog::most_popular`]), the same for
    /// every playlist.
    MostPopular,
    /// Audio similarity alone: the server's blend with weight 0.
    Content,
    /// Co-occurrence alone, ranked by [`CoOccurrence::scores`], then the
    /// most popular tracks when fewer than [`LIST_LEN`] share a list with
    /// the seeds.
    CoOccurrence,
    /// The server's blend ([`Catalog::continue_tracks`]) with this share of
    /// co-occurrence.
    Blend(f32),
}

impl Method {
    /// The method's name in the table.
    pub fn label(self) -> String {
        match self {
            Method::Random => "random".into(),
            Method::MostPopular => "most popular".into(),
            Method::Content => "content only (blend 0)".into(),
            Method::CoOccurrence => "co-occurrence only".into(),
            Method::Blend(w) => format!("blend {w:.2}"),
        }
    }
}

/// What the methods draw on: one catalogue, one model, one seed.
pub struct Recommenders<'a> {
    catalog: &'a Catalog,
    model: &'a CoOccurrence,
    /// Every catalogue id, in id order, for the random method.
    ids: Vec<TrackId>,
    /// The most popular tracks, enough to fill any list after removing a
    /// playlist's visible tracks (sorting the catalogue once, not per
    /// playlist).
    popular: Vec<TrackId>,
    seed: u64,
}

impl<'a> Recommenders<'a> {
    /// Recommenders over `catalog` and `model`; `longest` is the largest
    /// number of visible tracks any playlist will pass.
    pub fn new(catalog: &'a Catalog, model: &'a CoOccurrence, seed: u64, longest: usize) -> Self {
        let popular = catalog
            .most_popular(model, LIST_LEN + longest, &TrackFilter::default())
            .into_iter()
            .map(|c| c.track.id)
            .collect();
        Recommenders {
            catalog,
            model,
            ids: catalog.tracks().map(|t| t.id).collect(),
            popular,
            seed,
        }
    }

    /// The [`LIST_LEN`] tracks `method` recommends to continue `visible`,
    /// best first. `case` numbers the playlist: the random method draws
    /// from its own ChaCha8 stream per case, so its lists do not depend on
    /// the order (or thread) the playlists are evaluated in.
    pub fn recommend(&self, method: Method, case: usize, visible: &[TrackId]) -> Vec<TrackId> {
        let seen: FxHashSet<TrackId> = visible.iter().copied().collect();
        let seeds: Vec<(TrackId, f32)> = visible.iter().map(|id| (*id, 1.0)).collect();
        let blend = |weight: f32| {
            self.catalog
                .continue_tracks(
                    self.model,
                    &seeds,
                    LIST_LEN,
                    weight,
                    &TrackFilter::default(),
                )
                .expect("the seeds' centroid is a vector of the catalogue's space")
                .into_iter()
                .map(|c| c.track.id)
                .collect()
        };
        match method {
            Method::Random => {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(case as u64);
                let wanted = (LIST_LEN + seen.len()).min(self.ids.len());
                index::sample(&mut rng, self.ids.len(), wanted)
                    .into_iter()
                    .map(|i| self.ids[i])
                    .filter(|id| !seen.contains(id))
                    .take(LIST_LEN)
                    .collect()
            }
            Method::MostPopular => self.fill(Vec::new(), &seen),
            Method::Content => blend(0.0),
            Method::Blend(weight) => blend(weight),
            Method::CoOccurrence => {
                let mut scored: Vec<(TrackId, f32)> = self
                    .model
                    .scores(&seeds)
                    .into_iter()
                    .filter(|(id, _)| !seen.contains(id))
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                scored.truncate(LIST_LEN);
                self.fill(scored.into_iter().map(|(id, _)| id).collect(), &seen)
            }
        }
    }

    /// `list` topped up to [`LIST_LEN`] with the most popular tracks that
    /// are neither seen nor in it.
    fn fill(&self, mut list: Vec<TrackId>, seen: &FxHashSet<TrackId>) -> Vec<TrackId> {
        let have: FxHashSet<TrackId> = list.iter().copied().collect();
        let missing = LIST_LEN.saturating_sub(list.len());
        list.extend(
            self.popular
                .iter()
                .filter(|id| !seen.contains(id) && !have.contains(id))
                .take(missing),
        );
        list
    }
}

#[cfg(test)]
mod tests {
    use super::super::split::tests::track;
    use super::*;
    use crate::domain::feature::tests::raw_sample;
    use crate::domain::{AudioFeatures, Feature, Track};
    use timbre_index::IndexParams;

    /// 80 tracks with energy rising with their number; 0..10 in playlist
    /// "a", and 10 with 70 in "b".
    fn tracks() -> Vec<Track> {
        (0..80)
            .map(|n| {
                let playlists: &[&str] = match n {
                    0..=9 => &["a"],
                    10 | 70 => &["b"],
                    _ => &[],
                };
                let mut t = track(n, playlists);
                let mut raw = raw_sample();
                raw.set(Feature::Energy, n as f64 / 80.0);
                t.features = AudioFeatures::parse(&raw).unwrap();
                t
            })
            .collect()
    }

    #[test]
    fn every_method_fills_its_list_without_the_visible_tracks() {
        let tracks = tracks();
        let catalog = Catalog::build(tracks.clone(), IndexParams::default().exact_only()).unwrap();
        let model = CoOccurrence::from_playlists(&tracks);
        let visible: Vec<TrackId> = tracks[..10].iter().map(|t| t.id).collect();
        let recommenders = Recommenders::new(&catalog, &model, 7, visible.len());
        for method in [
            Method::Random,
            Method::MostPopular,
            Method::Content,
            Method::CoOccurrence,
            Method::Blend(0.5),
        ] {
            let list = recommenders.recommend(method, 0, &visible);
            assert_eq!(list.len(), LIST_LEN, "{method:?}");
            assert!(list.iter().all(|id| !visible.contains(id)), "{method:?}");
            let distinct: FxHashSet<&TrackId> = list.iter().collect();
            assert_eq!(distinct.len(), LIST_LEN, "{method:?}");
        }
        // Content: nearest in energy to the seeds (0..10) first.
        assert_eq!(
            recommenders.recommend(Method::Content, 0, &visible)[0],
            tracks[10].id
        );
        // Random: the same for a case, different across cases.
        let random = |case| recommenders.recommend(Method::Random, case, &visible);
        assert_eq!(random(3), random(3));
        assert_ne!(random(3), random(4));
    }

    #[test]
    fn co_occurrence_ranks_list_mates_first_then_popularity() {
        let tracks = tracks();
        let catalog = Catalog::build(tracks.clone(), IndexParams::default().exact_only()).unwrap();
        let model = CoOccurrence::from_playlists(&tracks);
        let recommenders = Recommenders::new(&catalog, &model, 7, 1);
        let list = recommenders.recommend(Method::CoOccurrence, 0, &[tracks[10].id]);
        assert_eq!(list[0], tracks[70].id);
        // Then by popularity (n % 100 in the test tracks): 79, 78, …
        assert_eq!(list[1], tracks[79].id);
    }
}
