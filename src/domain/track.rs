//! A track and its metadata, identified by its Spotify id.

use serde::{Deserialize, Serialize};

pub use super::release_date::ReleaseDate;
pub use super::track_id::TrackId;
use super::{AudioFeatures, DomainError};

/// The album a track appears on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Album {
    /// Spotify album id, where the source has one.
    pub id: Option<String>,
    pub name: Option<String>,
    pub release_date: Option<ReleaseDate>,
}

/// A playlist a track belongs to, with the genre the playlist was filed
/// under (the shared dataset files every playlist under one genre and one
/// subgenre).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Playlist {
    pub id: String,
    pub name: Option<String>,
    pub genre: Option<String>,
    pub subgenre: Option<String>,
}

/// A track: metadata, genres, playlists and audio features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: TrackId,
    pub name: Option<String>,
    /// Artist names, main artist first.
    pub artists: Vec<String>,
    pub album: Album,
    /// Spotify popularity, 0..=100, where known.
    pub popularity: Option<u8>,
    /// Whether the track has explicit lyrics, where known.
    pub explicit: Option<bool>,
    /// Genres, lower-case, sorted, without duplicates.
    pub genres: Vec<String>,
    /// Subgenres, lower-case, sorted, without duplicates.
    pub subgenres: Vec<String>,
    /// Playlists holding the track, sorted by id.
    pub playlists: Vec<Playlist>,
    pub features: AudioFeatures,
}

/// Read access to a track's fields, whether an owned [`Track`] or a row of
/// the catalog's compact table (which keeps no `Track` values: a million of
/// them took most of the server's memory). Filters, genre analytics and
/// recommendations read tracks through this, so they run on either.
pub trait TrackFields {
    fn id(&self) -> TrackId;
    fn name(&self) -> Option<&str>;
    /// Artist names, main artist first.
    fn artists(&self) -> &[String];
    fn album(&self) -> &Album;
    fn popularity(&self) -> Option<u8>;
    fn explicit(&self) -> Option<bool>;
    /// Genres, lower-case, sorted, without duplicates.
    fn genres(&self) -> &[String];
    /// Subgenres, lower-case, sorted, without duplicates.
    fn subgenres(&self) -> &[String];
    /// Playlists holding the track, sorted by id.
    fn playlists(&self) -> impl Iterator<Item = &Playlist>;
    fn features(&self) -> &AudioFeatures;

    /// Year of the album's release, where known.
    fn release_year(&self) -> Option<u16> {
        self.album().release_date.map(|d| d.year)
    }

    /// Whether the track is on the album with this name (any case) or
    /// Spotify id: how album seeds and filters pick their tracks.
    fn on_album(&self, name_or_id: &str) -> bool {
        let album = self.album();
        album.id.as_deref() == Some(name_or_id)
            || album
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name_or_id))
    }

    /// Whether the track credits this artist (any case), main or featured.
    fn credits(&self, artist: &str) -> bool {
        self.artists()
            .iter()
            .any(|a| a.eq_ignore_ascii_case(artist))
    }

    /// The track as an owned value.
    fn to_track(&self) -> Track {
        self.to_track_parts(TrackParts::ALL)
    }

    /// The track as an owned value with only `parts` of its text copied
    /// (the others empty): for a response that does not select them, where
    /// copying every string of every result took about a tenth of a
    /// `similar` request under load. Never store or compare such a track.
    fn to_track_parts(&self, parts: TrackParts) -> Track {
        Track {
            id: self.id(),
            name: self.name().map(str::to_string),
            artists: self.artists().to_vec(),
            album: if parts.album {
                self.album().clone()
            } else {
                Album::default()
            },
            popularity: self.popularity(),
            explicit: self.explicit(),
            genres: if parts.genres {
                self.genres().to_vec()
            } else {
                Vec::new()
            },
            subgenres: if parts.genres {
                self.subgenres().to_vec()
            } else {
                Vec::new()
            },
            playlists: if parts.playlists {
                self.playlists().cloned().collect()
            } else {
                Vec::new()
            },
            features: *self.features(),
        }
    }
}

/// Which of a track's text parts a reader uses, beyond id, name, artists,
/// popularity, the explicit flag and the features (always copied: they are
/// small, and explanations name a track by title and artist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackParts {
    /// Album id, name and release date.
    pub album: bool,
    /// Genres and subgenres.
    pub genres: bool,
    /// Playlists holding the track.
    pub playlists: bool,
}

impl TrackParts {
    /// Every part.
    pub const ALL: TrackParts = TrackParts {
        album: true,
        genres: true,
        playlists: true,
    };
}

impl<T: TrackFields> TrackFields for &T {
    fn id(&self) -> TrackId {
        (**self).id()
    }
    fn name(&self) -> Option<&str> {
        (**self).name()
    }
    fn artists(&self) -> &[String] {
        (**self).artists()
    }
    fn album(&self) -> &Album {
        (**self).album()
    }
    fn popularity(&self) -> Option<u8> {
        (**self).popularity()
    }
    fn explicit(&self) -> Option<bool> {
        (**self).explicit()
    }
    fn genres(&self) -> &[String] {
        (**self).genres()
    }
    fn subgenres(&self) -> &[String] {
        (**self).subgenres()
    }
    fn playlists(&self) -> impl Iterator<Item = &Playlist> {
        (**self).playlists()
    }
    fn features(&self) -> &AudioFeatures {
        (**self).features()
    }
}

impl TrackFields for Track {
    fn id(&self) -> TrackId {
        self.id
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn artists(&self) -> &[String] {
        &self.artists
    }
    fn album(&self) -> &Album {
        &self.album
    }
    fn popularity(&self) -> Option<u8> {
        self.popularity
    }
    fn explicit(&self) -> Option<bool> {
        self.explicit
    }
    fn genres(&self) -> &[String] {
        &self.genres
    }
    fn subgenres(&self) -> &[String] {
        &self.subgenres
    }
    fn playlists(&self) -> impl Iterator<Item = &Playlist> {
        self.playlists.iter()
    }
    fn features(&self) -> &AudioFeatures {
        &self.features
    }
}

impl Track {
    /// Folds another record of the same track into this one: playlists,
    /// genres and subgenres are united (the shared dataset lists a track once
    /// per playlist); metadata missing here is taken from `other`.
    pub fn merge(&mut self, other: Track) {
        debug_assert_eq!(self.id, other.id);
        for p in other.playlists {
            if let Err(at) = self.playlists.binary_search(&p) {
                self.playlists.insert(at, p);
            }
        }
        union_sorted(&mut self.genres, other.genres);
        union_sorted(&mut self.subgenres, other.subgenres);
        self.name = self.name.take().or(other.name);
        if self.artists.is_empty() {
            self.artists = other.artists;
        }
        self.popularity = self.popularity.or(other.popularity);
        self.explicit = self.explicit.or(other.explicit);
        self.album.id = self.album.id.take().or(other.album.id);
        self.album.name = self.album.name.take().or(other.album.name);
        self.album.release_date = self.album.release_date.or(other.album.release_date);
    }

    /// Puts genres and subgenres in their canonical form: trimmed,
    /// lower-case, sorted, unique, no empty names.
    /// The last step of every parse: names normalised, then the bounds
    /// checked (`domain::bounds`).
    ///
    /// # Errors
    /// [`DomainError::OutOfBounds`] naming the first field out of bounds.
    pub fn admit(&mut self) -> Result<(), DomainError> {
        self.normalise();
        super::bounds::check(self)
    }

    pub fn normalise(&mut self) {
        for list in [&mut self.genres, &mut self.subgenres] {
            let mut names: Vec<String> = list
                .drain(..)
                .map(|g| g.trim().to_lowercase())
                .filter(|g| !g.is_empty())
                .collect();
            names.sort();
            names.dedup();
            *list = names;
        }
        self.playlists.sort();
        self.playlists.dedup();
    }
}

fn union_sorted(into: &mut Vec<String>, from: Vec<String>) {
    for item in from {
        if let Err(at) = into.binary_search(&item) {
            into.insert(at, item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_copy_leaves_out_only_what_was_not_asked_for() {
        let mut t = tests_support::track("0000000000000000000001", &["rock"], "Queen", 80, 1975);
        t.subgenres = vec!["glam".into()];
        t.playlists = vec![Playlist {
            id: "p1".into(),
            name: None,
            genre: None,
            subgenre: None,
        }];
        assert_eq!(t.to_track_parts(TrackParts::ALL), t);
        let lean = t.to_track_parts(TrackParts {
            album: false,
            genres: true,
            playlists: false,
        });
        assert_eq!(
            (lean.name.as_deref(), &lean.artists),
            (t.name.as_deref(), &t.artists)
        );
        assert_eq!((&lean.genres, &lean.subgenres), (&t.genres, &t.subgenres));
        assert_eq!(lean.album, Album::default());
        assert!(lean.playlists.is_empty());
        assert_eq!(lean.features, t.features);
    }
}

/// Builders for tests across the domain.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::domain::feature::tests::raw_sample;

    /// A track with the sample features and the given metadata.
    pub(crate) fn track(
        id: &str,
        genres: &[&str],
        artist: &str,
        popularity: u8,
        year: u16,
    ) -> Track {
        Track {
            id: TrackId::parse(id).unwrap(),
            name: Some(format!("song {id}")),
            artists: vec![artist.to_string()],
            album: Album {
                id: None,
                name: Some("album".into()),
                release_date: Some(ReleaseDate {
                    year,
                    month: None,
                    day: None,
                }),
            },
            popularity: Some(popularity),
            explicit: None,
            genres: genres.iter().map(|g| g.to_string()).collect(),
            subgenres: vec![],
            playlists: vec![],
            features: AudioFeatures::parse(&raw_sample()).unwrap(),
        }
    }
}
