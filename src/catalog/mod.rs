//! The catalog: every track in memory, their vectors in the ANN index, and
//! the feature space that relates the two. Reads (lookups, listings,
//! searches) take `&self`; writes take `&mut self`, and the service keeps the
//! catalog behind a read-write lock so that there is one writer at a time.
//!
//! Tracks are rows of a compact table ([`table`]) numbered like the index's
//! internal ids: every write of a vector appends an id and a row together,
//! an update that keeps its vector rewrites its row in place, and a
//! compaction of the index renumbers both the same way.

mod discovery;
mod intern;
mod listener;
mod playlist;
mod recommend;
mod search;
mod seeds;
mod similar;
mod table;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use timbre_index::{IndexParams, VectorIndex};

use crate::domain::{
    genre, CoOccurrence, FeatureSpace, GenreLevel, GenreProfile, Neighbours, Track, TrackFields,
    TrackFilter, TrackId,
};
use crate::error::Result;

pub use discovery::GenreSuggestion;
pub use playlist::{Continuation, PlaylistSeed, Source};
pub use recommend::{Recommendation, Taste};
pub use seeds::{SeedKind, SeedPoint, SeedRef};
pub use similar::{Neighbour, Seed};
pub use table::TrackRef;

use table::TrackTable;

/// In-memory tracks, their index and the feature space.
pub struct Catalog {
    index: VectorIndex<TrackId>,
    /// One row per internal id of `index`, dead ones included.
    table: TrackTable,
    /// Live ids in track-id order, for stable listing pages; made on first
    /// use after a write (a sort of a million ids takes about 100 ms).
    order: Mutex<Option<Arc<Vec<u32>>>>,
    /// Shared with search results, which explain themselves on demand.
    space: Arc<FeatureSpace>,
    /// Genre profiles per level, computed on first use after a write.
    profiles: Mutex<HashMap<GenreLevel, Arc<Vec<GenreProfile>>>>,
    /// Playlist co-occurrence, computed on first use after a write.
    playlists: Mutex<Option<Arc<CoOccurrence>>>,
    /// The neighbour table of the latest co-occurrence job, which scores
    /// in place of the playlists when set (kept across writes: a model is
    /// trained for a catalogue that changes).
    trained: Mutex<Option<Arc<Neighbours>>>,
    /// Centroids of albums, artists and genres used as seeds, by kind and
    /// lower-case name, kept until the next write.
    groups: Mutex<HashMap<(SeedKind, String), SeedPoint>>,
    /// Background graph catch-ups taken back and compactions done since
    /// start, for operators (`/metrics`): a soak shows both keep pace.
    work: IndexWork,
}

/// Counts of the index's background work since start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IndexWork {
    /// Catch-ups that put the tail's vectors into the graph.
    pub catch_ups: u64,
    /// Compactions that dropped tombstones from the index.
    pub compactions: u64,
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
        Self::build([], params)
    }

    /// Builds the catalog from scratch, fitting the feature space on the
    /// tracks and building the index on every core.
    ///
    /// # Errors
    /// Invalid index parameters.
    pub fn build(tracks: impl IntoIterator<Item = Track>, params: IndexParams) -> Result<Self> {
        // Into the compact table as they come: a million `Track` values
        // held at once would take several times the catalog's own size.
        let mut table = TrackTable::default();
        let mut ids = Vec::new();
        for track in tracks {
            ids.push(track.id);
            table.push(&track);
        }
        let values = |at: usize| table.features(at as u32).values();
        let space = if ids.is_empty() {
            FeatureSpace::default()
        } else {
            FeatureSpace::fit((0..ids.len()).map(values))
        };
        let vectors = ids
            .iter()
            .enumerate()
            .map(|(at, id)| (*id, space.encode(&values(at))));
        // The index gives the tracks ids in this order (a track given twice
        // leaves a dead id for its first copy), so rows and ids agree.
        let index = VectorIndex::build(space.dim(), params, vectors)?;
        Ok(Self::assemble(table, index, space))
    }

    /// Rebuilds the catalog from a snapshot's index and feature space and
    /// the store's tracks, bringing the index up to date with the store:
    /// tracks written after the snapshot was taken are inserted, changed
    /// ones re-encoded, deleted ones removed.
    ///
    /// # Errors
    /// An index error (a vector the snapshot's space cannot encode).
    pub fn from_snapshot(
        tracks: impl IntoIterator<Item = Track>,
        mut index: VectorIndex<TrackId>,
        space: FeatureSpace,
    ) -> Result<(Self, Reconciled)> {
        let mut reconciled = Reconciled::default();
        let snapshot_ids = index.id_count();
        let mut table = TrackTable::default();
        for _ in 0..snapshot_ids {
            table.push_empty();
        }
        let mut filled = vec![false; snapshot_ids];
        let mut newer = Vec::new();
        for track in tracks {
            let vector = space.encode(&track.features.values());
            match index.id_of(&track.id) {
                Some(id) if index.vector_of(id) == vector.as_slice() => {
                    table.set(id, &track);
                    filled[id as usize] = true;
                }
                _ => newer.push((track, vector)),
            }
        }
        // A track re-encoded below tombstones its old id as it goes in.
        let reencoded: rustc_hash::FxHashSet<TrackId> = newer.iter().map(|(t, _)| t.id).collect();
        let stale: Vec<TrackId> = index
            .live_ids()
            .filter(|&id| !filled[id as usize])
            .map(|id| *index.key_of(id))
            .filter(|key| !reencoded.contains(key))
            .collect();
        for id in &stale {
            index.remove(id);
        }
        reconciled.removed = stale.len();
        for (track, vector) in newer {
            index.append(track.id, &vector)?;
            table.push(&track);
            reconciled.upserted += 1;
        }
        let mut catalog = Self::assemble(table, index, space);
        catalog.compact_if_needed();
        // Whatever the reconciliation appended goes into the graph now:
        // a snapshot's catalog starts with its tail empty.
        catalog.index.flush();
        Ok((catalog, reconciled))
    }

    fn assemble(table: TrackTable, index: VectorIndex<TrackId>, space: FeatureSpace) -> Self {
        debug_assert_eq!(table.len(), index.id_count());
        Catalog {
            index,
            table,
            order: Mutex::default(),
            space: Arc::new(space),
            profiles: Mutex::default(),
            playlists: Mutex::default(),
            trained: Mutex::default(),
            groups: Mutex::default(),
            work: IndexWork::default(),
        }
    }

    /// Inserts or replaces tracks in the catalog and the index. A track
    /// equal to the one held already changes nothing (replays are free).
    ///
    /// # Errors
    /// An index error (a vector the space cannot encode); then nothing of
    /// the batch is applied.
    pub fn upsert(&mut self, tracks: impl IntoIterator<Item = Track>) -> Result<()> {
        let changed: Vec<(Track, Vec<f32>)> = tracks
            .into_iter()
            .filter(|track| self.get(&track.id).is_none_or(|held| !held.same_as(track)))
            .map(|track| {
                let vector = self.space.encode(&track.features.values());
                (track, vector)
            })
            .collect();
        for (_, vector) in &changed {
            self.index.validate(vector)?;
        }
        // New vectors go into the index's tail, searchable at once; the
        // service's catch-up inserts them into the graph in the background.
        // A track whose features did not change (a metadata update) keeps
        // its vector and its row.
        for (track, vector) in changed {
            match self.index.id_of(&track.id) {
                Some(id) if self.index.vector_of(id) == vector.as_slice() => {
                    self.table.set(id, &track);
                }
                _ => {
                    self.index.append(track.id, &vector)?;
                    self.table.push(&track);
                }
            }
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
        let mut catalog = Self::assemble(TrackTable::default(), index, space);
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
        self.work.catch_ups += 1;
        self.index.caught_up(done)
    }

    /// The index's background work since start.
    pub fn work(&self) -> IndexWork {
        self.work
    }

    /// Forgets a catch-up whose thread failed; see
    /// [`VectorIndex::abandon_catch_up`].
    pub fn graph_catch_up_lost(&mut self) {
        self.index.abandon_catch_up();
    }

    /// Puts every vector into the graph now (before a snapshot); `false`
    /// while a catch-up is in flight.
    pub fn flush_graph(&mut self) -> bool {
        self.index.flush()
    }

    /// Removes tracks; returns how many were present.
    pub fn remove(&mut self, ids: &[TrackId]) -> usize {
        let removed = ids.iter().filter(|id| self.index.remove(id)).count();
        self.after_write();
        removed
    }

    fn after_write(&mut self) {
        *self.order.get_mut() = None;
        self.profiles.get_mut().clear();
        *self.playlists.get_mut() = None;
        self.groups.get_mut().clear();
        self.compact_if_needed();
    }

    /// Compacts the index once tombstones pile up, and the rows with it.
    fn compact_if_needed(&mut self) {
        if self.index.needs_compaction() {
            let live: Vec<bool> = (0..self.index.id_count() as u32)
                .map(|id| self.index.is_live(id))
                .collect();
            self.index.compact();
            self.work.compactions += 1;
            self.table.retain(|at| live[at as usize]);
            *self.order.get_mut() = None;
        }
    }

    /// The track of internal id `id`.
    fn row(&self, id: u32) -> TrackRef<'_> {
        self.table.get(id, *self.index.key_of(id))
    }

    /// The track with this id.
    pub fn get(&self, id: &TrackId) -> Option<TrackRef<'_>> {
        self.index.id_of(id).map(|at| self.row(at))
    }

    /// The track with this id, as an owned value to hand out.
    pub fn get_owned(&self, id: &TrackId) -> Option<Arc<Track>> {
        self.get(id).map(|t| Arc::new(t.to_track()))
    }

    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the catalog holds no track.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The feature space vectors are made in.
    pub fn space(&self) -> &FeatureSpace {
        &self.space
    }

    /// The vector index.
    pub fn index(&self) -> &VectorIndex<TrackId> {
        &self.index
    }

    /// Live ids in track-id order.
    fn order(&self) -> Arc<Vec<u32>> {
        let mut cached = self.order.lock();
        Arc::clone(cached.get_or_insert_with(|| {
            let mut ids: Vec<u32> = self.index.live_ids().collect();
            ids.sort_unstable_by_key(|&id| self.index.key_of(id));
            Arc::new(ids)
        }))
    }

    /// Every track, in id order.
    pub fn tracks(&self) -> impl Iterator<Item = TrackRef<'_>> {
        let order = self.order();
        (0..order.len()).map(move |i| self.row(order[i]))
    }

    /// Every track, in no particular order: for aggregates, which need no
    /// sorted listing.
    pub(crate) fn rows(&self) -> impl Iterator<Item = TrackRef<'_>> {
        self.index.live_ids().map(|id| self.row(id))
    }

    /// Up to `first` tracks matching `filter`, in id order, starting after
    /// `after`; the flag says whether more follow.
    pub fn page(
        &self,
        filter: &TrackFilter,
        after: Option<TrackId>,
        first: usize,
    ) -> (Vec<Arc<Track>>, bool) {
        let order = self.order();
        let start = after.map_or(0, |after| {
            order.partition_point(|&id| *self.index.key_of(id) <= after)
        });
        let mut matching = order[start..]
            .iter()
            .map(|&id| self.row(id))
            .filter(|t| filter.matches(t));
        let page: Vec<Arc<Track>> = matching
            .by_ref()
            .take(first)
            .map(|t| Arc::new(t.to_track()))
            .collect();
        let more = matching.next().is_some();
        (page, more)
    }

    /// Number of tracks matching `filter`.
    pub fn count(&self, filter: &TrackFilter) -> usize {
        if filter.is_empty() {
            return self.len();
        }
        self.rows().filter(|t| filter.matches(t)).count()
    }

    /// Profiles of every genre (or subgenre), sorted by name.
    pub fn genres(&self, level: GenreLevel) -> Arc<Vec<GenreProfile>> {
        let mut cache = self.profiles.lock();
        cache
            .entry(level)
            .or_insert_with(|| Arc::new(genre::profiles(self.rows(), level)))
            .clone()
    }

    /// Which tracks share playlists (from the playlists imports keep).
    pub fn playlist_model(&self) -> Arc<CoOccurrence> {
        self.playlists
            .lock()
            .get_or_insert_with(|| {
                let trained = self.trained.lock().clone();
                Arc::new(CoOccurrence::from_playlists(self.rows()).with_trained(trained))
            })
            .clone()
    }

    /// The trained neighbour table in use, if any.
    pub fn trained(&self) -> Option<Arc<Neighbours>> {
        self.trained.lock().clone()
    }

    /// Scores co-occurrence with `trained` from now on (`None`: from the
    /// playlists again).
    pub fn set_trained(&self, trained: Option<Arc<Neighbours>>) {
        *self.trained.lock() = trained;
        *self.playlists.lock() = None;
    }

    /// The tracks of a playlist (by its id), in id order.
    pub fn playlist_tracks(&self, playlist_id: &str) -> Vec<TrackId> {
        self.tracks()
            .filter(|t| t.playlists().any(|p| p.id == playlist_id))
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
        let tracks = tracks.iter().enumerate().map(|(i, (energy, genre))| {
            let mut t = track(
                &format!("{i:022}"),
                &[genre],
                &format!("artist {i}"),
                50,
                2000,
            );
            t.features.energy = *energy;
            t
        });
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
    fn compactions_and_catch_ups_are_counted() {
        let mut catalog = catalog_of(&[(0.1, "a"), (0.2, "b"), (0.3, "a"), (0.4, "b"), (0.5, "a")]);
        assert_eq!(catalog.work(), IndexWork::default());
        let gone: Vec<TrackId> = catalog.tracks().take(3).map(|t| t.to_track().id).collect();
        assert_eq!(catalog.remove(&gone), 3);
        assert_eq!(catalog.work().compactions, 1);
        assert_eq!(catalog.index().dead_count(), 0);
        catalog
            .upsert([track(&format!("{:022}", 9), &["a"], "x", 50, 2000)])
            .unwrap();
        let mut job = catalog
            .graph_catch_up()
            .expect("the new track waits in the tail");
        job.run(false);
        catalog.graph_caught_up(job);
        assert_eq!(catalog.work().catch_ups, 1);
        assert_eq!(catalog.work().compactions, 1);
    }

    #[test]
    fn upserting_an_unchanged_track_leaves_no_tombstone() {
        let mut catalog = catalog_of(&[(0.1, "a"), (0.2, "b"), (0.3, "a"), (0.4, "b"), (0.5, "a")]);
        let same = catalog.tracks().next().unwrap().to_track();
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
        let mut tracks: Vec<Track> = catalog.tracks().map(|t| t.to_track()).collect();
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
