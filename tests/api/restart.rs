//! Restarts: every track survives, the snapshot is used when it is sound
//! and rebuilt when it is not.

use std::sync::Arc;

use timbre::application;
use timbre::config::Config;
use timbre::ingest::Source;
use timbre::service::IndexOrigin;

use crate::helpers::{data_dir, synthetic_csv};

/// The ids `similar` returns for the first track of the catalog.
async fn neighbours_of_first(
    service: &timbre::service::TrackService,
) -> Vec<timbre::domain::TrackId> {
    service
        .read(|c| {
            let seed = timbre::catalog::Seed::Track(c.tracks().next().unwrap().id);
            c.similar(&seed, 5, &Default::default())
                .unwrap()
                .iter()
                .map(|n| n.track.id)
                .collect()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_restart_keeps_tracks_and_loads_the_snapshot_unless_it_is_corrupt() {
    let dir = data_dir();
    let csv = synthetic_csv(dir.path(), 3_000);
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };

    let (service, first) = application::open_service(&config).await.unwrap();
    assert!(matches!(first.origin, IndexOrigin::Rebuilt { .. }));
    application::import(&service, Source::Path(csv), None)
        .await
        .unwrap();
    service.save_snapshot().await.unwrap();
    let before = neighbours_of_first(&service).await;
    drop(service);

    let (service, second) = application::open_service(&config).await.unwrap();
    assert_eq!(second.tracks, 3_000);
    assert_eq!(
        second.origin,
        IndexOrigin::Snapshot {
            upserted: 0,
            removed: 0
        }
    );
    let after = neighbours_of_first(&service).await;
    assert_eq!(before, after);
    drop(service);

    // Corrupt the graph file: start-up must rebuild, not crash.
    let graph = config.snapshot_dir().join("graph.links0");
    let mut bytes = std::fs::read(&graph).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&graph, bytes).unwrap();
    let (service, third) = application::open_service(&config).await.unwrap();
    assert_eq!(third.tracks, 3_000);
    match &third.origin {
        IndexOrigin::Rebuilt { reason } => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("expected a rebuild, got {other:?}"),
    }
    let _: Arc<_> = service;
}
