//! The DataLoader through which resolvers fetch tracks by id, so that a
//! list of 50 results costs one batched lookup (one `$in` query on MongoDB)
//! instead of 50.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::domain::{Track, TrackId};
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
    type Error = Arc<crate::error::Error>;

    async fn load(&self, keys: &[TrackId]) -> Result<HashMap<TrackId, Arc<Track>>, Self::Error> {
        let tracks = self.service.tracks_by_ids(keys).await.map_err(Arc::new)?;
        Ok(tracks.into_iter().map(|t| (t.id, t)).collect())
    }
}
