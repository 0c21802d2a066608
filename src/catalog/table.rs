//! The catalog's tracks in compact form: one fixed-size row per internal id
//! of the index, with the text tracks share interned.
//!
//! A `Track` value holds a dozen separately allocated strings and lists;
//! a million of them took about 750 B each, more than three times the raw
//! size of their fields. Here a row is about 80 bytes (the audio features
//! and a handful of numbers), its name sits in one arena, and albums,
//! artist lists, playlists and genre sets are stored once each
//! ([`Interner`]). Readers get a [`TrackRef`], which implements
//! [`TrackFields`] like `Track` does; a `Track` is made only for the tracks
//! a response returns.
//!
//! Rows are numbered like the index's internal ids, so a filter evaluated
//! during a graph walk reads a row by number, with no lookup by key.

use crate::domain::{Album, AudioFeatures, Playlist, Track, TrackFields, TrackId};

use super::intern::Interner;

/// `name_len` of a track without a name.
const NO_NAME: u32 = u32::MAX;
/// `popularity` of a track whose popularity is unknown.
const NO_POPULARITY: u8 = u8::MAX;

/// The genres, subgenres and playlists of a track: few distinct sets in a
/// catalogue, so one copy of each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Tags {
    genres: Vec<String>,
    subgenres: Vec<String>,
    /// Numbers of [`TrackTable::playlists`], in the track's order.
    playlists: Vec<u32>,
}

/// One track: its features and the numbers of its shared parts.
#[derive(Debug, Clone, Copy)]
struct Row {
    features: AudioFeatures,
    /// Where the name starts in [`TrackTable::names`].
    name_at: u32,
    /// The name's length in bytes, or [`NO_NAME`].
    name_len: u32,
    /// 0..=100, or [`NO_POPULARITY`].
    popularity: u8,
    /// 0 clean, 1 explicit, 2 unknown.
    explicit: u8,
    artists: u32,
    album: u32,
    tags: u32,
}

/// Every track of the catalog, one row per internal id of its index.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrackTable {
    rows: Vec<Row>,
    /// Every row's name, one after another (UTF-8).
    names: String,
    /// Bytes of `names` no row refers to any more.
    garbage: usize,
    artists: Interner<Vec<String>>,
    albums: Interner<Album>,
    playlists: Interner<Playlist>,
    tags: Interner<Tags>,
}

impl TrackTable {
    /// Number of rows, dead ones included.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Appends `track` as the next row.
    pub(crate) fn push(&mut self, track: &Track) {
        let row = self.encode(track);
        self.rows.push(row);
    }

    /// Appends a row for an id that holds no track (a tombstone of the
    /// index), to keep rows and ids in step.
    pub(crate) fn push_empty(&mut self) {
        let row = Row {
            features: AudioFeatures {
                danceability: 0.0,
                energy: 0.0,
                key: None,
                loudness: 0.0,
                major: false,
                speechiness: 0.0,
                acousticness: 0.0,
                instrumentalness: 0.0,
                liveness: 0.0,
                valence: 0.0,
                tempo: None,
                duration_ms: 0,
                time_signature: None,
            },
            name_at: 0,
            name_len: NO_NAME,
            popularity: NO_POPULARITY,
            explicit: 2,
            artists: self.artists.intern(&[][..]),
            album: self.albums.intern(&Album::default()),
            tags: self.tags.intern(&Tags::default()),
        };
        self.rows.push(row);
    }

    /// Replaces row `at` with `track` (an update that kept its vector).
    pub(crate) fn set(&mut self, at: u32, track: &Track) {
        let old = self.rows[at as usize];
        if old.name_len != NO_NAME {
            self.garbage += old.name_len as usize;
        }
        self.rows[at as usize] = self.encode(track);
        if self.garbage > self.names.len() / 2 {
            self.retain(|_| true);
        }
    }

    /// Keeps the rows `keep` accepts, in order, renumbering them from 0
    /// (what the index's compaction does to its ids), and drops the names
    /// no kept row refers to.
    pub(crate) fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        let mut names = String::with_capacity(self.names.len() - self.garbage);
        let mut rows = Vec::with_capacity(self.rows.len());
        for (at, row) in self.rows.iter().enumerate() {
            if !keep(at as u32) {
                continue;
            }
            let mut row = *row;
            if row.name_len != NO_NAME {
                let name = self.name_of(&row).unwrap_or_default();
                row.name_at = arena_offset(&names);
                names.push_str(name);
            }
            rows.push(row);
        }
        rows.shrink_to_fit();
        self.rows = rows;
        self.names = names;
        self.garbage = 0;
    }

    /// The audio features of row `at`.
    pub(crate) fn features(&self, at: u32) -> &AudioFeatures {
        &self.rows[at as usize].features
    }

    /// The track of row `at`, under `id` (the index's key of that row).
    pub(crate) fn get(&self, at: u32, id: TrackId) -> TrackRef<'_> {
        TrackRef {
            id,
            table: self,
            row: &self.rows[at as usize],
        }
    }

    fn encode(&mut self, track: &Track) -> Row {
        let (name_at, name_len) = match &track.name {
            Some(name) => {
                let at = arena_offset(&self.names);
                self.names.push_str(name);
                (at, u32::try_from(name.len()).unwrap_or(NO_NAME - 1))
            }
            None => (0, NO_NAME),
        };
        let playlists = track
            .playlists
            .iter()
            .map(|p| self.playlists.intern(p))
            .collect();
        let tags = Tags {
            genres: track.genres.clone(),
            subgenres: track.subgenres.clone(),
            playlists,
        };
        Row {
            features: track.features,
            name_at,
            name_len,
            popularity: track.popularity.map_or(NO_POPULARITY, |p| p.min(100)),
            explicit: track.explicit.map_or(2, u8::from),
            artists: self.artists.intern(&track.artists[..]),
            album: self.albums.intern(&track.album),
            tags: self.tags.intern(&tags),
        }
    }

    fn name_of(&self, row: &Row) -> Option<&str> {
        (row.name_len != NO_NAME).then(|| {
            let at = row.name_at as usize;
            &self.names[at..at + row.name_len as usize]
        })
    }
}

/// Where the next name starts in the arena.
///
/// # Panics
/// Past 4 GiB of names (about 100 million tracks), which the row's `u32`
/// offsets cannot address.
fn arena_offset(names: &str) -> u32 {
    u32::try_from(names.len()).expect("track names fit in 4 GiB")
}

/// A track of the table, read in place.
#[derive(Clone, Copy)]
pub struct TrackRef<'a> {
    pub id: TrackId,
    table: &'a TrackTable,
    row: &'a Row,
}

impl TrackRef<'_> {
    /// Whether this track equals `track` in every field (a replayed write
    /// changes nothing).
    pub fn same_as(&self, track: &Track) -> bool {
        self.id == track.id
            && self.features() == &track.features
            && self.name() == track.name.as_deref()
            && self.popularity() == track.popularity
            && self.explicit() == track.explicit
            && self.artists() == track.artists.as_slice()
            && self.album() == &track.album
            && self.genres() == track.genres.as_slice()
            && self.subgenres() == track.subgenres.as_slice()
            && self.playlists().eq(track.playlists.iter())
    }
}

impl std::fmt::Debug for TrackRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackRef")
            .field("id", &self.id)
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl<'a> TrackRef<'a> {
    /// The track's name; the accessors here lend for the table's lifetime,
    /// not just this reference's (the trait's cannot).
    pub fn name(&self) -> Option<&'a str> {
        self.table.name_of(self.row)
    }
    /// Artist names, main artist first.
    pub fn artists(&self) -> &'a [String] {
        self.table.artists.get(self.row.artists)
    }
    /// The album.
    pub fn album(&self) -> &'a Album {
        self.table.albums.get(self.row.album)
    }
    /// Genres, lower-case, sorted.
    pub fn genres(&self) -> &'a [String] {
        &self.tags().genres
    }
    /// Subgenres, lower-case, sorted.
    pub fn subgenres(&self) -> &'a [String] {
        &self.tags().subgenres
    }
    /// Playlists holding the track, sorted by id.
    pub fn playlists(&self) -> impl Iterator<Item = &'a Playlist> + 'a {
        let table = self.table;
        self.tags()
            .playlists
            .iter()
            .map(move |&p| table.playlists.get(p))
    }
    /// Audio features.
    pub fn features(&self) -> &'a AudioFeatures {
        &self.row.features
    }
    fn tags(&self) -> &'a Tags {
        self.table.tags.get(self.row.tags)
    }
}

impl TrackFields for TrackRef<'_> {
    fn id(&self) -> TrackId {
        self.id
    }
    fn name(&self) -> Option<&str> {
        TrackRef::name(self)
    }
    fn artists(&self) -> &[String] {
        TrackRef::artists(self)
    }
    fn album(&self) -> &Album {
        TrackRef::album(self)
    }
    fn popularity(&self) -> Option<u8> {
        (self.row.popularity != NO_POPULARITY).then_some(self.row.popularity)
    }
    fn explicit(&self) -> Option<bool> {
        match self.row.explicit {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn genres(&self) -> &[String] {
        TrackRef::genres(self)
    }
    fn subgenres(&self) -> &[String] {
        TrackRef::subgenres(self)
    }
    fn playlists(&self) -> impl Iterator<Item = &Playlist> {
        TrackRef::playlists(self)
    }
    fn features(&self) -> &AudioFeatures {
        TrackRef::features(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::track::tests_support::track;
    use crate::domain::ReleaseDate;

    fn full(id: &str, name: Option<&str>) -> Track {
        let mut t = track(id, &["pop", "rock"], "Queen", 80, 1975);
        t.name = name.map(str::to_string);
        t.subgenres = vec!["glam".into()];
        t.explicit = Some(true);
        t.album = Album {
            id: Some("1GbtB4zTqAsyfZEsm1RZfx".into()),
            name: Some("A Night at the Opera".into()),
            release_date: Some(ReleaseDate::parse("1975-11-21").unwrap()),
        };
        t.playlists = vec![Playlist {
            id: "37i9dQZF1DX4UtSsGT1Sbe".into(),
            name: Some("All Out 70s".into()),
            genre: Some("rock".into()),
            subgenre: Some("classic rock".into()),
        }];
        t
    }

    #[test]
    fn rows_read_back_as_the_tracks_they_were_made_from() {
        let mut table = TrackTable::default();
        let a = full("0000000000000000000001", Some("Bohemian Rhapsody"));
        let mut b = full("0000000000000000000002", None);
        b.popularity = None;
        b.explicit = None;
        b.playlists.clear();
        table.push(&a);
        table.push(&b);
        assert_eq!(table.get(0, a.id).to_track(), a);
        assert_eq!(table.get(1, b.id).to_track(), b);
        assert!(table.get(0, a.id).same_as(&a));
        assert!(!table.get(1, b.id).same_as(&a));
        // Shared parts are stored once.
        assert_eq!((table.albums.len(), table.artists.len()), (1, 1));
    }

    #[test]
    fn updates_and_retain_keep_rows_in_step_and_drop_unused_names() {
        let mut table = TrackTable::default();
        let tracks: Vec<Track> = (0..4)
            .map(|i| full(&format!("{i:022}"), Some(&format!("song number {i}"))))
            .collect();
        for t in &tracks {
            table.push(t);
        }
        table.push_empty();
        let mut renamed = tracks[2].clone();
        renamed.name = Some("a new name".into());
        table.set(2, &renamed);
        assert_eq!(table.get(2, renamed.id).name(), Some("a new name"));
        table.retain(|at| at != 1 && at != 4);
        assert_eq!(table.len(), 3);
        assert_eq!(table.get(0, tracks[0].id).to_track(), tracks[0]);
        assert_eq!(table.get(1, renamed.id).to_track(), renamed);
        assert_eq!(table.get(2, tracks[3].id).to_track(), tracks[3]);
        let live: usize = ["song number 0", "a new name", "song number 3"]
            .iter()
            .map(|n| n.len())
            .sum();
        assert_eq!(table.names.len(), live);
    }
}
