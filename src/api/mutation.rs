//! The mutation root: writes to the catalog, each behind an API key (see
//! `auth`). Tracks take the same shape and the same checks as the Kafka
//! track messages (`schema/track-message.schema.json`), because both end in
//! `TrackRecord::into_domain`.

use std::time::Instant;

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use super::auth::require;
use super::error::{invalid, ApiResult};
use super::features::AudioFeaturesInput;
use super::inputs::parse_ids;
use super::service;
use crate::config::Role;
use crate::error::Error;
use crate::ingest::{AlbumRecord, PlaylistRecord, TrackRecord};

/// Most tracks one `upsertTracks` call may carry; larger loads belong to
/// `timbre import` or the Kafka topic.
pub const MAX_TRACKS_PER_CALL: usize = 1_000;

/// Writes to the catalog; every one needs an API key.
#[derive(Default)]
pub struct CatalogMutation;

/// Refuses a call carrying more than [`MAX_TRACKS_PER_CALL`] items.
fn at_most_per_call(what: &str, given: usize) -> async_graphql::Result<()> {
    if given > MAX_TRACKS_PER_CALL {
        return Err(invalid(format!(
            "at most {MAX_TRACKS_PER_CALL} {what} per call, got {given}"
        )));
    }
    Ok(())
}

/// What `upsertTracks` did.
#[derive(SimpleObject)]
pub struct UpsertResult {
    /// Tracks that were new.
    inserted: usize,
    /// Tracks that replaced a stored version.
    replaced: usize,
    /// Tracks in the catalog afterwards.
    total_count: usize,
}

/// What `deleteTracks` did.
#[derive(SimpleObject)]
pub struct DeleteResult {
    /// Tracks that existed and are gone.
    deleted: usize,
    /// Tracks in the catalog afterwards.
    total_count: usize,
}

/// What `saveSnapshot` wrote.
#[derive(SimpleObject)]
pub struct SnapshotResult {
    /// Tracks in the snapshot.
    tracks: usize,
    /// Time taken to write it, in milliseconds.
    took_ms: u64,
}

#[Object]
impl CatalogMutation {
    /// Inserts tracks, or replaces the ones stored under their ids; they are
    /// searchable when this returns. At most 1,000 per call. Needs a `write`
    /// key. Invalid tracks fail the whole call with `INVALID_ARGUMENT` naming
    /// the first one, and nothing is written.
    async fn upsert_tracks(
        &self,
        ctx: &Context<'_>,
        tracks: Vec<TrackInput>,
    ) -> async_graphql::Result<UpsertResult> {
        require(ctx, Role::Write)?;
        at_most_per_call("tracks", tracks.len())?;
        let tracks = tracks
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                TrackRecord::from(t)
                    .into_domain()
                    .map_err(|e| Error::invalid(format!("tracks[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .api()?;
        let service = service(ctx);
        let stats = service.upsert(tracks).await.api()?;
        Ok(UpsertResult {
            inserted: stats.inserted,
            replaced: stats.replaced,
            total_count: service.len(),
        })
    }

    /// Deletes tracks by id; unknown ids are ignored. Needs a `write` key.
    async fn delete_tracks(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<DeleteResult> {
        require(ctx, Role::Write)?;
        at_most_per_call("ids", ids.len())?;
        let ids = parse_ids(ids).api()?;
        let service = service(ctx);
        let deleted = service.delete(ids).await.api()?;
        Ok(DeleteResult {
            deleted,
            total_count: service.len(),
        })
    }

    /// Writes the index snapshot now (the server also writes it on a clean
    /// shutdown), so that a restart loads instead of rebuilding. Needs an
    /// `admin` key.
    async fn save_snapshot(&self, ctx: &Context<'_>) -> async_graphql::Result<SnapshotResult> {
        require(ctx, Role::Admin)?;
        let started = Instant::now();
        let service = service(ctx);
        service.save_snapshot().await.api()?;
        Ok(SnapshotResult {
            tracks: service.len(),
            took_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// A track to store: the fields of a Kafka track message.
#[derive(InputObject)]
pub struct TrackInput {
    /// Spotify track id (22 characters of 0-9, a-z, A-Z).
    pub id: String,
    pub name: Option<String>,
    /// Artist names, main artist first.
    #[graphql(default)]
    pub artists: Vec<String>,
    pub album: Option<AlbumInput>,
    /// Spotify popularity, 0 to 100.
    pub popularity: Option<u8>,
    pub explicit: Option<bool>,
    #[graphql(default)]
    pub genres: Vec<String>,
    #[graphql(default)]
    pub subgenres: Vec<String>,
    /// Playlists that hold the track.
    #[graphql(default)]
    pub playlists: Vec<PlaylistInput>,
    pub features: AudioFeaturesInput,
}

/// The album of a [`TrackInput`].
#[derive(InputObject)]
pub struct AlbumInput {
    pub id: Option<String>,
    pub name: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub release_date: Option<String>,
}

/// A playlist holding a [`TrackInput`].
#[derive(InputObject)]
pub struct PlaylistInput {
    pub id: String,
    pub name: Option<String>,
    pub genre: Option<String>,
    pub subgenre: Option<String>,
}

impl From<TrackInput> for TrackRecord {
    fn from(t: TrackInput) -> Self {
        TrackRecord {
            id: t.id,
            name: t.name,
            artists: t.artists,
            album: t.album.map(|a| AlbumRecord {
                id: a.id,
                name: a.name,
                release_date: a.release_date,
            }),
            popularity: t.popularity,
            explicit: t.explicit,
            genres: t.genres,
            subgenres: t.subgenres,
            playlists: t
                .playlists
                .into_iter()
                .map(|p| PlaylistRecord {
                    id: p.id,
                    name: p.name,
                    genre: p.genre,
                    subgenre: p.subgenre,
                })
                .collect(),
            features: t.features.into(),
        }
    }
}
