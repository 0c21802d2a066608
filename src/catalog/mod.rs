//! The catalog: every track in memory, their vectors in the ANN index, and
//! the feature space that relates the two. Reads (lookups, listings,
//! searches) take `&self`; writes take `&mut self`, and the service keeps the
//! catalog behind a read-write lock so that there is one writer at a time.

mod discovery;
mod listener;
mod playlist;
mod recommend;
mod similar;

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use timbre_index::{IndexParams, VectorIndex};

use crate::domain::{
    genre, CoOccurrence, FeatureSpace, GenreLevel, GenreProfile, Track, TrackFilter, TrackId,
};
use crate::error::Result;

pub use discovery::GenreSuggestion;
pub use playlist::{Continuation, PlaylistSeed, Source};
pub use recommend::{Recommendation, SeedKind, SeedRef, Taste};
pub use similar::{Neighbour, Seed};

/// In-memory tracks, their index and the feature space.
pub struct Catalog {
    /// Tracks by id. A hash map, because filtered searches look a track up
    /// for every candidate; FxHash because ids are random already.
    tracks: FxHashMap<TrackId, Arc<Track>>,
    /// Every id in order, for stable listing pages.
    order: BTreeSet<TrackId>,
    index: VectorIndex<TrackId>,
    /// Shared with search results, which explain themselves on demand.
    space: Arc<FeatureSpace>,
    /// Genre profiles per level, computed on first use after a write.
    profiles: Mutex<HashMap<GenreLevel, Arc<Vec<GenreProfile>>>>,
    /// Playlist co-occurrence, computed on first use after a write.
    playlists: Mutex<Option<Arc<CoOccurrence>>>,
    /// Centroids of albums, artists and genres used as seeds, by kind and
    /// lower-case name, kept until the next write.
    groups: Mutex<HashMap<(SeedKind, String), recommend::SeedPoint>>,
}

/// What reconciling a snapshot with the store changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Tracks inserted or re-encoded because the snapshot lacked them or
    /// held an older version.
    pub upserted: usize,
    /// Snapshot entries removed because the store no longer has them.
    pub removed: usize,
}

impl Catalog {
    /// An empty catalog with the default feature space.
    ///
    /// # Errors
    /// Invalid index parameters.
    pub fn empty(params: IndexParams) -> Result<Self> {
        Self::build(Vec::new(), params)
    }

    /// Builds the catalog from scratch, fitting the feature space on the
    /// tracks and building the index on every core.
    ///
    /// # Errors
    /// Invalid index parameters.
    pub fn build(tracks: Vec<Track>, params: IndexParams) -> Result<Self> {
        let space = fit_space(&tracks);
        let vectors = tracks
            .iter()
            .map(|t| (t.id, space.encode(&t.features.values())));
        let index = VectorIndex::build(space.dim(), params, vectors)?;
        Ok(Self::assemble(tracks, index, space))
    }

    /// Rebuilds the catalog from a snapshot's index and feature space and
    /// the store's tracks, bringing the index up to date with the store:
    /// tracks written after the snapshot was taken are inserted, changed
    /// ones re-encoded, deleted ones removed.
    ///
    /// # Errors
    /// An index error (a vector the snapshot's space cannot encode).
    pub fn from_snapshot(
        tracks: Vec<Track>,
        mut index: VectorIndex<TrackId>,
        space: FeatureSpace,
    ) -> Result<(Self, Reconciled)> {
        let mut reconciled = Reconciled::default();
        for track in &tracks {
            let vector = space.encode(&track.features.values());
            if index.get(&track.id) != Some(vector.as_slice()) {
                index.upsert(track.id, &vector)?;
                reconciled.upserted += 1;
            }
        }
        let stale: Vec<TrackId> = {
            let present: std::collections::HashSet<TrackId> = tracks.iter().map(|t| t.id).collect();
            index
                .keys()
                .filter(|k| !present.contains(k))
                .copied()
                .collect()
        };
        for id in &stale {
            index.remove(id);
        }
        reconciled.removed = stale.len();
        if index.needs_compaction() {
            index.compact();
        }
        Ok((Self::assemble(tracks, index, space), reconciled))
    }

    fn assemble(tracks: Vec<Track>, index: VectorIndex<TrackId>, space: FeatureSpace) -> Self {
        Catalog {
            order: tracks.iter().map(|t| t.id).collect(),
            tracks: tracks.into_iter().map(|t| (t.id, Arc::new(t))).collect(),
            index,
            space: Arc::new(space),
            profiles: Mutex::default(),
            playlists: Mutex::default(),
            groups: Mutex::default(),
        }
    }

    /// Inserts or replaces tracks in the catalog and the index. A track
    /// equal to the one held already changes nothing (replays are free).
    ///
    /// # Errors
    /// An index error (a vector the space cannot encode); then nothing of
    /// the batch is applied.
    pub fn upsert(&mut self, tracks: impl IntoIterator<Item = Track>) -> Result<()> {
        let changed: Vec<Track> = tracks
            .into_iter()
            .filter(|track| {
                self.tracks
                    .get(&track.id)
                    .is_none_or(|held| **held != *track)
            })
            .collect();
        let vectors: Vec<Vec<f32>> = changed
            .iter()
            .map(|t| self.space.encode(&t.features.values()))
            .collect();
        // Into the index's tail, searchable at once; the service's catch-up
        // inserts them into the graph in the background. A track whose
        // features did not change (a metadata update) keeps its vector.
        self.index.append_many(
            changed
                .iter()
                .zip(&vectors)
                .map(|(t, v)| (t.id, v.as_slice())),
        )?;
        for track in changed {
            self.order.insert(track.id);
            self.tracks.insert(track.id, Arc::new(track));
        }
        self.after_write();
        Ok(())
    }

    /// Like [`Catalog::build`], but leaves the graph to a later catch-up
    /// (see [`Catalog::graph_catch_up`]): fitting the space and encoding
    /// take a fraction of a second, the graph far longer, and every track
    /// is searchable meanwhile through the exact scan of the index's tail.
    ///
    /// # Errors
    /// Invalid index parameters.
    pub fn build_deferred(tracks: Vec<Track>, params: IndexParams) -> Result<Self> {
        let space = fit_space(&tracks);
        let index = VectorIndex::new(space.dim(), params)?;
        let mut catalog = Self::assemble(Vec::new(), index, space);
        catalog.upsert(tracks)?;
        Ok(catalog)
    }

    /// Hands the vectors not yet in the graph to a catch-up, to run without
    /// the catalog's lock; see [`VectorIndex::catch_up`].
    pub fn graph_catch_up(&mut self) -> Option<timbre_index::GraphCatchUp> {
        self.index.catch_up()
    }

    /// Takes back a catch-up that has run.
    pub fn graph_caught_up(&mut self, done: timbre_index::GraphCatchUp) -> bool {
        self.index.caught_up(done)
    }

    /// Puts every vector into the graph now (before a snapshot); `false`
    /// while a catch-up is in flight.
    pub fn flush_graph(&mut self) -> bool {
        self.index.flush()
    }

    /// Removes tracks; returns how many were present.
    pub fn remove(&mut self, ids: &[TrackId]) -> usize {
        let removed = ids
            .iter()
            .filter(|id| {
                self.index.remove(id);
                self.order.remove(id);
                self.tracks.remove(id).is_some()
            })
            .count();
        self.after_write();
        removed
    }

    fn after_write(&mut self) {
        self.profiles.get_mut().clear();
        *self.playlists.get_mut() = None;
        self.groups.get_mut().clear();
        if self.index.needs_compaction() {
            self.index.compact();
        }
    }

    /// The track with this id.
    pub fn get(&self, id: &TrackId) -> Option<&Arc<Track>> {
        self.tracks.get(id)
    }

    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether the catalog holds no track.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// The feature space vectors are made in.
    pub fn space(&self) -> &FeatureSpace {
        &self.space
    }

    /// The vector index.
    pub fn index(&self) -> &VectorIndex<TrackId> {
        &self.index
    }

    /// Every track, in id order.
    pub fn tracks(&self) -> impl Iterator<Item = &Arc<Track>> {
        self.order.iter().map(|id| &self.tracks[id])
    }

    /// Up to `first` tracks matching `filter`, in id order, starting after
    /// `after`; the flag says whether more follow.
    pub fn page(
        &self,
        filter: &TrackFilter,
        after: Option<TrackId>,
        first: usize,
    ) -> (Vec<Arc<Track>>, bool) {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut matching = self
            .order
            .range((start, Bound::Unbounded))
            .map(|id| &self.tracks[id])
            .filter(|t| filter.matches(t));
        let page: Vec<Arc<Track>> = matching.by_ref().take(first).cloned().collect();
        let more = matching.next().is_some();
        (page, more)
    }

    /// Number of tracks matching `filter`.
    pub fn count(&self, filter: &TrackFilter) -> usize {
        if filter.is_empty() {
            return self.tracks.len();
        }
        self.tracks.values().filter(|t| filter.matches(t)).count()
    }

    /// Profiles of every genre (or subgenre), sorted by name.
    pub fn genres(&self, level: GenreLevel) -> Arc<Vec<GenreProfile>> {
        let mut cache = self.profiles.lock();
        cache
            .entry(level)
            .or_insert_with(|| {
                Arc::new(genre::profiles(
                    self.tracks.values().map(|t| t.as_ref()),
                    level,
                ))
            })
            .clone()
    }

    /// Which tracks share playlists (from the playlists imports keep).
    pub fn playlist_model(&self) -> Arc<CoOccurrence> {
        self.playlists
            .lock()
            .get_or_insert_with(|| {
                Arc::new(CoOccurrence::from_playlists(
                    self.tracks.values().map(|t| t.as_ref()),
                ))
            })
            .clone()
    }

    /// The tracks of a playlist (by its id), in id order.
    pub fn playlist_tracks(&self, playlist_id: &str) -> Vec<TrackId> {
        self.tracks()
            .filter(|t| t.playlists.iter().any(|p| p.id == playlist_id))
            .map(|t| t.id)
            .collect()
    }

    /// The profile of one genre or subgenre (case-insensitive name).
    pub fn genre(&self, name: &str, level: GenreLevel) -> Option<GenreProfile> {
        let name = name.trim().to_lowercase();
        self.genres(level).iter().find(|g| g.name == name).cloned()
    }
}

/// The feature space fitted on `tracks` (the default one for none).
fn fit_space(tracks: &[Track]) -> FeatureSpace {
    if tracks.is_empty() {
        return FeatureSpace::default();
    }
    let values: Vec<_> = tracks.iter().map(|t| t.features.values()).collect();
    FeatureSpace::fit(values.iter())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::track::tests_support::track;

    /// A catalog of tracks that differ only in energy, one genre each.
    pub(crate) fn catalog_of(tracks: &[(f32, &str)]) -> Catalog {
        let tracks = tracks
            .iter()
            .enumerate()
            .map(|(i, (energy, genre))| {
                let mut t = track(
                    &format!("{i:022}"),
                    &[genre],
                    &format!("artist {i}"),
                    50,
                    2000,
                );
                t.features.energy = *energy;
                t
            })
            .collect();
        Catalog::build(tracks, IndexParams::default()).unwrap()
    }

    #[test]
    fn pages_follow_id_order_and_say_whether_more_follow() {
        let catalog = catalog_of(&[(0.1, "a"), (0.2, "b"), (0.3, "a"), (0.4, "a")]);
        let only_a = TrackFilter {
            genres: vec!["a".into()],
            ..Default::default()
        };
        let (page, more) = catalog.page(&only_a, None, 2);
        assert_eq!(page.len(), 2);
        assert!(more);
        let (rest, more) = catalog.page(&only_a, Some(page[1].id), 2);
        assert_eq!(rest.len(), 1);
        assert!(!more);
        assert!(page[1].id < rest[0].id);
        assert_eq!(catalog.count(&only_a), 3);
    }

    #[test]
    fn writes_update_lookups_searches_and_genre_profiles() {
        let mut catalog = catalog_of(&[(0.1, "a"), (0.2, "b")]);
        assert_eq!(
            catalog.genre("A", GenreLevel::Genre).unwrap().track_count,
            1
        );
        let mut t = track(&format!("{:022}", 9), &["a"], "x", 50, 2000);
        t.features.energy = 0.15;
        catalog.upsert([t.clone()]).unwrap();
        assert_eq!(catalog.len(), 3);
        assert_eq!(
            catalog.genre("a", GenreLevel::Genre).unwrap().track_count,
            2
        );
        assert_eq!(catalog.remove(&[t.id]), 1);
        assert!(catalog.get(&t.id).is_none());
        assert!(!catalog.index().contains(&t.id));
        assert_eq!(
            catalog.genre("a", GenreLevel::Genre).unwrap().track_count,
            1
        );
    }

    #[test]
    fn upserting_an_unchanged_track_leaves_no_tombstone() {
        let mut catalog = catalog_of(&[(0.1, "a"), (0.2, "b"), (0.3, "a"), (0.4, "b"), (0.5, "a")]);
        let same = (**catalog.tracks().next().unwrap()).clone();
        catalog.upsert([same.clone()]).unwrap();
        assert_eq!(catalog.index().dead_count(), 0);
        let mut changed = same;
        changed.features.energy = 0.7;
        catalog.upsert([changed]).unwrap();
        assert_eq!((catalog.index().dead_count(), catalog.len()), (1, 5));
    }

    #[test]
    fn a_snapshot_is_brought_up_to_date_with_the_store() {
        let catalog = catalog_of(&[(0.1, "a"), (0.2, "b"), (0.3, "c")]);
        let mut tracks: Vec<Track> = catalog.tracks().map(|t| (**t).clone()).collect();
        let gone = tracks.pop().unwrap();
        tracks[0].features.energy = 0.9;
        let Catalog { index, space, .. } = catalog;
        let space = Arc::unwrap_or_clone(space);
        let (catalog, reconciled) = Catalog::from_snapshot(tracks, index, space).unwrap();
        assert_eq!(
            reconciled,
            Reconciled {
                upserted: 1,
                removed: 1
            }
        );
        assert!(!catalog.index().contains(&gone.id));
        assert_eq!(catalog.index().len(), 2);
    }
}
