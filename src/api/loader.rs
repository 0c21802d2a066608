//! The DataLoader through which resolvers fetch tracks by id, so that a
//! list of 50 results costs one batched lookup (one `$in` query on MongoDB)
//! instead of 50.
//!
//! Resolvers call [`load_track`] and [`load_tracks`], which use the
//! DataLoader only where the service says metadata comes from the store
//! (MongoDB). On the embedded store every track is in memory already, and
//! the DataLoader's batching window (a spawned task and a 1 ms timer per
//! request) would cost more than the lookups: bench/server.sh measured
//! `similar(first: 10)` at p50 2.5 ms with it. (Search results get their
//! stored tracks from the service itself, in one lookup per answer.)

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Context;

use crate::domain::{Track, TrackId};
use crate::error::Error;
use crate::service::TrackService;

/// Loads tracks from the service's catalog in batches.
pub struct TrackLoader {
    service: Arc<TrackService>,
}

impl TrackLoader {
    /// A loader over `service`; make one per request (request data), so that
    /// its cache never outlives a request.
    pub fn new(service: Arc<TrackService>) -> Self {
        TrackLoader { service }
    }
}

impl Loader<TrackId> for TrackLoader {
    type Value = Arc<Track>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[TrackId]) -> Result<HashMap<TrackId, Arc<Track>>, Self::Error> {
        let tracks = self.service.tracks_by_ids(keys).await.map_err(Arc::new)?;
        Ok(tracks.into_iter().map(|t| (t.id, t)).collect())
    }
}

/// The tracks with these ids that exist (see the module documentation).
///
/// # Errors
/// The store failed.
pub async fn load_tracks(
    ctx: &Context<'_>,
    ids: &[TrackId],
) -> async_graphql::Result<HashMap<TrackId, Arc<Track>>> {
    let service = super::service(ctx);
    let loader = ctx.data_opt::<DataLoader<TrackLoader>>();
    match loader {
        Some(loader) if service.metadata_from_store() => loader
            .load_many(ids.iter().copied())
            .await
            .map_err(|e| super::error::to_graphql(Error::Internal(e.to_string()))),
        _ => Ok(service.tracks_in_memory(ids)),
    }
}

/// The track with this id, if it exists (see the module documentation).
///
/// # Errors
/// The store failed.
pub async fn load_track(
    ctx: &Context<'_>,
    id: TrackId,
) -> async_graphql::Result<Option<Arc<Track>>> {
    Ok(load_tracks(ctx, &[id]).await?.remove(&id))
}
