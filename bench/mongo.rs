//! MongoDB figures on the shared dataset: bulk import rate into the store,
//! start-up from MongoDB with and without an index snapshot, and round trips
//! per `similar(first: 50)` page of metadata.
//!
//! Run: `bench/mongo.sh` (starts a MongoDB-wire server on loopback and runs
//! `cargo run --release --example mongo -- URI [DATASET]`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use timbre::catalog::Seed;
use timbre::domain::TrackFilter;
use timbre::ingest::{self, Source};
use timbre::service::{ServiceOptions, TrackService};
use timbre::store::{MongoStore, TrackStore};

const REPEATS: usize = 3;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let uri = args.next().expect("usage: mongo URI [DATASET]");
    let path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/spotify_songs.csv"
        )
        .into()
    });
    let (tracks, _) = ingest::read(&Source::parse(&path), None)?;
    println!(
        "{} tracks; {REPEATS} repeats; medians (min..max)",
        tracks.len()
    );

    let (mut import, mut cold, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    let mut round_trips = 0;
    for run in 0..REPEATS {
        let database = format!("bench_{}_{run}", std::process::id());
        let finds = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&finds);
        let handler = EventHandler::callback(move |e: CommandEvent| {
            if let CommandEvent::Started(s) = e {
                if s.command_name == "find" {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let store = MongoStore::connect(&uri, &database, Some(handler)).await?;
        let t = Instant::now();
        store.upsert(&tracks).await?;
        import.push(t.elapsed());

        let dir = tempfile::tempdir()?;
        let snapshot = dir.path().join("index");
        let (service, s) = TrackService::open(
            Arc::new(store.clone()),
            ServiceOptions {
                snapshot_dir: Some(snapshot.clone()),
                ..ServiceOptions::default()
            },
        )
        .await?;
        cold.push(s.elapsed);
        let seed = service.read_now(|c| c.tracks().next().unwrap().id);
        let ids: Vec<_> = service
            .read(move |c| {
                c.similar(&Seed::Track(seed), 50, &TrackFilter::default())
                    .unwrap()
            })
            .await?
            .iter()
            .map(|n| n.track.id)
            .collect();
        let before = finds.load(Ordering::SeqCst);
        service.tracks_by_ids(&ids).await?;
        round_trips = finds.load(Ordering::SeqCst) - before;
        drop(service);
        let (_, s) = TrackService::open(
            Arc::new(store.clone()),
            ServiceOptions {
                snapshot_dir: Some(snapshot),
                ..ServiceOptions::default()
            },
        )
        .await?;
        warm.push(s.elapsed);
        store.database().drop().await?;
    }
    let show = |what: &str, xs: &[Duration]| {
        println!(
            "{what:<42} {:.2} s ({:.2}..{:.2} s)",
            median(xs.to_vec()).as_secs_f64(),
            xs.iter().min().unwrap().as_secs_f64(),
            xs.iter().max().unwrap().as_secs_f64()
        )
    };
    show("bulk upsert into MongoDB", &import);
    println!(
        "{:<42} {:.0} tracks/s",
        "bulk import rate (median)",
        tracks.len() as f64 / median(import.clone()).as_secs_f64()
    );
    show("start-up from MongoDB, no snapshot", &cold);
    show("start-up from MongoDB, with snapshot", &warm);
    println!(
        "{:<42} {round_trips}",
        "find commands for 50 tracks' metadata"
    );
    Ok(())
}
