//! GraphQL objects for tracks and their audio features.

use std::sync::Arc;

use async_graphql::{Lookahead, Object, SimpleObject, ID};

use crate::domain::{self, Track, TrackParts};

/// The parts of a `Track` that a selection reads beyond the always-copied
/// ones (see [`TrackParts`]), so that a search copies no text the answer
/// leaves out. Fragments count; `@skip` and `@include` are ignored, which
/// only copies more.
pub fn selected_parts(track: Lookahead<'_>) -> TrackParts {
    TrackParts {
        album: track.field("album").exists(),
        genres: track.field("genres").exists() || track.field("subgenres").exists(),
        playlists: track.field("playlists").exists(),
    }
}

/// A track: metadata, genres, the playlists holding it, audio features.
pub struct TrackObject(pub Arc<Track>);

#[Object(name = "Track")]
impl TrackObject {
    /// Spotify track id (22 base-62 characters).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Track title, when the source gave one.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Artist names, main artist first.
    async fn artists(&self) -> &[String] {
        &self.0.artists
    }
    /// The album the track appears on.
    async fn album(&self) -> AlbumObject {
        AlbumObject {
            id: self.0.album.id.clone(),
            name: self.0.album.name.clone(),
            release_date: self.0.album.release_date.map(|d| d.to_string()),
            release_year: self.0.album.release_date.map(|d| i32::from(d.year)),
        }
    }
    /// Spotify popularity, 0 to 100.
    async fn popularity(&self) -> Option<i32> {
        self.0.popularity.map(i32::from)
    }
    /// Whether the lyrics are explicit, where the source says.
    async fn explicit(&self) -> Option<bool> {
        self.0.explicit
    }
    /// Genres, lower-case.
    async fn genres(&self) -> &[String] {
        &self.0.genres
    }
    /// Subgenres, lower-case.
    async fn subgenres(&self) -> &[String] {
        &self.0.subgenres
    }
    /// Playlists holding the track (from the shared dataset's playlists).
    async fn playlists(&self) -> Vec<PlaylistObject> {
        self.0
            .playlists
            .iter()
            .map(|p| PlaylistObject {
                id: ID(p.id.clone()),
                name: p.name.clone(),
                genre: p.genre.clone(),
                subgenre: p.subgenre.clone(),
            })
            .collect()
    }
    /// Audio features.
    async fn features(&self) -> AudioFeaturesObject {
        AudioFeaturesObject(self.0.features)
    }
}

/// An album.
#[derive(SimpleObject)]
#[graphql(name = "Album")]
pub struct AlbumObject {
    /// Spotify album id, where known.
    id: Option<String>,
    name: Option<String>,
    /// Release date as YYYY, YYYY-MM or YYYY-MM-DD (Spotify's precision).
    release_date: Option<String>,
    release_year: Option<i32>,
}

/// A playlist holding a track.
#[derive(SimpleObject)]
#[graphql(name = "Playlist")]
pub struct PlaylistObject {
    id: ID,
    name: Option<String>,
    /// Genre the playlist is filed under.
    genre: Option<String>,
    subgenre: Option<String>,
}

/// Spotify audio features of a track.
pub struct AudioFeaturesObject(pub domain::AudioFeatures);

#[Object(name = "AudioFeatures")]
impl AudioFeaturesObject {
    /// How suitable for dancing, 0 to 1.
    async fn danceability(&self) -> f32 {
        self.0.danceability
    }
    /// Perceived intensity and activity, 0 to 1.
    async fn energy(&self) -> f32 {
        self.0.energy
    }
    /// Pitch class, 0 = C … 11 = B; null when no key was detected.
    async fn key(&self) -> Option<i32> {
        self.0.key.map(i32::from)
    }
    /// Overall loudness in dB (typically -60 to 0).
    async fn loudness(&self) -> f32 {
        self.0.loudness
    }
    /// 1 = major, 0 = minor.
    async fn mode(&self) -> i32 {
        i32::from(self.0.major)
    }
    /// Presence of spoken words, 0 to 1.
    async fn speechiness(&self) -> f32 {
        self.0.speechiness
    }
    /// Confidence the track is acoustic, 0 to 1.
    async fn acousticness(&self) -> f32 {
        self.0.acousticness
    }
    /// Likelihood of no vocals, 0 to 1.
    async fn instrumentalness(&self) -> f32 {
        self.0.instrumentalness
    }
    /// Likelihood of a live audience, 0 to 1.
    async fn liveness(&self) -> f32 {
        self.0.liveness
    }
    /// Musical positiveness, 0 to 1.
    async fn valence(&self) -> f32 {
        self.0.valence
    }
    /// Tempo in BPM; null when none was detected.
    async fn tempo(&self) -> Option<f32> {
        self.0.tempo
    }
    /// Duration in milliseconds.
    async fn duration_ms(&self) -> i64 {
        i64::from(self.0.duration_ms)
    }
    /// Beats per bar, where known.
    async fn time_signature(&self) -> Option<i32> {
        self.0.time_signature.map(i32::from)
    }
}
