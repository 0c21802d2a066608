//! Bringing the service up: every track from the store into the catalog,
//! with the index from its snapshot when that is usable and rebuilt when
//! not (then the snapshot is rewritten).

use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use timbre_index::{IndexParams, VectorIndex};

use super::{
    blocking, IndexOrigin, ServiceOptions, Startup, TrackService, CHANGE_BUFFER, EVENT_BUFFER,
};
use crate::catalog::Catalog;
use crate::domain::{FeatureSpace, Track, TrackId};
use crate::error::Result;
use crate::store::{self, TrackStore};

impl TrackService {
    /// Loads every track from the store and brings up the catalog: from the
    /// index snapshot in `options.snapshot_dir` when it is present, intact and made
    /// with the current feature space, by a rebuild otherwise (then the
    /// snapshot is rewritten).
    ///
    /// # Errors
    /// The store cannot be read, or the index parameters are invalid.
    pub async fn open(
        store: Arc<dyn TrackStore>,
        options: ServiceOptions,
    ) -> Result<(Self, Startup)> {
        let started = Instant::now();
        let (pages, mut inbox) = tokio::sync::mpsc::channel::<Vec<Track>>(2);
        let dir = options.snapshot_dir.clone();
        let params = options.index;
        let build = blocking(move || {
            let tracks = std::iter::from_fn(move || inbox.blocking_recv()).flatten();
            bring_up(tracks, dir.as_deref(), params)
        });
        let (loaded, built) = tokio::join!(store::load_pages(store.as_ref(), 10_000, pages), build);
        loaded?;
        let (catalog, origin) = built??;
        let service = TrackService {
            store,
            catalog: Arc::new(RwLock::new(catalog)),
            options,
            writer: tokio::sync::Mutex::new(()),
            health: parking_lot::Mutex::default(),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
            changes: tokio::sync::broadcast::channel(CHANGE_BUFFER).0,
            catching_up: Arc::default(),
            serving: Arc::default(),
        };
        if let IndexOrigin::Rebuilt { .. } = origin {
            service.save_snapshot().await?;
        }
        let startup = Startup {
            tracks: service.catalog.read().len(),
            origin,
            elapsed: started.elapsed(),
        };
        Ok((service, startup))
    }
}

/// Builds the catalog at start: from the snapshot when usable, else anew.
fn bring_up(
    tracks: impl Iterator<Item = Track>,
    dir: Option<&std::path::Path>,
    params: IndexParams,
) -> Result<(Catalog, IndexOrigin)> {
    let reason = match dir {
        None => "no snapshot directory configured".to_string(),
        Some(dir) if !dir.exists() => "no index snapshot yet".to_string(),
        Some(dir) => match VectorIndex::<TrackId>::peek_meta::<FeatureSpace>(dir) {
            Err(e) => format!("unusable snapshot ({e})"),
            Ok(space) if !space.is_current() => format!(
                "snapshot made with feature space v{}, this build uses v{}",
                space.version,
                crate::domain::feature_space::FEATURE_SPACE_VERSION
            ),
            Ok(_) => match VectorIndex::<TrackId>::load::<FeatureSpace>(dir) {
                Err(e) => format!("unusable snapshot ({e})"),
                Ok((mut index, space)) => {
                    if !index.retune(params) {
                        return Ok((
                            Catalog::build(tracks, params)?,
                            IndexOrigin::Rebuilt {
                                reason: "graph parameters changed since the snapshot".into(),
                            },
                        ));
                    }
                    let (catalog, r) = Catalog::from_snapshot(tracks, index, space)?;
                    return Ok((
                        catalog,
                        IndexOrigin::Snapshot {
                            upserted: r.upserted,
                            removed: r.removed,
                        },
                    ));
                }
            },
        },
    };
    Ok((
        Catalog::build(tracks, params)?,
        IndexOrigin::Rebuilt { reason },
    ))
}
