//! One contract, every store: the embedded store and MongoDB must behave the
//! same for everything the service relies on.

use timbre::domain::{
    genre, EngineKind, Feature, GenreLevel, JobFailure, JobFilter, JobKind, JobParams, JobRecord,
    JobResult, JobState, Leaning, Track, TrackId, TrackSignal, UserId, YearTrend,
};
use timbre::ingest::{self, Source};
use timbre::store::{EmbeddedStore, MongoStore, TrackStore, UpsertStats};

use crate::helpers::{data_dir, synthetic_csv};
use crate::mongo_server::{shared_uri, unique_database};

fn sample_tracks(dir: &std::path::Path) -> Vec<Track> {
    let (mut tracks, _) = ingest::read(&Source::Path(synthetic_csv(dir, 25)), None).unwrap();
    // A sparse track: every optional field empty.
    let mut sparse = tracks[0].clone();
    sparse.id = "s000000000000000000000".parse().unwrap();
    sparse.name = None;
    sparse.artists.clear();
    sparse.album = Default::default();
    sparse.popularity = None;
    sparse.playlists.clear();
    sparse.features.key = None;
    sparse.features.tempo = None;
    tracks.push(sparse);
    tracks
}

fn sorted(mut tracks: Vec<Track>) -> Vec<Track> {
    tracks.sort_by_key(|t| t.id);
    tracks
}

async fn contract(store: &dyn TrackStore, tracks: Vec<Track>) {
    assert_eq!(store.count().await.unwrap(), 0);
    store.ping().await.unwrap();

    let stats = store.upsert(&tracks).await.unwrap();
    assert_eq!(
        stats,
        UpsertStats {
            inserted: tracks.len(),
            replaced: 0
        }
    );
    // Idempotent: the same tracks again replace, never duplicate.
    let stats = store.upsert(&tracks).await.unwrap();
    assert_eq!(
        stats,
        UpsertStats {
            inserted: 0,
            replaced: tracks.len()
        }
    );
    assert_eq!(store.count().await.unwrap(), tracks.len() as u64);

    // Every field survives the round trip, optional ones included.
    let ids: Vec<_> = tracks.iter().map(|t| t.id).collect();
    assert_eq!(
        sorted(store.get_many(&ids).await.unwrap()),
        sorted(tracks.clone())
    );

    // A newer version replaces the older.
    let mut newer = tracks[3].clone();
    newer.features.energy = 0.123;
    newer.genres = vec!["jazz".into()];
    store.upsert(std::slice::from_ref(&newer)).await.unwrap();
    let unknown = "u000000000000000000000".parse().unwrap();
    let got = store.get_many(&[newer.id, unknown]).await.unwrap();
    assert_eq!(got, vec![newer.clone()]);

    // Scans page through everything in id order, without overlap.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.scan(after, 7).await.unwrap();
        seen.extend(page.iter().map(|t| t.id));
        if page.len() < 7 {
            break;
        }
        after = page.last().map(|t| t.id);
    }
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);

    // Analytics, where the store computes them, equal the domain code's.
    let mut current = tracks.clone();
    current[3] = newer.clone();
    if let Some(profiles) = store.genre_profiles(GenreLevel::Genre).await.unwrap() {
        let domain = genre::profiles(current.iter(), GenreLevel::Genre);
        assert_eq!(profiles.len(), domain.len());
        for (a, b) in profiles.iter().zip(&domain) {
            assert_eq!(
                (&a.name, a.track_count, &a.subgenres),
                (&b.name, b.track_count, &b.subgenres)
            );
            for ((fa, sa), (fb, sb)) in a.features.iter().zip(&b.features) {
                assert_eq!((fa, sa.count), (fb, sb.count));
                assert!((sa.mean - sb.mean).abs() < 1e-6 && (sa.std_dev - sb.std_dev).abs() < 1e-6);
            }
        }
    }

    assert_eq!(store.delete(&[newer.id, unknown]).await.unwrap(), 1);
    assert_eq!(store.delete(&[newer.id]).await.unwrap(), 0);
    assert_eq!(store.count().await.unwrap(), tracks.len() as u64 - 1);
}

/// Listeners' signals merge field by field, keeping the later time, so
/// replays and reordering change nothing, and profiles stay per listener.
async fn signals_contract(store: &dyn TrackStore) {
    let ada = UserId::parse("ada").unwrap();
    let bob = UserId::parse("bob@example.com").unwrap();
    let t1: TrackId = "a000000000000000000001".parse().unwrap();
    let t2: TrackId = "a000000000000000000002".parse().unwrap();
    assert!(store.profile(&ada).await.unwrap().tracks.is_empty());

    let liked = TrackSignal {
        liked: Some(20),
        played: Some(10),
        ..Default::default()
    };
    let disliked = TrackSignal {
        disliked: Some(5),
        ..Default::default()
    };
    store
        .record_signals(&[
            (ada.clone(), t1, liked),
            (ada.clone(), t2, disliked),
            (bob.clone(), t1, disliked),
        ])
        .await
        .unwrap();
    // An older event arriving late, and a replay, change nothing; a newer
    // dislike of t2 moves its time forward.
    let late = TrackSignal {
        played: Some(3),
        liked: Some(1),
        ..Default::default()
    };
    let newer = TrackSignal {
        disliked: Some(30),
        ..Default::default()
    };
    store
        .record_signals(&[(ada.clone(), t1, late), (ada.clone(), t2, newer)])
        .await
        .unwrap();
    store
        .record_signals(&[(ada.clone(), t1, liked)])
        .await
        .unwrap();

    let profile = store.profile(&ada).await.unwrap();
    assert_eq!(profile.tracks.len(), 2);
    assert_eq!(profile.tracks[&t1], liked);
    assert_eq!(profile.tracks[&t2].disliked, Some(30));
    assert_eq!(
        profile.leanings(),
        vec![(t1, Leaning::Liked), (t2, Leaning::Disliked)]
    );
    let bobs = store.profile(&bob).await.unwrap();
    assert_eq!(bobs.tracks.len(), 1);
    assert_eq!(bobs.tracks[&t1], disliked);
    // A user whose id is a prefix of another's sees only their own.
    let ad = UserId::parse("ad").unwrap();
    assert!(store.profile(&ad).await.unwrap().tracks.is_empty());
}

/// Job records: kept whole (result and error included), replaced under
/// their id, listed newest first with filters and a cursor.
async fn jobs_contract(store: &dyn TrackStore) {
    let job = |i: i64, kind| {
        JobRecord::new(
            kind,
            JobParams {
                genres: vec!["rock".into()],
                from: Some(1990),
                ..JobParams::default()
            },
            EngineKind::Embedded,
            "writer".into(),
            1_764_806_400_000 + i,
            i as u32,
        )
    };
    let mut first = job(0, JobKind::GenreTrends);
    let second = job(1, JobKind::GenreFingerprints);
    let mut third = job(2, JobKind::GenreTrends);
    for j in [&first, &second, &third] {
        store.put_job(j).await.unwrap();
    }
    assert_eq!(store.job(&second.id).await.unwrap().as_ref(), Some(&second));
    assert_eq!(store.job("job-0000000000000-00000000").await.unwrap(), None);

    first.finish(
        Ok(JobResult::GenreTrends(vec![YearTrend {
            genre: "rock".into(),
            year: 1999,
            track_count: 12,
            popularity: None,
            features: vec![(Feature::Energy, 0.625), (Feature::Tempo, 121.5)],
        }])),
        1_764_806_401_000,
    );
    third.finish(
        Err(JobFailure::new(
            "ENGINE_UNAVAILABLE",
            "Spark is unavailable",
        )),
        1_764_806_402_000,
    );
    store.put_job(&first).await.unwrap();
    store.put_job(&third).await.unwrap();
    assert_eq!(store.job(&first.id).await.unwrap().as_ref(), Some(&first));
    assert_eq!(store.job(&third.id).await.unwrap().as_ref(), Some(&third));

    let ids = |jobs: Vec<JobRecord>| jobs.into_iter().map(|j| j.id).collect::<Vec<String>>();
    let all = JobFilter::default();
    assert_eq!(
        ids(store.jobs(&all, 10).await.unwrap()),
        [third.id.clone(), second.id.clone(), first.id.clone()]
    );
    assert_eq!(ids(store.jobs(&all, 1).await.unwrap()), [third.id.clone()]);
    let trends = JobFilter {
        kind: Some(JobKind::GenreTrends),
        ..JobFilter::default()
    };
    assert_eq!(
        ids(store.jobs(&trends, 10).await.unwrap()),
        [third.id.clone(), first.id.clone()]
    );
    let succeeded = JobFilter {
        state: Some(JobState::Succeeded),
        ..JobFilter::default()
    };
    assert_eq!(
        ids(store.jobs(&succeeded, 10).await.unwrap()),
        [first.id.clone()]
    );
    let older = JobFilter {
        before: Some(second.id.clone()),
        ..JobFilter::default()
    };
    assert_eq!(
        ids(store.jobs(&older, 10).await.unwrap()),
        [first.id.clone()]
    );
}

#[tokio::test]
async fn the_embedded_store_keeps_the_contract() {
    let dir = data_dir();
    let store = EmbeddedStore::open(&dir.path().join("data")).unwrap();
    contract(&store, sample_tracks(dir.path())).await;
    signals_contract(&store).await;
    jobs_contract(&store).await;
}

#[tokio::test]
async fn the_mongodb_store_keeps_the_contract() {
    let Some(uri) = shared_uri() else { return };
    let dir = data_dir();
    let database = unique_database("contract");
    let store = MongoStore::connect(&uri, &database, None).await.unwrap();
    contract(&store, sample_tracks(dir.path())).await;
    signals_contract(&store).await;
    jobs_contract(&store).await;

    // Indexes are created at every start, idempotently.
    let again = MongoStore::connect(&uri, &database, None).await.unwrap();
    let mut names = again.collection().list_index_names().await.unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "_id_",
            "artists_1",
            "genres_1",
            "popularity_1",
            "release_year_1",
            "subgenres_1"
        ]
    );
}
